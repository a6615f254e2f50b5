"""Re-processing the archive: the same records as the crawl; an extractor change gives new
versions exactly where it changes a record."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.crawl import Crawler
from pipeline.reprocess import reprocess
from pipeline.settings import Settings
from pipeline.siteserver import serve_site
from pipeline.store import SqliteStore
from schemas.site import SiteConfig
from tests.conftest import FIXTURES

SITE = FIXTURES / "corpus" / "site"
MANIFEST = json.loads((SITE / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crawled")
    with serve_site(SITE, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        site = SiteConfig(
            name="mini", start_urls=[srv.base_url + MANIFEST["start_url"]], allow_private_addresses=True
        )
        with Crawler(site, Settings(min_delay=0), db=root / "db.sqlite", archive_dir=root / "warc") as c:
            c.run()
    return root


@pytest.fixture()
def copy_of(crawled: Path, tmp_path: Path) -> Iterator[Path]:
    shutil.copytree(crawled, tmp_path / "c")
    yield tmp_path / "c"


@pytest.mark.parametrize("workers", [0, 2])
def test_reprocessing_gives_the_records_the_crawl_stored(copy_of: Path, workers: int) -> None:
    with SqliteStore(copy_of / "db.sqlite") as store:
        before = {r.id: r for r in store.records()}
        summary = reprocess(copy_of / "warc", store, Settings(), workers=workers, chunk_size=5)
        after = {r.id: r for r in store.records()}
    assert summary.pages == len(MANIFEST["notices"])
    assert (summary.unchanged, summary.new_versions, summary.new_records) == (len(before), 0, 0)
    assert summary.failed == {}
    assert before == after


def test_a_pattern_change_gives_new_versions_only_where_it_matters(
    copy_of: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.entities as entities

    with SqliteStore(copy_of / "db.sqlite") as store:
        records = list(store.records())
    unit = "份"  # a quantity unit: drop it from the entity patterns
    affected = {
        r.id
        for r in records
        if any(e.label == "QUANTITY" and (e.normalized or "").endswith(f" {unit}") for e in r.entities)
    }
    assert 0 < len(affected) < len(records)
    original = entities.load

    def patched(name: str) -> dict[str, Any]:
        data = copy.deepcopy(original(name))
        if name == "entities":
            data["quantity"]["units"] = [u for u in data["quantity"]["units"] if u != unit]
        return data

    monkeypatch.setattr(entities, "load", patched)
    with SqliteStore(copy_of / "db.sqlite") as store:
        summary = reprocess(copy_of / "warc", store, Settings(), workers=0)
        changed = {r.id for r in store.records() if store.version_count(r.id) > 1}
    assert changed == affected
    assert summary.new_versions == len(affected) and summary.changed_fields == {"entities": len(affected)}


def test_an_fsspec_url_of_the_archive_gives_the_same_records(copy_of: Path) -> None:
    url = (copy_of / "warc").resolve().as_uri()  # file:///…: read through fsspec, as from s3://
    with SqliteStore(copy_of / "db.sqlite") as store:
        summary = reprocess(url, store, Settings(), workers=2, chunk_size=7)
    assert summary.pages == len(MANIFEST["notices"])
    assert (summary.unchanged, summary.failed) == (summary.pages, {})


def test_since_limits_the_run_to_responses_fetched_from_then_on(crawled: Path) -> None:
    import datetime as dt

    from pipeline.reprocess import archived_notices

    every = archived_notices(crawled / "warc")
    assert len(every) == len(MANIFEST["notices"])
    assert archived_notices(crawled / "warc", dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == every
    assert archived_notices(crawled / "warc", dt.datetime.now(dt.UTC) + dt.timedelta(days=1)) == []


def test_a_bad_archive_location_costs_that_page_only_and_says_why(copy_of: Path) -> None:
    from pipeline.reprocess import archived_notices, process_chunk

    jobs = archived_notices(copy_of / "warc")
    url, location = jobs[0]
    name, _, offset = location.rpartition("#")
    broken = [(url, f"{name}#{int(offset) + 3}"), (url, "missing.warc.gz#0"), *jobs[1:3]]
    out = process_chunk(str(copy_of / "warc"), broken)
    assert [o.error is None for o in out] == [False, False, True, True]
    assert all(o.error and o.error.startswith("store:") for o in out[:2])
    assert out[2].record_hash and out[2].notice_id and out[2].record_json


def test_bounded_keeps_at_most_window_chunks_in_flight_and_the_order() -> None:
    import threading
    import time
    from concurrent.futures import Future, ThreadPoolExecutor

    from pipeline.reprocess import bounded

    lock = threading.Lock()
    live, peak = 0, 0

    def work(i: int) -> int:
        nonlocal live, peak
        with lock:
            live += 1
            peak = max(peak, live)
        time.sleep(0.01 * (i % 3))
        with lock:
            live -= 1
        return i * i

    with ThreadPoolExecutor(max_workers=8) as pool:

        def submit(i: int) -> Future[int]:
            return pool.submit(work, i)

        results = []
        for r in bounded(submit, range(30), 3):
            results.append(r)
    assert results == [i * i for i in range(30)]
    assert peak <= 3


def test_chunk_size_gives_each_worker_several_chunks_and_stays_within_bounds() -> None:
    from pipeline.reprocess import MAX_CHUNK, MIN_CHUNK, chunk_size_for

    assert chunk_size_for(100_000, 2) == MAX_CHUNK  # big archives: few task runs
    assert chunk_size_for(2_000, 2) == 250  # four chunks per worker
    assert chunk_size_for(30, 4) == MIN_CHUNK
    assert chunk_size_for(0, 0) == MIN_CHUNK


def test_a_failed_warm_up_is_logged_and_leaves_the_worker_unset(caplog: pytest.LogCaptureFixture) -> None:
    """warm_worker's thread: an import that fails is logged (the first chunk meets the same error
    and records it per page); nothing is half set up."""
    from pipeline import reprocess as rp

    before = dict(rp._worker)
    rp._warm(("no_such_module_for_this_test",))
    assert "warming this worker failed" in caplog.text
    assert "no_such_module_for_this_test" in caplog.text
    assert rp._worker == before

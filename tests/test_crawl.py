"""The crawl steps end to end on the mini site (fixtures/corpus/site) served on 127.0.0.1.

These drive ``Crawler.run()`` (the same steps the Prefect flow runs as tasks) so they take
milliseconds; tests/test_flows.py runs the real flow.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from pipeline.crawl import Crawler
from pipeline.settings import Settings
from pipeline.siteserver import SiteServer, serve_site
from schemas.crawl import CrawlSummary
from schemas.site import SiteConfig
from schemas.stages import FetchResult
from tests.conftest import FIXTURES, gold_pages

SITE = FIXTURES / "corpus" / "site"
MANIFEST = json.loads((SITE / "MANIFEST.json").read_text(encoding="utf-8"))
TYPES = {path: n["content_type_header"] for path, n in MANIFEST["notices"].items()}


def fast_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "min_delay": 0.0,
        "backoff_base": 0.01,
        "read_timeout": 1.0,
        "fetch_deadline": 3.0,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture()
def site_copy(tmp_path: Path) -> Path:
    """A private copy of the mini site, so a test may change a page."""
    root = tmp_path / "site"
    shutil.copytree(SITE, root)
    return root


@pytest.fixture()
def server(site_copy: Path) -> Iterator[SiteServer]:
    with serve_site(site_copy, content_types=TYPES, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        yield srv


def mini_site(srv: SiteServer, **extra: object) -> SiteConfig:
    return SiteConfig(
        name="mini", start_urls=[srv.base_url + MANIFEST["start_url"]], allow_private_addresses=True, **extra
    )  # type: ignore[arg-type]


def crawl(
    site: SiteConfig, tmp_path: Path, *, settings: Settings | None = None, **kw: object
) -> CrawlSummary:
    with Crawler(
        site, settings or fast_settings(), db=tmp_path / "db.sqlite", archive_dir=tmp_path / "warc", **kw
    ) as crawler:  # type: ignore[arg-type]
        return crawler.run()


def db_rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        return list(conn.execute(sql))


def test_crawl_finds_exactly_the_manifest_notices(server: SiteServer, tmp_path: Path) -> None:
    summary = crawl(mini_site(server), tmp_path)
    base = server.base_url
    records = dict(db_rows(tmp_path, "SELECT url, title FROM notices"))
    assert set(records) == {base + p for p in MANIFEST["notices"]}
    assert summary.new_records == len(MANIFEST["notices"]) and summary.fetched == len(MANIFEST["notices"])
    # the deliberate 404s are recorded with their reason, not lost
    failed = dict(db_rows(tmp_path, "SELECT url, reason FROM urls WHERE state = 'failed'"))
    assert failed == {base + p: "not_found" for p in MANIFEST["expected_404"]}
    assert summary.failed == {"not_found": len(MANIFEST["expected_404"])}
    # robots.txt disallows /search/: never asked for
    assert not [p for p in server.paths() if p.startswith("/search/")]
    assert server.paths().count("/robots.txt") == 1


def test_records_match_the_gold_labels(server: SiteServer, tmp_path: Path) -> None:
    crawl(mini_site(server), tmp_path)
    gold = {g.name: g.gold for g in gold_pages(FIXTURES / "corpus" / "pages")}
    rows = db_rows(tmp_path, "SELECT url, record_json FROM notices")
    for url, blob in rows:
        path = str(url)[len(server.base_url) :]
        expected = gold[MANIFEST["notices"][path]["page"]]
        record = json.loads(str(blob))
        assert record["title"] == expected["title"], path
        assert record["published_date"] == expected["published_date"], path
        assert record["source"]["warc"] and record["source"]["sha256"]


def test_documents_are_fetched_only_as_attachments(server: SiteServer, tmp_path: Path) -> None:
    summary = crawl(mini_site(server), tmp_path)
    kinds = dict(db_rows(tmp_path, "SELECT url, kind FROM urls"))
    base = server.base_url
    for path in MANIFEST["linked_files"] + MANIFEST["attachment_files"]:
        assert kinds[base + path] == "attachment", path
        assert server.paths().count(path) == 1
    notice_ids = [r[0] for r in db_rows(tmp_path, "SELECT url FROM notices WHERE url LIKE '%.pdf'")]
    assert notice_ids == []
    assert summary.attachments == len(MANIFEST["linked_files"]) + len(MANIFEST["attachment_files"])


def test_every_record_points_at_its_archived_bytes(server: SiteServer, tmp_path: Path) -> None:
    import hashlib

    from pipeline.archive import read_record

    crawl(mini_site(server), tmp_path)
    for (blob,) in db_rows(tmp_path, "SELECT record_json FROM notices"):
        source = json.loads(str(blob))["source"]
        archived = read_record(tmp_path / "warc", source["warc"])
        assert hashlib.sha256(archived.body).hexdigest() == source["sha256"]
        assert archived.url == source["url"] or archived.url.endswith(source["url"].split("/", 3)[3])


def test_rerun_sends_conditional_requests_and_writes_no_versions(server: SiteServer, tmp_path: Path) -> None:
    crawl(mini_site(server), tmp_path)
    first = len(server.requests)
    summary = crawl(mini_site(server), tmp_path, refresh=True)
    again = server.requests[first:]
    notice_gets = [r for r in again if r.path in MANIFEST["notices"]]
    assert len(notice_gets) == len(MANIFEST["notices"])
    assert all("If-None-Match" in r.headers for r in notice_gets)
    assert summary.unchanged == len(MANIFEST["notices"]) and summary.fetched == 0
    assert summary.new_records == 0 and summary.new_versions == 0
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM versions") == [(len(MANIFEST["notices"]),)]


def test_incremental_run_stops_at_known_notices(server: SiteServer, tmp_path: Path) -> None:
    crawl(mini_site(server), tmp_path)
    first = len(server.requests)
    summary = crawl(mini_site(server), tmp_path)  # no refresh, nothing due
    again = [r.path for r in server.requests[first:]]
    assert again.count("/zwgk/bmdt/index.html") == 1
    assert "/zwgk/bmdt/index_1.html" not in again  # the first page brought nothing new
    assert not [p for p in again if p in MANIFEST["notices"]]
    assert summary.list_pages == 1 and summary.new_urls == 0


def test_a_changed_page_gives_exactly_one_new_version(
    site_copy: Path, server: SiteServer, tmp_path: Path
) -> None:
    crawl(mini_site(server), tmp_path)
    path = "/zwgk/bmdt/202409/t20240925_4712345.html"
    page = site_copy / path.lstrip("/")
    html = page.read_text(encoding="utf-8")
    assert "政府开放日" in html
    page.write_text(html.replace("政府开放日", "政府开放周"), encoding="utf-8")
    summary = crawl(mini_site(server), tmp_path, refresh=True)
    assert summary.new_versions == 1 and summary.fetched == 1
    assert summary.unchanged == len(MANIFEST["notices"]) - 1
    versions = db_rows(tmp_path, "SELECT url, current_version FROM notices WHERE current_version > 1")
    assert versions == [(server.base_url + path, 2)]


def test_new_notice_on_the_first_list_page_is_found_incrementally(
    site_copy: Path, server: SiteServer, tmp_path: Path
) -> None:
    crawl(mini_site(server), tmp_path)
    src = site_copy / "zwgk/bmdt/202409/t20240925_4712345.html"
    new = site_copy / "zwgk/bmdt/202411/t20241101_4800001.html"
    new.parent.mkdir()
    new.write_text(src.read_text(encoding="utf-8").replace("2024年", "2024 年"), encoding="utf-8")
    index = site_copy / "zwgk/bmdt/index.html"
    html = index.read_text(encoding="utf-8")
    item = '<li><a href="./202411/t20241101_4800001.html" title="新的通知">新的通知公告发布</a><span>2024-11-01</span></li>\n'
    index.write_text(html.replace('<ul class="list">\n', '<ul class="list">\n' + item, 1), encoding="utf-8")
    summary = crawl(mini_site(server), tmp_path)
    assert summary.new_urls == 1 and summary.fetched == 1 and summary.new_records == 1


def test_site_with_robots_503_records_refusals_and_finishes(site_copy: Path, tmp_path: Path) -> None:
    down = {"robots": True}
    robots_txt = (site_copy / "robots.txt").read_bytes()

    def robots(h: BaseHTTPRequestHandler) -> None:
        body = b"" if down["robots"] else robots_txt
        h.send_response(503 if down["robots"] else 200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with serve_site(site_copy, content_types=TYPES, routes={"/robots.txt": robots}) as srv:
        summary = crawl(mini_site(srv), tmp_path)
        assert [p for p in srv.paths() if p != "/robots.txt"] == []
        assert summary.failed == {"robots_unavailable": 1}  # the start page; nothing else was even discovered
        assert db_rows(tmp_path, "SELECT reason FROM urls WHERE kind = 'list'") == [("robots_unavailable",)]
        # robots.txt is back: the next run crawls the site ("disallowed for now", not for a week)
        down["robots"] = False
        summary = crawl(mini_site(srv), tmp_path)
    assert summary.new_records == len(MANIFEST["notices"])


def test_misbehaving_pages_are_recorded_and_the_crawl_finishes(site_copy: Path, tmp_path: Path) -> None:
    import gzip
    import time

    def send(h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        h.send_response(status)
        for k, v in {"Content-Type": "text/html", "Content-Length": str(len(body)), **headers}.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    bomb = gzip.compress(b"\0" * 20_000_000)
    page = (SITE / "zwgk/bmdt/202409/t20240925_4712345.html").read_bytes()
    calls: dict[str, int] = {}

    def then_ok(first: list[tuple[int, dict[str, str]]]) -> Callable[[BaseHTTPRequestHandler], None]:
        def route(h: BaseHTTPRequestHandler) -> None:
            n = calls[h.path] = calls.get(h.path, 0) + 1
            if n <= len(first):
                send(h, first[n - 1][0], b"", first[n - 1][1])
            else:
                send(h, 200, page.replace("政府开放日".encode(), f"开放日{h.path[-8:-5]}".encode()), {})

        return route

    def truncated(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(len(page)))
        h.end_headers()
        h.wfile.write(page[:500])
        h.close_connection = True

    routes = {
        "/bad/slow.html": lambda h: (time.sleep(2), send(h, 200, b"<html></html>", {})),
        "/bad/bomb.html": lambda h: send(h, 200, bomb, {"Content-Encoding": "gzip"}),
        "/bad/loop.html": lambda h: send(h, 302, b"", {"Location": "/bad/loop.html?x"}),
        "/bad/500.html": lambda h: send(h, 500, b"oops", {}),
        "/bad/flaky.html": then_ok([(500, {}), (503, {})]),
        "/bad/429.html": then_ok([(429, {"Retry-After": "1"})]),
        "/bad/trunc.html": truncated,
        "/bad/to-private.html": lambda h: send(h, 302, b"", {"Location": "http://10.1.2.3/x.html"}),
        "/bad/to-metadata.html": lambda h: send(h, 302, b"", {"Location": "http://169.254.169.254/latest/"}),
        "/bad/latin1.html": lambda h: send(
            h,
            200,
            (SITE / "zwgk/bmdt/202409/t20240925_4712345.html").read_bytes(),
            {"Content-Type": "text/html; charset=iso-8859-1"},
        ),
    }
    routes["/bad/loop.html?x"] = routes["/bad/loop.html"]
    index = site_copy / "zwgk/bmdt/index.html"
    links = "".join(
        f'<li><a href="{p}" title="坏页面{i}">坏页面坏页面坏页面{i}</a><span>2024-01-0{i + 1}</span></li>\n'
        for i, p in enumerate(sorted(k for k in routes if "?" not in k))
    )
    html = index.read_text(encoding="utf-8")
    index.write_text(html.replace('<ul class="list">\n', '<ul class="list">\n' + links, 1), encoding="utf-8")
    settings = fast_settings(
        max_download_bytes=1_000_000, read_timeout=0.5, fetch_retries=2, host_failure_limit=50
    )
    with serve_site(site_copy, content_types=TYPES, routes=routes) as srv:
        site = mini_site(srv, allowed_hosts=["127.0.0.1", "169.254.169.254"])
        summary = crawl(site, tmp_path, settings=settings)
        assert srv.paths().count("/bad/flaky.html") == 3 and srv.paths().count("/bad/429.html") == 2
    reasons = dict(db_rows(tmp_path, "SELECT url, reason FROM urls WHERE url LIKE '%/bad/%'"))
    reasons = {str(k).rsplit("/", 1)[1]: v for k, v in reasons.items()}
    assert reasons == {
        "slow.html": "timeout",
        "bomb.html": "too_large",
        "loop.html": "redirect_loop",
        "500.html": "server_error",
        "flaky.html": None,  # 500, 503, then 200: retried within the run
        "429.html": None,  # Retry-After honoured, then 200
        "trunc.html": "truncated",
        "to-private.html": "off_site",  # never connected: not one of the site's hosts
        "to-metadata.html": "blocked_address",  # an allowed host name, but a metadata address
        "latin1.html": None,  # a wrong charset header still gives a record
    }
    assert summary.new_records == len(MANIFEST["notices"]) + 3
    assert summary.failed == {
        "not_found": 2, "timeout": 1, "too_large": 1, "redirect_loop": 1, "server_error": 1, "truncated": 1,
        "off_site": 1, "blocked_address": 1,
    }  # fmt: skip
    latin = db_rows(tmp_path, "SELECT title FROM notices WHERE url LIKE '%latin1%'")
    assert latin and "政府开放日" in str(latin[0][0])


def test_a_crawl_killed_with_sigkill_resumes_without_refetching(tmp_path: Path) -> None:
    """The real CLI in a subprocess, killed mid-crawl with SIGKILL, then run again."""
    import os
    import signal
    import time

    from bench.gensite import generate_site

    root = tmp_path / "gen"
    generated = generate_site(root, 60, seed=3, per_list=10, columns=1, base_url="http://127.0.0.1:8000")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "NOTICES_BACKOFF_BASE": "0.01"}
    data = tmp_path / "data"
    with serve_site(root, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        start = srv.base_url + generated.start_urls[0]
        cmd = [sys.executable, "-m", "pipeline.cli", "crawl", start, "--db", str(data / "db.sqlite"),
               "--archive", str(data / "warc"), "--allow-private-addresses", "--delay", "0.15", "--quiet"]  # fmt: skip
        # its own process group: the kill takes the crawl and the Prefect server it started, as a
        # container or OOM kill would (a lone orphaned server would outlive the test)
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 120
        notice_paths = set(generated.notices)
        while time.monotonic() < deadline:
            got = sum(1 for p in srv.paths() if p in notice_paths)
            if got >= 15 or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the crawl ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        fetched_before = Counter(p for p in srv.paths() if p in notice_paths)
        assert fetched_before
        archived_before = _archived_paths(data / "warc")
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        gets = Counter(p for p in srv.paths() if p in notice_paths)
    # Nothing archived is fetched again. A page the server had sent but the crawler had not yet
    # archived when the kill came must be fetched again (else it would be lost): at most one per
    # host slot in flight (the kill can land between the response and the WARC write).
    twice = [p for p, n in gets.items() if n > 1]
    assert not set(twice) & archived_before, twice
    assert len(twice) <= Settings().max_concurrent_per_host, twice
    assert max(gets.values()) <= 2
    assert set(gets) == notice_paths  # nothing lost
    records = db_rows(data, "SELECT COUNT(*) FROM notices")
    assert records == [(len(notice_paths),)]
    warcio = Path(sys.executable).with_name("warcio")
    files = sorted((data / "warc").glob("*.warc.gz"))
    check = subprocess.run([str(warcio), "check", *map(str, files)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-2000:]


def _archived_paths(folder: Path) -> set[str]:
    """Paths of the responses fully written to the WARC files of ``folder`` (a file cut short
    by a kill ends where its last complete record ends)."""
    from urllib.parse import urlsplit

    from warcio.archiveiterator import ArchiveIterator

    out: set[str] = set()
    for f in sorted(folder.glob("*.warc.gz")):
        with open(f, "rb") as fh:
            try:
                for rec in ArchiveIterator(fh):
                    if rec.rec_type == "response":
                        rec.content_stream().read()
                        out.add(urlsplit(rec.rec_headers.get_header("WARC-Target-URI")).path)
            except Exception:  # the record the kill cut short: not archived
                pass
    return out


def test_a_list_page_that_failed_keeps_the_walk_open(site_copy: Path, tmp_path: Path) -> None:
    failing = {"on": True}
    page1 = (site_copy / "zwgk/bmdt/index_1.html").read_bytes()

    def flaky_list(h: BaseHTTPRequestHandler) -> None:
        body = b"" if failing["on"] else page1
        h.send_response(503 if failing["on"] else 200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    settings = fast_settings(fetch_retries=0)
    with serve_site(site_copy, content_types=TYPES, routes={"/zwgk/bmdt/index_1.html": flaky_list}) as srv:
        first = crawl(mini_site(srv, sitemaps="none"), tmp_path, settings=settings)
        failing["on"] = False
        second = crawl(mini_site(srv, sitemaps="none"), tmp_path, settings=settings)  # not a refresh
    assert first.failed.get("server_error") == 1
    # the second run walked past the first list page again and found what page 1 listed
    assert second.new_urls > 0 and second.new_records > 0
    records = db_rows(tmp_path, "SELECT COUNT(*) FROM notices")[0][0]
    assert records == len(MANIFEST["notices"])


def test_a_page_that_failed_extraction_stays_failed_on_recheck(site_copy: Path, tmp_path: Path) -> None:
    path = "/zwgk/bmdt/202409/t20240925_4712345.html"
    (site_copy / path.lstrip("/")).write_bytes(b"%PDF-1.4 not a page at all\x00\x01\x02" * 50)
    with serve_site(site_copy, content_types=TYPES) as srv:
        crawl(mini_site(srv), tmp_path)
        url = srv.base_url + path
        assert db_rows(tmp_path, f"SELECT state, reason FROM urls WHERE url = '{url}'") == [
            ("failed", "decode")
        ]
        before = len(srv.requests)
        crawl(mini_site(srv), tmp_path, refresh=True)
        asked = [r for r in srv.requests[before:] if r.path == path]
    assert asked and "If-None-Match" not in asked[0].headers  # no record yet: asked in full
    assert db_rows(tmp_path, f"SELECT state, reason FROM urls WHERE url = '{url}'") == [("failed", "decode")]


def test_crawled_records_carry_entities_that_slice_their_body(server: SiteServer, tmp_path: Path) -> None:
    crawl(mini_site(server), tmp_path)
    labels: set[str] = set()
    for (blob,) in db_rows(tmp_path, "SELECT record_json FROM notices"):
        record = json.loads(str(blob))
        assert record["schema_version"] == "1.1"
        for e in record["entities"]:
            assert record["body_text"][e["start"] : e["end"]] == e["text"]
            labels.add(e["label"])
    assert {"DATE", "ORG"} <= labels


def test_a_page_the_extractor_fails_on_is_recorded_and_the_run_goes_on(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Fault injection: the extractor raises an unexpected error (a bug) on one notice. That page
    is recorded as failed with reason extract_error and its traceback in the log; every other
    notice of the batch is stored; the next run does not trip on it again."""
    import pipeline.crawl as crawl_module

    victim = server.base_url + sorted(MANIFEST["notices"])[1]
    real = crawl_module.extract_notice

    def buggy(fetched: FetchResult, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if (fetched.final_url or fetched.url) == victim:
            raise KeyError("a bug the pipeline did not anticipate")
        return real(fetched, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(crawl_module, "extract_notice", buggy)
    summary = crawl(mini_site(server), tmp_path)
    assert summary.failed.get("extract_error") == 1
    assert summary.new_records == len(MANIFEST["notices"]) - 1
    assert db_rows(tmp_path, f"SELECT state, reason FROM urls WHERE url = '{victim}'") == [
        ("failed", "extract_error")
    ]
    assert any("failed unexpectedly" in r.message and r.exc_info for r in caplog.records)
    again = crawl(mini_site(server), tmp_path)
    assert again.failed.get("extract_error") is None and again.new_records == 0


def _mount_tmpfs(path: Path, size: str) -> bool:
    """A small real filesystem for the full-disk tests (root only, as in CI); False if refused."""
    import os

    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0  # fmt: skip


def test_a_full_archive_disk_stops_the_run_and_a_resumed_run_completes(tmp_path: Path) -> None:
    """Issue 14: with the WARC volume full, 703 more URLs were fetched and thrown away. Now the
    first failed write stops the run with one clear error (the file, the free space), at most
    the requests already in flight are made after it, and once space is freed the same command
    completes with every notice stored and every WARC file valid."""
    from bench.gensite import generate_site
    from pipeline.errors import StoreError

    warc = tmp_path / "warc"
    warc.mkdir()
    if not _mount_tmpfs(warc, "1m"):
        pytest.skip("needs a tmpfs mount (root): the full-disk case is tested on a real filesystem")
    try:
        filler = warc / "filler.bin"
        free = shutil.disk_usage(warc).free
        filler.write_bytes(b"\0" * (free - 24 * 1024))  # the disk is all but full
        root = tmp_path / "gen"
        generated = generate_site(root, 50, seed=5, per_list=50, columns=1, base_url="http://127.0.0.1:8000")
        notice_paths = set(generated.notices)
        settings = fast_settings()
        with serve_site(root, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
            site = SiteConfig(
                name="gen", start_urls=[srv.base_url + generated.start_urls[0]], allow_private_addresses=True
            )
            with pytest.raises(StoreError) as err:
                crawl(site, tmp_path, settings=settings)
            message = str(err.value)
            assert "No space left" in message and "bytes free" in message and "run again" in message
            asked = [p for p in srv.paths() if p in notice_paths]
            assert len(asked) < len(notice_paths)  # it stopped
            filler.unlink()  # space is freed
            summary = crawl(site, tmp_path, settings=settings)
            gets = [p for p in srv.paths() if p in notice_paths]
        assert set(gets) == notice_paths
        assert len(gets) - len(notice_paths) <= settings.fetch_workers + 1  # at most the ones in flight again
        assert db_rows(tmp_path, "SELECT COUNT(*) FROM notices") == [(len(notice_paths),)]
        warcio = Path(sys.executable).with_name("warcio")
        files = sorted(warc.glob("*.warc.gz"))
        check = subprocess.run([str(warcio), "check", *map(str, files)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout[-2000:]
        assert summary.failed.get("unexpected") is None
    finally:
        subprocess.run(
            ["umount", "-l", str(warc)], capture_output=True
        )  # lazy: even if a handle is left open


def test_a_crawler_trap_is_bounded_by_the_budgets(tmp_path: Path) -> None:
    """Issue 14: a list-page family with ever new query strings gave 1,050,000 due notices in one
    discovery and a walk that never completed. Here every list page links 300 'notices' whose
    URLs differ only in their query (and a tracking parameter), and a 'next page' with a new
    query each time. The run ends, the frontier stays small, and the summary says what the
    budgets left out."""
    import itertools
    from urllib.parse import parse_qs, urlsplit

    counter = itertools.count()

    def trap_list(h: BaseHTTPRequestHandler) -> None:
        n = int(parse_qs(urlsplit(h.path).query).get("p", ["0"])[0])
        links = "".join(
            f'<li><a href="/trap/show.jsp?id={n * 1000 + i}&sid={next(counter)}&utm_source=x">关于开展第{i}项专项检查工作的通知</a>'
            f"<span>2024-05-{1 + i % 28:02d}</span></li>"
            for i in range(300)
        )
        body = (f"<html><body><ul class='list'>{links}</ul><div class='pager'>"
                f"<a href='/trap/list.jsp?p={n + 1}&r={next(counter)}'>下一页</a></div></body></html>").encode()  # fmt: skip
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def notice(h: BaseHTTPRequestHandler) -> None:
        body = "<html><body><h1>通知</h1><p>各单位：现将有关事项通知如下，请认真贯彻落实，确保工作取得实效。</p></body></html>".encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    root = tmp_path / "trap-site"
    root.mkdir()
    settings = fast_settings(
        max_links_per_list_page=100, max_query_variants_per_path=50, max_new_urls_per_run=120
    )
    with serve_site(root, routes={"/trap/list.jsp": trap_list, "/trap/show.jsp": notice}) as srv:
        site = SiteConfig(name="trap", start_urls=[srv.base_url + "/trap/list.jsp?p=0"], allow_private_addresses=True,
                          max_list_pages=30)  # fmt: skip
        summary = crawl(site, tmp_path, settings=settings)
    notices = db_rows(tmp_path, "SELECT url FROM urls WHERE kind = 'notice'")
    assert len(notices) <= 50  # one path: at most max_query_variants_per_path query strings
    assert all("sid=" not in u and "utm_source" not in u for (u,) in notices)  # dropped before the frontier
    assert (
        summary.budget.get("links_per_list_page", 0) > 0
        and summary.budget.get("query_variants_per_path", 0) > 0
    )
    assert summary.list_pages <= 30
    assert any(label.strip() == "left out by budgets" for label, _ in summary.rows())


def test_a_full_database_disk_says_so_and_a_resumed_run_completes(server: SiteServer, tmp_path: Path) -> None:
    """Issue 14: with the database volume full the error shown was 'cannot rollback - no
    transaction is active' (SQLite had rolled back by itself). Now it names the full disk and
    the free space, the database stays consistent, and a run after freeing space completes."""
    from pipeline.errors import StoreError

    dbdir = tmp_path / "dbvol"
    dbdir.mkdir()
    if not _mount_tmpfs(dbdir, "2m"):
        pytest.skip("needs a tmpfs mount (root): the full-disk case is tested on a real filesystem")
    try:
        filler = dbdir / "filler.bin"
        filler.write_bytes(b"\0" * (shutil.disk_usage(dbdir).free - 160 * 1024))
        site = mini_site(server)

        def run() -> CrawlSummary:
            with Crawler(
                site, fast_settings(), db=dbdir / "db.sqlite", archive_dir=tmp_path / "warc"
            ) as crawler:
                return crawler.run()

        with pytest.raises(StoreError) as err:
            run()
        message = str(err.value)
        assert "full" in message and "bytes free" in message and "no transaction is active" not in message
        filler.unlink()
        run()
        with sqlite3.connect(dbdir / "db.sqlite") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            (n,) = conn.execute("SELECT COUNT(*) FROM notices").fetchone()
        assert n == len(MANIFEST["notices"])
    finally:
        subprocess.run(["umount", "-l", str(dbdir)], capture_output=True)


def test_no_page_is_extracted_while_the_write_transaction_is_open(
    server: SiteServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: extraction ran inside the crawl's write transaction, so a slow page held the
    database's write lock and a concurrent writer got 'database is locked'."""
    import pipeline.crawl as crawl_module

    seen: list[bool] = []
    real = crawl_module.extract_notice
    crawler = Crawler(
        mini_site(server), fast_settings(), db=tmp_path / "db.sqlite", archive_dir=tmp_path / "warc"
    )

    def watched(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        seen.append(crawler.store.conn.in_transaction)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(crawl_module, "extract_notice", watched)
    with crawler:
        summary = crawler.run()
    assert summary.new_records == len(MANIFEST["notices"]) and len(seen) == len(MANIFEST["notices"])
    assert not any(seen)

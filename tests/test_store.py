"""Stage store: the crawl database, on real SQLite files in tmp_path."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import pipeline.store as store_module
from pipeline.errors import StoreError
from pipeline.store import MIGRATIONS, Capture, SqliteStore, UrlSeen, record_hash
from schemas.crawl import FetchOutcome, UrlKind, WarcLocation
from schemas.record import NoticeRecord
from tests.conftest import CORPUS

SITE = "mini"
BASE = "http://www.example.gov.cn/zwgk/"


def url(name: str) -> str:
    return BASE + name + ".html"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def seen(name: str, kind: UrlKind = "notice", **kw: Any) -> UrlSeen:
    return UrlSeen(url=url(name), kind=kind, **kw)


def fetched(name: str, *, kind: UrlKind = "notice", at: dt.datetime | None = None, **kw: Any) -> FetchOutcome:
    fields: dict[str, Any] = {
        "url": url(name),
        "kind": kind,
        "outcome": "fetched",
        "http_status": 200,
        "attempts": 1,
        "fetched_at": at or now(),
        "sha256": "ab" * 32,
        "etag": '"e1"',
        "last_modified": "Wed, 15 May 2024 08:00:00 GMT",
        "warc": WarcLocation(file="mini-1.warc.gz", offset=350, length=2400),
    }
    fields.update(kw)
    return FetchOutcome(**fields)


def failed(
    name: str, reason: str, status: int | None = None, *, at: dt.datetime | None = None
) -> FetchOutcome:
    return FetchOutcome(
        url=url(name),
        kind="notice",
        outcome="failed",
        http_status=status,
        reason=reason,  # type: ignore[arg-type]
        message=f"{reason} for {name}",
        attempts=3,
        fetched_at=at or now(),
    )


def due_urls(store: SqliteStore, *, refresh: bool = False, kind: UrlKind = "notice") -> list[str]:
    return [r.url for r in store.due(SITE, kind, refresh=refresh)]


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql, params))


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "crawl.sqlite"


@pytest.fixture()
def store(db: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db) as s:
        yield s


@pytest.fixture(scope="module")
def record() -> NoticeRecord:
    return CORPUS[0].record()


# --- migrations --------------------------------------------------------------------------


def test_new_database_records_every_migration_once(db: Path) -> None:
    with SqliteStore(db) as s:
        assert s.schema_version == len(MIGRATIONS)
    first = rows(db, "SELECT version, applied_at FROM schema_migrations")
    assert [v for v, _ in first] == list(range(1, len(MIGRATIONS) + 1))
    tables = {name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"urls", "fetches", "captures", "notices", "versions", "list_walks", "runs"} <= tables
    with SqliteStore(db) as s:
        assert s.schema_version == len(MIGRATIONS)
    assert rows(db, "SELECT version, applied_at FROM schema_migrations") == first


def test_a_new_migration_is_applied_once_to_an_older_database(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqliteStore(db).close()
    extra = "CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (1)"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, extra])
    with SqliteStore(db) as s:
        assert s.schema_version == len(MIGRATIONS) + 1
    with SqliteStore(db) as s:
        assert s.schema_version == len(MIGRATIONS) + 1
    assert rows(db, "SELECT x FROM extra") == [(1,)]
    assert len(rows(db, "SELECT * FROM schema_migrations")) == len(MIGRATIONS) + 1


def test_a_failing_migration_leaves_the_database_at_its_old_version(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqliteStore(db) as s:
        s.add_urls(SITE, [seen("a")])
    broken = "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1)"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(StoreError, match="nowhere"):
        SqliteStore(db)
    assert rows(db, "SELECT MAX(version) FROM schema_migrations") == [(len(MIGRATIONS),)]
    assert (
        rows(db, "SELECT name FROM sqlite_master WHERE name = 'half'") == []
    )  # the whole migration rolled back
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    with SqliteStore(db) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert s.known([url("a")]) == {url("a")}


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage file", "pages overwritten"])
def test_a_corrupt_database_is_a_store_error(db: Path, damage: str) -> None:
    if damage == "garbage file":
        db.write_bytes(b"\x00not a database\xff" * 512)
    else:
        with SqliteStore(db) as s:
            s.add_urls(SITE, [seen(f"n{i}") for i in range(300)])
        data = db.read_bytes()
        db.write_bytes(data[:4096] + b"\x5a" * (len(data) - 4096))  # header page intact, the rest garbage
    with pytest.raises(StoreError) as info:
        SqliteStore(db).close()
    assert str(db) in str(info.value)
    assert info.value.stage == "store"


def test_a_locked_database_is_a_store_error(store: SqliteStore, db: Path) -> None:
    store.conn.execute("PRAGMA busy_timeout = 50")  # not 30 s in a test
    with closing(sqlite3.connect(db, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="locked"), store.transaction():
            pass
        with pytest.raises(StoreError, match="locked"):
            store.add_urls(SITE, [seen("a")])
        with pytest.raises(StoreError, match="locked"):
            store.mark_extracted(url("a"), "x")
        other.execute("ROLLBACK")
    assert store.add_urls(SITE, [seen("a")]) == [url("a")]  # usable again once the lock is gone


def test_an_error_inside_a_transaction_rolls_it_back(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.add_urls(SITE, [seen("a")])  # a nested transaction: joins the outer one
        raise RuntimeError("stop")
    assert store.count_urls(SITE, "notice") == 0
    assert store.add_urls(SITE, [seen("a")]) == [url("a")]


def test_count_of_an_unknown_table_is_a_store_error(store: SqliteStore) -> None:
    with pytest.raises(StoreError):
        store.count("sqlite_master")


# --- frontier ----------------------------------------------------------------------------


def test_add_urls_returns_only_new_urls(store: SqliteStore) -> None:
    assert store.add_urls(SITE, [seen("a"), seen("b"), seen("a")]) == [url("a"), url("b")]
    assert store.add_urls(SITE, [seen("b"), seen("c"), seen("d", "attachment")]) == [url("c"), url("d")]
    assert store.add_urls(SITE, [seen("a")]) == []
    assert store.count_urls(SITE, "notice") == 3
    assert store.count_urls(SITE, "attachment") == 1
    assert store.known([url("a"), url("d"), url("zz")]) == {url("a"), url("d")}


def test_list_title_is_kept_from_the_first_listing_that_has_one(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("a")])
    store.add_urls(SITE, [seen("a", list_title="关于开展检查的通知", list_date=dt.date(2024, 5, 15))])
    store.add_urls(SITE, [seen("a", list_title="另一个标题", list_date=dt.date(2024, 1, 1))])
    state = store.url_state(url("a"))
    assert state is not None
    assert (state["list_title"], state["list_date"]) == ("关于开展检查的通知", "2024-05-15")


def test_a_notice_moves_from_pending_to_archived_to_done(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("a")])
    assert due_urls(store) == [url("a")]

    store.record_fetch(fetched("a"), run_id="r1", recheck_days=30)
    assert due_urls(store) == []
    assert due_urls(store, refresh=True) == []  # archived: waits for extraction, not for a re-fetch
    assert store.awaiting_extraction(SITE) == [
        (url("a"), WarcLocation(file="mini-1.warc.gz", offset=350, length=0))
    ]

    store.mark_extracted(url("a"), "nid-a")
    assert store.awaiting_extraction(SITE) == []
    assert due_urls(store) == []  # re-check in 30 days
    [req] = store.due(SITE, "notice", refresh=True)
    assert (req.url, req.etag, req.last_modified, req.previous_sha256) == (
        url("a"),
        '"e1"',
        "Wed, 15 May 2024 08:00:00 GMT",
        "ab" * 32,
    )
    state = store.url_state(url("a"))
    assert state is not None
    assert (state["state"], state["notice_id"], state["failures"]) == ("done", "nid-a", 0)


def test_unchanged_keeps_the_last_archived_copy(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("a")])
    store.record_fetch(fetched("a"), run_id="r1", recheck_days=0)
    store.mark_extracted(url("a"), "nid-a")
    store.record_fetch(
        fetched("a", outcome="unchanged", http_status=304, sha256=None, warc=None),
        run_id="r2",
        recheck_days=30,
    )
    state = store.url_state(url("a"))
    assert state is not None
    assert (state["state"], state["http_status"], state["sha256"]) == ("done", 304, "ab" * 32)
    assert (state["warc_file"], state["warc_offset"]) == ("mini-1.warc.gz", 350)
    assert due_urls(store) == []


def test_a_list_page_is_done_once_fetched(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("index", "list")])
    store.record_fetch(fetched("index", kind="list"), run_id="r1", recheck_days=1)
    assert due_urls(store, kind="list") == []
    assert due_urls(store, kind="list", refresh=True) == [url("index")]
    assert store.awaiting_extraction(SITE) == []


def test_failures_transient_now_permanent_on_the_slow_cycle(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("t"), seen("p"), seen("p0")])
    store.record_fetch(failed("t", "timeout"), run_id="r1", recheck_days=30)
    store.record_fetch(failed("p", "not_found", 404), run_id="r1", recheck_days=30)
    store.record_fetch(failed("p0", "gone", 410), run_id="r1", recheck_days=0)
    assert due_urls(store) == [url("p0"), url("t")]  # p: 404, not before 30 days
    assert url("p") in due_urls(store, refresh=True)

    store.record_fetch(failed("t", "server_error", 503), run_id="r2", recheck_days=30)
    assert url("t") in due_urls(store)
    assert store.failures(SITE) == [
        {
            "url": url("p"),
            "kind": "notice",
            "http_status": 404,
            "reason": "not_found",
            "message": "not_found for p",
        },
        {"url": url("p0"), "kind": "notice", "http_status": 410, "reason": "gone", "message": "gone for p0"},
        {
            "url": url("t"),
            "kind": "notice",
            "http_status": 503,
            "reason": "server_error",
            "message": "server_error for t",
        },
    ]
    t = store.url_state(url("t"))
    assert t is not None
    assert t["failures"] == 2

    # a success clears the failure
    store.record_fetch(fetched("t"), run_id="r3", recheck_days=30)
    t = store.url_state(url("t"))
    assert t is not None
    assert (t["state"], t["reason"], t["message"], t["failures"]) == ("archived", None, None, 0)


def test_every_fetch_is_logged_with_its_reason(store: SqliteStore, db: Path) -> None:
    store.add_urls(SITE, [seen("a"), seen("b")])
    store.record_fetch(failed("a", "rate_limited", 429), run_id="r1", recheck_days=30)
    store.record_fetch(fetched("a", elapsed_ms=12.345), run_id="r2", recheck_days=30)
    store.record_fetch(failed("b", "robots"), run_id="r2", recheck_days=30)
    assert rows(
        db,
        "SELECT run_id, url, outcome, http_status, reason, attempts, elapsed_ms, warc_file, warc_offset"
        " FROM fetches ORDER BY id",
    ) == [
        ("r1", url("a"), "failed", 429, "rate_limited", 3, 0.0, None, None),
        ("r2", url("a"), "fetched", 200, None, 1, 12.3, "mini-1.warc.gz", 350),
        ("r2", url("b"), "failed", None, "robots", 3, 0.0, None, None),
    ]
    assert store.count("fetches") == 3


def test_mark_failed_records_the_reason(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("a"), seen("b")])
    for name in ("a", "b"):
        store.record_fetch(fetched(name), run_id="r1", recheck_days=30)
    store.mark_failed(url("a"), "extract", "no title, no body", recheck_days=30)
    store.mark_failed(url("b"), "decode", "a PDF", recheck_days=0)
    assert store.awaiting_extraction(SITE) == []
    a = store.url_state(url("a"))
    assert a is not None
    assert (a["state"], a["reason"], a["message"], a["failures"]) == (
        "failed",
        "extract",
        "no title, no body",
        1,
    )
    assert due_urls(store) == [url("b")]


def test_sitemap_lastmod_newer_than_the_last_fetch_makes_a_url_due(store: SqliteStore) -> None:
    when = dt.datetime(2024, 5, 15, 8, 0, tzinfo=dt.UTC)
    store.add_urls(SITE, [seen("a")])
    store.record_fetch(fetched("a", at=when), run_id="r1", recheck_days=100_000)
    store.mark_extracted(url("a"), "nid-a")
    store.add_urls(SITE, [seen("a", lastmod=dt.date(2024, 5, 15))])  # same day: nothing new
    assert due_urls(store) == []
    store.add_urls(SITE, [seen("a", lastmod=dt.date(2024, 5, 16))])
    assert due_urls(store) == [url("a")]


# --- captures ----------------------------------------------------------------------------


def capture(
    name: str, at: dt.datetime, *, status: int | None = 200, kind: str = "notice", offset: int = 350
) -> Capture:
    return Capture(
        url=url(name),
        fetched_at=at,
        kind=kind,
        status=status,
        mime="text/html",
        sha256="cd" * 32,
        warc=WarcLocation(file="mini-2.warc.gz", offset=offset, length=1000),
    )


def test_add_captures_and_latest_capture(store: SqliteStore) -> None:
    t = dt.datetime(2024, 5, 15, 8, 0, tzinfo=dt.UTC)
    first = capture("a", t, offset=100)
    second = capture("a", t + dt.timedelta(hours=1), offset=2000)
    error = capture("a", t + dt.timedelta(hours=2), status=503, offset=4000)
    assert store.add_captures([first, second, error]) == 3
    assert store.add_captures([second, capture("b", t, offset=6000)]) == 1  # same (file, offset): ignored
    assert store.capture_count("mini-2.warc.gz") == 4
    assert store.has_capture("mini-2.warc.gz", 2000)
    assert not store.has_capture("mini-2.warc.gz", 2001)
    assert store.latest_capture(url("a")) == second
    assert store.latest_capture(url("a"), status=None) == error
    assert store.latest_capture(url("a"), since=t + dt.timedelta(minutes=90)) is None
    assert store.latest_capture(url("a"), since=t) == second
    assert store.latest_capture(url("zz")) is None


def test_adopt_capture_takes_a_2xx_capture_of_a_pending_url(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("a"), seen("doc", "attachment")])
    t = now()
    assert store.adopt_capture(capture("a", t), recheck_days=30)
    assert store.adopt_capture(capture("doc", t, kind="attachment", offset=9000), recheck_days=30)
    a = store.url_state(url("a"))
    doc = store.url_state(url("doc"))
    assert a is not None and doc is not None
    assert (a["state"], a["http_status"], a["sha256"], a["warc_file"], a["warc_offset"]) == (
        "archived",
        200,
        "cd" * 32,
        "mini-2.warc.gz",
        350,
    )
    assert doc["state"] == "done"
    assert store.awaiting_extraction(SITE) == [
        (url("a"), WarcLocation(file="mini-2.warc.gz", offset=350, length=0))
    ]
    assert due_urls(store) == []
    assert due_urls(store, kind="attachment") == []
    # already awaiting extraction: a second capture does not replace the first
    assert not store.adopt_capture(capture("a", t + dt.timedelta(seconds=1), offset=700), recheck_days=30)


@pytest.mark.parametrize("status", [None, 304, 503])
def test_adopt_capture_refuses_a_non_2xx_capture(store: SqliteStore, status: int | None) -> None:
    store.add_urls(SITE, [seen("a")])
    assert not store.adopt_capture(capture("a", now(), status=status), recheck_days=30)
    state = store.url_state(url("a"))
    assert state is not None
    assert (state["state"], state["warc_file"]) == ("pending", None)


@pytest.mark.parametrize(("status", "reason"), [(404, "not_found"), (410, "gone")])
def test_adopt_capture_records_a_404_or_410_as_a_failure(
    store: SqliteStore, status: int, reason: str
) -> None:
    store.add_urls(SITE, [seen("a")])
    assert store.adopt_capture(capture("a", now(), status=status), recheck_days=30)
    state = store.url_state(url("a"))
    assert state is not None
    assert (state["state"], state["reason"], state["http_status"]) == ("failed", reason, status)


def test_adopt_capture_refuses_a_truncated_capture(store: SqliteStore) -> None:
    store.add_urls(SITE, [seen("a")])
    torn = capture("a", now()).model_copy(update={"truncated": "disconnect"})
    assert not store.adopt_capture(torn, recheck_days=30)
    state = store.url_state(url("a"))
    assert state is not None and state["state"] == "pending"


def test_adopt_capture_refuses_a_capture_older_than_the_last_fetch(store: SqliteStore) -> None:
    t = now()
    store.add_urls(SITE, [seen("a")])
    store.record_fetch(fetched("a", at=t), run_id="r1", recheck_days=30)
    store.mark_extracted(url("a"), "nid-a")
    assert not store.adopt_capture(capture("a", t - dt.timedelta(minutes=5)), recheck_days=30)
    assert not store.adopt_capture(capture("a", t), recheck_days=30)
    state = store.url_state(url("a"))
    assert state is not None
    assert (state["state"], state["warc_file"]) == ("done", "mini-1.warc.gz")
    assert store.adopt_capture(capture("a", t + dt.timedelta(minutes=5)), recheck_days=30)
    assert store.awaiting_extraction(SITE) == [
        (url("a"), WarcLocation(file="mini-2.warc.gz", offset=350, length=0))
    ]


def test_adopt_capture_of_an_unknown_url_does_nothing(store: SqliteStore) -> None:
    assert not store.adopt_capture(capture("never", now()), recheck_days=30)
    assert store.count("urls") == 0


# --- records -----------------------------------------------------------------------------


def test_put_record_twice_is_one_version(store: SqliteStore, record: NoticeRecord) -> None:
    assert store.put_record(record, site=SITE, extractor_version="1") == "new"
    assert store.put_record(record, site=SITE, extractor_version="1") == "same"
    assert store.version_count(record.id) == 1
    assert (store.count("notices"), store.count("versions")) == (1, 1)
    assert store.get_record(record.id) == record
    assert list(store.records()) == [record]
    assert list(store.records(SITE)) == [record]
    assert list(store.records("elsewhere")) == []
    assert store.get_record("0" * 32) is None


def test_a_changed_record_is_a_new_version_and_the_old_one_is_kept(
    store: SqliteStore, db: Path, record: NoticeRecord
) -> None:
    changed = record.model_copy(update={"title": "关于调整2023年吴兴区职业技能竞赛时间的公告"})
    assert record_hash(changed) != record_hash(record)
    assert store.put_record(record, site=SITE, extractor_version="1") == "new"
    assert store.put_record(changed, site=SITE, extractor_version="2") == "version"
    assert store.version_count(record.id) == 2
    assert store.get_record(record.id) == changed
    assert rows(db, "SELECT current_version, title, record_hash FROM notices") == [
        (2, changed.title, record_hash(changed))
    ]
    versions = rows(
        db, "SELECT version, extractor_version, record_hash, record_json FROM versions ORDER BY version"
    )
    assert [(v, x, h) for v, x, h, _ in versions] == [
        (1, "1", record_hash(record)),
        (2, "2", record_hash(changed)),
    ]
    assert [NoticeRecord.model_validate_json(j) for *_, j in versions] == [record, changed]
    # back to the first text: a third version, not "same" (it compares with the current one)
    assert store.put_record(record, site=SITE, extractor_version="2") == "version"
    assert store.version_count(record.id) == 3


def test_fetch_time_and_archive_location_are_not_a_change(
    store: SqliteStore, db: Path, record: NoticeRecord
) -> None:
    first = record.model_copy(
        update={
            "source": record.source.model_copy(
                update={"fetched_at": dt.datetime(2024, 5, 15, tzinfo=dt.UTC), "warc": "mini-1.warc.gz#350"}
            )
        }
    )
    refetched = record.model_copy(
        update={
            "source": record.source.model_copy(
                update={"fetched_at": dt.datetime(2024, 6, 1, tzinfo=dt.UTC), "warc": "mini-9.warc.gz#77"}
            )
        }
    )
    assert record_hash(first) == record_hash(refetched) == record_hash(record)
    assert store.put_record(first, site=SITE, extractor_version="1") == "new"
    assert store.put_record(refetched, site=SITE, extractor_version="1") == "same"
    assert store.version_count(record.id) == 1
    assert rows(db, "SELECT sha256, fetched_at, warc FROM versions") == [
        (record.source.sha256, "2024-05-15T00:00:00+00:00", "mini-1.warc.gz#350")
    ]
    other_bytes = record.model_copy(update={"source": record.source.model_copy(update={"sha256": "0" * 64})})
    assert record_hash(other_bytes) != record_hash(record)


def test_record_hash_is_stable_and_ignores_key_order(record: NoticeRecord) -> None:
    again = NoticeRecord.model_validate(json.loads(record.model_dump_json()))
    assert record_hash(again) == record_hash(record)
    assert len(record_hash(record)) == 64


def test_a_reader_never_sees_half_a_put(db: Path, record: NoticeRecord) -> None:
    """Each new record adds one notices row and one versions row in one transaction."""
    done = threading.Event()
    seen_counts: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with closing(sqlite3.connect(db, timeout=5)) as conn:
                while not done.is_set():
                    n, v = conn.execute(
                        "SELECT (SELECT COUNT(*) FROM notices), (SELECT COUNT(*) FROM versions)"
                    ).fetchone()
                    seen_counts.append((n, v))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with SqliteStore(db) as store:
        reader = threading.Thread(target=read)
        reader.start()
        try:
            for i in range(150):
                copy = record.model_copy(update={"id": f"{i:032x}", "url": f"{record.url}?n={i}"})
                assert store.put_record(copy, site=SITE, extractor_version="1") == "new"
        finally:
            done.set()
            reader.join()
    assert errors == []
    assert seen_counts
    assert all(n == v for n, v in seen_counts), [c for c in seen_counts if c[0] != c[1]][:5]
    assert len({n for n, _ in seen_counts}) > 1  # the reader did look while the writer wrote


# --- list walks and runs -----------------------------------------------------------------


def test_list_walks(store: SqliteStore) -> None:
    start = BASE + "index.html"
    assert not store.list_walk_done(start)
    store.set_list_walk_done(SITE, start)
    store.set_list_walk_done(SITE, start)
    assert store.list_walk_done(start)
    assert not store.list_walk_done(BASE + "other.html")


def test_an_unfinished_run_is_found_until_it_finishes(store: SqliteStore) -> None:
    assert store.unfinished_run(SITE) is None
    before = now()
    store.start_run("run-1", SITE)
    found = store.unfinished_run(SITE)
    assert found is not None
    assert found[0] == "run-1"
    assert before <= found[1] <= now()
    assert store.unfinished_run("elsewhere") is None
    store.finish_run("run-1", '{"fetched": 3}')
    assert store.unfinished_run(SITE) is None
    store.start_run("run-2", SITE)
    found = store.unfinished_run(SITE)
    assert found is not None and found[0] == "run-2"

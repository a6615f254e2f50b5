"""Archivists' search over a real SQLite store of the fixture records, checked against an oracle:
the same question answered by plain Python over the same records."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.errors import StoreError
from pipeline.store import SqliteStore
from schemas.record import NoticeRecord, NoticeSection
from schemas.search import SearchQuery
from tests.conftest import CORPUS, EXTRA

RECORDS = [g.record() for g in CORPUS + EXTRA]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    path = tmp_path_factory.mktemp("search") / "db.sqlite"
    with SqliteStore(path) as s:
        for record in RECORDS:
            assert s.put_record(record, site="fixtures", extractor_version="test") == "new"
        yield s


def ids(store: SqliteStore, **query: object) -> list[str]:
    """Every id the search returns, following the cursor to the end."""
    out: list[str] = []
    cursor = None
    while True:
        page = store.search(SearchQuery.model_validate({**query, "limit": 3, "cursor": cursor}))
        out += [h.id for h in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return out


def oracle(pred: Callable[[NoticeRecord], bool]) -> list[str]:
    chosen = [r for r in RECORDS if pred(r)]
    chosen.sort(
        key=lambda r: ((r.published_date.isoformat() if r.published_date else ""), r.id), reverse=True
    )
    return [r.id for r in chosen]


def _text(r: NoticeRecord) -> str:
    meta = " ".join(v for v in (r.publisher, r.doc_no, r.index_no, r.topic) if v)
    return " ".join([r.title or "", r.body_text, meta])


def _kinds(sections: list[NoticeSection]) -> set[str]:
    out: set[str] = set()
    for s in sections:
        out |= {s.kind} | _kinds(s.children)
    return out


def test_no_query_lists_everything_newest_first_without_duplicates(store: SqliteStore) -> None:
    got = ids(store)
    assert got == oracle(lambda r: True)
    assert len(got) == len(set(got)) == len(RECORDS)


@pytest.mark.parametrize("term", ["政府开放日", "农产品质量", "应急管理局", "安全生产月", "不存在的词语组合"])
def test_chinese_substrings_of_three_or_more_use_the_trigram_index(store: SqliteStore, term: str) -> None:
    assert ids(store, q=term) == oracle(lambda r: term in _text(r))


@pytest.mark.parametrize("term", ["应急", "农业", "局", "通知"])
def test_short_queries_fall_back_to_substring_scan(store: SqliteStore, term: str) -> None:
    assert ids(store, q=term) == oracle(lambda r: term in _text(r))


def test_several_words_must_all_match(store: SqliteStore) -> None:
    assert ids(store, q="应急 演练") == oracle(lambda r: "应急" in _text(r) and "演练" in _text(r))


def test_query_syntax_is_not_interpreted(store: SqliteStore) -> None:
    for hostile in ['"', "NEAR(a b) OR *", "'; DROP TABLE notices; --", "title:x", "a AND"]:
        assert ids(store, q=hostile) == oracle(lambda r, h=hostile: all(w in _text(r) for w in h.split()))
    assert store.count("notices") == len(RECORDS)


@pytest.mark.parametrize(
    ("query", "pred"),
    [
        ({"publisher": "农业农村局"}, lambda r: "农业农村局" in (r.publisher or "")),
        (
            {"since": "2023-01-01"},
            lambda r: r.published_date is not None and r.published_date >= dt.date(2023, 1, 1),
        ),
        (
            {"until": "2021-12-31"},
            lambda r: r.published_date is not None and r.published_date <= dt.date(2021, 12, 31),
        ),
        ({"validity": "有效"}, lambda r: r.validity == "有效"),
        ({"doc_no": "〔2024〕"}, lambda r: "〔2024〕" in (r.doc_no or "")),
        ({"index_no": "2024"}, lambda r: "2024" in (r.index_no or "")),
        ({"topic": "综合政务"}, lambda r: "综合政务" in (r.topic or "")),
        ({"kind": "outcomes"}, lambda r: "outcomes" in _kinds(r.sections)),
        ({"kind": "next_steps"}, lambda r: "next_steps" in _kinds(r.sections)),
        ({"integrity": "suspect"}, lambda r: r.integrity.status == "suspect"),
        (
            {"q": "活动", "since": "2024-01-01", "kind": "activities"},
            lambda r: (
                "活动" in _text(r)
                and r.published_date is not None
                and r.published_date >= dt.date(2024, 1, 1)
                and "activities" in _kinds(r.sections)
            ),
        ),
    ],
)
def test_each_filter_matches_the_oracle(
    store: SqliteStore, query: dict[str, str], pred: Callable[[NoticeRecord], bool]
) -> None:
    expected = oracle(pred)
    assert ids(store, **query) == expected
    assert expected or query.get("integrity") is None  # fixtures make most filters non-empty


def test_filters_are_not_vacuous(store: SqliteStore) -> None:
    for query in (
        {"publisher": "农业农村局"},
        {"kind": "outcomes"},
        {"integrity": "suspect"},
        {"validity": "有效"},
    ):
        got = ids(store, **query)
        assert 0 < len(got) < len(RECORDS), query


def test_snippets_mark_the_match(store: SqliteStore) -> None:
    page = store.search(SearchQuery(q="农产品质量"))
    assert page.items and all(
        "[[农产品质量]]" in h.snippet or "农产品质量" in (h.title or "") for h in page.items
    )


def test_bad_cursor_is_a_store_error(store: SqliteStore) -> None:
    with pytest.raises(StoreError, match="cursor"):
        store.search(SearchQuery(cursor="not-a-cursor"))


def test_find_by_id_url_and_prefix(store: SqliteStore) -> None:
    record = RECORDS[0]
    assert store.find(record.id) == record
    assert store.find(record.url) == record
    assert store.find(record.id[:10]) == record
    assert store.find("0" * 40) is None


def test_a_new_version_is_searchable_and_the_old_text_is_not(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "db.sqlite") as s:
        record = RECORDS[0]
        s.put_record(record, site="x", extractor_version="t")
        changed = record.model_copy(update={"title": "一个全新的标题文字", "body_text": "完全不同的正文内容"})
        assert s.put_record(changed, site="x", extractor_version="t") == "version"
        assert [h.id for h in s.search(SearchQuery(q="全新的标题")).items] == [record.id]
        assert s.search(SearchQuery(q=(record.title or "")[:6])).items == []
        assert [v.version for v in s.versions(record.id)] == [1, 2]
        old = s.version_record(record.id, 1)
        assert old is not None and old.title == record.title


def test_cli_search_show_and_diff(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    record = next(r for r in RECORDS if r.sections)
    with SqliteStore(db) as s:
        s.put_record(record, site="x", extractor_version="t")
        s.put_record(record.model_copy(update={"validity": "失效"}), site="x", extractor_version="t")

    def notices(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipeline.cli", *args, "--db", str(db)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    found = notices("search", (record.title or "")[:5], "--json")
    assert found.returncode == 0, found.stderr
    assert [h["id"] for h in json.loads(found.stdout)["items"]] == [record.id]
    shown = notices("show", record.id[:12])
    assert shown.returncode == 0, shown.stderr
    assert record.sections[0].kind in shown.stdout and record.source.sha256 in shown.stdout
    assert "versions" in shown.stdout
    changed = notices("diff", record.id)
    assert changed.returncode == 0 and f"validity: {record.validity!r} → '失效'" in changed.stdout
    bad = notices("search", "--since", "yesterday")
    assert bad.returncode == 2 and "since" in bad.stderr and "Traceback" not in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "x", "--db", str(tmp_path / "none.db")],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 2 and "no database" in missing.stderr


def test_a_version_1_database_is_upgraded_and_searchable(tmp_path: Path) -> None:
    """A database written before the search migrations: opening it backfills columns, kinds and index."""
    import sqlite3

    from pipeline.store import MIGRATIONS

    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    for statement in first.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (1, '2026-01-01')")
    record = next(r for r in RECORDS if r.sections and r.publisher)
    conn.execute(
        "INSERT INTO notices (id, url, site, current_version, record_hash, title, published_date, publisher,"
        " updated_at, record_json) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (record.id, record.url, "old", 1, "h", record.title, str(record.published_date), record.publisher,
         "2026-01-01", record.model_dump_json()),
    )  # fmt: skip
    conn.commit()
    conn.close()
    with SqliteStore(db) as store:
        assert store.schema_version == len(MIGRATIONS)
        term = (record.title or "")[2:6]
        assert [h.id for h in store.search(SearchQuery(q=term)).items] == [record.id]
        kind = record.sections[0].kind
        assert [h.id for h in store.search(SearchQuery(kind=kind)).items] == [record.id]
        assert [h.id for h in store.search(SearchQuery(publisher=record.publisher)).items] == [record.id]


def test_cli_export_and_serve(tmp_path: Path) -> None:
    import socket
    import time
    import urllib.request

    db = tmp_path / "db.sqlite"
    with SqliteStore(db) as s:
        for record in RECORDS[:5]:
            s.put_record(record, site="x", extractor_version="t")
    out = tmp_path / "export"
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "export", "--db", str(db), "--out", str(out),
                           "--include-suspect"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"  # the new cursor
    assert (out / "latest" / "notices.jsonl").read_text(encoding="utf-8").count("\n") == 5
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/notices?limit=2", timeout=2) as resp:
                    page = json.loads(resp.read())
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert len(page["items"]) == 2 and page["next_cursor"]
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stderr is not None
        server.stderr.close()
    bad = subprocess.run([sys.executable, "-m", "pipeline.cli", "serve", "--db", str(tmp_path / "nope.sqlite")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "no database" in bad.stderr and "Traceback" not in bad.stderr


def test_a_new_version_between_pages_neither_skips_nor_repeats(tmp_path: Path) -> None:
    import datetime as dt

    base = RECORDS[0]
    with SqliteStore(tmp_path / "db.sqlite") as s:
        same_day = []
        for i in range(4):
            url = f"http://www.a.gov.cn/t{i}.html"
            from pipeline.record import notice_id

            r = base.model_copy(update={"id": notice_id(url), "url": url, "title": f"同日公告{i}号",
                                        "published_date": dt.date(2024, 5, 1)})  # fmt: skip
            s.put_record(r, site="x", extractor_version="t")
            same_day.append(r)
        first = s.search(SearchQuery(limit=2))
        changed = same_day[1].model_copy(update={"body_text": same_day[1].body_text + "补充说明。"})
        assert s.put_record(changed, site="x", extractor_version="t") == "version"
        second = s.search(SearchQuery(limit=2, cursor=first.next_cursor))
        seen = [h.id for h in first.items + second.items]
    assert sorted(seen) == sorted(r.id for r in same_day) and len(set(seen)) == 4


def test_dates_before_1900_sort_before_undated(tmp_path: Path) -> None:
    import datetime as dt

    from pipeline.record import notice_id

    with SqliteStore(tmp_path / "db.sqlite") as s:
        for i, day in enumerate([None, dt.date(1899, 12, 31), dt.date(2024, 1, 1)]):
            url = f"http://www.a.gov.cn/d{i}.html"
            r = RECORDS[0].model_copy(update={"id": notice_id(url), "url": url, "published_date": day})
            s.put_record(r, site="x", extractor_version="t")
        dates = [h.published_date for h in s.search(SearchQuery()).items]
    assert dates == [dt.date(2024, 1, 1), dt.date(1899, 12, 31), None]


def test_bad_search_input_is_refused_clearly(store: SqliteStore) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="control characters"):
        SearchQuery(q="\x00\x00\x00")
    with pytest.raises(ValidationError, match="at most 10 words"):
        SearchQuery(q=" ".join("词语" for _ in range(11)))
    import base64

    huge = base64.urlsafe_b64encode(b"k99999999999999999999").decode().rstrip("=")
    with pytest.raises(StoreError, match="cursor"):
        store.search(SearchQuery(cursor=huge))


def test_short_words_match_regardless_of_ascii_case(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "db.sqlite") as s:
        r = RECORDS[0].model_copy(update={"body_text": RECORDS[0].body_text + "GH项目"})
        s.put_record(r, site="x", extractor_version="t")
        assert [h.id for h in s.search(SearchQuery(q="gh")).items] == [r.id]
        assert [h.id for h in s.search(SearchQuery(q="gh项目")).items] == [r.id]


def test_two_processes_upgrading_one_old_database_both_succeed(tmp_path: Path) -> None:
    import sqlite3
    import threading

    from pipeline.store import MIGRATIONS

    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    conn.executescript(first)
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'x')")
    conn.commit()
    conn.close()
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            SqliteStore(db).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with SqliteStore(db) as s:
        assert s.schema_version == len(MIGRATIONS)


def test_cli_prints_user_text_literally(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    with SqliteStore(db) as s:
        s.put_record(RECORDS[0], site="x", extractor_version="t")
    for args in (["show", "[/x]"], ["search", "--cursor", "[/x]"], ["diff", "[/x]"]):
        result = subprocess.run([sys.executable, "-m", "pipeline.cli", *args, "--db", str(db)],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert result.returncode in (1, 2) and "Traceback" not in result.stderr, (args, result.stderr)
        assert "[/x]" in result.stderr

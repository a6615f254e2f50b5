"""The archivists' HTTP service through a real uvicorn server on 127.0.0.1.

A module fixture crawls the mini site (fixtures/corpus/site) into a real database and WARC
archive; every test talks HTTP to the app served from it (not a test client).
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from warcio.archiveiterator import ArchiveIterator

from pipeline.api import CSP, KIND_LABELS, create_app, marked
from pipeline.crawl import Crawler
from pipeline.errors import StoreError
from pipeline.record import notice_id
from pipeline.siteserver import serve_site
from pipeline.store import SqliteStore
from schemas.record import Attachment, Integrity, IntegrityFinding, NoticeRecord, NoticeSection, SectionKind
from schemas.site import SiteConfig
from tests.test_crawl import MANIFEST, SITE, TYPES, fast_settings


@dataclass(frozen=True)
class Crawled:
    db: Path
    archive: Path
    records: list[NoticeRecord]


def crawl_mini_site(root: Path) -> Crawled:
    """The mini site crawled into ``root``: a real database and WARC archive."""
    with serve_site(SITE, content_types=TYPES, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        site = SiteConfig(
            name="mini", start_urls=[srv.base_url + MANIFEST["start_url"]], allow_private_addresses=True
        )
        with Crawler(site, fast_settings(), db=root / "db.sqlite", archive_dir=root / "warc") as crawler:
            summary = crawler.run()
    assert summary.new_records == len(MANIFEST["notices"])
    with SqliteStore(root / "db.sqlite", readonly=True) as store:
        records = list(store.records())
    return Crawled(root / "db.sqlite", root / "warc", records)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return crawl_mini_site(tmp_path_factory.mktemp("crawled"))


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn server on a free 127.0.0.1 port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", http="h11"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not shut down"


def client(base: str) -> httpx.Client:
    # trust_env=False: no proxy from the environment; every request stays on 127.0.0.1
    return httpx.Client(base_url=base, trust_env=False, timeout=10)


@pytest.fixture(scope="module")
def base_url(crawled: Crawled) -> Iterator[str]:
    # no archive given: the app finds the folder the crawl recorded in its run summary
    with running(create_app(crawled.db, None)) as base:
        yield base


@pytest.fixture(scope="module")
def http(base_url: str) -> Iterator[httpx.Client]:
    with client(base_url) as c:
        yield c


def by_id(crawled: Crawled) -> dict[str, NoticeRecord]:
    return {r.id: r for r in crawled.records}


def newest_first(records: list[NoticeRecord]) -> list[str]:
    return [
        r.id
        for r in sorted(
            records, key=lambda r: (r.published_date.isoformat() if r.published_date else "", r.id)
        )
    ][::-1]


def contains(term: str) -> Callable[[NoticeRecord], bool]:
    """What the store's search means by a word: a substring of title, body or metadata."""

    def match(r: NoticeRecord) -> bool:
        fields = (r.title, r.body_text, r.publisher, r.doc_no, r.index_no, r.topic)
        return any(term in f for f in fields if f)

    return match


def kinds(sections: list[NoticeSection]) -> set[str]:
    return {s.kind for s in sections} | {k for s in sections for k in kinds(s.children)}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["items"]]


# --- search ----------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["政府开放日", "开放日", "应急管理局", "森林草原火灾"])
def test_a_chinese_substring_of_three_or_more_characters_is_found_by_the_trigram_index(
    http: httpx.Client, crawled: Crawled, term: str
) -> None:
    response = http.get("/notices", params={"q": term, "limit": 200})
    expected = newest_first([r for r in crawled.records if contains(term)(r)])
    assert expected and ids(response) == expected
    for hit in response.json()["items"]:
        assert f"[[{term}]]" in hit["snippet"] or term in (hit["title"] or "") + (hit["publisher"] or "")


@pytest.mark.parametrize("term", ["植树", "演练", "森林"])
def test_a_two_character_word_is_found_by_the_substring_scan(
    http: httpx.Client, crawled: Crawled, term: str
) -> None:
    response = http.get("/notices", params={"q": term, "limit": 200})
    expected = newest_first([r for r in crawled.records if contains(term)(r)])
    assert expected and ids(response) == expected


def test_several_words_must_all_match(http: httpx.Client, crawled: Crawled) -> None:
    response = http.get("/notices", params={"q": "应急管理局 演练", "limit": 200})
    expected = [r for r in crawled.records if contains("应急管理局")(r) and contains("演练")(r)]
    assert expected and ids(response) == newest_first(expected)


FILTERS: list[tuple[dict[str, str], Callable[[NoticeRecord], bool]]] = [
    ({"publisher": "应急管理局"}, lambda r: "应急管理局" in (r.publisher or "")),
    (
        {"since": "2024-01-01"},
        lambda r: r.published_date is not None and r.published_date.isoformat() >= "2024-01-01",
    ),
    (
        {"until": "2021-12-31"},
        lambda r: r.published_date is not None and r.published_date.isoformat() <= "2021-12-31",
    ),
    (
        {"since": "2022-01-01", "until": "2023-12-31"},
        lambda r: (
            r.published_date is not None and "2022-01-01" <= r.published_date.isoformat() <= "2023-12-31"
        ),
    ),
    ({"validity": "有效"}, lambda r: r.validity == "有效"),
    ({"validity": "失效"}, lambda r: r.validity == "失效"),
    ({"doc_no": "〔2024〕"}, lambda r: "〔2024〕" in (r.doc_no or "")),
    ({"index_no": "2024"}, lambda r: "2024" in (r.index_no or "")),
    ({"topic": "农业"}, lambda r: "农业" in (r.topic or "")),
    ({"kind": "problems"}, lambda r: "problems" in kinds(r.sections)),
    ({"integrity": "suspect"}, lambda r: r.integrity.status == "suspect"),
    (
        {"integrity": "clean", "q": "活动总结"},
        lambda r: r.integrity.status == "clean" and contains("活动总结")(r),
    ),
]


@pytest.mark.parametrize(("params", "predicate"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_each_filter_selects_exactly_the_matching_notices(
    http: httpx.Client, crawled: Crawled, params: dict[str, str], predicate: Callable[[NoticeRecord], bool]
) -> None:
    expected = newest_first([r for r in crawled.records if predicate(r)])
    assert expected, f"the fixture has no notice for {params}: the filter would be untested"
    assert len(expected) < len(crawled.records) or "integrity" in params
    assert ids(http.get("/notices", params={**params, "limit": 200})) == expected


@pytest.mark.parametrize("params", [{}, {"q": "活动"}, {"since": "2021-01-01"}])
def test_the_cursor_walks_every_result_once(
    http: httpx.Client, crawled: Crawled, params: dict[str, str]
) -> None:
    everything = ids(http.get("/notices", params={**params, "limit": 200}))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        response = http.get(
            "/notices", params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        page_ids = ids(response)
        assert len(page_ids) <= 3
        seen += page_ids
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == everything and len(set(seen)) == len(seen)
    assert pages == max(1, -(-len(everything) // 3))
    if not params:
        assert seen == newest_first(crawled.records)


# --- one notice ------------------------------------------------------------------------


def test_a_notice_is_its_full_record(http: httpx.Client, crawled: Crawled) -> None:
    for record in crawled.records[:5]:
        response = http.get(f"/notices/{record.id}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert NoticeRecord.model_validate(response.json()) == record


def test_versions_say_when_and_where_the_bytes_came_from(http: httpx.Client, crawled: Crawled) -> None:
    record = crawled.records[0]
    response = http.get(f"/notices/{record.id}/versions")
    assert response.status_code == 200
    [version] = response.json()
    assert version["version"] == 1
    assert version["sha256"] == record.source.sha256 and version["warc"] == record.source.warc


def warc_payload(archive: Path, location: str) -> bytes:
    """The payload at ``file#offset``, read with warcio directly (not through the pipeline)."""
    name, _, offset = location.rpartition("#")
    with (archive / name).open("rb") as fh:
        fh.seek(int(offset))
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "response"
        body: bytes = record.content_stream().read()
        return body


def test_raw_is_the_archived_bytes_as_a_download(http: httpx.Client, crawled: Crawled) -> None:
    for record in crawled.records:
        assert record.source.warc
        response = http.get(f"/notices/{record.id}/raw")
        assert response.status_code == 200, response.text
        assert response.content == warc_payload(crawled.archive, record.source.warc)
        assert hashlib.sha256(response.content).hexdigest() == record.source.sha256
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"] == f'attachment; filename="{record.id}.html"'
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]


def test_an_explicit_archive_folder_is_used(crawled: Crawled, tmp_path: Path) -> None:
    record = crawled.records[0]
    with running(create_app(crawled.db, crawled.archive)) as base, client(base) as c:
        assert c.get(f"/notices/{record.id}/raw").status_code == 200
    with pytest.raises(StoreError, match="no archive folder"):
        create_app(crawled.db, tmp_path / "missing")


def test_a_missing_warc_file_is_a_404_not_a_broken_database(crawled: Crawled, tmp_path: Path) -> None:
    import shutil

    record = crawled.records[0]
    archive = tmp_path / "warc"
    shutil.copytree(crawled.archive, archive)
    assert record.source.warc is not None
    (archive / record.source.warc.split("#")[0]).unlink()
    with running(create_app(crawled.db, archive)) as base, client(base) as c:
        response = c.get(f"/notices/{record.id}/raw")
    assert response.status_code == 404 and "not readable" in response.json()["detail"]


# --- bad input -------------------------------------------------------------------------

BAD = [
    ({"since": "2024-13-01"}, "since"),
    ({"until": "yesterday"}, "until"),
    ({"limit": "0"}, "limit"),
    ({"limit": "10000"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"validity": "valid"}, "validity"),
    ({"kind": "gossip"}, "kind"),
    ({"integrity": "dirty"}, "integrity"),
    ({"cursor": "garbage!"}, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"2024-01-01|'; DROP TABLE notices;--").decode()}, "cursor"),
    ({"q": "字" * 201}, "q"),
    ({"q": "\x00\x00\x00"}, "q"),
    ({"cursor": base64.urlsafe_b64encode(b"k99999999999999999999").decode()}, "cursor"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("params", "field"), BAD, ids=[f for _, f in BAD])
def test_malformed_parameters_get_a_422_naming_the_parameter(
    http: httpx.Client, params: dict[str, str], field: str
) -> None:
    response = http.get("/notices", params=params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field] and error["msg"]
    assert "Traceback" not in response.text


def test_an_unknown_id_is_a_404(http: httpx.Client) -> None:
    unknown = "0" * 32
    for path in (f"/notices/{unknown}", f"/notices/{unknown}/versions", f"/notices/{unknown}/raw"):
        response = http.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": f"no notice with id {unknown!r}"}
    page = http.get(f"/n/{unknown}")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert unknown in page.text


def test_openapi_describes_every_path_with_its_models(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert set(spec["paths"]) == {
        "/notices",
        "/notices/{notice_id}",
        "/notices/{notice_id}/versions",
        "/notices/{notice_id}/raw",
    }
    search = spec["paths"]["/notices"]["get"]
    assert {p["name"] for p in search["parameters"]} == {
        "q", "publisher", "since", "until", "validity", "doc_no", "index_no", "topic", "kind", "integrity",
        "limit", "cursor",
    }  # fmt: skip
    ok = search["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/SearchPage") and "422" in search["responses"]
    notice = spec["paths"]["/notices/{notice_id}"]["get"]["responses"]
    assert notice["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/NoticeRecord")
    assert "404" in notice
    raw = spec["paths"]["/notices/{notice_id}/raw"]["get"]["responses"]["200"]["content"]
    assert list(raw) == ["application/octet-stream"]
    assert {"SearchPage", "SearchHit", "NoticeRecord", "VersionInfo"} <= set(spec["components"]["schemas"])
    # no Swagger UI: it would load scripts from a CDN
    assert http.get("/docs").status_code == 404


def test_parallel_requests_each_get_their_own_store(http: httpx.Client, crawled: Crawled) -> None:
    terms = ["政府开放日", "植树", "应急管理局", "总结"]
    expected = {t: ids(http.get("/notices", params={"q": t})) for t in terms}
    with ThreadPoolExecutor(8) as pool:
        got = list(
            pool.map(
                lambda i: (terms[i % 4], ids(http.get("/notices", params={"q": terms[i % 4]}))), range(64)
            )
        )
    assert all(result == expected[term] for term, result in got)


# --- HTML ------------------------------------------------------------------------------


def style_hash(html: str) -> str:
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    assert css is not None
    return base64.b64encode(hashlib.sha256(css.group(1).encode()).digest()).decode()


def test_the_search_page_lists_results_with_marked_snippets(http: httpx.Client) -> None:
    response = http.get("/", params={"q": "政府开放日", "validity": "有效"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.count('class="result-title"') == 1 and "<mark>政府开放日</mark>" in html
    assert '<option value="有效" selected>' in html and 'value="政府开放日"' in html
    csp = response.headers["content-security-policy"]
    assert csp == CSP and "unsafe-inline" not in csp and "script-src" not in csp
    assert f"'sha256-{style_hash(html)}'" in csp  # the inline style is admitted by its hash
    assert "<script" not in html


def test_the_search_page_links_to_the_next_page(http: httpx.Client, crawled: Crawled) -> None:
    titles: list[str] = []
    path: str | None = "/?limit=10"
    while path:
        html = http.get(path.replace("&amp;", "&")).text
        titles += re.findall(r'class="result-title" href="/n/([0-9a-f]{32})"', html)
        found = re.search(r'href="([^"]+)" id="next-page"', html)
        path = found.group(1) if found else None
    assert titles == newest_first(crawled.records)


def test_the_search_page_explains_bad_filters(http: httpx.Client) -> None:
    response = http.get("/", params={"since": "2024-02-30", "cursor": ""})
    assert response.status_code == 422 and 'role="alert"' in response.text and "since" in response.text
    response = http.get("/", params={"cursor": "nonsense"})
    assert response.status_code == 422 and "cursor" in response.text
    # empty fields of a submitted form are no filter
    response = http.get(
        "/", params={"q": "", "publisher": "", "since": "", "until": "", "validity": "", "kind": ""}
    )
    assert response.status_code == 200 and response.text.count('class="result-title"') == 14


def test_the_record_page_shows_sections_provenance_and_versions(http: httpx.Client, crawled: Crawled) -> None:
    record = next(r for r in crawled.records if r.integrity.status == "suspect" and r.sections)
    response = http.get(f"/n/{record.id}")
    assert response.status_code == 200
    html = response.text
    assert record.title and f'<h1 id="title">{record.title}</h1>' in html
    for section in record.sections:
        assert section.heading in html
    for kind in kinds(record.sections):
        assert KIND_LABELS[kind] in html
    assert record.source.sha256 in html and record.source.warc and record.source.warc in html
    assert f'href="/notices/{record.id}/raw"' in html
    assert "疑似被篡改 suspect" in html
    for finding in record.integrity.findings:
        assert finding.kind in html
    assert '<table class="versions">' in html and html.count("<tr><td>1</td>") == 1
    assert response.headers["content-security-policy"] == CSP


def test_every_section_kind_has_a_label() -> None:
    assert set(KIND_LABELS) == set(get_args(SectionKind))


def test_snippet_marks_are_added_after_escaping() -> None:
    assert marked("a<b>[[x<y]]c") == "a&lt;b&gt;<mark>x&lt;y</mark>c"
    assert marked("[[<script>]] and [[half") == "<mark>&lt;script&gt;</mark> and [[half"
    assert marked(None) == ""


HOSTILE = "<script>alert('x')</script>"


def hostile_record(template: NoticeRecord, url: str, **changes: Any) -> NoticeRecord:
    fields: dict[str, Any] = {
        "id": notice_id(url),
        "url": url,
        "title": f"{HOSTILE}政府开放日通知",
        "publisher": "<i>伪造机构</i>",
        "body_text": '开展政府开放日活动</p><img src=x onerror="alert(1)">[[<b>粗体</b>]]',
        "sections": [
            NoticeSection(heading=f"一、{HOSTILE}", level=1, kind="background", text="<iframe src=//evil>")
        ],
        "attachments": [Attachment(name="<b>附件</b>", url="javascript:alert(1)")],
        "extras": {"<em>标签</em>": "<u>值</u>"},
        "integrity": Integrity(
            status="suspect",
            findings=[IntegrityFinding(kind="hidden_links", evidence=['<a href="http://spam">'], count=1)],
        ),
        **changes,
    }
    return template.model_copy(update=fields)


@pytest.fixture(scope="module")
def hostile_db(crawled: Crawled, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, NoticeRecord]:
    """A database holding one record whose text is full of markup (and a wrong sha256)."""
    db = tmp_path_factory.mktemp("hostile") / "db.sqlite"
    template = crawled.records[0]
    record = hostile_record(
        template,
        "http://www.example.gov.cn/zwgk/202401/t20240105_1.html",
        source=template.source.model_copy(update={"sha256": "0" * 64, "url": "javascript:alert(2)"}),
    )
    with SqliteStore(db) as store:
        assert store.put_record(record, site="hostile", extractor_version="test") == "new"
    return db, record


def test_hostile_text_is_escaped_on_every_page(hostile_db: tuple[Path, NoticeRecord]) -> None:
    db, record = hostile_db
    with running(create_app(db, None)) as base, client(base) as c:
        results = c.get("/", params={"q": "开放日"})
        page = c.get(f"/n/{record.id}")
    assert results.status_code == 200 and page.status_code == 200
    for html in (results.text, page.text):
        for tag in ("<script", "<img", "<b>", "<i>", "<iframe", "<em>", "<u>", '<a href="http://spam"'):
            assert tag not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<mark>开放日</mark>" in results.text and "[[&lt;b&gt;粗体&lt;/b&gt;]]" not in results.text
    assert 'href="javascript:' not in page.text and "javascript:alert(1)" in page.text  # shown, not linked


def test_raw_refuses_bytes_that_do_not_match_the_record(
    hostile_db: tuple[Path, NoticeRecord], crawled: Crawled
) -> None:
    db, record = hostile_db
    with running(create_app(db, None)) as base, client(base) as c:  # no crawl runs: no archive known
        response = c.get(f"/notices/{record.id}/raw")
        assert response.status_code == 404
        assert "no archive folder is known" in response.json()["detail"]
    with running(create_app(db, crawled.archive)) as base, client(base) as c:
        response = c.get(f"/notices/{record.id}/raw")
        assert response.status_code == 500
        assert "do not match the record's sha256" in response.json()["detail"]
        assert "Traceback" not in response.text


# --- broken databases ------------------------------------------------------------------


def test_a_missing_corrupt_or_old_database_is_refused_when_the_app_is_made(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database at"):
        create_app(tmp_path / "missing.sqlite", None)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(StoreError, match="not a database"):
        create_app(garbage, None)
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        conn.execute("INSERT INTO schema_migrations VALUES (1, '2026-01-01')")
    conn.close()
    # it claims version 1 but has none of its tables: upgrading it fails with the store's message
    with pytest.raises(StoreError, match="cannot open the database"):
        create_app(old, None)


def test_a_database_broken_while_serving_gives_a_503_not_a_traceback(
    crawled: Crawled, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite"
    db.write_bytes(crawled.db.read_bytes())
    with running(create_app(db, crawled.archive)) as base, client(base) as c:
        assert c.get("/notices").status_code == 200
        db.write_bytes(b"\0garbage" * 4096)
        for path in ("/notices", f"/notices/{crawled.records[0].id}", "/"):
            response = c.get(path)
            assert response.status_code == 503, path
            assert "the database cannot be read" in response.text and "Traceback" not in response.text
        assert c.get("/notices").json()["detail"].startswith("the database cannot be read:")
        assert "text/html" in c.get("/").headers["content-type"]


def test_slow_clients_are_cut_off_and_do_not_starve_the_api(crawled: Crawled) -> None:
    """Issue 14: `notices serve` had no request-head timeout or connection cap. With the
    configuration it runs (server_config), clients that send half a request head are closed
    after api_header_timeout, a normal request is answered while they hang on, and beyond
    api_max_connections a connection gets a 503 at once instead of the process running out of
    file descriptors."""
    from pipeline.api import server_config
    from pipeline.settings import Settings

    settings = Settings(api_header_timeout=1.0, api_max_connections=8)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(create_app(crawled.db, crawled.archive), "127.0.0.1", port, settings)
    config.log_level = "warning"
    config.lifespan = "off"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    slow: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 15
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(5):  # slowloris: a request head that never ends
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /notices HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(s)
        with client(f"http://127.0.0.1:{port}") as c:
            assert c.get("/notices").status_code == 200  # served while they hang on
        time.sleep(2.0)
        for s in slow:  # closed by the server: EOF, no response
            s.settimeout(2.0)
            assert s.recv(100) == b""
        crowd = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
        try:
            answers = []
            for s in crowd:
                s.sendall(b"GET /notices HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
            for s in crowd:
                s.settimeout(5.0)
                answers.append(s.recv(12))
            ok = sum(a.startswith(b"HTTP/1.1 200") for a in answers)
            refused = sum(a.startswith(b"HTTP/1.1 503") for a in answers)
            # none of the 12 connections closes during this: a request answered 200 was served while
            # fewer than 8 were open, so at most 7 can be; the others get 503 at once, none hangs
            assert ok + refused == len(crowd) and ok <= 7 and refused >= 5, answers
        finally:
            for s in crowd:
                s.close()
    finally:
        for s in slow:
            s.close()
        server.should_exit = True
        thread.join(15)
        sock.close()


def test_a_flood_of_identical_server_warnings_is_rate_limited() -> None:
    import logging

    from pipeline.api import RateLimitedLog

    f = RateLimitedLog(seconds=60)
    records = [logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, "Exceeded concurrency limit.", None, None)
               for _ in range(1000)]  # fmt: skip
    passed = [r for r in records if f.filter(r)]
    assert len(passed) == 1
    other = logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, "another message", None, None)
    assert f.filter(other)

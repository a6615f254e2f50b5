"""Stage store: the crawl database. The only module that imports sqlite3.

One SQLite file in WAL mode. Numbered migrations are recorded in ``schema_migrations`` and
applied in one transaction when an older database is opened.

Tables (migration 1):

- ``urls``      the crawl frontier and each URL's current state: kind, where it was found,
                validators (ETag / Last-Modified), content hash, next check, last failure.
- ``fetches``   every fetch attempt's outcome with its reason (nothing is lost silently).
- ``captures``  every archived response (each redirect hop and retry too): the WARC index
                mirrored, URL + time → (file, offset, length), for provenance look-ups.
- ``notices``   one row per notice: its current record.
- ``versions``  every distinct record of a notice over time; never overwritten.
- ``list_walks`` when each start URL's pagination was last walked to its end.
- ``runs``      one row per crawl run with its summary.

A record "changes" when its content hash (``record_hash``: the record without fetch time and
archive location) changes; a re-fetch that extracts the same record adds no version.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from pipeline.citations import doc_no_key, title_key
from pipeline.errors import StoreError
from schemas.crawl import PERMANENT_REASONS, CrawlSummary, FetchOutcome, FetchRequest, UrlKind, WarcLocation
from schemas.record import NoticeRecord, NoticeSection
from schemas.search import SearchHit, SearchPage, SearchQuery, VersionInfo

__all__ = ["MIGRATIONS", "Capture", "SqliteStore", "Store", "UrlSeen", "decode_cursor", "record_hash"]

_SORT_KEY_3 = (
    "(CASE WHEN published_date IS NULL OR published_date = '' THEN 0"
    " ELSE CAST(julianday(published_date) - 2415020.5 AS INTEGER) END) * 10000000000 + seq"
)  # migration 3's key (superseded by migration 4)
_SORT_KEY_SQL = (
    "(CASE WHEN published_date IS NULL OR published_date = '' THEN 0"
    " ELSE CAST(julianday(published_date) - 1721424.5 AS INTEGER) END) * 10000000000 + rowid"
)  # days since 0001-01-01 (0 when undated) × 10^10 + the notice's rowid: unique, stable per notice
_DAY = 10_000_000_000


def _sort_key(published: dt.date | None, rowid: int) -> int:
    """date.toordinal() counts 0001-01-01 as day 1, like julianday(date) - 1721424.5."""
    return (published.toordinal() if published else 0) * _DAY + rowid


MIGRATIONS: list[str | list[str]] = [
    # 1: crawl frontier, fetch log, archive captures, notices and their versions
    """
    CREATE TABLE urls (
        url TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',   -- pending | archived | done | failed
        list_title TEXT,
        list_date TEXT,
        referrer TEXT,
        discovered_at TEXT NOT NULL,
        last_fetched_at TEXT,
        next_check_at TEXT,
        http_status INTEGER,
        reason TEXT,
        message TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        last_modified TEXT,
        sha256 TEXT,
        warc_file TEXT,
        warc_offset INTEGER,
        notice_id TEXT
    );
    CREATE INDEX urls_site_state ON urls(site, kind, state);
    CREATE TABLE fetches (
        id INTEGER PRIMARY KEY,
        run_id TEXT,
        url TEXT NOT NULL,
        kind TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        http_status INTEGER,
        reason TEXT,
        message TEXT,
        attempts INTEGER NOT NULL,
        elapsed_ms REAL,
        sha256 TEXT,
        warc_file TEXT,
        warc_offset INTEGER
    );
    CREATE INDEX fetches_url ON fetches(url, fetched_at);
    CREATE TABLE captures (
        warc_file TEXT NOT NULL,
        warc_offset INTEGER NOT NULL,
        warc_length INTEGER NOT NULL,
        url TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        kind TEXT,
        status INTEGER,
        mime TEXT,
        sha256 TEXT,
        PRIMARY KEY (warc_file, warc_offset)
    );
    CREATE INDEX captures_url ON captures(url, fetched_at);
    CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        site TEXT,
        current_version INTEGER NOT NULL,
        record_hash TEXT NOT NULL,
        title TEXT,
        published_date TEXT,
        publisher TEXT,
        updated_at TEXT NOT NULL,
        record_json TEXT NOT NULL
    );
    CREATE TABLE versions (
        notice_id TEXT NOT NULL REFERENCES notices(id),
        version INTEGER NOT NULL,
        record_hash TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        fetched_at TEXT,
        warc TEXT,
        extractor_version TEXT NOT NULL,
        created_at TEXT NOT NULL,
        record_json TEXT NOT NULL,
        PRIMARY KEY (notice_id, version)
    );
    CREATE TABLE list_walks (
        start_url TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        completed_at TEXT NOT NULL
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        summary_json TEXT
    );
    """,
    # 2: search — filter columns, section kinds, a change sequence for exports, and a trigram
    # full-text index over title, body and metadata kept in step by triggers
    [
        "ALTER TABLE notices ADD COLUMN validity TEXT",
        "ALTER TABLE notices ADD COLUMN doc_no TEXT",
        "ALTER TABLE notices ADD COLUMN index_no TEXT",
        "ALTER TABLE notices ADD COLUMN topic TEXT",
        "ALTER TABLE notices ADD COLUMN integrity TEXT NOT NULL DEFAULT 'clean'",
        "ALTER TABLE notices ADD COLUMN body_text TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE notices ADD COLUMN meta_text TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE notices ADD COLUMN sort_date TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE notices ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
        """UPDATE notices SET
            validity = json_extract(record_json, '$.validity'),
            doc_no = json_extract(record_json, '$.doc_no'),
            index_no = json_extract(record_json, '$.index_no'),
            topic = json_extract(record_json, '$.topic'),
            integrity = COALESCE(json_extract(record_json, '$.integrity.status'), 'clean'),
            body_text = COALESCE(json_extract(record_json, '$.body_text'), ''),
            meta_text = trim(COALESCE(publisher, '') || ' ' || COALESCE(json_extract(record_json, '$.doc_no'), '')
                || ' ' || COALESCE(json_extract(record_json, '$.index_no'), '') || ' '
                || COALESCE(json_extract(record_json, '$.topic'), '')),
            sort_date = COALESCE(published_date, ''),
            seq = rowid""",
        "CREATE INDEX notices_sort ON notices(sort_date DESC, id DESC)",
        "CREATE INDEX notices_seq ON notices(seq)",
        """CREATE TABLE notice_kinds (
            notice_id TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (notice_id, kind)
        ) WITHOUT ROWID""",
        "CREATE INDEX notice_kinds_kind ON notice_kinds(kind, notice_id)",
        """INSERT OR IGNORE INTO notice_kinds
            SELECT n.id, j.value FROM notices n, json_tree(n.record_json, '$.sections') j WHERE j.key = 'kind'""",
        """CREATE VIRTUAL TABLE notices_fts USING fts5(
            title, body_text, meta_text, content='notices', content_rowid='rowid', tokenize='trigram'
        )""",
        """CREATE TRIGGER notices_fts_insert AFTER INSERT ON notices BEGIN
            INSERT INTO notices_fts(rowid, title, body_text, meta_text)
            VALUES (new.rowid, new.title, new.body_text, new.meta_text);
        END""",
        """CREATE TRIGGER notices_fts_delete AFTER DELETE ON notices BEGIN
            INSERT INTO notices_fts(notices_fts, rowid, title, body_text, meta_text)
            VALUES ('delete', old.rowid, old.title, old.body_text, old.meta_text);
        END""",
        """CREATE TRIGGER notices_fts_update AFTER UPDATE OF title, body_text, meta_text ON notices BEGIN
            INSERT INTO notices_fts(notices_fts, rowid, title, body_text, meta_text)
            VALUES ('delete', old.rowid, old.title, old.body_text, old.meta_text);
            INSERT INTO notices_fts(rowid, title, body_text, meta_text)
            VALUES (new.rowid, new.title, new.body_text, new.meta_text);
        END""",
        "INSERT INTO notices_fts(notices_fts) VALUES ('rebuild')",
        """CREATE TABLE exports (
            id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, since_seq INTEGER NOT NULL,
            until_seq INTEGER NOT NULL, out_dir TEXT NOT NULL, formats TEXT NOT NULL, rows INTEGER
        )""",
    ],
    # 3: one sort key for every search, newest published first: sort_key = days(published) × 10^10 +
    # seq. The full-text index is keyed by it, so a text search walks the index in result order
    # and stops after one page instead of sorting every match (p95 192 ms → a few ms at 100,000)
    [
        "ALTER TABLE notices ADD COLUMN sort_key INTEGER NOT NULL DEFAULT 0",
        f"UPDATE notices SET sort_key = {_SORT_KEY_3}",
        "CREATE UNIQUE INDEX notices_sort_key ON notices(sort_key)",
        "DROP INDEX IF EXISTS notices_sort",
        "DROP TRIGGER notices_fts_insert",
        "DROP TRIGGER notices_fts_delete",
        "DROP TRIGGER notices_fts_update",
        "DROP TABLE notices_fts",
        """CREATE VIRTUAL TABLE notices_fts USING fts5(
            title, body_text, meta_text, content='notices', content_rowid='sort_key', tokenize='trigram'
        )""",
        """CREATE TRIGGER notices_fts_insert AFTER INSERT ON notices BEGIN
            INSERT INTO notices_fts(rowid, title, body_text, meta_text)
            VALUES (new.sort_key, new.title, new.body_text, new.meta_text);
        END""",
        """CREATE TRIGGER notices_fts_delete AFTER DELETE ON notices BEGIN
            INSERT INTO notices_fts(notices_fts, rowid, title, body_text, meta_text)
            VALUES ('delete', old.sort_key, old.title, old.body_text, old.meta_text);
        END""",
        """CREATE TRIGGER notices_fts_update AFTER UPDATE OF title, body_text, meta_text, sort_key ON notices BEGIN
            INSERT INTO notices_fts(notices_fts, rowid, title, body_text, meta_text)
            VALUES ('delete', old.sort_key, old.title, old.body_text, old.meta_text);
            INSERT INTO notices_fts(rowid, title, body_text, meta_text)
            VALUES (new.sort_key, new.title, new.body_text, new.meta_text);
        END""",
        "INSERT INTO notices_fts(notices_fts) VALUES ('rebuild')",
    ],
    # 4: a sort key that does not move when a notice gets a new version (its rowid, not the change
    # number, breaks ties between equal dates), days counted from 0001-01-01 so that dates before
    # 1900 still sort before undated ones; indexes for the exact-match filters
    [
        f"UPDATE notices SET sort_key = {_SORT_KEY_SQL}",
        "CREATE INDEX notices_validity ON notices(validity, sort_key)",
        "CREATE INDEX notices_integrity ON notices(integrity, sort_key)",
    ],
    # 5: the citation graph (《…》 titles and 文号 a notice cites, resolved to stored notices) and
    # operator releases of records flagged as tampered with
    [
        "ALTER TABLE notices ADD COLUMN doc_no_key TEXT",
        "ALTER TABLE notices ADD COLUMN title_key TEXT",
        "UPDATE notices SET doc_no_key = doc_no_key(doc_no), title_key = title_key(title)",
        "CREATE INDEX notices_doc_no_key ON notices(doc_no_key)",
        "CREATE INDEX notices_title_key ON notices(title_key)",
        """CREATE TABLE citations (
            from_id TEXT NOT NULL, position INTEGER NOT NULL, title TEXT NOT NULL, doc_no TEXT,
            doc_no_key TEXT, title_key TEXT, to_id TEXT, PRIMARY KEY (from_id, position)
        )""",
        "CREATE INDEX citations_to ON citations(to_id)",
        "CREATE INDEX citations_open_doc ON citations(doc_no_key) WHERE to_id IS NULL",
        "CREATE INDEX citations_open_title ON citations(title_key) WHERE to_id IS NULL",
        """INSERT INTO citations (from_id, position, title, doc_no, doc_no_key, title_key)
            SELECT n.id, CAST(j.key AS INTEGER), json_extract(j.value, '$.title'), json_extract(j.value, '$.doc_no'),
                   doc_no_key(json_extract(j.value, '$.doc_no')), title_key(json_extract(j.value, '$.title'))
            FROM notices n, json_each(n.record_json, '$.cited_documents') j""",
        """UPDATE citations SET to_id = (
            SELECT n.id FROM notices n WHERE n.doc_no_key = citations.doc_no_key AND n.id != citations.from_id
            ORDER BY n.sort_key DESC LIMIT 1) WHERE doc_no_key IS NOT NULL""",
        """UPDATE citations SET to_id = (
            SELECT n.id FROM notices n WHERE n.title_key = citations.title_key AND n.id != citations.from_id
            ORDER BY n.sort_key DESC LIMIT 1) WHERE to_id IS NULL AND title_key IS NOT NULL""",
        """CREATE TABLE releases (
            notice_id TEXT PRIMARY KEY, record_hash TEXT NOT NULL, released_at TEXT NOT NULL, note TEXT
        )""",
    ],
    # 6: how a citation was resolved ("doc_no" is certain; "title" may be replaced by a 文号 match)
    [
        "ALTER TABLE citations ADD COLUMN resolved_by TEXT",
        """UPDATE citations SET resolved_by = CASE
            WHEN to_id IS NULL THEN NULL
            WHEN doc_no_key IS NOT NULL THEN 'doc_no'
            ELSE 'title' END""",
    ],
    # 7: citation resolution in time independent of the store's size: a cited title that a stored
    # title ends with is a prefix of the reversed stored title (one index range, not a trigram
    # search over every title); the 文号 and title of every citation are indexed (resolved ones
    # too: a title match is re-checked when a second candidate arrives)
    [
        "ALTER TABLE notices ADD COLUMN title_rev TEXT",
        "UPDATE notices SET title_rev = reversed(title_key) WHERE title_key IS NOT NULL",
        "CREATE INDEX notices_title_rev ON notices(title_rev)",
        "DROP INDEX citations_open_doc",
        "DROP INDEX citations_open_title",
        "CREATE INDEX citations_doc ON citations(doc_no_key)",
        "CREATE INDEX citations_title ON citations(title_key)",
    ],
]


_TOP_CHAR = chr(0x10FFFF)  # sorts after every character: prefix <= text < prefix + _TOP_CHAR


def _reversed(text: str | None) -> str | None:
    return text[::-1] if text else None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Result:
    """The rows of one statement, already fetched, with the cursor-like methods callers use."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


class UrlSeen(_Model):
    """A URL found by discovery, with where and how it was listed."""

    url: str
    kind: UrlKind
    list_title: str | None = None
    list_date: dt.date | None = None
    referrer: str | None = None
    lastmod: dt.date | None = None


class Capture(_Model):
    """One archived response (a row of ``captures``)."""

    url: str
    fetched_at: dt.datetime
    kind: str | None
    status: int | None
    mime: str | None
    sha256: str | None
    warc: WarcLocation
    truncated: str | None = None  # from the archive index (not kept in the captures table)


def record_hash(record: NoticeRecord) -> str:
    """Hash of what a record says, without when and where its bytes were fetched/archived."""
    data = record.model_dump(mode="json")
    source = dict(data.get("source") or {})
    source.pop("fetched_at", None)
    source.pop("warc", None)
    data["source"] = source
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _split_terms(q: str) -> tuple[list[str], list[str]]:
    """Query words: 3+ characters go to the trigram index, shorter ones to a substring scan."""
    words = [w for w in re.split(r"[\s\u3000]+", q.strip()) if w]
    return [w for w in words if len(w) >= 3], [w for w in words if len(w) < 3]


def _encode_cursor(sort_key: int) -> str:
    return base64.urlsafe_b64encode(f"k{sort_key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The sort key a ``next_cursor`` stands for; StoreError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"not a valid cursor: {cursor!r}") from exc
    if not re.fullmatch(r"k\d{1,19}", raw) or int(raw[1:]) > 2**63 - 1:
        raise StoreError(f"not a valid cursor: {cursor!r}")
    return int(raw[1:])


def _snippet(text: str, terms: list[str], width: int = 60) -> str:
    """A passage around the first term found, the terms marked [[like this]]."""
    text = " ".join(text.split())
    hits = [(text.find(t), t) for t in terms if t and text.find(t) >= 0]
    if not hits:
        return text[: width * 2] + ("…" if len(text) > width * 2 else "")
    pos = min(h[0] for h in hits)
    start = max(pos - width, 0)
    passage = text[start : pos + width * 2]
    for term in sorted({t for _, t in hits}, key=len, reverse=True):
        passage = passage.replace(term, f"[[{term}]]")
    passage = passage.replace("[[[[", "[[").replace("]]]]", "]]")
    return ("…" if start else "") + passage + ("…" if pos + width * 2 < len(text) else "")


def _kinds(sections: Iterable[NoticeSection]) -> set[str]:
    out: set[str] = set()
    for section in sections:
        out.add(section.kind)
        out |= _kinds(section.children)
    return out


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@runtime_checkable
class Store(Protocol):
    """What the crawl, the search CLI and API, and the exports need from a record store.

    SQLite (``SqliteStore``) is the only implementation; a server database for multi-machine
    deployments would implement the same methods (its full-text search with its own means).
    """

    def transaction(self) -> AbstractContextManager[None]: ...
    def close(self) -> None: ...

    # crawl frontier and fetch log
    def add_urls(self, site: str, seen: Iterable[UrlSeen]) -> list[str]: ...
    def due(
        self, site: str, kind: UrlKind, *, refresh: bool = False, limit: int | None = None
    ) -> list[FetchRequest]: ...
    def record_fetch(self, outcome: FetchOutcome, *, run_id: str, recheck_days: float) -> None: ...
    def awaiting_extraction(self, site: str, limit: int | None = None) -> list[tuple[str, WarcLocation]]: ...
    def mark_extracted(self, url: str, notice_id: str) -> None: ...
    def mark_failed(self, url: str, reason: str, message: str, *, recheck_days: float) -> None: ...
    def add_captures(self, captures: Iterable[Capture]) -> int: ...
    def latest_capture(
        self, url: str, *, since: dt.datetime | None = None, status: int | None = 200
    ) -> Capture | None: ...

    # records
    def put_record(
        self,
        record: NoticeRecord,
        *,
        site: str,
        extractor_version: str,
        prepared: tuple[str, str] | None = None,
    ) -> Literal["new", "version", "same"]: ...
    def get_record(self, notice_id: str) -> NoticeRecord | None: ...
    def citations(self, notice_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]: ...
    def suspects(self, *, include_released: bool = False) -> list[dict[str, Any]]: ...
    def release(self, notice_id: str, note: str | None = None) -> bool: ...
    def find(self, key: str) -> NoticeRecord | None: ...
    def versions(self, notice_id: str) -> list[VersionInfo]: ...
    def version_record(self, notice_id: str, version: int) -> NoticeRecord | None: ...
    def search(self, query: SearchQuery) -> SearchPage: ...
    def max_seq(self) -> int: ...
    def changed_since(self, seq: int, until: int | None = None) -> Iterator[tuple[int, NoticeRecord]]: ...
    def current_versions_since(
        self, seq: int, until: int | None = None
    ) -> Iterator[tuple[int, str, VersionInfo, bool]]: ...


class SqliteStore:
    """The embedded store. Writes go through ``transaction()``; one writer process at a time."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        """Open (creating and upgrading) the database; ``readonly`` opens an existing, current one
        for reading only (the HTTP API, search)."""
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        try:
            if readonly:
                if not self.path.is_file():
                    raise StoreError(f"no database at {self.path}")
                uri = f"file:{self.path.resolve().as_posix()}?mode=ro"
                self.conn = sqlite3.connect(
                    uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False
                )
                self.conn.row_factory = sqlite3.Row
                if self.schema_version < len(MIGRATIONS):
                    raise StoreError(
                        f"{self.path} is at schema version {self.schema_version}, this program needs "
                        f"{len(MIGRATIONS)}: open it once for writing (e.g. `notices crawl`) to upgrade it"
                    )
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                self.conn.row_factory = sqlite3.Row
                self._register_functions()
                self._set_wal()
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute("PRAGMA foreign_keys=ON")
                self._migrate()
        except StoreError:
            self._close_quietly()
            raise
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise StoreError(f"cannot open the database {self.path}: {exc}{self._space_hint(exc)}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create the database folder for {self.path}: {exc}") from exc
        self._depth = 0

    @classmethod
    def open_for_reading(cls, path: Path | str) -> SqliteStore:
        """A read-only store on an existing database, upgraded first if it is older than this program."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"no database at {path}")
        try:
            return cls(path, readonly=True)
        except StoreError as exc:
            if "schema version" not in exc.message:
                raise
        cls(path).close()  # upgrade in one transaction, then read only
        return cls(path, readonly=True)

    # --- plumbing ------------------------------------------------------------------------
    def _set_wal(self, patience: float = 30.0) -> None:
        """WAL mode. Switching an old rollback-journal file needs it unlocked, and SQLite answers
        'locked' at once (no busy wait) while another connection migrates it: wait and retry."""
        import time

        deadline = time.monotonic() + patience
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _register_functions(self) -> None:
        """SQL functions the migrations use (the same normalisation as the Python side)."""
        self.conn.create_function("doc_no_key", 1, doc_no_key, deterministic=True)
        self.conn.create_function("title_key", 1, title_key, deterministic=True)
        self.conn.create_function("reversed", 1, _reversed, deterministic=True)

    def _close_quietly(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()

    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in self.conn.execute("SELECT version FROM schema_migrations")}
        for number, sql in enumerate(MIGRATIONS, start=1):
            if number in done:
                continue
            self.conn.execute("BEGIN IMMEDIATE")
            # another process may have migrated while we waited for the write lock: look again
            if self.conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (number,)).fetchone():
                self.conn.execute("ROLLBACK")
                continue
            try:
                statements = sql.split(";") if isinstance(sql, str) else sql
                for statement in statements:
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, _now().isoformat()))
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                    with contextlib.suppress(sqlite3.DatabaseError):
                        self.conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        except sqlite3.OperationalError:  # no such table: not one of our databases (or empty)
            return 0
        return int(row[0] or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write (nested calls join the outer transaction)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"the database {self.path} is locked or unwritable: {exc}") from exc
            self._depth = 1
            try:
                yield
            except BaseException:
                # SQLite rolls back by itself on SQLITE_FULL / IOERR: a ROLLBACK then fails with
                # "no transaction is active" and would hide the real error
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.DatabaseError):
                        self.conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.DatabaseError as exc:
                    if self.conn.in_transaction:
                        with contextlib.suppress(sqlite3.DatabaseError):
                            self.conn.execute("ROLLBACK")
                    raise StoreError(f"cannot commit to {self.path}: {exc}{self._space_hint(exc)}") from exc
            finally:
                self._depth = 0

    def _space_hint(self, exc: BaseException) -> str:
        """For a full disk: how much space is left, and that a rerun resumes."""
        if "full" not in str(exc).lower():
            return ""
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return ""
        return f" ({free:,} bytes free on its volume). Nothing was half-written; free space and run again"

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> _Result:
        """Run one statement; rows are fetched here, so a corrupt page surfaces as StoreError too."""
        try:
            with self._lock:
                cur = self.conn.execute(sql, tuple(params))
                return _Result(cur.fetchall() if cur.description else [], cur.rowcount)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"database error in {self.path}: {exc}{self._space_hint(exc)}") from exc
        except OverflowError as exc:
            raise StoreError(f"a value is out of range for the database: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- frontier ------------------------------------------------------------------------
    def add_urls(self, site: str, seen: Iterable[UrlSeen]) -> list[str]:
        """Remember URLs found by discovery; returns the ones that were new.

        A known URL whose sitemap ``lastmod`` is newer than its last fetch becomes due now.
        """
        new: list[str] = []
        now = _iso(_now())
        with self.transaction():
            for item in seen:
                row = self._exec("SELECT last_fetched_at FROM urls WHERE url = ?", (item.url,)).fetchone()
                if row is None:
                    self._exec(
                        "INSERT INTO urls (url, site, kind, list_title, list_date, referrer, discovered_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            item.url,
                            site,
                            item.kind,
                            item.list_title,
                            _iso(item.list_date),
                            item.referrer,
                            now,
                        ),
                    )
                    new.append(item.url)
                    continue
                if item.list_title:
                    self._exec(
                        "UPDATE urls SET list_title = COALESCE(list_title, ?), list_date = COALESCE(list_date, ?)"
                        " WHERE url = ?",
                        (item.list_title, _iso(item.list_date), item.url),
                    )
                last = row["last_fetched_at"]
                if item.lastmod and last and item.lastmod.isoformat() > last[:10]:
                    self._exec("UPDATE urls SET next_check_at = ? WHERE url = ?", (now, item.url))
        return new

    def known(self, urls: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for url in urls:
            if self._exec("SELECT 1 FROM urls WHERE url = ?", (url,)).fetchone():
                out.add(url)
        return out

    def count_urls(self, site: str, kind: UrlKind) -> int:
        row = self._exec("SELECT COUNT(*) FROM urls WHERE site = ? AND kind = ?", (site, kind)).fetchone()
        return int(row[0])

    def due(
        self, site: str, kind: UrlKind, *, refresh: bool = False, limit: int | None = None
    ) -> list[FetchRequest]:
        """URLs to fetch now: never fetched, transiently failed, or due for a re-check."""
        now = _iso(_now())
        sql = (
            "SELECT url, kind, etag, last_modified, sha256, notice_id FROM urls"
            " WHERE site = ? AND kind = ? AND state != 'archived'"
            " AND (state = 'pending' OR next_check_at IS NULL OR next_check_at <= ?"
            + (" OR 1" if refresh else "")
            + ") ORDER BY discovered_at, url"
        )
        params: list[Any] = [site, kind, now]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        out = []
        for row in self._exec(sql, params):
            # a notice without a record (its extraction failed) is asked for in full, so a 304 or
            # the same bytes cannot hide that it still has no record
            conditional = row["kind"] != "notice" or row["notice_id"] is not None
            out.append(
                FetchRequest(
                    url=row["url"],
                    kind=row["kind"],
                    etag=row["etag"] if conditional else None,
                    last_modified=row["last_modified"] if conditional else None,
                    previous_sha256=row["sha256"] if conditional else None,
                )
            )
        return out

    def record_fetch(self, outcome: FetchOutcome, *, run_id: str, recheck_days: float) -> None:
        """Log one fetch and move its URL on: archived (awaiting extraction), done or failed."""
        warc = outcome.warc
        now = outcome.fetched_at
        with self.transaction():
            self._exec(
                "INSERT INTO fetches (run_id, url, kind, fetched_at, outcome, http_status, reason, message,"
                " attempts, elapsed_ms, sha256, warc_file, warc_offset) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    outcome.url,
                    outcome.kind,
                    _iso(now),
                    outcome.outcome,
                    outcome.http_status,
                    outcome.reason,
                    outcome.message,
                    outcome.attempts,
                    round(outcome.elapsed_ms, 1),
                    outcome.sha256,
                    warc.file if warc else None,
                    warc.offset if warc else None,
                ),
            )
            recheck = _iso(now + dt.timedelta(days=recheck_days))
            if outcome.outcome == "failed":
                # transient: due again next run; permanent: only on the slow re-check cycle
                next_check = recheck if outcome.permanent else _iso(now)
                self._exec(
                    "UPDATE urls SET state = 'failed', last_fetched_at = ?, next_check_at = ?, http_status = ?,"
                    " reason = ?, message = ?, failures = failures + 1 WHERE url = ?",
                    (
                        _iso(now),
                        next_check,
                        outcome.http_status,
                        outcome.reason,
                        outcome.message,
                        outcome.url,
                    ),
                )
                return
            state = "archived" if outcome.outcome == "fetched" and outcome.kind == "notice" else "done"
            self._exec(
                "UPDATE urls SET state = ?, last_fetched_at = ?, next_check_at = ?, http_status = ?,"
                " reason = NULL, message = NULL, failures = 0, etag = ?, last_modified = ?,"
                " sha256 = COALESCE(?, sha256),"
                " warc_file = CASE WHEN ? THEN ? ELSE warc_file END,"
                " warc_offset = CASE WHEN ? THEN ? ELSE warc_offset END WHERE url = ?",
                (
                    state,
                    _iso(now),
                    recheck,
                    outcome.http_status,
                    outcome.etag,
                    outcome.last_modified,
                    outcome.sha256,
                    outcome.outcome == "fetched",
                    warc.file if warc else None,
                    outcome.outcome == "fetched",
                    warc.offset if warc else None,
                    outcome.url,
                ),
            )

    def awaiting_extraction(self, site: str, limit: int | None = None) -> list[tuple[str, WarcLocation]]:
        """Notices fetched and archived but not yet turned into records (a killed run leaves some)."""
        sql = (
            "SELECT url, warc_file, warc_offset FROM urls WHERE site = ? AND kind = 'notice' AND state = 'archived'"
            " ORDER BY url"
        )
        params: list[Any] = [site]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            (row["url"], WarcLocation(file=row["warc_file"], offset=row["warc_offset"], length=0))
            for row in self._exec(sql, params)
        ]

    def mark_extracted(self, url: str, notice_id: str) -> None:
        self._exec("UPDATE urls SET state = 'done', notice_id = ? WHERE url = ?", (notice_id, url))

    def mark_failed(self, url: str, reason: str, message: str, *, recheck_days: float) -> None:
        """A fetched page that could not become a record (decode / extract)."""
        assert reason in PERMANENT_REASONS
        next_check = _iso(_now() + dt.timedelta(days=recheck_days))
        self._exec(
            "UPDATE urls SET state = 'failed', reason = ?, message = ?, next_check_at = ?, failures = failures + 1"
            " WHERE url = ?",
            (reason, message, next_check, url),
        )

    # --- captures ------------------------------------------------------------------------
    def add_captures(self, captures: Iterable[Capture]) -> int:
        """Mirror archived responses; returns how many were not known yet."""
        added = 0
        with self.transaction():
            for c in captures:
                cur = self._exec(
                    "INSERT OR IGNORE INTO captures VALUES (?,?,?,?,?,?,?,?,?)",
                    (c.warc.file, c.warc.offset, c.warc.length, c.url, _iso(c.fetched_at), c.kind, c.status,
                     c.mime, c.sha256),
                )  # fmt: skip
                added += cur.rowcount
        return added

    def adopt_capture(self, capture: Capture, *, recheck_days: float) -> bool:
        """A response a killed run archived but never recorded: take it as that URL's fetch.

        A complete 2xx moves the URL on (a notice then awaits extraction, an attachment is
        done); a 404/410 records the URL as failed (not_found / gone). Truncated responses and
        other statuses are not adopted (the URL is fetched again). Returns True when adopted;
        False also when the store already has a newer fetch of the URL or does not know it.
        """
        status = capture.status or 0
        when = _iso(capture.fetched_at)
        recheck = _iso(capture.fetched_at + dt.timedelta(days=recheck_days))
        newer = "(last_fetched_at IS NULL OR last_fetched_at < ?) AND state != 'archived'"
        if status in (404, 410) and not capture.truncated:
            reason = "not_found" if status == 404 else "gone"
            cur = self._exec(
                "UPDATE urls SET state = 'failed', last_fetched_at = ?, next_check_at = ?, http_status = ?,"
                f" reason = ?, message = ?, failures = failures + 1 WHERE url = ? AND {newer}",
                (when, recheck, status, reason, f"{status} (recovered from the archive)", capture.url, when),
            )
            return cur.rowcount > 0
        if not 200 <= status < 300 or capture.truncated:
            return False
        state = "archived" if capture.kind == "notice" else "done"
        cur = self._exec(
            "UPDATE urls SET state = ?, last_fetched_at = ?, next_check_at = ?, http_status = ?, reason = NULL,"
            " message = NULL, sha256 = ?, warc_file = ?, warc_offset = ?"
            f" WHERE url = ? AND {newer}",
            (
                state,
                when,
                recheck,
                status,
                capture.sha256,
                capture.warc.file,
                capture.warc.offset,
                capture.url,
                when,
            ),
        )
        return cur.rowcount > 0

    def capture_count(self, warc_file: str) -> int:
        row = self._exec("SELECT COUNT(*) FROM captures WHERE warc_file = ?", (warc_file,)).fetchone()
        return int(row[0])

    def has_capture(self, warc_file: str, offset: int) -> bool:
        sql = "SELECT 1 FROM captures WHERE warc_file = ? AND warc_offset = ?"
        return self._exec(sql, (warc_file, offset)).fetchone() is not None

    def latest_capture(
        self, url: str, *, since: dt.datetime | None = None, status: int | None = 200
    ) -> Capture | None:
        sql = "SELECT * FROM captures WHERE url = ?"
        params: list[Any] = [url]
        if since is not None:
            sql += " AND fetched_at >= ?"
            params.append(_iso(since))
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        row = self._exec(sql + " ORDER BY fetched_at DESC LIMIT 1", params).fetchone()
        if row is None:
            return None
        return Capture(
            url=row["url"],
            fetched_at=dt.datetime.fromisoformat(row["fetched_at"]),
            kind=row["kind"],
            status=row["status"],
            mime=row["mime"],
            sha256=row["sha256"],
            warc=WarcLocation(file=row["warc_file"], offset=row["warc_offset"], length=row["warc_length"]),
        )

    def url_state(self, url: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM urls WHERE url = ?", (url,)).fetchone()
        return dict(row) if row else None

    # --- records -------------------------------------------------------------------------
    def put_record(
        self,
        record: NoticeRecord,
        *,
        site: str,
        extractor_version: str,
        prepared: tuple[str, str] | None = None,
    ) -> Literal["new", "version", "same"]:
        """Store a record: a new notice, a new version of a known one, or the same as now.

        Idempotent: the same record twice changes nothing. A changed record adds a version and
        updates the current row (and its full-text entry) in one transaction. ``prepared`` is
        (``record.model_dump_json()``, ``record_hash(record)``) when a worker already made them.
        """
        payload, rhash = prepared if prepared is not None else (record.model_dump_json(), record_hash(record))
        now = _iso(_now())
        with self.transaction():
            row = self._exec(
                "SELECT rowid, current_version, record_hash FROM notices WHERE id = ?", (record.id,)
            ).fetchone()
            if row is not None and row["record_hash"] == rhash:
                return "same"
            version = 1 if row is None else int(row["current_version"]) + 1
            seq = int(self._exec("SELECT COALESCE(MAX(seq), 0) + 1 FROM notices").fetchone()[0])
            # the rowid of a notice never changes: it breaks ties in the sort key, so a new version
            # does not move the notice in search results (only a changed date does)
            rowid = (
                int(self._exec("SELECT COALESCE(MAX(rowid), 0) + 1 FROM notices").fetchone()[0])
                if row is None
                else int(row["rowid"])
            )
            meta = " ".join(v for v in (record.publisher, record.doc_no, record.index_no, record.topic) if v)
            columns = {
                "url": record.url,
                "site": site,
                "current_version": version,
                "record_hash": rhash,
                "title": record.title,
                "published_date": _iso(record.published_date),
                "publisher": record.publisher,
                "updated_at": now,
                "record_json": payload,
                "validity": record.validity,
                "doc_no": record.doc_no,
                "index_no": record.index_no,
                "topic": record.topic,
                "integrity": record.integrity.status,
                "body_text": record.body_text,
                "meta_text": meta,
                "sort_date": _iso(record.published_date) or "",
                "seq": seq,
                "sort_key": _sort_key(record.published_date, rowid),
                "doc_no_key": doc_no_key(record.doc_no),
                "title_key": title_key(record.title),
                "title_rev": _reversed(title_key(record.title)),
            }
            names = list(columns)
            if row is None:
                self._exec(
                    f"INSERT INTO notices (rowid, id, {', '.join(names)}) VALUES (?, ?{', ?' * len(names)})",
                    (rowid, record.id, *columns.values()),
                )
            else:
                assignments = ", ".join(f"{n} = ?" for n in names)
                self._exec(f"UPDATE notices SET {assignments} WHERE id = ?", (*columns.values(), record.id))
                self._exec("DELETE FROM notice_kinds WHERE notice_id = ?", (record.id,))
            for kind in sorted(_kinds(record.sections)):
                self._exec("INSERT INTO notice_kinds VALUES (?, ?)", (record.id, kind))
            self._link_citations(record)
            self._exec(
                "INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?)",
                (record.id, version, rhash, record.source.sha256, _iso(record.source.fetched_at),
                 record.source.warc, extractor_version, now, payload),
            )  # fmt: skip
            return "new" if row is None else "version"

    # --- search (archivists) -----------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchPage:
        """Full-text and filtered search, newest published first (undated last), keyset-paginated.

        Every user value is a bound parameter; the SQL text is built from fixed fragments only.
        """
        where: list[str] = []
        params: list[Any] = []
        long_terms, short_terms = _split_terms(query.q or "")
        # the trigram index also narrows the metadata filters of 3+ characters (column phrases)
        phrases = ['"' + t.replace('"', '""') + '"' for t in long_terms]
        for value in (query.publisher, query.doc_no, query.index_no, query.topic):
            if value and len(value) >= 3:
                phrases.append('meta_text : "' + value.replace('"', '""') + '"')
        if phrases:
            # the trigram index drives: it yields matches in sort_key order, so LIMIT stops it early
            source = "notices_fts JOIN notices n ON n.sort_key = notices_fts.rowid"
            key = "notices_fts.rowid"
            where.append("notices_fts MATCH ?")
            params.append(" AND ".join(phrases))
        else:
            source, key = "notices n", "n.sort_key"
        for term in short_terms:
            where.append(
                "(instr(lower(n.title), lower(?)) > 0 OR instr(lower(n.body_text), lower(?)) > 0"
                " OR instr(lower(n.meta_text), lower(?)) > 0)"
            )
            params += [term, term, term]
        for column, value in (
            ("publisher", query.publisher),
            ("doc_no", query.doc_no),
            ("index_no", query.index_no),
            ("topic", query.topic),
        ):
            if value:
                where.append(f"instr(n.{column}, ?) > 0")
                params.append(value)
        if query.since:  # dates are part of the sort key: a range on the key, not a scan
            where.append(f"{key} >= ?")
            params.append(query.since.toordinal() * _DAY)
        if query.until:
            where.append(f"{key} >= ? AND {key} < ?")
            params += [_DAY, (query.until.toordinal() + 1) * _DAY]
        if query.validity:
            where.append("n.validity = ?")
            params.append(query.validity)
        if query.integrity:
            where.append("n.integrity = ?")
            params.append(query.integrity)
        if query.kind:
            where.append("EXISTS (SELECT 1 FROM notice_kinds k WHERE k.notice_id = n.id AND k.kind = ?)")
            params.append(query.kind)
        if query.cursor:
            where.append(f"{key} < ?")
            params.append(decode_cursor(query.cursor))
        sql = (
            "SELECT n.id, n.url, n.title, n.publisher, n.published_date, n.validity, n.doc_no, n.integrity,"
            f" n.current_version, n.sort_key, n.body_text FROM {source}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY {key} DESC LIMIT ?"
        )  # only fixed SQL fragments above; every user value is in params
        params.append(query.limit + 1)
        rows = self._exec(sql, params).fetchall()
        hits = [
            SearchHit(
                id=row["id"],
                url=row["url"],
                title=row["title"],
                publisher=row["publisher"],
                published_date=row["published_date"],
                validity=row["validity"],
                doc_no=row["doc_no"],
                integrity=row["integrity"],
                current_version=row["current_version"],
                snippet=_snippet(row["body_text"] or row["title"] or "", long_terms + short_terms),
            )
            for row in rows[: query.limit]
        ]
        more = len(rows) > query.limit
        last = rows[query.limit - 1] if more else None
        return SearchPage(items=hits, next_cursor=_encode_cursor(last["sort_key"]) if last else None)

    def find(self, key: str) -> NoticeRecord | None:
        """A notice by id, by URL, or by an id prefix of 8+ hex digits that is unique."""
        key = key.strip()
        row = self._exec("SELECT record_json FROM notices WHERE id = ? OR url = ?", (key, key)).fetchone()
        if row is None and re.fullmatch(r"[0-9a-f]{8,31}", key):
            rows = self._exec("SELECT record_json FROM notices WHERE id >= ? AND id < ? LIMIT 2",
                              (key, key + "g")).fetchall()  # fmt: skip
            row = rows[0] if len(rows) == 1 else None
        return NoticeRecord.model_validate_json(row[0]) if row else None

    def versions(self, notice_id: str) -> list[VersionInfo]:
        """Every version of a notice, oldest first."""
        rows = self._exec(
            "SELECT version, record_hash, sha256, fetched_at, warc, extractor_version, created_at"
            " FROM versions WHERE notice_id = ? ORDER BY version",
            (notice_id,),
        ).fetchall()
        return [VersionInfo.model_validate(dict(row)) for row in rows]

    def version_record(self, notice_id: str, version: int) -> NoticeRecord | None:
        row = self._exec(
            "SELECT record_json FROM versions WHERE notice_id = ? AND version = ?", (notice_id, version)
        ).fetchone()
        return NoticeRecord.model_validate_json(row[0]) if row else None

    def max_seq(self) -> int:
        return int(self._exec("SELECT COALESCE(MAX(seq), 0) FROM notices").fetchone()[0])

    def current_versions_since(
        self, seq: int, until: int | None = None
    ) -> Iterator[tuple[int, str, VersionInfo, bool]]:
        """(change number, current record as stored JSON, its version row, released by an operator)
        for notices changed after ``seq`` (up to ``until``), in change order; one query per 1,000."""
        until = self.max_seq() if until is None else until
        last = seq
        while True:
            rows = self._exec(
                "SELECT n.seq, n.record_json, v.version, v.record_hash, v.sha256, v.fetched_at, v.warc,"
                " v.extractor_version, v.created_at, r.notice_id IS NOT NULL AS released FROM notices n"
                " JOIN versions v ON v.notice_id = n.id AND v.version = n.current_version"
                " LEFT JOIN releases r ON r.notice_id = n.id AND r.record_hash = n.record_hash"
                " WHERE n.seq > ? AND n.seq <= ? ORDER BY n.seq LIMIT 1000",
                (last, until),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                info = VersionInfo(
                    version=row["version"],
                    record_hash=row["record_hash"],
                    sha256=row["sha256"],
                    fetched_at=row["fetched_at"],
                    warc=row["warc"],
                    extractor_version=row["extractor_version"],
                    created_at=row["created_at"],
                )
                yield int(row["seq"]), row["record_json"], info, bool(row["released"])
            last = int(rows[-1]["seq"])

    def changed_since(self, seq: int, until: int | None = None) -> Iterator[tuple[int, NoticeRecord]]:
        """Notices whose current record changed after change number ``seq`` (up to ``until``), in order."""
        until = self.max_seq() if until is None else until
        last = seq
        while True:
            rows = self._exec(
                "SELECT seq, record_json FROM notices WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 1000",
                (last, until),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield int(row[0]), NoticeRecord.model_validate_json(row[1])
            last = int(rows[-1][0])

    def _link_citations(self, record: NoticeRecord) -> None:
        """Replace this notice's outgoing citations (resolved where a stored notice matches) and
        re-resolve the citations that point, or could point, at it. Runs inside put_record's
        transaction. A 文号 match is certain and wins over a title match; a title resolves only
        when the citation carries no 文号, and only to a single candidate."""
        self._exec("DELETE FROM citations WHERE from_id = ?", (record.id,))
        for position, cited in enumerate(record.cited_documents):
            dkey, tkey = doc_no_key(cited.doc_no), title_key(cited.title)
            target, how = self._resolve_citation(record.id, dkey, tkey)
            self._exec(
                "INSERT INTO citations (from_id, position, title, doc_no, doc_no_key, title_key, to_id,"
                " resolved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record.id, position, cited.title, cited.doc_no, dkey, tkey, target, how),
            )
        # citations elsewhere that point at this notice, or that this notice may now answer:
        # resolve them again against the store as it is after this write
        own_doc = doc_no_key(record.doc_no)
        own_title = title_key(record.title)
        suffixes = (
            [own_title[i:] for i in range(len(own_title)) if len(own_title) - i >= 6] if own_title else []
        )
        candidates = self._exec(
            "SELECT from_id, position, doc_no_key, title_key FROM citations WHERE from_id != ? AND to_id = ?",
            (record.id, record.id),
        ).fetchall()
        if own_doc:
            candidates += self._exec(
                "SELECT from_id, position, doc_no_key, title_key FROM citations WHERE doc_no_key = ?"
                " AND from_id != ? AND (to_id IS NULL OR resolved_by = 'title')",
                (own_doc, record.id),
            ).fetchall()
        for i in range(0, len(suffixes), 200):
            part = suffixes[i : i + 200]
            candidates += self._exec(
                "SELECT from_id, position, doc_no_key, title_key FROM citations WHERE from_id != ?"
                f" AND title_key IN ({', '.join('?' * len(part))}) AND +doc_no_key IS NULL"  # not that index
                " AND (to_id IS NULL OR resolved_by = 'title')",
                (record.id, *part),
            ).fetchall()
        for row in {(r["from_id"], r["position"]): r for r in candidates}.values():
            target, how = self._resolve_citation(row["from_id"], row["doc_no_key"], row["title_key"])
            self._exec(
                "UPDATE citations SET to_id = ?, resolved_by = ? WHERE from_id = ? AND position = ?",
                (target, how, row["from_id"], row["position"]),
            )

    def _resolve_citation(
        self, from_id: str, dkey: str | None, tkey: str | None
    ) -> tuple[str | None, str | None]:
        """(notice id, "doc_no" | "title") a citation refers to, or (None, None)."""
        if dkey:  # a cited 文号 decides: matched or not, the title is not used
            row = self._exec(
                "SELECT id FROM notices WHERE doc_no_key = ? AND id != ? ORDER BY sort_key DESC LIMIT 1",
                (dkey, from_id),
            ).fetchone()
            return (str(row[0]), "doc_no") if row else (None, None)
        if not tkey or len(tkey) < 6:
            return None, None
        rows = self._exec(
            "SELECT id FROM notices WHERE title_key = ? AND id != ? LIMIT 2", (tkey, from_id)
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0]), "title"
        if rows:
            return None, None  # two notices with this exact title: ambiguous
        # the stored title may start with its issuer: one candidate whose title ends with the cited one
        prefix = tkey[::-1]
        rows = self._exec(
            "SELECT id FROM notices WHERE title_rev >= ? AND title_rev < ? AND id != ? LIMIT 2",
            (prefix, prefix + _TOP_CHAR, from_id),
        ).fetchall()
        return (str(rows[0][0]), "title") if len(rows) == 1 else (None, None)

    def citations(self, notice_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(what the notice cites, with the resolved notice's id and title; notices that cite it)."""
        cites = self._exec(
            "SELECT c.title, c.doc_no, c.to_id, n.title AS to_title FROM citations c"
            " LEFT JOIN notices n ON n.id = c.to_id WHERE c.from_id = ? ORDER BY c.position",
            (notice_id,),
        ).fetchall()
        cited_by = self._exec(
            "SELECT DISTINCT c.from_id, n.title AS from_title, n.published_date FROM citations c"
            " JOIN notices n ON n.id = c.from_id WHERE c.to_id = ? ORDER BY n.sort_key DESC",
            (notice_id,),
        ).fetchall()
        return [dict(r) for r in cites], [dict(r) for r in cited_by]

    # --- review and release of suspect records -------------------------------------------
    def suspects(self, *, include_released: bool = False) -> list[dict[str, Any]]:
        """Notices whose current record looks tampered with (and is not released, by default)."""
        sql = (
            "SELECT n.id, n.title, n.url, n.published_date, n.record_json, r.released_at FROM notices n"
            " LEFT JOIN releases r ON r.notice_id = n.id AND r.record_hash = n.record_hash"
            " WHERE n.integrity = 'suspect'" + ("" if include_released else " AND r.notice_id IS NULL")
        )
        return [dict(r) for r in self._exec(sql + " ORDER BY n.sort_key DESC")]

    def release(self, notice_id: str, note: str | None = None) -> bool:
        """An operator vouches for the current record of a suspect notice: it may be exported.

        The release is for this record (its hash); a new version needs a new release. The notice
        gets a new change number so that the next incremental export includes it.
        """
        with self.transaction():
            row = self._exec(
                "SELECT record_hash, integrity FROM notices WHERE id = ?", (notice_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no notice {notice_id}")
            if row["integrity"] != "suspect":
                return False
            self._exec(
                "INSERT OR REPLACE INTO releases VALUES (?, ?, ?, ?)",
                (notice_id, row["record_hash"], _iso(_now()), note),
            )
            seq = int(self._exec("SELECT COALESCE(MAX(seq), 0) + 1 FROM notices").fetchone()[0])
            self._exec("UPDATE notices SET seq = ? WHERE id = ?", (seq, notice_id))
            return True

    def get_record(self, notice_id: str) -> NoticeRecord | None:
        row = self._exec("SELECT record_json FROM notices WHERE id = ?", (notice_id,)).fetchone()
        return NoticeRecord.model_validate_json(row[0]) if row else None

    def records(self, site: str | None = None) -> Iterator[NoticeRecord]:
        sql = "SELECT record_json FROM notices" + (" WHERE site = ?" if site else "") + " ORDER BY url"
        for row in self._exec(sql, (site,) if site else ()).fetchall():
            yield NoticeRecord.model_validate_json(row[0])

    def current_state(self, notice_id: str) -> tuple[str | None, str] | None:
        """(site, record hash) of a notice's current record; None when unknown."""
        row = self._exec("SELECT site, record_hash FROM notices WHERE id = ?", (notice_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def current_row(self, notice_id: str) -> tuple[str | None, str] | None:
        """(site, record JSON as stored) of a notice, unparsed; None when unknown."""
        row = self._exec("SELECT site, record_json FROM notices WHERE id = ?", (notice_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def version_count(self, notice_id: str) -> int:
        row = self._exec("SELECT COUNT(*) FROM versions WHERE notice_id = ?", (notice_id,)).fetchone()
        return int(row[0])

    def count(self, table: str) -> int:
        if table not in {"urls", "fetches", "captures", "notices", "versions", "runs"}:
            raise StoreError(f"no table {table!r}")
        return int(self._exec(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    # --- list walks and runs -------------------------------------------------------------
    def list_walk_done(self, start_url: str) -> bool:
        return self._exec("SELECT 1 FROM list_walks WHERE start_url = ?", (start_url,)).fetchone() is not None

    def set_list_walk_done(self, site: str, start_url: str) -> None:
        self._exec("INSERT OR REPLACE INTO list_walks VALUES (?, ?, ?)", (start_url, site, _iso(_now())))

    def unfinished_run(self, site: str) -> tuple[str, dt.datetime] | None:
        """The latest run of ``site`` if it never finished (it was killed): (id, started_at)."""
        row = self._exec(
            "SELECT id, started_at, finished_at FROM runs WHERE site = ? ORDER BY started_at DESC LIMIT 1",
            (site,),
        ).fetchone()
        if row is None or row["finished_at"] is not None:
            return None
        return row["id"], dt.datetime.fromisoformat(row["started_at"])

    def start_run(self, run_id: str, site: str) -> None:
        self._exec("INSERT INTO runs (id, site, started_at) VALUES (?, ?, ?)", (run_id, site, _iso(_now())))

    def finish_run(self, run_id: str, summary_json: str) -> None:
        self._exec(
            "UPDATE runs SET finished_at = ?, summary_json = ? WHERE id = ?",
            (_iso(_now()), summary_json, run_id),
        )

    def latest_summary(self) -> CrawlSummary | None:
        """The summary of the newest finished crawl run (None if none, or unreadable)."""
        row = self._exec(
            "SELECT summary_json FROM runs WHERE summary_json IS NOT NULL ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        try:
            return CrawlSummary.model_validate_json(row[0])
        except ValueError:
            return None

    def failures(self, site: str) -> list[dict[str, Any]]:
        """URLs whose last attempt failed, with the reason."""
        sql = "SELECT url, kind, http_status, reason, message FROM urls WHERE site = ? AND state = 'failed'"
        return [dict(row) for row in self._exec(sql + " ORDER BY url", (site,))]


def _conforms(store: SqliteStore) -> Store:
    return store  # mypy checks that SqliteStore implements the Store protocol

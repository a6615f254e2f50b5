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

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pipeline.errors import StoreError
from schemas.crawl import PERMANENT_REASONS, FetchOutcome, FetchRequest, UrlKind, WarcLocation
from schemas.record import NoticeRecord

__all__ = ["MIGRATIONS", "Capture", "SqliteStore", "UrlSeen", "record_hash"]

MIGRATIONS: list[str] = [
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
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


def record_hash(record: NoticeRecord) -> str:
    """Hash of what a record says, without when and where its bytes were fetched/archived."""
    data = record.model_dump(mode="json")
    source = dict(data.get("source") or {})
    source.pop("fetched_at", None)
    source.pop("warc", None)
    data["source"] = source
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SqliteStore:
    """The embedded store. Writes go through ``transaction()``; one writer process at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create the database folder for {self.path}: {exc}") from exc
        self._depth = 0

    # --- plumbing ------------------------------------------------------------------------
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
            try:
                for statement in sql.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, _now().isoformat()))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
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
                self.conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.DatabaseError as exc:
                    raise StoreError(f"cannot commit to {self.path}: {exc}") from exc
            finally:
                self._depth = 0

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self.conn.execute(sql, tuple(params))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"database error in {self.path}: {exc}") from exc

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
            "SELECT url, kind, etag, last_modified, sha256 FROM urls WHERE site = ? AND kind = ? AND state != 'archived'"
            " AND (state = 'pending' OR next_check_at IS NULL OR next_check_at <= ?"
            + (" OR 1" if refresh else "")
            + ") ORDER BY discovered_at, url"
        )
        params: list[Any] = [site, kind, now]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            FetchRequest(
                url=row["url"],
                kind=row["kind"],
                etag=row["etag"],
                last_modified=row["last_modified"],
                previous_sha256=row["sha256"],
            )
            for row in self._exec(sql, params)
        ]

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

        Returns True when the URL moved on (a notice now awaits extraction, an attachment is
        done); False when the store already has a newer fetch of it or does not know the URL.
        """
        ok = capture.status is not None and 200 <= capture.status < 300
        if not ok:
            return False
        state = "archived" if capture.kind == "notice" else "done"
        when = _iso(capture.fetched_at)
        cur = self._exec(
            "UPDATE urls SET state = ?, last_fetched_at = ?, next_check_at = ?, http_status = ?, reason = NULL,"
            " message = NULL, sha256 = ?, warc_file = ?, warc_offset = ?"
            " WHERE url = ? AND (last_fetched_at IS NULL OR last_fetched_at < ?) AND state != 'archived'",
            (state, when, _iso(capture.fetched_at + dt.timedelta(days=recheck_days)), capture.status,
             capture.sha256, capture.warc.file, capture.warc.offset, capture.url, when),
        )  # fmt: skip
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
        self, record: NoticeRecord, *, site: str, extractor_version: str
    ) -> Literal["new", "version", "same"]:
        """Store a record: a new notice, a new version of a known one, or the same as now."""
        rhash = record_hash(record)
        payload = record.model_dump_json()
        now = _iso(_now())
        with self.transaction():
            row = self._exec(
                "SELECT current_version, record_hash FROM notices WHERE id = ?", (record.id,)
            ).fetchone()
            if row is not None and row["record_hash"] == rhash:
                return "same"
            version = 1 if row is None else int(row["current_version"]) + 1
            values = (
                record.url,
                site,
                version,
                rhash,
                record.title,
                _iso(record.published_date),
                record.publisher,
                now,
                payload,
                record.id,
            )
            if row is None:
                self._exec(
                    "INSERT INTO notices (url, site, current_version, record_hash, title, published_date,"
                    " publisher, updated_at, record_json, id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    values,
                )
            else:
                self._exec(
                    "UPDATE notices SET url = ?, site = ?, current_version = ?, record_hash = ?, title = ?,"
                    " published_date = ?, publisher = ?, updated_at = ?, record_json = ? WHERE id = ?",
                    values,
                )
            self._exec(
                "INSERT INTO versions VALUES (?,?,?,?,?,?,?,?,?)",
                (record.id, version, rhash, record.source.sha256, _iso(record.source.fetched_at),
                 record.source.warc, extractor_version, now, payload),
            )  # fmt: skip
            return "new" if row is None else "version"

    def get_record(self, notice_id: str) -> NoticeRecord | None:
        row = self._exec("SELECT record_json FROM notices WHERE id = ?", (notice_id,)).fetchone()
        return NoticeRecord.model_validate_json(row[0]) if row else None

    def records(self, site: str | None = None) -> Iterator[NoticeRecord]:
        sql = "SELECT record_json FROM notices" + (" WHERE site = ?" if site else "") + " ORDER BY url"
        for row in self._exec(sql, (site,) if site else ()).fetchall():
            yield NoticeRecord.model_validate_json(row[0])

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

    def failures(self, site: str) -> list[dict[str, Any]]:
        """URLs whose last attempt failed, with the reason."""
        sql = "SELECT url, kind, http_status, reason, message FROM urls WHERE site = ? AND state = 'failed'"
        return [dict(row) for row in self._exec(sql + " ORDER BY url", (site,))]

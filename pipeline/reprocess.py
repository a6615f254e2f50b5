"""Re-process the archive: every archived notice response → the current extractor → the store.

Raw bytes are the source of truth, so an improved extractor reaches every notice ever archived.
The newest archived 2xx response of each notice URL is read back from its WARC file, extracted
with the current stages (entities included) and stored with ``put_record``: a record that
comes out the same costs no write, a changed one adds a version stamped with the extractor
version (``pipeline.__version__`` + hash of ``pipeline/patterns/``). The summary says how many
records changed and which fields changed most.

CPU-bound work runs in a process pool (the GIL rules out threads); each worker builds the
spaCy pipeline once (pool initializer). Work is cut into chunks of ``chunk_size`` pages, one
task per chunk, never one per page; the store stays a single writer in this process.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.archive import Archive, read_record
from pipeline.crawl import extractor_version
from pipeline.errors import PipelineError
from pipeline.record import extract_notice
from pipeline.settings import Settings
from pipeline.store import SqliteStore
from schemas.record import NoticeRecord

__all__ = ["ReprocessSummary", "archived_notices", "chunks", "process_chunk", "reprocess", "store_results"]

Job = tuple[str, str]  # (url, "file#offset")
Outcome = tuple[str, str | None, str | None]  # (url, record JSON, error)


class ReprocessSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extractor_version: str
    pages: int = 0
    unchanged: int = 0
    new_versions: int = 0
    new_records: int = 0
    failed: dict[str, int] = Field(default_factory=dict)
    changed_fields: dict[str, int] = Field(default_factory=dict, description="Records changed, by field")
    seconds: float = 0.0

    def rows(self) -> list[tuple[str, str]]:
        out = [
            ("extractor", self.extractor_version),
            ("archived notices", str(self.pages)),
            ("unchanged", str(self.unchanged)),
            ("new versions", str(self.new_versions)),
            ("new records", str(self.new_records)),
            ("failed", str(sum(self.failed.values()))),
        ]
        out += [
            (f"  changed: {name}", str(n))
            for name, n in sorted(self.changed_fields.items(), key=lambda x: -x[1])
        ]
        return out


def archived_notices(archive: Archive, since: dt.datetime | None = None) -> list[Job]:
    """The newest complete 2xx notice response of each URL (fetched at or after ``since``)."""
    newest: dict[str, tuple[dt.datetime, str]] = {}
    for entry in archive.entries():
        if entry.kind != "notice" or not entry.status or not 200 <= entry.status < 300 or entry.truncated:
            continue
        if since is not None and entry.fetched_at < since:
            continue
        seen = newest.get(entry.url)
        if seen is None or entry.fetched_at > seen[0]:
            newest[entry.url] = (entry.fetched_at, str(entry.location))
    return sorted((url, loc) for url, (_, loc) in newest.items())


_worker: dict[str, Any] = {}


def _init_worker(settings_json: str) -> None:
    """Once per worker process: the settings and the spaCy pipeline."""
    settings = Settings.model_validate_json(settings_json)
    _worker["settings"] = settings
    if settings.entities:
        from pipeline.entities import build_nlp

        _worker["nlp"] = build_nlp(settings)


def process_chunk(archive_dir: str, jobs: list[Job]) -> list[Outcome]:
    """Extract a chunk of archived pages (in a worker, or in-process when no pool is used)."""
    if "settings" not in _worker:  # a Dask worker: set up once, on its first chunk
        _init_worker(Settings().model_dump_json())
    settings: Settings = _worker["settings"]
    nlp = _worker.get("nlp")
    out: list[Outcome] = []
    for url, location in jobs:
        try:
            record = extract_notice(read_record(archive_dir, location), settings, nlp=nlp)
        except PipelineError as exc:
            out.append((url, None, f"{exc.stage}: {exc.message}"))
        except Exception as exc:  # a bug costs one page, recorded
            out.append((url, None, f"unexpected: {type(exc).__name__}: {exc}"))
        else:
            out.append((url, record.model_dump_json(), None))
    return out


def chunks(jobs: list[Job], size: int) -> Iterator[list[Job]]:
    for i in range(0, len(jobs), size):
        yield jobs[i : i + size]


_VOLATILE = {"source"}


def _changed_fields(old: NoticeRecord, new: NoticeRecord) -> list[str]:
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    return [k for k in b if k not in _VOLATILE and a.get(k) != b.get(k)]


def reprocess(
    archive_dir: Path | str,
    store: SqliteStore,
    settings: Settings | None = None,
    *,
    workers: int = 0,
    chunk_size: int = 200,
    since: dt.datetime | None = None,
) -> ReprocessSummary:
    """Re-extract every archived notice and store what changed. ``workers=0`` runs in-process."""
    import time

    settings = settings or Settings()
    started = time.perf_counter()
    archive = Archive(archive_dir)
    jobs = archived_notices(archive, since)
    summary = ReprocessSummary(extractor_version=extractor_version(), pages=len(jobs))
    if workers > 0:
        pool = ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(settings.model_dump_json(),)
        )
        results: Iterator[list[Outcome]] = pool.map(
            process_chunk, [str(archive_dir)] * ((len(jobs) + chunk_size - 1) // chunk_size),
            chunks(jobs, chunk_size),
        )  # fmt: skip
    else:
        pool = None
        _init_worker(settings.model_dump_json())
        results = (process_chunk(str(archive_dir), chunk) for chunk in chunks(jobs, chunk_size))
    try:
        store_results(store, results, summary)
    finally:
        if pool is not None:
            pool.shutdown()
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def store_results(store: SqliteStore, results: Iterable[list[Outcome]], summary: ReprocessSummary) -> None:
    """The single writer: each chunk's records in one transaction; the summary counts what changed."""
    fields: Counter[str] = Counter(summary.changed_fields)
    for chunk in results:
        with store.transaction():
            for _url, blob, error in chunk:
                if blob is None:
                    reason = (error or "unexpected").split(":", 1)[0]
                    summary.failed[reason] = summary.failed.get(reason, 0) + 1
                    continue
                record = NoticeRecord.model_validate_json(blob)
                current = store.current_row(record.id)  # parsed only if the record changed
                site = (current[0] if current else None) or "reprocess"
                stored = store.put_record(record, site=site, extractor_version=summary.extractor_version)
                if stored == "same":
                    summary.unchanged += 1
                elif stored == "new":
                    summary.new_records += 1
                else:
                    summary.new_versions += 1
                    if current is not None:
                        fields.update(_changed_fields(NoticeRecord.model_validate_json(current[1]), record))
    summary.changed_fields = dict(fields.most_common())

"""Stage export: stored records → open-data files for downstream feeds. Does I/O.

Input: a store (``pipeline.store.Store``: ``max_seq``, ``current_versions_since``) and an
output folder. Output: one export folder and an :class:`ExportSummary`. Reads the store only.

An export holds the notices whose current record changed after change number ``cursor_from``
up to ``cursor_to`` (the store's ``max_seq()`` when the export started), in change order:

- ``notices.jsonl``   full records (format v1), one per line, each validated against the
                      published JSON Schema (``notice_record.schema.json``, copied beside it)
- ``notices.csv``     one row per notice, flat metadata, no body
- ``sections.csv``    one row per section: notice_id, path ("2.1"), level, kind, heading, text
- ``notices.parquet`` / ``sections.parquet``  the same tables (notices with ``body_text``)
- ``feed.atom``       an Atom 1.0 entry per notice, id per notice, ``updated`` = when its version
                      was stored
- ``datapackage.json`` a Frictionless Data Package describing every file (sha256, bytes, rows,
                      Table Schemas with keys); its ``gov_notices`` property holds the cursors

A record that breaks the JSON Schema is left out of every file and reported by id; suspect
records (``integrity.status == "suspect"``) are held out unless ``include_suspect``.

Layout of ``out_dir``::

    out_dir/
      latest -> exports/0000000014-0000000015   relative symlink, swapped by rename(2): the commit
      exports/
        0000000000-0000000014/                  one folder per export, never changed once named
        0000000014-0000000015/
        .tmp-<pid>-<hex>/                       an export being written (or killed): swept next time
      .export.lock                              flock: one export at a time into out_dir

Atomicity holds for the set of files: everything is written and fsynced in a ``.tmp-*``
folder, the folder is renamed to its final name, and only then is ``latest`` replaced by a
rename. An export interrupted anywhere (an exception, SIGKILL, power loss after fsync) leaves
``latest`` on the previous, complete folder. A reader resolves ``latest`` once and reads
the files from that folder; finished folders are never modified.

Cursors: ``since=None`` continues after the export ``latest`` points at (everything on the
first); ``since=N`` exports what changed after change number N (0: everything). When nothing
changed after the cursor nothing is written and ``latest`` stays. A record that changes while
an export runs gets a change number above ``cursor_to`` and is in the next export.

Determinism: the same store content and arguments give byte-identical files: rows in change
order, fixed date/time formats (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), no export time or path in
any file. CSV is UTF-8 without a BOM, RFC 4180 quoting, CRLF row ends.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple, get_args
from xml.sax.saxutils import escape, quoteattr

import jsonschema_rs
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import PipelineError
from pipeline.store import SqliteStore, Store
from schemas.record import NoticeRecord, NoticeSection, SectionKind, record_json_schema
from schemas.search import VersionInfo

__all__ = [
    "FORMATS",
    "ExportFile",
    "ExportFormat",
    "ExportSummary",
    "RecordCheck",
    "RejectedRecord",
    "export",
    "export_feed",
    "read_cursor",
    "record_validator",
]

log = logging.getLogger(__name__)

ExportFormat = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)

FEED_ID = "tag:gov-notices,2024:feed"
ENTRY_ID = "tag:gov-notices,2024:notice/{}"
SUMMARY_CHARS = 200
ROW_GROUP = 10_000  # rows per Parquet row group (and per in-memory batch)
LATEST = "latest"
EXPORTS = "exports"
PACKAGE = "datapackage.json"
SCHEMA_FILE = "notice_record.schema.json"

_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExportFile(_Model):
    name: str = Field(description="File name inside the export folder")
    format: str
    sha256: str
    bytes: int
    rows: int | None = Field(None, description="Data rows (entries for the feed); None for metadata files")


class RejectedRecord(_Model):
    id: str
    error: str = Field(description="The JSON Schema error that kept the record out")


class ExportSummary(_Model):
    """What one export wrote. ``folder`` is None when nothing changed after ``cursor_from``."""

    out_dir: str
    folder: str | None
    cursor_from: int = Field(description="Change number the export starts after")
    cursor_to: int = Field(description="Last change number included: pass it as --since next time")
    formats: list[ExportFormat]
    include_suspect: bool
    notices: int = Field(description="Notices written")
    sections: int = Field(description="Section rows written")
    held_suspect: int = Field(description="Suspect records held out")
    held_suspect_ids: list[str] = Field(default_factory=list)
    rejected: list[RejectedRecord] = Field(
        default_factory=list, description="Records left out because they break the JSON Schema"
    )
    files: list[ExportFile] = Field(default_factory=list)
    seconds: float = 0.0

    def rows(self) -> list[tuple[str, str]]:
        """Label/value pairs for a summary table."""
        out = [
            ("cursor", f"{self.cursor_from} → {self.cursor_to}"),
            ("notices written", str(self.notices)),
            ("section rows", str(self.sections)),
            ("suspect held out", str(self.held_suspect)),
            ("rejected by the JSON Schema", str(len(self.rejected))),
        ]
        out += [
            (f.name, f"{f.rows if f.rows is not None else '-'} rows, {f.bytes:,} bytes") for f in self.files
        ]
        out.append(("folder", self.folder or "(nothing changed: nothing written)"))
        return out

    def markdown(self) -> str:
        lines = [
            f"# Export {self.cursor_from} → {self.cursor_to}",
            "",
            f"Folder: `{self.folder or 'nothing changed, nothing written'}`  ",
            f"Notices: **{self.notices}**, section rows: {self.sections}, suspect held out: "
            f"{self.held_suspect}, rejected by the JSON Schema: {len(self.rejected)}",
            "",
        ]
        if self.files:
            lines += ["| file | rows | bytes | sha256 |", "|---|---:|---:|---|"]
            lines += [
                f"| {f.name} | {f.rows if f.rows is not None else ''} | {f.bytes} | `{f.sha256[:16]}…` |"
                for f in self.files
            ]
        if self.rejected:
            lines += ["", "Rejected:", *[f"- `{r.id}`: {r.error}" for r in self.rejected]]
        if self.held_suspect_ids:
            lines += ["", "Suspect, held out:", *[f"- `{i}`" for i in self.held_suspect_ids]]
        return "\n".join(lines) + "\n"


# --- columns: one definition for CSV headers, Parquet schemas and Table Schemas ---------------
class _Column(NamedTuple):
    name: str
    type: str  # Table Schema type
    arrow: Any  # pyarrow DataType
    description: str
    required: bool = False
    constraints: dict[str, Any] | None = None


_S, _I, _D, _T = pa.string(), pa.int32(), pa.date32(), pa.timestamp("us", tz="UTC")

NOTICE_COLUMNS: tuple[_Column, ...] = (
    _Column("id", "string", _S, "Stable id: sha256 of the canonical URL, first 32 hex digits", True),
    _Column("url", "string", _S, "Canonical URL of the notice page", True),
    _Column("title", "string", _S, "标题"),
    _Column("index_no", "string", _S, "索引号"),
    _Column("publisher", "string", _S, "发布机构"),
    _Column("published_date", "date", _D, "发布日期"),
    _Column("written_date", "date", _D, "成文日期"),
    _Column("doc_no", "string", _S, "文号"),
    _Column("disclosure", "string", _S, "公开方式"),
    _Column("validity", "string", _S, "有效性"),
    _Column("topic", "string", _S, "主题分类"),
    _Column("integrity", "string", _S, "clean, or suspect (tampering evidence)", True,
            {"enum": ["clean", "suspect"]}),
    _Column("attachments", "integer", _I, "Number of attachments (附件)", True, {"minimum": 0}),
    _Column("source_sha256", "string", _S, "sha256 of the archived page bytes", True),
    _Column("fetched_at", "datetime", _T, "When the page was fetched (UTC)"),
    _Column("warc", "string", _S, "WARC file#offset of the archived response"),
    _Column("version", "integer", _I, "Version of the notice this row is (1 = first seen)", True,
            {"minimum": 1}),
    _Column("version_stored_at", "datetime", _T, "When this version was stored (UTC)", True),
    _Column("seq", "integer", pa.int64(), "Change number: the export cursor this row belongs to", True),
)  # fmt: skip
BODY_COLUMN = _Column("body_text", "string", _S, "正文: main text, paragraphs joined by newlines", True)
SECTION_COLUMNS: tuple[_Column, ...] = (
    _Column("notice_id", "string", _S, "id of the notice", True),
    _Column("path", "string", _S, "Position in the outline: 2.1 = first child of the second top section",
            True, {"pattern": r"[1-9][0-9]*(\.[1-9][0-9]*)*"}),
    _Column("level", "integer", _I, "Outline level: 1 一、, 2 （一）, 3 1., 4 （1）; 5/6 for 第X章/第X条",
            True, {"minimum": 1, "maximum": 6}),
    _Column("kind", "string", _S, "What the section is about", True,
            {"enum": list(get_args(SectionKind))}),
    _Column("heading", "string", _S, "小标题 as printed"),
    _Column("text", "string", _S, "The section's own paragraphs"),
)  # fmt: skip

_Row = tuple[Any, ...]


RecordCheck = Callable[[Any], str | None]


@functools.cache
def record_validator() -> RecordCheck:
    """The published JSON Schema as a check, built once: a record's JSON data → its first error
    ("path: message") or None. Draft 2020-12 with format checks (dates), by jsonschema-rs (a
    compiled validator: ~1.4 ms per record with the pure-Python one, ~20× less with this)."""
    schema = record_json_schema()
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)

    def first_error(instance: Any) -> str | None:
        for error in validator.iter_errors(instance):
            return f"{'/'.join(map(str, error.instance_path)) or '(record)'}: {error.message}"
        return None

    return first_error


# --- value formats ---------------------------------------------------------------------------
def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _timestamp(value: dt.datetime) -> str:
    """RFC 3339 in UTC with microseconds always shown: one fixed width for every value."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# A spreadsheet runs a cell that starts so as a formula (CSV injection: =HYPERLINK(...),
# +cmd|' /C calc'!A0, @SUM(...)); such text cells get a leading ' and show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_GUARD = "'"


def _csv_text(value: str) -> str:
    return CSV_TEXT_GUARD + value if value.startswith(_FORMULA_START) else value


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _csv_text(value)
    return value


def _xml_text(value: str) -> str:
    return escape(_XML_UNSAFE.sub("", value))


def _summary_text(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "…"


def _flatten(sections: Sequence[NoticeSection], prefix: str = "") -> Iterator[tuple[str, NoticeSection]]:
    for number, section in enumerate(sections, start=1):
        path = f"{prefix}{number}"
        yield path, section
        yield from _flatten(section.children, path + ".")


# --- writers: each appends rows to one file in the temporary folder --------------------------
class _Writer:
    name: str
    format: str
    rows: int = 0

    def close(self) -> None:
        """Finish the file and fsync it."""
        raise NotImplementedError

    def abort(self) -> None:
        """Release the file after a failure (its folder is about to be removed)."""
        raise NotImplementedError


class _JsonlWriter(_Writer):
    format = "jsonl"

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self._file = (folder / name).open("w", encoding="utf-8", newline="\n")

    def add(self, line: str) -> None:
        self._file.write(line + "\n")
        self.rows += 1

    def close(self) -> None:
        _close_synced(self._file)

    def abort(self) -> None:
        self._file.close()


class _CsvWriter(_Writer):
    format = "csv"

    def __init__(self, folder: Path, name: str, columns: Sequence[_Column]) -> None:
        self.name = name
        self._file = (folder / name).open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._csv.writerow([c.name for c in columns])

    def add(self, row: _Row) -> None:
        # csv writes None as "" and ints as digits itself; dates, times and text that a
        # spreadsheet would run as a formula need our form
        self._csv.writerow([_csv_value(v) for v in row])
        self.rows += 1

    def close(self) -> None:
        _close_synced(self._file)

    def abort(self) -> None:
        self._file.close()


class _ParquetWriter(_Writer):
    format = "parquet"

    def __init__(self, folder: Path, name: str, columns: Sequence[_Column]) -> None:
        self.name = name
        self._path = folder / name
        self._schema = pa.schema([pa.field(c.name, c.arrow, nullable=not c.required) for c in columns])
        self._writer = pq.ParquetWriter(self._path, self._schema, compression="zstd")
        self._batch: list[_Row] = []

    def add(self, row: _Row) -> None:
        self._batch.append(row)
        self.rows += 1
        if len(self._batch) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            columns = list(zip(*self._batch, strict=True))
            arrays = [pa.array(col, type=f.type) for col, f in zip(columns, self._schema, strict=True)]
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
            self._batch = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
        _fsync(self._path)

    def abort(self) -> None:
        self._writer.close()


_TableWriter = _CsvWriter | _ParquetWriter


class _AtomWriter(_Writer):
    """Entries go to a part file as they come; the feed head needs the newest ``updated``."""

    format = "atom"

    def __init__(self, folder: Path, name: str, cursor_from: int, cursor_to: int) -> None:
        self.name = name
        self._path = folder / name
        self._part_path = folder / (name + ".part")
        self._part = self._part_path.open("w", encoding="utf-8", newline="\n")
        self._range = (cursor_from, cursor_to)
        self._updated: dt.datetime | None = None
        self._range_updated: dt.datetime | None = None

    def seen(self, stored_at: dt.datetime) -> None:
        """A version in the export's range (written or held), for the feed time of an empty feed."""
        when = _utc(stored_at)
        self._range_updated = max(self._range_updated or when, when)

    def add(self, record: NoticeRecord, stored_at: dt.datetime) -> None:
        when = _utc(stored_at)
        self._updated = max(self._updated or when, when)
        title = record.title or record.url
        author = f"<author><name>{_xml_text(record.publisher)}</name></author>" if record.publisher else ""
        self._part.write(
            "  <entry>\n"
            f"    <id>{ENTRY_ID.format(record.id)}</id>\n"
            f"    <title>{_xml_text(title)}</title>\n"
            f"    <updated>{_timestamp(when)}</updated>\n"
            f'    <link rel="alternate" type="text/html" href={quoteattr(_XML_UNSAFE.sub("", record.url))}/>\n'
            + (f"    {author}\n" if author else "")
            + f"    <summary>{_xml_text(_summary_text(record.body_text))}</summary>\n"
            "  </entry>\n"
        )
        self.rows += 1

    def close(self) -> None:
        _close_synced(self._part)
        updated = self._updated or self._range_updated or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        with self._path.open("w", encoding="utf-8", newline="\n") as feed:
            feed.write(
                '<?xml version="1.0" encoding="utf-8"?>\n'
                '<feed xmlns="http://www.w3.org/2005/Atom">\n'
                f"  <id>{FEED_ID}</id>\n"
                "  <title>gov-notices: new and changed notices</title>\n"
                f"  <subtitle>changes {self._range[0]} to {self._range[1]}</subtitle>\n"
                f"  <updated>{_timestamp(updated)}</updated>\n"
                "  <author><name>gov-notices</name></author>\n"
                "  <generator>gov-notices</generator>\n"
            )
            with self._part_path.open("r", encoding="utf-8", newline="\n") as part:
                shutil.copyfileobj(part, feed)
            feed.write("</feed>\n")
            _close_synced(feed)
        self._part_path.unlink()

    def abort(self) -> None:
        self._part.close()


def _close_synced(file: IO[str]) -> None:
    if file.closed:
        return
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- the export ------------------------------------------------------------------------------
def read_cursor(out_dir: Path | str) -> int:
    """``cursor_to`` of the export ``out_dir/latest`` points at; 0 when there is none."""
    latest = Path(out_dir) / LATEST
    package = latest / PACKAGE
    if not latest.is_symlink() and not latest.exists():
        return 0  # a dangling link is an error below, not a reason to start again from 0
    try:
        data = json.loads(package.read_text(encoding="utf-8"))
        return int(data["gov_notices"]["cursor_to"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PipelineError(f"cannot read the export cursor from {package}: {exc}", stage="export") from exc


def export_feed(
    db: Path | str,
    out_dir: Path | str,
    *,
    formats: Iterable[ExportFormat] = FORMATS,
    since: int | None = None,
    include_suspect: bool = False,
) -> ExportSummary:
    """Open the database read-only and :func:`export` it (the flow's and the CLI's entry point)."""
    with SqliteStore.open_for_reading(db) as store:  # an older database is upgraded once, then read
        return export(store, out_dir, formats=formats, since=since, include_suspect=include_suspect)


def export(
    store: Store,
    out_dir: Path | str,
    *,
    formats: Iterable[ExportFormat] = FORMATS,
    since: int | None = None,
    include_suspect: bool = False,
) -> ExportSummary:
    """Write what changed after ``since`` (default: after the previous export) as a new export folder."""
    started = time.perf_counter()
    chosen = _check_formats(formats)
    out = Path(out_dir)
    (out / EXPORTS).mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _sweep(out)
        cursor_to = store.max_seq()
        cursor_from = read_cursor(out) if since is None else since
        if cursor_from < 0:
            raise PipelineError(f"the cursor must be 0 or more, not {cursor_from}", stage="export")
        if cursor_from > cursor_to:
            hint = "" if since is not None else f" ({out / LATEST} comes from another database: pass since=0)"
            raise PipelineError(
                f"cursor {cursor_from} is ahead of the database's last change {cursor_to}{hint}",
                stage="export",
            )
        summary = ExportSummary(
            out_dir=str(out), folder=None, cursor_from=cursor_from, cursor_to=cursor_to,
            formats=list(chosen), include_suspect=include_suspect, notices=0, sections=0, held_suspect=0,
        )  # fmt: skip
        if cursor_from == cursor_to:
            summary.seconds = time.perf_counter() - started
            return summary
        tmp = out / EXPORTS / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            _write_files(store, tmp, chosen, summary)
            _write_datapackage(tmp, summary)
            _fsync(tmp)
            final = _free_name(out / EXPORTS, f"{cursor_from:010d}-{cursor_to:010d}")
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync(out / EXPORTS)
        _point_latest(out, final)
        summary.folder = str(final)
        summary.seconds = time.perf_counter() - started
    log.info(
        "export %d → %d into %s: %d notices, %d sections, %d suspect held, %d rejected",
        cursor_from, cursor_to, final, summary.notices, summary.sections, summary.held_suspect,
        len(summary.rejected),
    )  # fmt: skip
    return summary


def _check_formats(formats: Iterable[ExportFormat]) -> tuple[ExportFormat, ...]:
    wanted = set(formats)
    unknown = wanted - set(FORMATS)
    if unknown or not wanted:
        raise PipelineError(
            f"formats must be some of {', '.join(FORMATS)}; got {', '.join(sorted(map(str, wanted))) or 'none'}",
            stage="export",
        )
    return tuple(f for f in FORMATS if f in wanted)


class _locked:
    """An exclusive flock on ``out_dir/.export.lock`` for the export's duration."""

    def __init__(self, out: Path) -> None:
        self._path = out / ".export.lock"
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._fd)
            raise PipelineError(
                f"another export into {self._path.parent} is running", stage="export"
            ) from exc

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the lock


def _sweep(out: Path) -> None:
    """Remove what a killed export left: temporary folders and half-made ``latest`` links."""
    for leftover in (out / EXPORTS).glob(".tmp-*"):
        log.warning("removing %s left by an interrupted export", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    for link in out.glob(f".{LATEST}-*"):
        link.unlink(missing_ok=True)


def _free_name(parent: Path, name: str) -> Path:
    """``name``, or ``name-2``, ``name-3`` … when that range was exported before (e.g. since=0 again)."""
    candidate, n = parent / name, 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{name}-{n}"
    return candidate


def _point_latest(out: Path, folder: Path) -> None:
    link = out / f".{LATEST}-{os.getpid()}-{secrets.token_hex(4)}"
    link.symlink_to(Path(EXPORTS) / folder.name, target_is_directory=True)
    os.replace(link, out / LATEST)
    _fsync(out)


def _write_files(
    store: Store, folder: Path, formats: tuple[ExportFormat, ...], summary: ExportSummary
) -> None:
    check = record_validator()
    writers: list[_Writer] = []
    try:
        jsonl = _JsonlWriter(folder, "notices.jsonl") if "jsonl" in formats else None
        writers += [jsonl] if jsonl else []
        tables: list[tuple[_TableWriter, _TableWriter, bool]] = []
        if "csv" in formats:
            tables.append((_CsvWriter(folder, "notices.csv", NOTICE_COLUMNS),
                           _CsvWriter(folder, "sections.csv", SECTION_COLUMNS), False))  # fmt: skip
            writers += tables[-1][:2]
        if "parquet" in formats:
            tables.append((_ParquetWriter(folder, "notices.parquet", (*NOTICE_COLUMNS, BODY_COLUMN)),
                           _ParquetWriter(folder, "sections.parquet", SECTION_COLUMNS), True))  # fmt: skip
            writers += tables[-1][:2]
        feed = _AtomWriter(folder, "feed.atom", summary.cursor_from, summary.cursor_to)
        writers.append(feed)
        for seq, stored, version, released in store.current_versions_since(
            summary.cursor_from, until=summary.cursor_to
        ):
            record = NoticeRecord.model_validate_json(stored)
            feed.seen(version.created_at)
            if record.integrity.status == "suspect" and not (summary.include_suspect or released):
                summary.held_suspect += 1
                summary.held_suspect_ids.append(record.id)
                continue
            line = stored  # the record exactly as stored (model_dump_json when it was put)
            error = check(json.loads(line))  # what is checked is exactly the line written
            if error is not None:
                summary.rejected.append(RejectedRecord(id=record.id, error=error))
                log.warning("record %s breaks the JSON Schema: %s", record.id, error)
                continue
            if jsonl is not None:
                jsonl.add(line)
            notice = _notice_row(seq, record, version)
            sections = [
                (record.id, path, s.level, s.kind, s.heading, s.text) for path, s in _flatten(record.sections)
            ]
            for notices_out, sections_out, with_body in tables:
                notices_out.add((*notice, record.body_text) if with_body else notice)
                for row in sections:
                    sections_out.add(row)
            feed.add(record, version.created_at)
            summary.notices += 1
            summary.sections += len(sections)
        for writer in writers:
            writer.close()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    for writer in writers:
        path = folder / writer.name
        summary.files.append(
            ExportFile(name=writer.name, format=writer.format, sha256=_sha256(path),
                       bytes=path.stat().st_size, rows=writer.rows)
        )  # fmt: skip
    schema_path = folder / SCHEMA_FILE
    with schema_path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(record_json_schema(), ensure_ascii=False, indent=2) + "\n")
        _close_synced(f)
    summary.files.append(
        ExportFile(
            name=SCHEMA_FILE, format="json", sha256=_sha256(schema_path), bytes=schema_path.stat().st_size
        )
    )


def _notice_row(seq: int, record: NoticeRecord, version: VersionInfo) -> _Row:
    return (
        record.id, record.url, record.title, record.index_no, record.publisher, record.published_date,
        record.written_date, record.doc_no, record.disclosure, record.validity, record.topic,
        record.integrity.status, len(record.attachments), record.source.sha256,
        _utc(record.source.fetched_at) if record.source.fetched_at else None, record.source.warc,
        version.version, _utc(version.created_at), seq,
    )  # fmt: skip


# --- the Data Package ------------------------------------------------------------------------
_MEDIA = {
    "jsonl": "application/jsonl",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "atom": "application/atom+xml",
    "json": "application/schema+json",
}


def _table_schema(columns: Sequence[_Column], primary_key: list[str]) -> dict[str, Any]:
    fields = []
    for c in columns:
        field: dict[str, Any] = {"name": c.name, "type": c.type, "description": c.description}
        constraints = dict(c.constraints or {})
        if c.required:
            constraints["required"] = True
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    return {"fields": fields, "primaryKey": primary_key}


def _resource(file: ExportFile) -> dict[str, Any]:
    stem = file.name.split(".")[0]
    names = {"jsonl": f"{stem}-jsonl", "csv": stem, "parquet": f"{stem}-parquet", "atom": "feed"}
    resource: dict[str, Any] = {
        "name": names.get(file.format, "notice-record-schema"),
        "path": file.name,
        "format": file.format,
        "mediatype": _MEDIA[file.format],
    }
    if file.format != "parquet":
        resource["encoding"] = "utf-8"
    resource["hash"] = f"sha256:{file.sha256}"
    resource["bytes"] = file.bytes
    if file.format == "csv":
        resource["type"] = "table"
        resource["rows"] = file.rows  # frictionless checks this for tables
        resource["dialect"] = {"csv": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"'}}
        resource["description"] = (
            "Text cells that begin with = + - @, a tab or a carriage return are written with a leading "
            f"{CSV_TEXT_GUARD} so that spreadsheets show them as text, not as formulas (CSV injection); "
            "the JSON Lines and Parquet files hold the text as it is."
        )
    else:
        # frictionless reads Parquet only through pandas, and JSONL/Atom are not flat tables: files
        # (hash and size still checked); their row counts under a name frictionless does not check
        resource["type"] = "file"
        if file.rows is not None:
            resource["gov_notices_rows"] = file.rows
    if stem == "notices" and file.format in ("csv", "parquet"):
        columns = NOTICE_COLUMNS if file.format == "csv" else (*NOTICE_COLUMNS, BODY_COLUMN)
        resource["schema"] = _table_schema(columns, ["id"])
    elif stem == "sections" and file.format in ("csv", "parquet"):
        resource["schema"] = _table_schema(SECTION_COLUMNS, ["notice_id", "path"])
        if file.format == "csv":
            resource["schema"]["foreignKeys"] = [
                {"fields": ["notice_id"], "reference": {"resource": "notices", "fields": ["id"]}}
            ]
    elif file.format == "jsonl":
        resource["description"] = f"Full records (format v1), one per line, valid against {SCHEMA_FILE}"
        resource["gov_notices_json_schema"] = SCHEMA_FILE
    elif file.format == "atom":
        resource["description"] = "Atom 1.0 feed: an entry per new or changed notice"
    return resource


def _write_datapackage(folder: Path, summary: ExportSummary) -> None:
    package = {
        "name": "gov-notices",
        "title": "Chinese government notices (gov-notices record format v1)",
        "description": f"Notices that changed after change number {summary.cursor_from} "
        f"up to {summary.cursor_to}.",
        "gov_notices": {
            "cursor_from": summary.cursor_from,
            "cursor_to": summary.cursor_to,
            "formats": summary.formats,
            "include_suspect": summary.include_suspect,
            "notices": summary.notices,
            "sections": summary.sections,
            "held_suspect": summary.held_suspect,
            "rejected": [r.id for r in summary.rejected],
        },
        "resources": [_resource(f) for f in summary.files],
    }
    path = folder / PACKAGE
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(package, ensure_ascii=False, indent=2) + "\n")
        _close_synced(f)
    summary.files.append(
        ExportFile(name=PACKAGE, format="json", sha256=_sha256(path), bytes=path.stat().st_size)
    )

"""Stage archive: every fetched response, with its request, in WARC 1.1 files (warcio).

Layout of an archive folder::

    <prefix>-<UTC yyyymmddHHMMSS>-<pid>-<seq>.warc.gz   gzip per record, WARC/1.1, digests
    <same name>.cdxj                                    one JSON line per record: the index

The index maps URL and fetch time to (file, offset, length) so that any record can be traced
to its exact bytes. It is written after its record, so a process killed between the two
leaves a complete record that the index does not list yet; ``Archive.open`` repairs that:
it cuts a half-written record off the end of a file and indexes complete records the index
missed. An archive never appends to a file it did not create in this process, so a file
closed by a crash is never written to again.

Bodies are archived *decoded* (gzip/deflate transfer coding removed) with the HTTP headers
adjusted to match (``Content-Length`` of the stored body; the original ``Content-Encoding``
kept as ``X-Archive-Orig-Content-Encoding``), so ``source.sha256`` of a record is the sha256
of the payload stored in the WARC. A response cut at the size cap or by a dropped connection
carries ``WARC-Truncated: length`` / ``disconnect``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import os
import shutil
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.errors import StoreError
from pipeline.record import ascii_url
from schemas.crawl import UrlKind, WarcLocation
from schemas.stages import FetchResult

__all__ = ["Archive", "ArchiveEntry", "Exchange", "index_entries", "is_url", "read_record"]

_KIND_HEADER = "Notices-Kind"  # a WARC extension field: what the URL was to the crawl
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


class Exchange(BaseModel):
    """One HTTP request and its response, as the fetch stage saw them."""

    model_config = ConfigDict(extra="forbid")

    url: str
    kind: UrlKind
    method: str = "GET"
    request_headers: list[tuple[str, str]]
    status: int
    reason: str = ""
    http_version: str = "HTTP/1.1"
    response_headers: list[tuple[str, str]]
    body: bytes
    fetched_at: dt.datetime
    ip: str | None = None
    truncated: Literal["length", "time", "disconnect"] | None = None


class ArchiveEntry(BaseModel):
    """One line of a ``.cdxj`` index."""

    model_config = ConfigDict(extra="forbid")

    url: str
    fetched_at: dt.datetime
    type: Literal["warcinfo", "response", "request"]
    kind: UrlKind | None = None
    status: int | None = None
    mime: str | None = None
    sha256: str | None = None
    file: str
    offset: int
    length: int
    truncated: str | None = None  # WARC-Truncated of a response: length, time, disconnect

    @property
    def location(self) -> WarcLocation:
        return WarcLocation(file=self.file, offset=self.offset, length=self.length)


def _warc_date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _status_line(status: int, reason: str) -> str:
    return f"{status} {reason}".strip()


class Archive:
    """A folder of WARC files with their indexes. Thread-safe writes; one writer per folder."""

    def __init__(self, directory: Path | str, *, prefix: str = "notices", max_bytes: int = 1024**3) -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._fh: BinaryIO | None = None
        self._index: io.TextIOWrapper | None = None
        self._writer: WARCWriter | None = None
        self._name = ""
        self._seq = 0
        self._stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        self.repaired: list[ArchiveEntry] = []
        self._written: list[ArchiveEntry] = []

    # --- opening, repair -------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path | str, *, prefix: str = "notices", max_bytes: int = 1024**3) -> Archive:
        """Open (creating) an archive folder and repair what a killed writer left behind."""
        archive = cls(directory, prefix=prefix, max_bytes=max_bytes)
        try:
            archive.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create archive folder {archive.directory}: {exc}") from exc
        archive.repaired = archive.repair()
        return archive

    def warc_files(self) -> list[Path]:
        return sorted(self.directory.glob("*.warc.gz"))

    def repair(self) -> list[ArchiveEntry]:
        """Make every WARC file end on a complete record and every complete record indexed.

        Returns the entries that had to be added to an index (responses a killed process
        archived but did not index).
        """
        added: list[ArchiveEntry] = []
        for path in self.warc_files():
            with path.open("rb") as lock:
                try:  # a file another live process is writing is locked: leave it alone
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                added += self._repair_file(path)
        return added

    def _repair_file(self, path: Path) -> list[ArchiveEntry]:
        index_path = path.with_name(path.name[: -len(".warc.gz")] + ".cdxj")
        entries = _read_index(index_path, repair=True)
        end = max((e.offset + e.length for e in entries), default=0)
        size = path.stat().st_size
        if size == end:
            return []
        good_end = end
        new: list[ArchiveEntry] = []
        with path.open("rb") as fh:
            fh.seek(end)
            try:
                for entry in _scan(fh, path.name, start=end):
                    new.append(entry)
                    good_end = entry.offset + entry.length
            except OSError as exc:  # the disk failed to read: nothing is cut on that
                raise StoreError(f"cannot read {path} to repair it: {exc}") from exc
            except _TORN:  # a torn record (a killed write) ends the scan: the tail is cut
                pass
        if good_end < size:
            with path.open("r+b") as fh:
                fh.truncate(good_end)
        if new:
            with index_path.open("a", encoding="utf-8") as ix:
                for entry in new:
                    ix.write(entry.model_dump_json() + "\n")
        return [e for e in new if e.type == "response"]

    # --- writing ---------------------------------------------------------------------
    def _roll(self) -> None:
        self._close_files()
        while True:  # never reuse a name: another Archive of this process may have written it
            self._seq += 1
            self._name = f"{self.prefix}-{self._stamp}-{os.getpid()}-{self._seq:05d}.warc.gz"
            path = self.directory / self._name
            if not path.exists():
                break
        self._fh = path.open("xb")
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while this process writes it
        self._index = path.with_name(self._name[: -len(".warc.gz")] + ".cdxj").open("x", encoding="utf-8")
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        from pipeline import __version__

        info = self._writer.create_warcinfo_record(
            self._name,
            {
                "software": f"gov-notices/{__version__} (warcio)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            },
        )
        self._write(info, url="", kind=None, status=None, sha=None, mime=None)

    def _write(
        self,
        record: Any,
        *,
        url: str,
        kind: UrlKind | None,
        status: int | None,
        sha: str | None,
        mime: str | None,
        truncated: str | None = None,
    ) -> ArchiveEntry:
        assert self._fh is not None and self._writer is not None and self._index is not None
        offset = self._fh.tell()
        self._writer.write_record(record)
        self._fh.flush()
        length = self._fh.tell() - offset
        date = record.rec_headers.get_header("WARC-Date")
        entry = ArchiveEntry(
            url=url,
            fetched_at=dt.datetime.fromisoformat(date.replace("Z", "+00:00")),
            type=record.rec_type,
            kind=kind,
            status=status,
            mime=mime,
            sha256=sha,
            file=self._name,
            offset=offset,
            length=length,
            truncated=truncated,
        )
        self._index.write(entry.model_dump_json() + "\n")
        self._index.flush()
        return entry

    def write(self, exchange: Exchange) -> WarcLocation:
        """Archive a response and its request; the location of the response record."""
        import hashlib

        url = ascii_url(exchange.url)  # WARC-Target-URI and the request line are ASCII on the wire
        with self._lock:
            start: tuple[Path, int, Path, int] | None = None
            try:
                if self._fh is None or self._fh.tell() >= self.max_bytes:
                    self._roll()
                assert self._writer is not None and self._fh is not None and self._index is not None
                start = (Path(self._fh.name), self._fh.tell(), Path(self._index.name), self._index.tell())
                headers = [(k, v) for k, v in exchange.response_headers if k.lower() not in _DROP_HEADERS]
                headers += [
                    (f"X-Archive-Orig-{k}", v)
                    for k, v in exchange.response_headers
                    if k.lower() in ("content-encoding", "transfer-encoding")
                ]
                headers.append(("Content-Length", str(len(exchange.body))))
                http_headers = StatusAndHeaders(
                    _status_line(exchange.status, exchange.reason), headers, protocol=exchange.http_version
                )
                warc_headers: dict[str, str] = {
                    "WARC-Date": _warc_date(exchange.fetched_at),
                    _KIND_HEADER: exchange.kind,
                }
                if exchange.ip:
                    warc_headers["WARC-IP-Address"] = exchange.ip
                if exchange.truncated:
                    warc_headers["WARC-Truncated"] = exchange.truncated
                response = self._writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(exchange.body),
                    length=len(exchange.body),
                    http_headers=http_headers,
                    warc_headers_dict=warc_headers,
                )
                mime = next((v for k, v in headers if k.lower() == "content-type"), None)
                sha = hashlib.sha256(exchange.body).hexdigest()
                entry = self._write(
                    response,
                    url=url,
                    kind=exchange.kind,
                    status=exchange.status,
                    sha=sha,
                    mime=mime,
                    truncated=exchange.truncated,
                )
                path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
                request_line = f"{exchange.method} /{path} "
                request = self._writer.create_warc_record(
                    url,
                    "request",
                    http_headers=StatusAndHeaders(
                        request_line.strip(),
                        exchange.request_headers,
                        protocol="HTTP/1.1",
                        is_http_request=True,
                    ),
                    warc_headers_dict={
                        "WARC-Date": _warc_date(exchange.fetched_at),
                        "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
                    },
                )
                self._write(request, url=url, kind=exchange.kind, status=None, sha=None, mime=None)
            except OSError as exc:
                if start is not None:
                    self._undo(*start)
                else:
                    self._undo_roll()
                free = ""
                with contextlib.suppress(OSError):
                    free = f"; {shutil.disk_usage(self.directory).free:,} bytes free there"
                where = start[0] if start is not None else self.directory
                raise StoreError(
                    f"cannot write to the archive ({where}): {exc.strerror or exc}{free}. Nothing more is "
                    "fetched; free space and run again: the crawl resumes where it stopped",
                    url=exchange.url,
                    stage="archive",
                ) from exc
            self._written.append(entry)
            return entry.location

    def _drop_handles(self) -> list[Path]:
        """Close the current WARC file and index without flushing errors; their paths."""
        paths = [Path(fh.name) for fh in (self._fh, self._index) if fh is not None]
        for fh in (self._index, self._fh):
            if fh is not None:
                with contextlib.suppress(OSError):
                    fh.close()
        self._fh = self._index = self._writer = None
        return paths

    def _undo_roll(self) -> None:
        """A new file could not even take its warcinfo record: drop it."""
        for path in self._drop_handles():
            with contextlib.suppress(OSError):
                path.unlink()

    def _undo(self, warc: Path, warc_end: int, index: Path, index_end: int) -> None:
        """A write failed (a full disk): cut the WARC file and its index back to where the exchange
        began, so that no partial record stays for the next ones to follow, and write on in a new
        file. Closing first: a buffered writer flushes what it holds when closed."""
        self._drop_handles()
        for path, end in ((warc, warc_end), (index, index_end)):
            with contextlib.suppress(OSError):
                os.truncate(path, end)

    def drain(self) -> list[ArchiveEntry]:
        """Responses written since the last call (for mirroring into the store)."""
        with self._lock:
            out, self._written = self._written, []
        return out

    def response_counts(self) -> dict[str, int]:
        """Indexed responses per WARC file (cheap: counts index lines, parses nothing)."""
        counts: dict[str, int] = {}
        for path in self.warc_files():
            index_path = path.with_name(path.name[: -len(".warc.gz")] + ".cdxj")
            n = 0
            if index_path.exists():
                with index_path.open("rb") as fh:
                    n = sum(1 for line in fh if b'"type":"response"' in line)
            counts[path.name] = n
        return counts

    def file_entries(self, name: str) -> list[ArchiveEntry]:
        path = self.directory / name
        return _read_index(path.with_name(name[: -len(".warc.gz")] + ".cdxj"))

    def _close_files(self) -> None:
        for fh in (self._index, self._fh):
            if fh is not None:
                fh.close()
        self._fh = self._index = self._writer = None

    def close(self) -> None:
        with self._lock:
            try:
                self._close_files()
            except OSError as exc:  # the last buffered bytes did not fit: say so, do not crash
                self._fh = self._index = self._writer = None
                raise StoreError(
                    f"cannot finish the archive in {self.directory}: {exc}", stage="archive"
                ) from exc

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------
    def entries(self, *, types: tuple[str, ...] = ("response",)) -> Iterator[ArchiveEntry]:
        """Every indexed record of the given types, file by file, in write order."""
        for path in self.warc_files():
            index_path = path.with_name(path.name[: -len(".warc.gz")] + ".cdxj")
            for entry in _iter_index(index_path):
                if entry.type in types:
                    yield entry

    def lookup(self, url: str) -> list[ArchiveEntry]:
        """Archived responses of one URL, oldest first."""
        return sorted((e for e in self.entries() if e.url == url), key=lambda e: e.fetched_at)

    def read(self, location: WarcLocation | str) -> FetchResult:
        """The archived response at ``location`` (a WarcLocation or 'file#offset')."""
        return read_record(self.directory, location)


def _iter_index(path: Path) -> Iterator[ArchiveEntry]:
    """The complete lines of an index, one at a time (an index of 100,000 records read into a
    list at once cost the re-processing main process ~400 MiB)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        yield from _index_lines(fh)


def _index_lines(fh: Iterable[bytes]) -> Iterator[ArchiveEntry]:
    for line in fh:
        if line.endswith(b"\n") and line.strip():  # a torn last line (live writer) is not read
            yield ArchiveEntry.model_validate_json(line)


# What reading a record cut short raises (gzip member or WARC block ends early): only these
# mean "torn tail" and lead to a cut. Anything else is a bug or a failing disk and is raised.
_TORN: tuple[type[BaseException], ...] = (EOFError, zlib.error, ArchiveLoadFailed, ValueError, KeyError)


def _read_index(path: Path, *, repair: bool = False) -> list[ArchiveEntry]:
    if not path.exists():
        return []
    raw = path.read_bytes()
    complete, _, tail = raw.rpartition(b"\n")
    if tail and repair:  # a line cut by a crash
        with path.open("r+b") as fh:
            fh.truncate(len(complete) + 1 if complete else 0)
    out = []
    for line in complete.splitlines():
        if line.strip():
            out.append(ArchiveEntry.model_validate_json(line))
    return out


def _scan(fh: BinaryIO, name: str, *, start: int) -> Iterator[ArchiveEntry]:
    """Index entries for the complete records from ``start`` (where ``fh`` stands); raises on a torn one."""
    import hashlib

    it = ArchiveIterator(fh)
    for record in it:
        body = record.content_stream().read()
        it.read_to_end(record)
        if getattr(record.raw_stream, "limit", 0) > 0:  # the file ends inside this record's block
            raise EOFError(f"torn record at {it.get_record_offset()}")
        offset = it.get_record_offset()  # warcio counts from where the file handle stood
        length = it.get_record_length()
        url = record.rec_headers.get_header("WARC-Target-URI") or ""
        date = record.rec_headers.get_header("WARC-Date") or "1970-01-01T00:00:00Z"
        is_response = record.rec_type == "response"
        yield ArchiveEntry(
            url=url,
            fetched_at=dt.datetime.fromisoformat(date.replace("Z", "+00:00")),
            type=record.rec_type,
            kind=record.rec_headers.get_header(_KIND_HEADER) if is_response else None,
            truncated=record.rec_headers.get_header("WARC-Truncated") if is_response else None,
            status=int(record.http_headers.get_statuscode()) if is_response and record.http_headers else None,
            mime=record.http_headers.get_header("Content-Type")
            if is_response and record.http_headers
            else None,
            sha256=hashlib.sha256(body).hexdigest() if is_response else None,
            file=name,
            offset=offset,
            length=length,
        )


def is_url(directory: Path | str) -> bool:
    """An archive given as an fsspec URL (``s3://bucket/warc``, ``file:///mnt/warc`` …)."""
    return isinstance(directory, str) and "://" in directory


def index_entries(directory: Path | str) -> Iterator[ArchiveEntry]:
    """Every indexed response of an archive folder or fsspec URL (read only: no repair)."""
    if not is_url(directory):
        yield from Archive(directory).entries()
        return
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(str(directory))
        names = sorted(fs.glob(root.rstrip("/") + "/*.cdxj"))
    except (ImportError, ValueError, OSError) as exc:  # unknown protocol, missing driver, no access
        raise StoreError(f"cannot read the archive at {directory}: {exc}") from exc
    for name in names:
        try:
            with fs.open(name, "rb") as fh:
                yield from (entry for entry in _index_lines(fh) if entry.type == "response")
        except OSError as exc:
            raise StoreError(f"cannot read the archive index {name}: {exc}") from exc


def read_record(directory: Path | str, location: WarcLocation | str) -> FetchResult:
    """Read one archived response back as the FetchResult the extraction stages take.

    ``directory`` is an archive folder or an fsspec URL of one (shared storage of a cluster).
    """
    if isinstance(location, str):
        name, _, off = location.rpartition("#")
        location = WarcLocation(file=name, offset=int(off), length=0)
    if "/" in location.file or "\\" in location.file or not location.file:
        raise StoreError(f"no archive file {location.file!r} in {directory}")
    try:
        if is_url(directory):
            import fsspec

            with fsspec.open(str(directory).rstrip("/") + "/" + location.file, "rb") as fh:
                return _read_response(fh, location)
        path = Path(directory) / location.file
        if not path.is_file():
            raise StoreError(f"no archive file {location.file!r} in {directory}")
        with path.open("rb") as fh:
            return _read_response(fh, location)
    except StoreError:
        raise
    except FileNotFoundError as exc:
        raise StoreError(f"no archive file {location.file!r} in {directory}") from exc
    except Exception as exc:  # warcio raises its own errors (ArchiveLoadFailed …) on a bad offset
        raise StoreError(f"no readable response record at {location}: {exc}") from exc


def _read_response(fh: Any, location: WarcLocation) -> FetchResult:
    fh.seek(location.offset)
    record = next(iter(ArchiveIterator(fh)), None)
    if record is None or record.rec_type != "response":
        raise StoreError(f"no response record at {location}")
    body = record.content_stream().read()
    headers: dict[str, str] = {}
    for key, value in record.http_headers.headers if record.http_headers else []:
        if key.lower().startswith("x-archive-orig-"):
            continue
        headers[key] = value
    date = record.rec_headers.get_header("WARC-Date")
    url = record.rec_headers.get_header("WARC-Target-URI")
    status = int(record.http_headers.get_statuscode()) if record.http_headers else 200
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        headers=headers,
        body=body,
        fetched_at=dt.datetime.fromisoformat(date.replace("Z", "+00:00")) if date else None,
        warc=str(location),
    )

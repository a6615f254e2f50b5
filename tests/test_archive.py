"""Stage archive: real WARC files in tmp_path, read back with warcio and checked with ``warcio check``.

The crash tests leave exactly what a SIGKILL leaves: a writer process really killed, then a
WARC file cut inside its last record with no index line for it (the index line is written
after its record), or complete records the index does not list yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipeline.archive import Archive, Exchange, read_record
from pipeline.errors import StoreError
from schemas.crawl import UrlKind, WarcLocation

ROOT = Path(__file__).resolve().parent.parent
WARCIO = Path(sys.executable).with_name("warcio")
T0 = dt.datetime(2024, 5, 15, 8, 30, 0, 123456, tzinfo=dt.UTC)
PAGE = "<html><head><title>关于开展安全检查的通知</title></head><body><p>各单位：现将有关事项通知如下。</p></body></html>"


def body_of(i: int, size: int = 0) -> bytes:
    """A distinct body per exchange; with ``size``, that many incompressible bytes."""
    if size:
        return random.Random(i).randbytes(size)
    return PAGE.replace("如下", f"如下（{i}）").encode("utf-8")


def exchange(i: int, *, size: int = 0, kind: UrlKind = "notice", **overrides: Any) -> Exchange:
    fields: dict[str, Any] = {
        "url": f"http://www.example.gov.cn/zwgk/202405/t20240515_{i}.html",
        "kind": kind,
        "request_headers": [("Host", "www.example.gov.cn"), ("User-Agent", "gov-notices-test")],
        "status": 200,
        "reason": "OK",
        "response_headers": [("Content-Type", "text/html; charset=utf-8")],
        "body": body_of(i, size),
        "fetched_at": T0 + dt.timedelta(seconds=i),
    }
    fields.update(overrides)
    return Exchange(**fields)


def warcio_check(*files: Path) -> None:
    assert files
    result = subprocess.run([str(WARCIO), "check", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def index_of(warc: Path) -> Path:
    return warc.with_name(warc.name[: -len(".warc.gz")] + ".cdxj")


def index_lines(warc: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in index_of(warc).read_text(encoding="utf-8").splitlines()]


def warc_records(path: Path) -> list[tuple[str, Any, Any, bytes]]:
    """(type, WARC headers, HTTP headers, payload) of every record in a file, in order."""
    out = []
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            out.append(
                (record.rec_type, record.rec_headers, record.http_headers, record.content_stream().read())
            )
    return out


def record_at(path: Path, offset: int, length: int) -> tuple[str, bytes]:
    """The one record in bytes [offset, offset+length) of a file: its type and payload."""
    with path.open("rb") as fh:
        fh.seek(offset)
        chunk = fh.read(length)
    assert len(chunk) == length, "index points past the end of the file"
    records = [(r.rec_type, r.content_stream().read()) for r in ArchiveIterator(io.BytesIO(chunk))]
    assert len(records) == 1, f"{len(records)} records at {offset}+{length}"
    return records[0]


def parse_lines(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.splitlines()]


def comparable(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Index lines without a request's ``kind`` (the writer fills it in, a re-scan leaves it null)."""
    return [
        {k: v for k, v in line.items() if not (k == "kind" and line["type"] == "request")} for line in lines
    ]


def assert_index_matches_file(warc: Path) -> None:
    """Index entries tile the file exactly, each one a single record of the indexed type."""
    entries = index_lines(warc)
    end = 0
    for entry in entries:
        assert entry["offset"] == end
        rec_type, payload = record_at(warc, entry["offset"], entry["length"])
        assert rec_type == entry["type"]
        if rec_type == "response":
            assert entry["sha256"] == hashlib.sha256(payload).hexdigest()
        end = entry["offset"] + entry["length"]
    assert end == warc.stat().st_size


# --- write → read ------------------------------------------------------------------------


def test_round_trip_keeps_body_status_headers_time_and_url(tmp_path: Path) -> None:
    sent = exchange(
        1,
        response_headers=[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "31"),  # of the gzipped body on the wire, not of the stored one
            ("ETag", '"5f3a-1"'),
        ],
        ip="127.0.0.1",
    )
    with Archive.open(tmp_path) as archive:
        loc = archive.write(sent)
    got = archive.read(loc)
    assert got.body == sent.body
    assert got.status == 200
    assert got.url == got.final_url == sent.url
    assert got.fetched_at == sent.fetched_at
    assert got.warc == str(loc) == f"{loc.file}#{loc.offset}"
    lower = {k.lower(): v for k, v in got.headers.items()}
    assert lower["content-type"] == "text/html; charset=utf-8"
    assert lower["etag"] == '"5f3a-1"'
    assert lower["content-length"] == str(len(sent.body))
    assert "content-encoding" not in lower and "transfer-encoding" not in lower
    # the same record by its 'file#offset' string, and through the module function
    assert read_record(tmp_path, str(loc)).body == sent.body


def test_warc_layout_warcinfo_then_response_then_concurrent_request(tmp_path: Path) -> None:
    sent = exchange(
        2,
        response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "deflate")],
        ip="127.0.0.1",
    )
    with Archive.open(tmp_path) as archive:
        archive.write(sent)
    [path] = archive.warc_files()
    records = warc_records(path)
    assert [r[0] for r in records] == ["warcinfo", "response", "request"]
    assert all(r[1].protocol == "WARC/1.1" for r in records)

    _, resp_warc, resp_http, payload = records[1]
    assert payload == sent.body
    assert resp_warc.get_header("WARC-Target-URI") == sent.url
    assert resp_warc.get_header("Notices-Kind") == "notice"
    assert resp_warc.get_header("WARC-IP-Address") == "127.0.0.1"
    assert resp_warc.get_header("WARC-Truncated") is None
    assert resp_warc.get_header("WARC-Date") == "2024-05-15T08:30:02.123456Z"
    assert resp_http.get_statuscode() == "200"
    assert resp_http.get_header("Content-Encoding") is None
    assert resp_http.get_header("X-Archive-Orig-Content-Encoding") == "deflate"
    assert resp_http.get_header("Content-Length") == str(len(sent.body))

    _, req_warc, req_http, _ = records[2]
    assert req_warc.get_header("WARC-Concurrent-To") == resp_warc.get_header("WARC-Record-ID")
    assert req_warc.get_header("WARC-Target-URI") == sent.url
    assert req_http.protocol == "GET"
    assert req_http.get_header("Host") == "www.example.gov.cn"
    warcio_check(path)


@pytest.mark.parametrize("truncated", ["length", "time", "disconnect"])
def test_truncated_exchange_carries_warc_truncated(tmp_path: Path, truncated: str) -> None:
    with Archive.open(tmp_path) as archive:
        cut = archive.write(exchange(1, truncated=truncated, size=5000))
        whole = archive.write(exchange(2))
    [path] = archive.warc_files()
    by_offset = {}
    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            by_offset[it.get_record_offset()] = record.rec_headers.get_header("WARC-Truncated")
    assert by_offset[cut.offset] == truncated
    assert by_offset[whole.offset] is None
    assert archive.read(cut).body == body_of(1, 5000)
    warcio_check(path)


def test_error_status_is_archived_as_sent(tmp_path: Path) -> None:
    with Archive.open(tmp_path) as archive:
        loc = archive.write(exchange(1, status=404, reason="Not Found", body=b"<h1>404</h1>"))
    got = archive.read(loc)
    assert (got.status, got.body) == (404, b"<h1>404</h1>")
    [entry] = archive.entries()
    assert entry.status == 404


# --- index -------------------------------------------------------------------------------


def test_index_has_one_line_per_record_pointing_at_its_bytes(tmp_path: Path) -> None:
    with Archive.open(tmp_path) as archive:
        locs = [archive.write(exchange(i)) for i in range(3)]
    [path] = archive.warc_files()
    lines = index_lines(path)
    assert [line["type"] for line in lines] == ["warcinfo"] + ["response", "request"] * 3
    assert len(warc_records(path)) == len(lines)
    assert [(line["offset"], line["length"]) for line in lines if line["type"] == "response"] == [
        (loc.offset, loc.length) for loc in locs
    ]
    assert_index_matches_file(path)


def test_entries_lookup_and_counts(tmp_path: Path) -> None:
    url = exchange(0).url
    with Archive.open(tmp_path) as archive:
        # the same URL twice, the newer fetch written first; an attachment in between
        later = archive.write(exchange(0, fetched_at=T0 + dt.timedelta(hours=2), body=b"v2"))
        pdf = archive.write(
            exchange(7, kind="attachment", response_headers=[("Content-Type", "application/pdf")])
        )
        earlier = archive.write(exchange(0, fetched_at=T0, body=b"v1"))
        drained = archive.drain()
        assert archive.drain() == []
    entries = list(archive.entries())
    assert [e.location for e in entries] == [later, pdf, earlier]
    assert [e.location for e in drained] == [later, pdf, earlier]
    assert [e.kind for e in entries] == ["notice", "attachment", "notice"]
    assert entries[1].mime == "application/pdf"
    assert [e.sha256 for e in entries] == [hashlib.sha256(b).hexdigest() for b in (b"v2", body_of(7), b"v1")]
    assert [e.location for e in archive.lookup(url)] == [earlier, later]
    assert archive.lookup("http://www.example.gov.cn/never.html") == []
    [path] = archive.warc_files()
    assert archive.response_counts() == {path.name: 3}
    assert len(archive.file_entries(path.name)) == 7
    assert len(list(archive.entries(types=("warcinfo", "response", "request")))) == 7


# --- rollover ----------------------------------------------------------------------------


def test_rollover_makes_several_valid_files(tmp_path: Path) -> None:
    with Archive.open(tmp_path, max_bytes=6000) as archive:
        locs = [archive.write(exchange(i, size=2000)) for i in range(10)]
    files = archive.warc_files()
    assert len(files) >= 3
    assert len({loc.file for loc in locs}) == len(files)
    warcio_check(*files)
    for path in files:
        assert warc_records(path)[0][0] == "warcinfo"
        assert_index_matches_file(path)
    for i, loc in enumerate(locs):
        assert archive.read(loc).body == body_of(i, 2000)
    assert sum(archive.response_counts().values()) == 10


# --- crash repair ------------------------------------------------------------------------

_KILLED_WRITER = """
import json, os, signal, sys
from pipeline.archive import Archive
from tests.test_archive import exchange
archive = Archive.open(sys.argv[1])
for i in range(int(sys.argv[2])):
    loc = archive.write(exchange(i, size=2000))
    print(loc.model_dump_json(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_writer(directory: Path, n: int) -> list[WarcLocation]:
    """Archive ``n`` exchanges in another process, which then dies by SIGKILL."""
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(directory), str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return [WarcLocation.model_validate_json(line) for line in proc.stdout.splitlines()]


def cut_inside(warc: Path, rec_type: str, where: str) -> int:
    """Tear the last record of ``rec_type`` and drop index lines past the cut; its offset.

    ``early`` cuts inside its WARC headers, ``late`` 20 bytes before its end (headers whole,
    payload and gzip trailer short): a kill can land anywhere in the write.
    """
    lines = index_lines(warc)
    torn = [line for line in lines if line["type"] == rec_type][-1]
    cut = torn["offset"] + (30 if where == "early" else torn["length"] - 20)
    os.truncate(warc, cut)
    kept = [line for line in lines if line["offset"] + line["length"] <= cut]
    index_of(warc).write_text("".join(json.dumps(line) + "\n" for line in kept), encoding="utf-8")
    return int(torn["offset"])


@pytest.mark.parametrize("where", ["early", "late"])
@pytest.mark.parametrize("rec_type", ["response", "request"])
def test_open_cuts_a_torn_last_record(tmp_path: Path, rec_type: str, where: str) -> None:
    locs = killed_writer(tmp_path, 3)
    [path] = sorted(tmp_path.glob("*.warc.gz"))
    good_end = cut_inside(path, rec_type, where)

    archive = Archive.open(tmp_path)
    archive.close()
    assert archive.repaired == []
    assert path.stat().st_size == good_end
    warcio_check(path)
    assert_index_matches_file(path)
    urls = [e.url for e in archive.entries()]
    if rec_type == "response":  # the torn response is gone
        assert urls == [exchange(0).url, exchange(1).url]
    else:  # the response before the torn request stays
        assert urls == [exchange(i).url for i in range(3)]
        assert archive.read(locs[2]).body == body_of(2, 2000)


@pytest.mark.parametrize(("dropped", "lost_responses"), [(1, 0), (2, 1), (4, 2)])
def test_open_indexes_complete_records_the_index_missed(
    tmp_path: Path, dropped: int, lost_responses: int
) -> None:
    locs = killed_writer(tmp_path, 3)
    [path] = sorted(tmp_path.glob("*.warc.gz"))
    whole_index = index_of(path).read_bytes()
    lines = whole_index.splitlines(keepends=True)
    index_of(path).write_bytes(b"".join(lines[:-dropped]))

    archive = Archive.open(tmp_path)
    archive.close()
    assert comparable(index_lines(path)) == comparable(parse_lines(whole_index))
    assert_index_matches_file(path)
    assert [e.location for e in archive.repaired] == locs[len(locs) - lost_responses :]
    assert all(e.type == "response" and e.kind == "notice" for e in archive.repaired)
    assert [e.sha256 for e in archive.repaired] == [
        hashlib.sha256(body_of(i, 2000)).hexdigest() for i in range(3 - lost_responses, 3)
    ]


def test_repaired_entries_carry_their_kind(tmp_path: Path) -> None:
    with Archive.open(tmp_path) as archive:
        archive.write(exchange(0))
        pdf = archive.write(exchange(1, kind="attachment", status=206, body=b"%PDF-1.4 ..."))
    [path] = archive.warc_files()
    lines = index_of(path).read_bytes().splitlines(keepends=True)
    index_of(path).write_bytes(b"".join(lines[:-2]))
    # a fresh archive object stands for the next process; it never writes here
    reopened = Archive.open(tmp_path)
    reopened.close()
    [entry] = reopened.repaired
    assert (entry.location, entry.kind, entry.status) == (pdf, "attachment", 206)
    assert entry.sha256 == hashlib.sha256(b"%PDF-1.4 ...").hexdigest()


def test_open_repairs_an_index_line_cut_without_newline(tmp_path: Path) -> None:
    killed_writer(tmp_path, 2)
    [path] = sorted(tmp_path.glob("*.warc.gz"))
    whole_index = index_of(path).read_bytes()
    last_line = whole_index.splitlines(keepends=True)[-1]
    index_of(path).write_bytes(whole_index[: len(whole_index) - len(last_line) // 2])

    archive = Archive.open(tmp_path)
    archive.close()
    assert comparable(index_lines(path)) == comparable(parse_lines(whole_index))
    assert_index_matches_file(path)
    assert len(list(archive.entries())) == 2


def test_after_a_crash_the_next_archive_writes_a_new_file(tmp_path: Path) -> None:
    killed_writer(tmp_path, 3)
    [old] = sorted(tmp_path.glob("*.warc.gz"))
    cut_inside(old, "response", "late")
    with Archive.open(tmp_path) as archive:
        repaired_size = old.stat().st_size
        loc = archive.write(exchange(9))
    assert loc.file != old.name
    assert old.stat().st_size == repaired_size
    files = archive.warc_files()
    assert len(files) == 2
    warcio_check(*files)
    assert archive.read(loc).body == body_of(9)


def test_reopening_in_the_same_process_writes_a_new_file(tmp_path: Path) -> None:
    """A second run in one process (a Prefect worker, the CLI demo) opens the folder again."""
    with Archive.open(tmp_path) as first:
        a = first.write(exchange(1))
    with Archive.open(tmp_path) as second:
        b = second.write(exchange(2))
    assert a.file != b.file
    assert [first.read(loc).body for loc in (a, b)] == [body_of(1), body_of(2)]
    warcio_check(*second.warc_files())


# --- read errors -------------------------------------------------------------------------


@pytest.fixture()
def one_exchange(tmp_path: Path) -> tuple[Path, WarcLocation]:
    folder = tmp_path / "warc"
    with Archive.open(folder) as archive:
        loc = archive.write(exchange(1))
    return folder, loc


def test_read_unknown_file_is_a_store_error(one_exchange: tuple[Path, WarcLocation]) -> None:
    folder, loc = one_exchange
    with pytest.raises(StoreError, match="no archive file"):
        read_record(folder, WarcLocation(file="nope.warc.gz", offset=loc.offset, length=0))


@pytest.mark.parametrize("name", ["../outside.warc.gz", "..", "/etc/passwd", "sub\\..\\outside.warc.gz"])
def test_read_refuses_paths_out_of_the_folder(one_exchange: tuple[Path, WarcLocation], name: str) -> None:
    folder, loc = one_exchange
    shutil.copy(folder / loc.file, folder.parent / "outside.warc.gz")  # a real WARC one level up
    with pytest.raises(StoreError):
        read_record(folder, f"{name}#{loc.offset}")


@pytest.mark.parametrize("where", ["warcinfo", "request", "inside the response", "past the end"])
def test_read_at_an_offset_without_a_response_is_a_store_error(
    one_exchange: tuple[Path, WarcLocation], where: str
) -> None:
    folder, loc = one_exchange
    offset = {
        "warcinfo": 0,
        "request": loc.offset + loc.length,
        "inside the response": loc.offset + 10,
        "past the end": (folder / loc.file).stat().st_size + 100,
    }[where]
    with pytest.raises(StoreError):
        read_record(folder, WarcLocation(file=loc.file, offset=offset, length=0))


# --- threads -----------------------------------------------------------------------------


@pytest.mark.parametrize("max_bytes", [1024**3, 50_000])
def test_eight_threads_writing_at_once(tmp_path: Path, max_bytes: int) -> None:
    locations: dict[int, WarcLocation] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(archive: Archive, t: int) -> None:
        try:
            start.wait()
            for j in range(50):
                i = t * 1000 + j
                locations[i] = archive.write(exchange(i))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with Archive.open(tmp_path, max_bytes=max_bytes) as archive:
        threads = [threading.Thread(target=work, args=(archive, t)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        drained = archive.drain()
    assert errors == []
    assert len(locations) == 400
    entries = list(archive.entries())
    assert len(entries) == len(drained) == 400
    assert {e.url for e in entries} == {exchange(i).url for i in locations}
    for i, loc in locations.items():
        assert archive.read(loc).body == body_of(i)
    files = archive.warc_files()
    warcio_check(*files)
    for path in files:
        assert_index_matches_file(path)


def test_open_leaves_a_file_another_live_writer_holds_alone(tmp_path: Path) -> None:
    """Two crawls sharing an archive folder: the second one's repair must not cut the first's file."""
    import datetime as dt

    from pipeline.archive import Exchange

    live = Archive.open(tmp_path, prefix="a")
    try:
        live.write(Exchange(url="http://127.0.0.1/x", kind="notice", request_headers=[], status=200,
                            response_headers=[], body=b"<html>x</html>", fetched_at=dt.datetime.now(dt.UTC)))  # fmt: skip
        (name,) = [p.name for p in tmp_path.glob("*.warc.gz")]
        index = tmp_path / (name[: -len(".warc.gz")] + ".cdxj")
        text = index.read_text(encoding="utf-8")
        index.write_text(text[:-40], encoding="utf-8")  # looks torn, but its writer is alive
        size = (tmp_path / name).stat().st_size
        other = Archive.open(tmp_path, prefix="b")
        other.close()
        assert (tmp_path / name).stat().st_size == size
        assert index.read_text(encoding="utf-8") == text[:-40]
    finally:
        live.close()


def test_a_disk_that_fills_then_frees_leaves_every_warc_valid(tmp_path: Path) -> None:
    """Issue 14: a failed write used to leave partial bytes that the next records followed, so
    `warcio check` failed even after a resumed run. A real write failure, in a child process
    whose file-size limit (RLIMIT_FSIZE) is the 'disk' that fills and is then freed: each write
    that fails is undone, the ones after it land in a new file, and every file checks."""
    script = f"""
import datetime as dt, random, resource, signal, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from pipeline.archive import Archive, Exchange
from pipeline.errors import StoreError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as ENOSPC would
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
def ex(i):
    return Exchange(url=f"http://www.example.gov.cn/t{{i}}.html", kind="notice", request_headers=[("Host", "www.example.gov.cn")],
                    status=200, reason="OK", response_headers=[("Content-Type", "text/html")],
                    body=random.Random(i).randbytes(9000), fetched_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
ok = failed = 0
with Archive.open(sys.argv[1], prefix="full") as arc:
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, hard))  # the disk fills
    for i in range(12):
        try:
            arc.write(ex(i)); ok += 1
        except StoreError:
            failed += 1
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is freed
    for i in range(12, 20):
        arc.write(ex(i)); ok += 1
print(ok, failed)
"""
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    ok, failed = map(int, out.stdout.split())
    assert failed > 0 and ok >= 8  # the limit was really hit, and writing went on after it
    files = sorted(tmp_path.glob("*.warc.gz"))
    warcio_check(*files)
    archive = Archive.open(tmp_path, prefix="check")
    try:
        assert archive.repaired == []  # nothing left unindexed or torn
        responses = [e for f in files for e in archive.file_entries(f.name) if e.type == "response"]
        assert len(responses) == ok
        for entry in responses:  # every indexed response reads back whole
            assert len(archive.read(entry.location).body) == 9000
    finally:
        archive.close()

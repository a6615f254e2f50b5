"""Open-data exports from a real database: the mini site crawled once over 127.0.0.1.

Every format is read back with an independent reader (jsonschema, csv, pyarrow, ElementTree,
frictionless); interruption is simulated with an exception and with SIGKILL.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pipeline.export as export_module
from pipeline.crawl import Crawler
from pipeline.errors import PipelineError, StoreError
from pipeline.export import ExportSummary, export, export_feed, read_cursor
from pipeline.siteserver import serve_site
from pipeline.store import SqliteStore, Store
from schemas.record import record_json_schema
from schemas.site import SiteConfig
from tests.test_crawl import MANIFEST, SITE, TYPES, fast_settings

ROOT = Path(__file__).resolve().parent.parent
ATOM = "{http://www.w3.org/2005/Atom}"
PUBLISHED_SCHEMA = json.loads((ROOT / "schemas" / "notice_record.schema.json").read_text(encoding="utf-8"))
NOTICES = len(MANIFEST["notices"])


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini site crawled into a database once for the module (never written by tests)."""
    folder = tmp_path_factory.mktemp("crawl")
    with serve_site(SITE, content_types=TYPES, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        site = SiteConfig(name="mini", start_urls=[srv.base_url + MANIFEST["start_url"]],
                          allow_private_addresses=True)  # fmt: skip
        with Crawler(site, fast_settings(), db=folder / "db.sqlite", archive_dir=folder / "warc") as crawler:
            summary = crawler.run()
    assert summary.new_records == NOTICES
    return folder / "db.sqlite"


@pytest.fixture()
def db(crawled: Path, tmp_path: Path) -> Path:
    """A private copy of the crawled database, for tests that change records."""
    copy = tmp_path / "db.sqlite"
    shutil.copyfile(crawled, copy)
    return copy


@pytest.fixture(scope="module")
def full(crawled: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportSummary:
    """One default export of everything, shared by the read-back tests."""
    return export_feed(crawled, tmp_path_factory.mktemp("out"))


def folder_of(summary: ExportSummary) -> Path:
    assert summary.folder is not None
    return Path(summary.folder)


def suspect_ids(db: Path) -> set[str]:
    with SqliteStore(db, readonly=True) as store:
        return {r.id for _, r in store.changed_since(0) if r.integrity.status == "suspect"}


def jsonl_records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "notices.jsonl").read_text(encoding="utf-8").splitlines()]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def feed_entries(folder: Path) -> list[ET.Element]:
    return ET.parse(folder / "feed.atom").getroot().findall(f"{ATOM}entry")


def assert_intact(folder: Path) -> None:
    """Every file the export's datapackage lists is there with its recorded sha256 and size."""
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    for resource in package["resources"]:
        data = (folder / resource["path"]).read_bytes()
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), resource["path"]
        assert resource["bytes"] == len(data)


def change_title(db: Path, title: str, index: int = 0) -> str:
    """Store a new version of one clean notice with ``title``; returns its id."""
    with SqliteStore(db) as store:
        record = [r for _, r in store.changed_since(0) if r.integrity.status == "clean"][index]
        assert store.put_record(record.model_copy(update={"title": title}), site="mini",
                                extractor_version="test") == "version"  # fmt: skip
    return record.id


# --- every format, read back ----------------------------------------------------------------
def test_every_format_is_written_and_reads_back(full: ExportSummary, crawled: Path) -> None:
    folder = folder_of(full)
    held = suspect_ids(crawled)
    assert full.cursor_from == 0 and full.cursor_to == NOTICES
    assert full.notices == NOTICES - len(held) and full.held_suspect == len(held) == 2
    assert {f.name for f in full.files} == {
        "notices.jsonl", "notices.csv", "sections.csv", "notices.parquet", "sections.parquet",
        "feed.atom", "notice_record.schema.json", "datapackage.json",
    }  # fmt: skip
    rows = {f.name: f.rows for f in full.files}

    records = jsonl_records(folder)
    validator = jsonschema.Draft202012Validator(PUBLISHED_SCHEMA)
    for record in records:
        validator.validate(record)
    ids = [r["id"] for r in records]
    assert len(ids) == rows["notices.jsonl"] == full.notices and not held & set(ids)

    notices = csv_rows(folder / "notices.csv")
    sections = csv_rows(folder / "sections.csv")
    assert [n["id"] for n in notices] == ids  # change order everywhere
    assert [int(n["seq"]) for n in notices] == sorted(int(n["seq"]) for n in notices)
    assert len(notices) == rows["notices.csv"] and len(sections) == rows["sections.csv"] == full.sections
    assert {s["notice_id"] for s in sections} <= set(ids)
    assert all(n["version"] == "1" and n["integrity"] == "clean" for n in notices)
    by_id = {r["id"]: r for r in records}
    for n in notices:
        assert n["title"] == by_id[n["id"]]["title"]
        assert n["published_date"] == (by_id[n["id"]]["published_date"] or "")
        assert n["attachments"] == str(len(by_id[n["id"]]["attachments"]))
    # the sections of one notice are its outline in document order, paths numbering the tree
    first = [s for s in sections if s["notice_id"] == ids[0]]
    assert [s["heading"] for s in first if s["level"] == "1"] == [
        s["heading"] for s in by_id[ids[0]]["sections"]
    ]
    assert all(s["path"].count(".") + 1 <= int(s["level"]) for s in first)
    raw = (folder / "notices.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") >= len(notices) + 1

    table = pq.read_table(folder / "notices.parquet")
    assert table.num_rows == full.notices and table.column("id").to_pylist() == ids
    assert table.schema.field("published_date").type == pa.date32()
    assert table.schema.field("title").type == pa.string()
    assert table.schema.field("fetched_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("body_text").to_pylist() == [by_id[i]["body_text"] for i in ids]
    dates = table.column("published_date").to_pylist()
    assert dates == [dt.date.fromisoformat(d) if (d := by_id[i]["published_date"]) else None for i in ids]
    section_table = pq.read_table(folder / "sections.parquet")
    assert section_table.num_rows == full.sections
    assert section_table.column("path").to_pylist() == [s["path"] for s in sections]


def test_frictionless_validates_the_package(full: ExportSummary, tmp_path: Path) -> None:
    import frictionless

    folder = folder_of(full)
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["type", "message"])
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["gov_notices"]["cursor_to"] == full.cursor_to
    resources = {r["path"]: r for r in package["resources"]}
    assert resources["notices.csv"]["rows"] == full.notices
    assert resources["sections.csv"]["schema"]["foreignKeys"][0]["reference"]["resource"] == "notices"
    assert resources["notices.parquet"]["gov_notices_rows"] == full.notices
    # the command line agrees; and it does check: a changed byte makes the package invalid
    cli = Path(sys.executable).with_name("frictionless")
    assert subprocess.run([cli, "validate", folder / "datapackage.json"], capture_output=True).returncode == 0
    tampered = tmp_path / "tampered"
    shutil.copytree(folder, tampered)
    data = (tampered / "sections.csv").read_bytes()
    (tampered / "sections.csv").write_bytes(data.replace("。".encode(), "，".encode(), 1))
    assert not frictionless.validate(str(tampered / "datapackage.json")).valid


def test_atom_feed_has_an_entry_per_notice_stored_times_and_stable_ids(
    full: ExportSummary, crawled: Path, tmp_path: Path
) -> None:
    folder = folder_of(full)
    root = ET.parse(folder / "feed.atom").getroot()
    assert root.tag == f"{ATOM}feed"
    entries = feed_entries(folder)
    records = {r["id"]: r for r in jsonl_records(folder)}
    assert len(entries) == full.notices
    with SqliteStore(crawled, readonly=True) as store:
        stored = {i: store.versions(i)[-1].created_at for i in records}
    updated = []
    for entry in entries:
        entry_id = entry.findtext(f"{ATOM}id") or ""
        notice = entry_id.removeprefix("tag:gov-notices,2024:notice/")
        assert notice in records
        assert entry.findtext(f"{ATOM}title") == records[notice]["title"]
        link = entry.find(f"{ATOM}link")
        assert link is not None and link.get("href") == records[notice]["url"]
        when = dt.datetime.fromisoformat(entry.findtext(f"{ATOM}updated") or "")
        assert when == stored[notice]  # when the version was stored, not when it was exported
        updated.append(when)
        summary = entry.findtext(f"{ATOM}summary") or ""
        assert 0 < len(summary) <= 201 and summary[:20] == " ".join(records[notice]["body_text"].split())[:20]
    assert dt.datetime.fromisoformat(root.findtext(f"{ATOM}updated") or "") == max(updated)
    # the same notices exported again elsewhere: the same entry ids
    again = export_feed(crawled, tmp_path / "again")
    assert [e.findtext(f"{ATOM}id") for e in feed_entries(folder_of(again))] == [
        e.findtext(f"{ATOM}id") for e in entries
    ]


def test_two_exports_of_the_same_data_are_byte_identical(crawled: Path, tmp_path: Path) -> None:
    a = export_feed(crawled, tmp_path / "a")
    time.sleep(0.01)  # a different export time must not show anywhere
    b = export_feed(crawled, tmp_path / "b")
    names = sorted(p.name for p in folder_of(a).iterdir())
    assert names == sorted(p.name for p in folder_of(b).iterdir()) and len(names) == 8
    for name in names:
        assert (folder_of(a) / name).read_bytes() == (folder_of(b) / name).read_bytes(), name
    assert [f.sha256 for f in a.files] == [f.sha256 for f in b.files]


# --- cursors -----------------------------------------------------------------------------------
def test_incremental_export_holds_only_what_changed(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export_feed(db, out)
    assert (first.cursor_from, first.cursor_to) == (0, NOTICES)
    assert (out / "latest").resolve() == folder_of(first).resolve() and read_cursor(out) == NOTICES
    first_entries = {e.findtext(f"{ATOM}id"): e for e in feed_entries(folder_of(first))}

    changed = change_title(db, "修改后的标题")
    second = export_feed(db, out)
    folder = folder_of(second)
    assert (second.cursor_from, second.cursor_to) == (NOTICES, NOTICES + 1)
    assert second.notices == 1 and second.held_suspect == 0
    assert [r["id"] for r in jsonl_records(folder)] == [changed]
    (notice,) = csv_rows(folder / "notices.csv")
    assert (
        notice["title"] == "修改后的标题" and notice["version"] == "2" and notice["seq"] == str(NOTICES + 1)
    )
    assert {s["notice_id"] for s in csv_rows(folder / "sections.csv")} == {changed}
    (entry,) = feed_entries(folder)
    entry_id = entry.findtext(f"{ATOM}id")
    assert entry_id in first_entries  # the same notice keeps its entry id …
    assert (entry.findtext(f"{ATOM}updated") or "") > (
        first_entries[entry_id].findtext(f"{ATOM}updated") or ""
    )
    assert (out / "latest").resolve() == folder.resolve()
    assert_intact(folder_of(first))  # … and the earlier export is still there, untouched

    # nothing new: nothing written, the pointer stays
    third = export_feed(db, out)
    assert (
        third.folder is None
        and third.files == []
        and (third.cursor_from, third.cursor_to) == (NOTICES + 1,) * 2
    )
    assert (out / "latest").resolve() == folder.resolve()

    # since=0: everything again, the changed notice in its new version, in a new folder
    everything = export_feed(db, out, since=0)
    assert everything.notices == NOTICES - 2 and everything.cursor_to == NOTICES + 1
    assert folder_of(everything).name == f"{0:010d}-{NOTICES + 1:010d}"
    titles = {r["id"]: r["title"] for r in jsonl_records(folder_of(everything))}
    assert titles[changed] == "修改后的标题"
    # an explicit cursor of a downstream poller
    polled = export_feed(db, tmp_path / "poller", since=NOTICES)
    assert [r["id"] for r in jsonl_records(folder_of(polled))] == [changed]


def test_the_same_range_twice_gets_a_second_folder(crawled: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    one = export_feed(crawled, out, since=0)
    two = export_feed(crawled, out, since=0)
    assert folder_of(two).name == folder_of(one).name + "-2"
    assert (out / "latest").resolve() == folder_of(two).resolve()
    assert_intact(folder_of(one))


def test_bad_cursors_formats_and_databases_are_clear_errors(crawled: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(PipelineError, match="ahead of the database"):
        export_feed(crawled, out, since=NOTICES + 5)
    with pytest.raises(PipelineError, match="0 or more"):
        export_feed(crawled, out, since=-1)
    with pytest.raises(PipelineError, match="formats must be"):
        export_feed(crawled, out, formats=["xlsx"])  # type: ignore[list-item]
    with pytest.raises(StoreError, match="no database"):
        export_feed(tmp_path / "missing.sqlite", out)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database\n" * 100)
    with pytest.raises(StoreError):
        export_feed(garbage, out)
    # a latest from another (bigger) database
    other = tmp_path / "other"
    export_feed(crawled, other)
    with SqliteStore(tmp_path / "empty.sqlite"):
        pass
    with pytest.raises(PipelineError, match="another database"):
        export_feed(tmp_path / "empty.sqlite", other)
    # one export at a time into a folder
    fd = os.open(other / ".export.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(PipelineError, match="another export"):
            export_feed(crawled, other, since=0)
    finally:
        os.close(fd)
    assert not list((out / "exports").iterdir())


def test_some_formats_only(crawled: Path, tmp_path: Path) -> None:
    import frictionless

    summary = export_feed(crawled, tmp_path / "out", formats=["parquet"])
    names = {p.name for p in folder_of(summary).iterdir()}
    assert names == {"notices.parquet", "sections.parquet", "feed.atom", "notice_record.schema.json",
                     "datapackage.json"}  # fmt: skip
    assert frictionless.validate(str(folder_of(summary) / "datapackage.json")).valid


# --- interruption ------------------------------------------------------------------------------
def test_an_export_failing_midway_leaves_the_previous_one_intact(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = export_feed(db, out)
    change_title(db, "第二版", index=0)
    change_title(db, "第二版", index=1)
    real_add = export_module._ParquetWriter.add

    def failing_add(self: export_module._ParquetWriter, row: tuple[Any, ...]) -> None:
        real_add(self, row)
        if self.name == "notices.parquet" and self.rows == 2:  # JSONL and CSV already have rows
            raise OSError("disk full (simulated)")

    monkeypatch.setattr(export_module._ParquetWriter, "add", failing_add)
    with pytest.raises(OSError, match="simulated"):
        export_feed(db, out)
    assert (out / "latest").resolve() == folder_of(first).resolve()
    assert_intact(folder_of(first))
    assert [p.name for p in (out / "exports").iterdir()] == [folder_of(first).name]  # no half folder
    assert read_cursor(out) == NOTICES

    monkeypatch.undo()
    retry = export_feed(db, out)
    assert (retry.cursor_from, retry.cursor_to, retry.notices) == (NOTICES, NOTICES + 2, 2)


def test_an_export_killed_midway_leaves_the_previous_one_intact(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export_feed(db, out)
    change_title(db, "被中断的导出")
    marker = tmp_path / "writing"
    code = f"""
import time
from pathlib import Path
import pipeline.export as ex
real_add = ex._CsvWriter.add
def add(self, row):
    real_add(self, row)
    Path({str(marker)!r}).touch()
    time.sleep(60)
ex._CsvWriter.add = add
ex.export_feed({str(db)!r}, {str(out)!r})
"""
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the export never started writing"
    finally:
        proc.kill()
        proc.wait()
    assert [p.name for p in (out / "exports").glob(".tmp-*")]  # the killed export's leftovers
    assert (out / "latest").resolve() == folder_of(first).resolve()
    assert_intact(folder_of(first))
    again = export_feed(db, out)
    assert (again.cursor_from, again.notices) == (NOTICES, 1)
    assert not list((out / "exports").glob(".tmp-*"))  # swept


# --- what is held out --------------------------------------------------------------------------
def test_suspect_records_are_held_out_unless_included(
    full: ExportSummary, crawled: Path, tmp_path: Path
) -> None:
    held = suspect_ids(crawled)
    assert set(full.held_suspect_ids) == held
    folder = folder_of(full)
    for name in ("notices.jsonl", "notices.csv", "sections.csv", "feed.atom"):
        text = (folder / name).read_text(encoding="utf-8")
        assert not any(i in text for i in held), name
    assert not held & set(pq.read_table(folder / "sections.parquet").column("notice_id").to_pylist())

    included = export_feed(crawled, tmp_path / "all", include_suspect=True)
    assert included.notices == NOTICES and included.held_suspect == 0
    rows = csv_rows(folder_of(included) / "notices.csv")
    assert {r["id"] for r in rows if r["integrity"] == "suspect"} == held


def test_a_record_breaking_the_json_schema_is_left_out_and_reported(
    crawled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = record_json_schema()
    strict["properties"]["title"] = {"type": "string", "maxLength": 25}
    monkeypatch.setattr(export_module, "record_json_schema", lambda: strict)
    export_module.record_validator.cache_clear()
    try:
        summary = export_feed(crawled, tmp_path / "out")
    finally:
        monkeypatch.undo()
        export_module.record_validator.cache_clear()
    folder = folder_of(summary)
    rejected = {r.id for r in summary.rejected}
    assert rejected and all("title" in r.error for r in summary.rejected)
    assert summary.notices == NOTICES - 2 - len(rejected)
    for name in ("notices.jsonl", "notices.csv", "sections.csv", "feed.atom"):
        text = (folder / name).read_text(encoding="utf-8")
        assert not any(i in text for i in rejected), name
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert set(package["gov_notices"]["rejected"]) == rejected
    assert "rejected by the JSON Schema: " + str(len(rejected)) in summary.markdown()


def test_text_that_xml_cannot_hold_is_dropped_from_the_feed_only(db: Path, tmp_path: Path) -> None:
    export_feed(db, tmp_path / "out")
    change_title(db, "关于<通知>&“公告”\x0b的\x00说明")
    summary = export_feed(db, tmp_path / "out")
    (entry,) = feed_entries(folder_of(summary))
    assert entry.findtext(f"{ATOM}title") == "关于<通知>&“公告”的说明"
    (row,) = csv_rows(folder_of(summary) / "notices.csv")
    assert row["title"] == "关于<通知>&“公告”\x0b的\x00说明"


# --- an open store, and the flow -----------------------------------------------------------------
def test_export_takes_an_open_store(crawled: Path, tmp_path: Path) -> None:
    with SqliteStore(crawled, readonly=True) as store:
        assert isinstance(store, Store)
        summary = export(store, tmp_path / "out", formats=["jsonl"])
    assert summary.notices == NOTICES - 2


def test_export_feed_flow_wires_the_export_and_publishes_a_summary(
    crawled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.cache_policies import NO_CACHE
    from prefect.logging import disable_run_logger

    import flows.export as flow_module

    assert flow_module.export_feed_flow.name == "export-feed"
    assert flow_module.export_task.cache_policy is NO_CACHE
    artifacts: list[tuple[str, dict[str, Any]]] = []
    # the task's own function and a recorder for the artifact: no Prefect server is needed
    monkeypatch.setattr(flow_module, "export_task", flow_module.export_task.fn)
    monkeypatch.setattr(flow_module, "create_markdown_artifact", lambda md, **kw: artifacts.append((md, kw)))
    with disable_run_logger():
        summary = flow_module.export_feed_flow.fn(db=str(crawled), out=str(tmp_path / "out"), formats=["csv"])
    assert summary.notices == NOTICES - 2 and {f.name for f in summary.files} >= {
        "notices.csv",
        "sections.csv",
    }
    ((markdown, kw),) = artifacts
    assert kw["key"] == "export-feed" and f"# Export 0 → {NOTICES}" in markdown


@pytest.mark.parametrize(
    "payload",
    [
        '=HYPERLINK("http://evil.example","点击")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_csv_cells_a_spreadsheet_would_run_are_text(db: Path, tmp_path: Path, payload: str) -> None:
    """CSV injection: a title (or heading) that starts like a formula is written with a leading
    ' in notices.csv; JSON Lines keeps the text as it is; the data package says so."""
    nid = change_title(db, payload)
    summary = export_feed(db, tmp_path / "out", formats=["csv", "jsonl"])
    folder = Path(summary.folder)
    with (folder / "notices.csv").open(encoding="utf-8", newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert rows[nid]["title"] == "'" + payload
    for r in rows.values():  # no cell of any row starts like a formula
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in r.values() if v), r
    with (folder / "sections.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in r.values() if v), r
    jsonl = [json.loads(line) for line in (folder / "notices.jsonl").read_text(encoding="utf-8").splitlines()]
    assert next(r for r in jsonl if r["id"] == nid)["title"] == payload
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert any("formula" in r.get("description", "") for r in package["resources"] if r["format"] == "csv")

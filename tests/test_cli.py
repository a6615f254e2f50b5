"""The notices command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parent.parent


def notices(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_extract_one_page_prints_its_record() -> None:
    p = CORPUS[0]
    r = notices(
        "extract", str(p.html), "--url", p.gold["url"], "--content-type", p.gold["content_type_header"]
    )
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert (
        rec["schema_version"] == "1.1"
        and rec["entities"]
        and rec["title"] == p.gold["title"]
        and rec["url"] == p.gold["url"]
    )


def test_manifest_keeps_order_and_records_failures(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7 binary")
    (tmp_path / "empty.html").write_bytes(b"")
    lines = [
        {"path": str(CORPUS[1].html), "url": CORPUS[1].gold["url"], "content_type": "text/html"},
        {"path": "a.pdf", "url": "http://x.gov.cn/a.pdf"},
        {"path": "missing.html"},
        "not json",
        {"path": "empty.html"},
        {"path": str(CORPUS[2].html), "url": CORPUS[2].gold["url"]},
    ]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "out.jsonl"
    r = notices("extract", "--manifest", str(manifest), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == len(lines)
    assert rows[0]["title"] == CORPUS[1].gold["title"] and rows[5]["title"] == CORPUS[2].gold["title"]
    assert rows[1] == {"path": "a.pdf", "error": {"stage": "decode", "message": rows[1]["error"]["message"]}}
    assert "PDF" in rows[1]["error"]["message"]
    assert rows[2]["error"]["stage"] == "read"
    assert rows[3]["error"]["stage"] == "manifest"
    assert rows[4]["error"]["stage"] == "decode" and "empty" in rows[4]["error"]["message"]
    assert "4 failures" in r.stderr.replace("\n", " ")


def test_usage_errors_exit_non_zero(tmp_path: Path) -> None:
    assert notices("extract", str(tmp_path / "nope.html")).returncode != 0
    assert notices("extract", "--manifest", str(tmp_path / "nope.jsonl")).returncode != 0
    assert notices("extract").returncode != 0


def test_extract_error_on_one_page_is_clear(tmp_path: Path) -> None:
    f = tmp_path / "x.html"
    f.write_bytes(b"%PDF-1.4")
    r = notices("extract", str(f))
    assert r.returncode == 1 and "decode" in r.stderr and "PDF" in r.stderr and "Traceback" not in r.stderr


def test_schema_command_prints_json_schema() -> None:
    r = notices("schema")
    assert r.returncode == 0 and json.loads(r.stdout)["title"] == "NoticeRecord"


def test_extract_never_imports_prefect() -> None:
    code = (
        "import sys; from pipeline.cli import app; "
        f"sys.argv=['notices','extract',{str(CORPUS[0].html)!r}]; "
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: app()\n"
        "    except SystemExit: pass\n"
        "print('prefect' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.stdout.strip().endswith("False"), r.stdout + r.stderr


def test_demo_serves_the_fixture_site_and_crawls_it(tmp_path: Path) -> None:
    """`notices demo`: the README's main job, end to end in a fresh process (Prefect ephemeral mode)."""
    import os

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "demo", "--data", str(tmp_path / "demo"), "--quiet"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "new records" in result.stderr
    lines = (tmp_path / "demo" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 14
    assert list((tmp_path / "demo" / "warc").glob("*.warc.gz"))

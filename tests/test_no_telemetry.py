"""Nothing leaves the machine: a crawl through the real CLI and Prefect, under a network guard.

``tests/netguard/sitecustomize.py`` is put on PYTHONPATH of the subprocesses (and so of the
Prefect API server they start): every DNS lookup or connection to anything but loopback is
logged and refused. A control run of a plain Prefect flow without the project's settings shows
that the guard does catch Prefect's telemetry when it is left on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline.siteserver import serve_site
from tests.conftest import FIXTURES

GUARD = Path(__file__).resolve().parent / "netguard"
ROOT = Path(__file__).resolve().parent.parent


def guarded_env(tmp_path: Path, log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DO_NOT_TRACK"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(GUARD), str(ROOT)]),
        NOTICES_NET_GUARD_LOG=str(log),
        PREFECT_HOME=str(tmp_path / "prefect-home"),
    )
    return env


def test_crawl_with_prefect_makes_no_lookup_off_the_machine(tmp_path: Path) -> None:
    log = tmp_path / "net.log"
    env = guarded_env(tmp_path, log)
    with serve_site(FIXTURES / "corpus" / "site", replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        cmd = [sys.executable, "-m", "pipeline.cli", "crawl", srv.base_url + "/zwgk/bmdt/index.html",
               "--allow-private-addresses", "--delay", "0", "--quiet",
               "--db", str(tmp_path / "db.sqlite"), "--archive", str(tmp_path / "warc")]  # fmt: skip
        # run from a folder without the project's prefect.toml: the CLI itself must switch telemetry off
        result = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        time.sleep(5)  # Prefect's telemetry heartbeat would fire a few seconds after its server starts
    assert result.returncode == 0, result.stderr[-3000:]
    assert "new records" in result.stderr
    assert not log.exists() or log.read_text() == "", log.read_text()

    # control: the same guard does see Prefect's telemetry when nothing switches it off
    script = "from prefect import flow\nimport time\n@flow\ndef f():\n    return 1\nf()\ntime.sleep(30)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # killed as a group below, with the Prefect server it starts
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and "prefect.io" in log.read_text():
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert "prefect.io" in log.read_text()

"""Nothing leaves the machine: a crawl through the real CLI and Prefect, under a network guard.

``tests/netguard/sitecustomize.py`` is put on PYTHONPATH of the subprocesses (and so of the
Prefect API server they start): every DNS lookup or connection to anything but loopback is
logged and refused, and every process that runs under it says so in the log. A control shows
the guard catches a lookup two processes down, where Prefect's API server runs. (Run by hand,
a plain Prefect flow without the project's settings does get caught looking up
sens-o-matic.prefect.io a few seconds after its server starts; that timing is too loose for a
test.)
"""

from __future__ import annotations

import os
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
    lines = log.read_text(encoding="utf-8").splitlines()
    refused = [line for line in lines if " guarded " not in line]
    assert refused == []
    # the guard was in force in the crawl and in the Prefect API server it started
    assert any(" crawl http" in line for line in lines)
    assert any("prefect.server.api.server" in line for line in lines)


def test_the_guard_catches_lookups_in_grandchild_processes(tmp_path: Path) -> None:
    """Control: a lookup two processes down (where Prefect's server runs) is seen and refused."""
    log = tmp_path / "net.log"
    inner = "import socket; socket.getaddrinfo('sens-o-matic.prefect.io', 443)"
    outer = f"import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', {inner!r}]).returncode)"
    result = subprocess.run(
        [sys.executable, "-c", outer], env=guarded_env(tmp_path, log), capture_output=True
    )
    assert result.returncode != 0
    assert "lookup sens-o-matic.prefect.io" in log.read_text(encoding="utf-8")

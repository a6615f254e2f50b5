"""Crawl benchmark: a generated site of N notice pages served on 127.0.0.1, crawled end to end.

    python bench/bench_crawl.py --pages 5000            # (make bench-crawl)

Runs, each in a fresh process, on the same generated site (bench/gensite.py, seed 1):

1. ``steps``  — ``Crawler.run()``: the crawl steps without Prefect (the baseline);
2. ``flow``   — ``notices crawl``: the real Prefect flow, against a local ``prefect server``
   started by the benchmark (the production set-up: schedules need a server);
3. ``flow-ephemeral`` — ``notices crawl`` with no server (the one-command demo's mode).

Politeness delays are zero (``--delay 0``, ``NOTICES_LATENCY_FACTOR=0``); the site server runs
in its own process. Peak memory is the
crawling process's max RSS; run with two sizes (``--pages 1000,5000``) to see it stay flat.
Results go to bench/out/crawl-<pages>.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.gensite import generate_site  # noqa: E402

STEPS = """
import json, sys, time
from pipeline.crawl import Crawler
from pipeline.settings import Settings
from pipeline.sites import site_for_urls
site = site_for_urls(json.loads(sys.argv[1]), allow_private_addresses=True)
with Crawler(site, Settings(), db=sys.argv[2], archive_dir=sys.argv[3], delay=0.0) as c:
    s = c.run()
print(s.model_dump_json())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS of that child process in MiB, stdout)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{stderr[-4000:]}")
    return wall, usage.ru_maxrss // 1024, stdout


def wait_http(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def measure(pages: int, work: Path, env: dict[str, str], api_url: str | None) -> dict[str, object]:
    site_dir = work / f"site-{pages}"
    if not (site_dir / "MANIFEST.json").exists():
        generate_site(site_dir, pages, seed=1, base_url="http://127.0.0.1:8000")
    manifest = json.loads((site_dir / "MANIFEST.json").read_text(encoding="utf-8"))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve-site", str(site_dir), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    results: dict[str, object] = {"pages": pages, "notices": len(manifest["notices"])}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/robots.txt")
        starts = [base + s for s in manifest["start_urls"]]
        modes: list[tuple[str, list[str], dict[str, str]]] = [
            ("steps", [sys.executable, "-c", STEPS, json.dumps(starts)], env),
        ]
        flow_cmd = [sys.executable, "-m", "pipeline.cli", "crawl", *starts, "--allow-private-addresses",
                    "--delay", "0", "--quiet", "--json"]  # fmt: skip
        if api_url:
            modes.append(("flow", flow_cmd, {**env, "PREFECT_API_URL": api_url}))
        modes.append(("flow-ephemeral", flow_cmd, env))
        for name, cmd, menv in modes:
            data = work / f"data-{pages}-{name}"
            shutil.rmtree(data, ignore_errors=True)
            if name == "steps":
                cmd = [*cmd, str(data / "db.sqlite"), str(data / "warc")]
            else:
                cmd = [*cmd, "--db", str(data / "db.sqlite"), "--archive", str(data / "warc")]
            wall, peak, out = run(cmd, menv)
            summary = json.loads(out.strip().splitlines()[-1])
            in_steps = sum(summary["step_seconds"].values())
            import sqlite3

            with sqlite3.connect(data / "db.sqlite") as conn:
                records = conn.execute("SELECT COUNT(*) FROM notices").fetchone()[0]
            results[name] = {
                "wall_s": round(wall, 2),
                "records": records,
                "pages_per_s": round(records / wall, 1),
                "peak_rss_mib": peak,
                "in_steps_s": round(in_steps, 2),
                "outside_steps_share": round(1 - in_steps / wall, 3),
                "step_seconds": summary["step_seconds"],
            }
            print(f"  {pages:>6} {name:<15} {wall:7.1f} s  {records / wall:7.1f} notices/s  {records} records  "
                  f"peak {peak} MiB  outside steps {1 - in_steps / wall:.1%}", flush=True)  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", default="5000", help="comma-separated site sizes")
    parser.add_argument("--no-server", action="store_true", help="skip the Prefect server run")
    args = parser.parse_args()
    work = OUT / "crawl"
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(NOTICES_LATENCY_FACTOR="0", NOTICES_MIN_DELAY="0", DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_HOME=str(work / "prefect-home"),
               PYTHONPATH=str(ROOT))  # fmt: skip
    api_url = None
    server = None
    if not args.no_server:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        api_url = f"http://127.0.0.1:{port}/api"
        wait_http(api_url + "/health")
    try:
        for pages in [int(p) for p in args.pages.split(",")]:
            result = measure(pages, work, env, api_url)
            (OUT / f"crawl-{pages}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

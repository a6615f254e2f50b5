"""Re-processing benchmark: a generated site archived to WARC, re-processed into an empty store.

    python bench/bench_reprocess.py --pages 10000 --runs extract:1,pool:1,pool:2,dask:1,dask:2,flow:1,flow:2
    python bench/bench_reprocess.py --pages 100000 --runs pool:2,flow:2 --search

Generates N notice pages (bench/gensite.py, seed 1: varied templates, lengths, ~10 % GBK, ~3 %
spam-injected), archives them as WARC files (``gensite.write_warc``), then runs each
``MODE:WORKERS`` in a fresh child process on a fresh database (every page is new: extraction,
entities, integrity and the store's writes all happen):

- ``extract`` — the worker's stages only, in one process, nothing stored (pages/s per core of
  extraction + entities + integrity);
- ``pool``    — ``pipeline.reprocess.reprocess``: local process pool, the store written by the
  main process;
- ``dask``    — the same chunks on a ``distributed.LocalCluster`` (processes, one thread each)
  through a plain Dask client, no Prefect: the baseline for Prefect's share;
- ``flow``    — the ``reprocess-archive`` Prefect flow on the same kind of cluster through
  prefect-dask's DaskTaskRunner, against a Prefect server this script starts on 127.0.0.1.

Dask's worker profiler is off in the clusters of these runs (``--dask-profiler`` turns it on):
it keeps up to 1,000 one-second profiles per worker, memory that grows with the run's length.

With ``--repeat N`` the modes run in N rounds (each mode once per round, so that the host's
drifts fall on every mode alike) and each mode's median run (by pages/s) is reported, with
every run's pages/s beside it. Reported per run: wall seconds and pages/s; CPU seconds of
every process of the run (main + workers; the Dask scheduler runs in the main process) and
pages per CPU-second (= pages/s per fully used core), each worker's CPU seconds, the Prefect
server's CPU seconds during the run (not in the total); peak RSS of the main process and of each
worker; Prefect's share of wall time = (flow − dask) / flow at the same worker count, per
round, and its median over the rounds. ``--search`` measures search latency on
the database of the last run. Writes bench/out/reprocess-<N>.json (merged with earlier runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def _usage() -> dict[str, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "self_cpu": me.ru_utime + me.ru_stime,
        "self_peak_mib": me.ru_maxrss / 1024,
        "children_peak_mib": kids.ru_maxrss / 1024,
    }


def _worker_usage() -> dict[str, float]:  # runs inside each Dask worker
    me = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": me.ru_utime + me.ru_stime, "peak_mib": me.ru_maxrss / 1024}


def child(mode: str, workers: int, warc: str, db: str, chunk_size: int | None) -> dict[str, Any]:
    """One measured run (in its own process, so that peaks and CPU are this run's)."""
    from pipeline.reprocess import (
        ReprocessSummary,
        _init_worker,
        archived_notices,
        bounded,
        chunk_size_for,
        chunks,
        process_chunk,
        reprocess,
        store_results,
        warm_worker,
    )
    from pipeline.settings import Settings
    from pipeline.store import SqliteStore

    settings = Settings()
    result: dict[str, Any] = {"mode": mode, "workers": workers}
    if mode == "extract":
        jobs = archived_notices(warc)
        before, t = _usage(), time.perf_counter()
        _init_worker(settings.model_dump_json())
        size = chunk_size or chunk_size_for(len(jobs), 1)
        failed = sum(o.error is not None for c in chunks(jobs, size) for o in process_chunk(warc, c))
        seconds = time.perf_counter() - t
        after = _usage()
        result.update(pages=len(jobs), failed=failed, worker_peak_mib=[round(after["self_peak_mib"])])
    elif mode == "pool":
        before = _usage()
        with SqliteStore(db) as store:
            summary = reprocess(warc, store, settings, workers=workers, chunk_size=chunk_size)
        after = _usage()
        seconds = summary.seconds
        result.update(summary=summary.model_dump(), worker_peak_mib=[round(after["children_peak_mib"])])
    else:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=workers,
                processes=True,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # any free port: 8787 may be taken
            ) as cluster,
            Client(cluster) as client,
        ):  # the cluster exists before the job, as a real one would; not timed
            base = client.run(_worker_usage)
            before = _usage()
            if mode == "dask":
                from pipeline.crawl import extractor_version

                t = time.perf_counter()
                client.run(warm_worker, wait=False)  # as the flow does: spaCy built while jobs are listed
                jobs = archived_notices(warc)
                summary = ReprocessSummary(extractor_version=extractor_version(), pages=len(jobs))
                with SqliteStore(db) as store:
                    store_results(
                        store,
                        bounded(
                            lambda c: client.submit(process_chunk, warc, c, pure=False),
                            chunks(jobs, chunk_size or chunk_size_for(len(jobs), workers)),
                            2 * workers,
                        ),
                        summary,
                    )
                summary.seconds = round(time.perf_counter() - t, 2)
            else:
                from flows.reprocess import run_on_dask

                t = time.perf_counter()
                summary = run_on_dask(warc, db, cluster.scheduler_address, chunk_size=chunk_size)
                summary.seconds = round(time.perf_counter() - t, 2)  # the whole flow run, Prefect included
            seconds = summary.seconds
            after = _usage()
            final = client.run(_worker_usage)
        worker_cpu = sum(final[w]["cpu"] - base[w]["cpu"] for w in final)
        after["cpu"] += worker_cpu
        result.update(
            summary=summary.model_dump(),
            worker_peak_mib=sorted(round(v["peak_mib"]) for v in final.values()),
            worker_cpu_seconds=sorted(round(final[w]["cpu"] - base[w]["cpu"], 1) for w in final),
        )
    pages = result.get("pages") or result["summary"]["pages"]
    cpu = after["cpu"] - before["cpu"]
    result.update(
        pages=pages,
        seconds=round(seconds, 2),
        pages_per_s=round(pages / seconds, 1),
        cpu_seconds=round(cpu, 1),
        main_cpu_seconds=round(after["self_cpu"] - before["self_cpu"], 1),
        pages_per_cpu_s=round(pages / cpu, 1),
        main_peak_mib=round(after["self_peak_mib"]),
    )
    return result


def search_latency(db: Path) -> dict[str, dict[str, float]]:
    from bench.bench_store import latency, search_figures
    from pipeline.store import SqliteStore
    from schemas.search import SearchQuery

    with SqliteStore.open_for_reading(db) as store:
        bodies = [
            r[0] for r in store.conn.execute("SELECT body_text FROM notices ORDER BY random() LIMIT 400")
        ]
        publishers = [
            r[0]
            for r in store.conn.execute("SELECT DISTINCT publisher FROM notices WHERE publisher IS NOT NULL")
        ]
        figures = search_figures(store, bodies, publishers, random.Random(2))
        figures["integrity=suspect"] = latency(store, [SearchQuery(integrity="suspect")] * 20)
        return figures


def prefect_share(flow: dict[str, Any], dask: dict[str, Any]) -> float:
    """Prefect's share of the flow run's wall time: (flow − plain Dask) / flow."""
    return float((flow["seconds"] - dask["seconds"]) / flow["seconds"])


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the Prefect server runs uvicorn as one)."""
    import psutil

    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def _unlink_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_prefect(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    from bench.bench_crawl import wait_http

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    wait_http(url + "/health")
    return server, url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--runs", default="extract:1,pool:1,pool:2,dask:1,dask:2,flow:1,flow:2")
    ap.add_argument("--chunk-size", type=int, default=0, help="0: the default (chunk_size_for)")
    ap.add_argument("--search", action="store_true", help="search latency on the last run's database")
    ap.add_argument(
        "--repeat", type=int, default=1,
        help="N rounds of every mode; report each mode's median run (timings here vary by ±10 %%)",
    )  # fmt: skip
    ap.add_argument(
        "--dask-profiler", action="store_true",
        help="leave Dask's worker profiler on (its default; off in these runs, as the README advises)",
    )  # fmt: skip
    ap.add_argument("--keep-db", action="store_true", help="keep every run's database (several GiB at 100k)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--warc", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        mode, n = a.child.split(":")
        print(json.dumps(child(mode, int(n), a.warc, a.db, a.chunk_size or None)))
        return

    from bench.gensite import generate_site, write_warc

    work = OUT / "reprocess"
    site, warc = work / f"site-{a.pages}", work / f"warc-{a.pages}"
    if not (site / "MANIFEST.json").exists():
        shutil.rmtree(site, ignore_errors=True)
        generate_site(site, a.pages, seed=1)
    if not warc.exists():
        t = time.perf_counter()
        print(f"archived {write_warc(site, warc):,} pages in {time.perf_counter() - t:.1f} s", flush=True)
    out_file = OUT / f"reprocess-{a.pages}.json"
    result: dict[str, Any] = json.loads(out_file.read_text()) if out_file.exists() else {}
    result.setdefault("runs", {})
    result["pages"] = a.pages
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_HOME=str(work / "prefect-home"), PYTHONPATH=str(ROOT))  # fmt: skip
    # Dask's statistical profiler keeps up to 1,000 one-second profiles per worker: memory that
    # grows with the run's length (docs/decisions.md); the cluster's workers inherit this
    env["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] = "True" if a.dask_profiler else "False"
    runs = a.runs.split(",")
    server = None
    if any(r.startswith("flow") for r in runs):
        server, url = _start_prefect(env)
        env["PREFECT_API_URL"] = url
    last_db: Path | None = None
    rounds: list[dict[str, dict[str, Any]]] = []
    try:
        # rounds: every mode once per round, so that the host's drifts (±10 % over minutes here)
        # fall on every mode alike instead of on whichever mode ran during a slow spell
        for _ in range(max(1, a.repeat)):
            rounds.append({})
            for run in runs:
                db = work / f"db-{a.pages}-{run.replace(':', '-')}.sqlite"
                _unlink_db(db)
                cmd = [sys.executable, __file__, "--child", run, "--warc", str(warc), "--db", str(db),
                       "--chunk-size", str(a.chunk_size)]  # fmt: skip
                server_cpu = _tree_cpu(server.pid) if server is not None else 0.0
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"{run} failed:\n{proc.stderr[-4000:]}")
                r = rounds[-1][run] = json.loads(proc.stdout.strip().splitlines()[-1])
                if server is not None:  # the Prefect server's CPU during this run (not in cpu_seconds)
                    r["prefect_server_cpu_seconds"] = round(_tree_cpu(server.pid) - server_cpu, 1)
                if db.exists():
                    r["db_mib"] = round(db.stat().st_size / 2**20)
                print(f"  {run:<8} {r['seconds']:8.1f} s = {r['pages_per_s']:6.1f} pages/s; CPU s: main "
                      f"{r['main_cpu_seconds']}, workers {r.get('worker_cpu_seconds', '-')}, "
                      f"Prefect server {r.get('prefect_server_cpu_seconds', '-')}", flush=True)  # fmt: skip
                if last_db is not None and last_db != db and not a.keep_db:
                    _unlink_db(last_db)
                last_db = db if db.exists() else last_db
        for run in runs:
            repeats = [rnd[run] for rnd in rounds]
            r = sorted(repeats, key=lambda x: x["pages_per_s"])[(len(repeats) - 1) // 2]  # median (lower)
            if len(repeats) > 1:
                r["repeats_pages_per_s"] = [x["pages_per_s"] for x in repeats]
            r["dask_profiler"] = a.dask_profiler if run.split(":")[0] in ("dask", "flow") else None
            result["runs"][run] = r
            print(f"{run:<10} {r['pages']:,} pages {r['seconds']:8.1f} s = {r['pages_per_s']:6.1f} pages/s; "
                  f"{r['pages_per_cpu_s']:6.1f} pages per CPU-s; main peak {r['main_peak_mib']} MiB, "
                  f"worker peak {r['worker_peak_mib']} MiB", flush=True)  # fmt: skip
            if "repeats_pages_per_s" in r:
                print(
                    f"{'':<10} median of {len(repeats)} runs: {r['repeats_pages_per_s']} pages/s", flush=True
                )
        for n in ("1", "2"):
            if f"flow:{n}" in runs and f"dask:{n}" in runs:
                # per round (the two runs minutes apart), then the median round
                shares = sorted(prefect_share(rnd[f"flow:{n}"], rnd[f"dask:{n}"]) for rnd in rounds)
                share = statistics.median(shares)
                result.setdefault("prefect_share", {})[n] = round(share, 3)
                result.setdefault("prefect_share_rounds", {})[n] = [round(x, 3) for x in shares]
                print(f"Prefect's share of wall time with {n} worker(s): {share:.1%} "
                      f"(median of {len(shares)} rounds: {', '.join(f'{x:.1%}' for x in shares)})")  # fmt: skip
        if a.search and last_db is not None:
            result["search"] = search_latency(last_db)
            result["search_db"] = last_db.name
            for name, f in result["search"].items():
                print(f"search {name:<24} median {f['median_ms']:7.2f} ms  p95 {f['p95_ms']:7.2f} ms")
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
        out_file.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Re-processing benchmark: a generated site archived to WARC, then `reprocess` into an empty store.

    python bench/bench_reprocess.py --pages 10000 --workers 1,2

Generates N notice pages (bench/gensite.py, seed 1), writes them as WARC records
(`gensite.write_warc`), then runs `pipeline.reprocess.reprocess` with each worker count on a
fresh database (every page is new: extraction, entities, integrity, store). Reports pages/s
and the peak RSS of the process (the pool's workers are separate processes; their peak is
reported by the pool's own measure below). Writes bench/out/reprocess-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.gensite import generate_site, write_warc  # noqa: E402
from pipeline.reprocess import reprocess  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.store import SqliteStore  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--chunk-size", type=int, default=200)
    a = ap.parse_args()
    work = OUT / "reprocess"
    site = work / f"site-{a.pages}"
    warc = work / f"warc-{a.pages}"
    if not (site / "MANIFEST.json").exists():
        shutil.rmtree(site, ignore_errors=True)
        generate_site(site, a.pages, seed=1)
    if not warc.exists():
        t = time.perf_counter()
        n = write_warc(site, warc)
        print(f"archived {n:,} pages in {time.perf_counter() - t:.1f} s")
    result: dict[str, object] = {"pages": a.pages, "runs": {}}
    for workers in [int(w) for w in a.workers.split(",")]:
        db = work / f"db-{a.pages}-{workers}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        with SqliteStore(db) as store:
            summary = reprocess(warc, store, Settings(), workers=workers, chunk_size=a.chunk_size)
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        rate = summary.pages / summary.seconds
        result["runs"][str(workers)] = {  # type: ignore[index]
            "seconds": summary.seconds, "pages_per_s": round(rate, 1), "new_records": summary.new_records,
            "failed": summary.failed, "peak_rss_main_mib": own, "peak_rss_worker_mib": children,
        }  # fmt: skip
        print(f"workers={workers}: {summary.pages:,} pages in {summary.seconds:.1f} s = {rate:.1f} pages/s "
              f"(main peak {own} MiB, worker peak {children} MiB), failed {summary.failed}")  # fmt: skip
    (OUT / f"reprocess-{a.pages}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

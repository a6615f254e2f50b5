"""Benchmark: the integrity check on pages with 1,000 … 100,000 hidden spam links (issue 14).

Not a test. Prints the seconds of strip_boilerplate and of check_integrity per size, in
interleaved rounds (each round runs every size once), medians and spread, and the time per link:
it must stay flat (linear), where the evidence de-duplication used to be quadratic.
Run: .venv/bin/python bench/bench_integrity_links.py [--sizes 1000,10000,100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.clean import strip_boilerplate
from pipeline.decode import decode_body
from pipeline.integrity import check_integrity
from pipeline.metadata import extract_metadata
from schemas.stages import FetchResult


def page(n: int) -> bytes:
    links = "".join(
        f'<div style="display:none"><a href="http://www.s{i}.example/">澳门新葡京{i}</a></div>'
        for i in range(n)
    )
    body = "<p>各单位：为贯彻落实有关部署，现将活动安排通知如下，请认真组织实施。</p>" * 5
    return f"<html><head><title>通知</title></head><body><h1>通知</h1><div id='zoom'>{body}</div>{links}</body></html>".encode()


def run(raw: bytes) -> tuple[float, float]:
    t0 = time.perf_counter()
    doc = strip_boilerplate(
        decode_body(FetchResult.from_file_bytes(raw, url="http://www.example.gov.cn/a.html"))
    )
    t1 = time.perf_counter()
    check_integrity(doc, extract_metadata(doc))
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    pages = {n: page(n) for n in sizes}
    times: dict[int, list[tuple[float, float]]] = {n: [] for n in sizes}
    for _ in range(a.rounds):
        for n in sizes:
            times[n].append(run(pages[n]))
    print(
        "| hidden links | clean s (median, spread) | integrity s (median, spread) | integrity µs per link |"
    )
    print("|---|---|---|---|")
    for n in sizes:
        c = [t[0] for t in times[n]]
        i = [t[1] for t in times[n]]
        mi = statistics.median(i)
        print(
            f"| {n:,} | {statistics.median(c):.2f} ({min(c):.2f}–{max(c):.2f}) | {mi:.2f} ({min(i):.2f}–{max(i):.2f}) | {mi / n * 1e6:.1f} |"
        )


if __name__ == "__main__":
    main()

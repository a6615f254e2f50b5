"""Store benchmark: insert N generated records, then search and export them.

    python bench/bench_store.py --records 100000          # (make bench-store)

Records are the fixture pages' records (corpus + extra) varied deterministically: new URLs and
ids, titles recombined, dates spread over 2015–2026, bodies rebuilt from shuffled sentences of
all fixture bodies (so the trigram index sees realistic, varied Chinese text). Reports inserts/s,
the database size, search latency (median and p95 over 200 queries each) for 3-character and
6-character Chinese substrings drawn from the bodies, for a 2-character query (substring scan)
and for filter-only queries, and export rows/s. Writes bench/out/store-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from pipeline.record import extract_notice, notice_id  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.store import SqliteStore  # noqa: E402
from schemas.record import NoticeRecord  # noqa: E402
from schemas.search import SearchQuery  # noqa: E402
from schemas.stages import FetchResult  # noqa: E402


def fixture_records() -> list[NoticeRecord]:
    out = []
    for folder in (ROOT / "fixtures" / "corpus" / "pages", ROOT / "fixtures" / "extra" / "pages"):
        for gold in sorted(folder.glob("*.gold.json")):
            meta = json.loads(gold.read_text(encoding="utf-8"))
            html = gold.with_name(gold.name[: -len(".gold.json")] + ".html")
            fetched = FetchResult.from_file_bytes(
                html.read_bytes(), url=meta["url"], content_type=meta.get("content_type_header")
            )
            out.append(extract_notice(fetched, Settings()))
    return out


def variants(base: list[NoticeRecord], n: int, seed: int = 1) -> list[NoticeRecord]:
    rng = random.Random(seed)
    sentences = [s for r in base for s in re.split(r"(?<=[。；])", r.body_text) if len(s) > 8]
    out = []
    for i in range(n):
        src = base[i % len(base)]
        url = f"http://www.example{i % 97}.gov.cn/zwgk/{i // 1000:04d}/t{i:08d}.html"
        body = "".join(rng.sample(sentences, k=rng.randint(5, 40)))
        date = src.published_date.replace(year=rng.randint(2015, 2026)) if src.published_date else None
        title = (src.title or "通知")[: rng.randint(6, 30)] + f"（第{i}号）"
        out.append(
            src.model_copy(
                update={
                    "id": notice_id(url),
                    "url": url,
                    "title": title,
                    "body_text": body,
                    "published_date": date,
                }
            )
        )
    return out


def latency(store: SqliteStore, queries: list[SearchQuery]) -> dict[str, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        store.search(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "max_ms": round(times[-1], 2),
    }


def search_figures(
    store: SqliteStore, bodies: list[str], publishers: list[str], rng: random.Random
) -> dict[str, dict[str, float]]:
    """Latency of text searches drawn from ``bodies`` (3, 6 and 2 characters) and of filters."""

    def substrings(k: int, n: int = 200) -> list[SearchQuery]:
        qs: list[SearchQuery] = []
        while len(qs) < n:
            body = rng.choice(bodies)
            start = rng.randrange(max(len(body) - k, 1))
            part = body[start : start + k]
            if len(part) == k and re.fullmatch(r"[\u4e00-\u9fff]+", part):
                qs.append(SearchQuery(q=part))
        return qs

    filters = [
        SearchQuery(publisher=rng.choice(publishers)[:4], since=f"{rng.randint(2015, 2025)}-01-01")
        for _ in range(100)
    ] + [SearchQuery(kind=rng.choice(["outcomes", "tasks", "next_steps"])) for _ in range(100)]
    return {
        "3-char": latency(store, substrings(3)),
        "6-char": latency(store, substrings(6)),
        "2-char (substring scan)": latency(store, substrings(2, 50)),
        "filter-only": latency(store, filters),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--no-export", action="store_true", help="insert and search only")
    args = parser.parse_args()
    n = args.records
    work = OUT / "store"
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"store-{n}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    base = fixture_records()
    records = variants(base, n)
    result: dict[str, object] = {"records": n}
    with SqliteStore(db) as store:
        t = time.perf_counter()
        for i in range(0, n, 1000):
            with store.transaction():
                for record in records[i : i + 1000]:
                    store.put_record(record, site="bench", extractor_version="bench")
        insert_s = time.perf_counter() - t
        result["insert"] = {"seconds": round(insert_s, 1), "records_per_s": round(n / insert_s)}
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result["db_mib"] = round(db.stat().st_size / 2**20, 1)
        print(
            f"insert {n:,} records: {insert_s:.1f} s = {n / insert_s:,.0f}/s; database {result['db_mib']} MiB"
        )
        rng = random.Random(2)
        bodies = [r.body_text for r in rng.sample(records, 400)]
        result["search"] = search_figures(
            store, bodies, sorted({r.publisher for r in base if r.publisher}), rng
        )
        for name, figures in result["search"].items():  # type: ignore[attr-defined]
            print(f"search {name:<24} median {figures['median_ms']:7.2f} ms  p95 {figures['p95_ms']:7.2f} ms")
        if not args.no_export:
            import shutil

            from pipeline.export import export

            out_dir = work / f"export-{n}"
            shutil.rmtree(out_dir, ignore_errors=True)
            t = time.perf_counter()
            summary = export(
                store, out_dir, formats=("jsonl", "csv", "parquet"), since=0, include_suspect=True
            )
            export_s = time.perf_counter() - t
            rows = summary.notices + summary.sections  # CSV rows: one per notice and one per section
            result["export"] = {
                "seconds": round(export_s, 1),
                "notices": summary.notices,
                "sections": summary.sections,
                "notices_per_s": round(summary.notices / export_s),
                "rows_per_s": round(rows / export_s),
            }
            print(
                f"export {summary.notices:,} notices + {summary.sections:,} sections (jsonl, csv, parquet, atom):"
                f" {export_s:.1f} s = {rows / export_s:,.0f} rows/s ({summary.notices / export_s:,.0f} notices/s)"
            )
    (OUT / f"store-{n}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()

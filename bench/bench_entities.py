"""Benchmark: the entity pipeline — start-up once per worker, then milliseconds per page.

Not a test. ``python bench/bench_entities.py [--seconds 2] [--out bench/out/entities.json]``.

1. Start-up, in a fresh interpreter: ``import spacy``, ``import pipeline.entities`` and the first
   ``build_nlp()`` (patterns read and compiled), then a second ``build_nlp()``.
2. ``find_entities`` on every fixture record with a body (corpus + extra), whole rounds for at
   least ``--seconds``: median and p95 per page.
3. Segmenters on the same bodies and on one long text: spaCy's blank("zh") default (char), the
   project's linear char tokenizer, and jieba when it is importable (it is not a dependency;
   pkuseg downloads its model at run time and is not measured).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import spacy  # noqa: E402

from pipeline.entities import build_nlp, find_entities  # noqa: E402
from schemas.record import NoticeRecord  # noqa: E402
from tests.conftest import CORPUS, EXTRA  # noqa: E402

STARTUP = """
import json, time
t0 = time.perf_counter()
import spacy
t1 = time.perf_counter()
import pipeline.entities as e
t2 = time.perf_counter()
nlp = e.build_nlp()
t3 = time.perf_counter()
e.build_nlp()
t4 = time.perf_counter()
blank = spacy.blank("zh")
t5 = time.perf_counter()
print(json.dumps({"import_spacy": t1 - t0, "import_entities": t2 - t1, "build_nlp_first": t3 - t2,
                  "build_nlp_again": t4 - t3, "blank_zh": t5 - t4}))
"""


def _startup() -> dict[str, float]:
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", STARTUP], cwd=ROOT, capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _per_call(fn: Callable[[], object], seconds: float) -> list[float]:
    fn()  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _pages(records: list[NoticeRecord], seconds: float) -> dict[str, Any]:
    nlp = build_nlp()
    per_page: list[float] = []
    deadline = time.perf_counter() + seconds
    for r in records:  # warm-up
        find_entities(nlp, r)
    rounds = 0
    while time.perf_counter() < deadline or rounds < 3:
        for r in records:
            t0 = time.perf_counter()
            find_entities(nlp, r)
            per_page.append(time.perf_counter() - t0)
        rounds += 1
    chars = sum(len(r.body_text) for r in records)
    ents = sum(len(find_entities(nlp, r)) for r in records)
    per_page.sort()
    return {
        "pages": len(records),
        "rounds": rounds,
        "mean_chars": chars / len(records),
        "entities_per_page": ents / len(records),
        "median_ms": 1000 * statistics.median(per_page),
        "p95_ms": 1000 * per_page[int(0.95 * (len(per_page) - 1))],
        "max_ms": 1000 * per_page[-1],
    }


def _segmenters(records: list[NoticeRecord], seconds: float) -> list[dict[str, Any]]:
    bodies = [r.body_text for r in records]
    long_text = "\n".join(bodies * (200_000 // sum(map(len, bodies)) + 1))[:200_000]
    candidates: list[tuple[str, Callable[[], spacy.language.Language]]] = [
        ('spacy.blank("zh") default', lambda: spacy.blank("zh")),
        ("notices.zh_char_tokenizer.v1", build_nlp),
    ]
    try:
        import jieba  # noqa: F401

        candidates.append(
            (
                "jieba",
                lambda: spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}}),
            )
        )
    except ImportError:
        pass
    rows = []
    for name, make in candidates:
        t0 = time.perf_counter()
        nlp = make()
        nlp.make_doc("市农业农村局将于9月20日")  # jieba loads its dictionary on first use
        init = time.perf_counter() - t0
        page = _per_call(lambda nlp=nlp: [nlp.make_doc(b) for b in bodies], seconds / 2)
        long = _per_call(lambda nlp=nlp: nlp.make_doc(long_text), seconds / 2)
        sample = [t.text for t in nlp.make_doc("市农业农村局将于9月20日")]
        rows.append(
            {
                "segmenter": name,
                "init_s": init,
                "per_page_ms": 1000 * statistics.median(page) / len(bodies),
                "chars_200k_s": statistics.median(long),
                "segments": "|".join(sample),
            }
        )
    return rows


def _integrity(seconds: float) -> dict[str, Any]:
    """check_integrity per page (the stage alone, on already cleaned pages): corpus, extra and the
    held-out integrity pages."""
    import json as _json

    from pipeline.clean import strip_boilerplate
    from pipeline.decode import decode_body
    from pipeline.integrity import check_integrity
    from pipeline.metadata import extract_metadata
    from schemas.stages import FetchResult

    root = Path(__file__).resolve().parent.parent / "fixtures"
    docs = []
    for folder in ("corpus/pages", "extra/pages", "integrity/pages"):
        for gold in sorted((root / folder).glob("*.gold.json")):
            meta = _json.loads(gold.read_text(encoding="utf-8"))
            html = gold.with_name(gold.name[: -len(".gold.json")] + ".html")
            fetched = FetchResult.from_file_bytes(
                html.read_bytes(), url=meta.get("url", "http://www.example.gov.cn/a.html"),
                content_type=meta.get("content_type_header"),
            )  # fmt: skip
            doc = strip_boilerplate(decode_body(fetched))
            docs.append((doc, extract_metadata(doc)))
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for doc, meta in docs:
            t = time.perf_counter()
            check_integrity(doc, meta)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "pages": len(docs),
        "median_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "max_ms": times[-1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds per measurement")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    a = ap.parse_args()

    records = [r for r in (g.record() for g in CORPUS + EXTRA) if r.body_text.strip()]
    startup = _startup()
    pages = _pages(records, a.seconds)
    segs = _segmenters(records, a.seconds)
    integrity = _integrity(a.seconds)

    print(f"python {platform.python_version()}, spaCy {spacy.__version__}, {platform.machine()}")
    print("\nstart-up (fresh interpreter, median of 3), paid once per worker:")
    for k, v in startup.items():
        print(f"  {k:<18} {1000 * v:8.1f} ms")
    print(
        f"\nfind_entities over {pages['pages']} fixture pages × {pages['rounds']} rounds "
        f"(mean {pages['mean_chars']:.0f} chars, {pages['entities_per_page']:.1f} entities/page):"
    )
    print(
        f"  median {pages['median_ms']:.2f} ms   p95 {pages['p95_ms']:.2f} ms   max {pages['max_ms']:.2f} ms"
    )
    print(
        "\nsegmenter                       init        per page    200k chars   segments of 市农业农村局将于9月20日"
    )
    for r in segs:
        print(
            f"  {r['segmenter']:<30}{1000 * r['init_s']:7.1f} ms {r['per_page_ms']:8.3f} ms "
            f"{r['chars_200k_s']:9.3f} s   {r['segments']}"
        )
    print(
        f"\ncheck_integrity over {integrity['pages']} pages (corpus, extra, held-out integrity set):\n"
        f"  median {integrity['median_ms']:.2f} ms   p95 {integrity['p95_ms']:.2f} ms   max {integrity['max_ms']:.2f} ms"
    )
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(
            json.dumps(
                {"startup_s": startup, "pages": pages, "segmenters": segs, "integrity": integrity}, indent=1
            )
        )


if __name__ == "__main__":
    main()

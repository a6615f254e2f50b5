"""Benchmark: extraction pages/s per core, against trafilatura, GNE and readability-lxml.

Not a test. Run with ``make bench`` (installs the benchmark extras). Every tool gets the
same raw bytes of every fixture page (corpus + extra), in one process on one core; each is
timed over whole rounds of all pages for at least ``--seconds``. Body-text quality is the
character-bigram F1 against the gold body_text, so speed is read beside what was extracted.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.record import extract_notice  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from schemas.stages import FetchResult  # noqa: E402
from tests.conftest import CORPUS, EXTRA, GoldPage  # noqa: E402
from tests.quality import body_f1  # noqa: E402


def _ours(settings: Settings) -> Callable[[GoldPage, bytes], str]:
    def run(p: GoldPage, raw: bytes) -> str:
        fr = FetchResult.from_file_bytes(
            raw, url=p.gold["url"], content_type=p.gold.get("content_type_header")
        )
        return extract_notice(fr, settings).body_text

    return run


def _trafilatura() -> Callable[[GoldPage, bytes], str]:
    from trafilatura import bare_extraction

    def run(p: GoldPage, raw: bytes) -> str:
        doc = bare_extraction(raw, url=p.gold["url"], with_metadata=True, include_tables=True)
        if doc is None:
            return ""
        text = getattr(doc, "text", None)
        if text is None and isinstance(doc, dict):
            text = doc.get("text")
        return text or ""

    return run


def _decode(raw: bytes, p: GoldPage) -> str:
    # GNE and readability take text: give them the right encoding (their own detection is not the point).
    return raw.decode(p.gold["encoding"].replace("gb2312", "gb18030").replace("gbk", "gb18030"), "replace")


def _gne() -> Callable[[GoldPage, bytes], str]:
    from gne import GeneralNewsExtractor

    ex = GeneralNewsExtractor()

    def run(p: GoldPage, raw: bytes) -> str:
        try:
            return str(ex.extract(_decode(raw, p)).get("content") or "")
        except Exception:  # GNE raises on pages it cannot handle; count as empty
            return ""

    return run


def _readability() -> Callable[[GoldPage, bytes], str]:
    import lxml.html
    from readability import Document

    def run(p: GoldPage, raw: bytes) -> str:
        try:
            html = Document(_decode(raw, p)).summary(html_partial=True)
        except Exception:
            return ""
        root = lxml.html.fromstring(html)
        for br in root.iter("br"):
            br.tail = "\n" + (br.tail or "")
        lines = []
        for el in root.iter("p", "div", "li", "td", "h1", "h2", "h3"):
            if not len(el):
                lines.append(el.text_content())
        return "\n".join(line.strip() for line in lines if line.strip())

    return run


def measure(
    name: str, fn: Callable[[GoldPage, bytes], str], pages: list[tuple[GoldPage, bytes]], seconds: float
) -> dict[str, Any]:
    outputs = [fn(p, raw) for p, raw in pages]  # warm-up, and the outputs scored below
    rounds, start = 0, time.perf_counter()
    while True:
        for p, raw in pages:
            fn(p, raw)
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    n = rounds * len(pages)
    f1 = [body_f1(p.gold["body_text"], out) for (p, _), out in zip(pages, outputs, strict=True)]
    return {
        "tool": name,
        "pages": n,
        "seconds": round(elapsed, 3),
        "pages_per_s": round(n / elapsed, 1),
        "ms_per_page": round(1000 * elapsed / n, 2),
        "body_f1": round(sum(f1) / len(f1), 3),
    }


def cli_startup() -> float:
    """Wall time of one `notices extract PAGE` in a fresh process (median of 3)."""
    page = CORPUS[0].html
    times = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "extract", str(page)],
            capture_output=True,
            check=True,
            cwd=ROOT,
        )
        times.append(time.perf_counter() - t)
    return sorted(times)[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=5.0, help="minimum timed seconds per tool")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "extract.json")
    a = ap.parse_args()
    pages = [(p, p.html.read_bytes()) for p in CORPUS + EXTRA]
    tools: list[tuple[str, Callable[[], Callable[[GoldPage, bytes], str]]]] = [
        ("gov-notices extract_notice", lambda: _ours(Settings())),
        ("trafilatura bare_extraction", _trafilatura),
        ("GNE extract", _gne),
        ("readability-lxml summary", _readability),
    ]
    results = []
    for name, make in tools:
        try:
            fn = make()
        except ImportError as exc:
            print(f"skip {name}: {exc} (install with: pip install -e '.[bench]')", file=sys.stderr)
            continue
        results.append(measure(name, fn, pages, a.seconds))
    ours = results[0]["pages_per_s"]
    print(
        f"{len(pages)} fixture pages, one process, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}\n"
    )
    print("| tool | pages/s (1 core) | ms/page | body bigram F1 | speed vs ours |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['tool']} | {r['pages_per_s']} | {r['ms_per_page']} | {r['body_f1']} | "
            f"{ours / r['pages_per_s']:.2f}× |"
        )
    startup = cli_startup()
    print(f"\n`notices extract PAGE` in a fresh process: {startup:.2f} s wall (imports included, no Prefect)")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"results": results, "cli_startup_s": round(startup, 3)}, indent=1))


if __name__ == "__main__":
    main()

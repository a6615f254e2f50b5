"""Quality on real pages: gov-notices against trafilatura, GNE and readability-lxml.

Not a test (the gate is tests/test_real_pages.py). Every tool gets the same raw bytes of every
page of a folder of gold-labelled pages (default ``fixtures/real``); body quality is the
character-bigram F1 against the gold body, boilerplate leak the share of the gold's chrome
markers found in the body, and the metadata fields each tool gives are compared after the same
normalisation as ``tests/quality.py``. Run with ``make bench-quality`` (installs the benchmark
extras).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.metadata import parse_date  # noqa: E402
from pipeline.record import extract_notice  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from schemas.stages import FetchResult  # noqa: E402
from tests.conftest import GoldPage, gold_pages  # noqa: E402
from tests.quality import _norm, body_f1  # noqa: E402

Result = dict[str, Any]  # body_text, title, published_date, publisher, suspect


def _url(p: GoldPage) -> str:
    return p.gold.get("url") or f"http://{p.name}.invalid/index.html"


def _text(raw: bytes, p: GoldPage) -> str:
    enc = (p.gold.get("encoding") or "utf-8").replace("gb2312", "gb18030").replace("gbk", "gb18030")
    return raw.decode(enc, "replace")


def _ours() -> Callable[[GoldPage, bytes], Result]:
    settings = Settings(entities=False)

    def run(p: GoldPage, raw: bytes) -> Result:
        fr = FetchResult.from_file_bytes(raw, url=_url(p), content_type=p.gold.get("content_type_header"))
        r = extract_notice(fr, settings)
        return {
            "body_text": r.body_text,
            "title": r.title,
            "published_date": r.published_date,
            "publisher": r.publisher,
            "suspect": r.integrity.status == "suspect",
        }

    return run


def _trafilatura() -> Callable[[GoldPage, bytes], Result]:
    from trafilatura import bare_extraction

    def run(p: GoldPage, raw: bytes) -> Result:
        doc = bare_extraction(raw, url=_url(p), with_metadata=True, include_tables=True)
        if doc is None:
            return {}
        get = (lambda k: getattr(doc, k, None)) if not isinstance(doc, dict) else doc.get
        return {"body_text": get("text") or "", "title": get("title"), "published_date": get("date"),
                "publisher": get("sitename") or get("author")}  # fmt: skip

    return run


def _gne() -> Callable[[GoldPage, bytes], Result]:
    from gne import GeneralNewsExtractor

    ex = GeneralNewsExtractor()

    def run(p: GoldPage, raw: bytes) -> Result:
        try:
            d = ex.extract(_text(raw, p))
        except Exception:  # GNE raises on pages it cannot handle: counted as empty
            return {}
        return {"body_text": d.get("content") or "", "title": d.get("title"),
                "published_date": d.get("publish_time"), "publisher": d.get("author")}  # fmt: skip

    return run


def _readability() -> Callable[[GoldPage, bytes], Result]:
    import lxml.html
    from readability import Document

    def run(p: GoldPage, raw: bytes) -> Result:
        try:
            doc = Document(_text(raw, p))
            html = doc.summary(html_partial=True)
            return {"body_text": lxml.html.fromstring(html).text_content() if html.strip() else "",
                    "title": doc.short_title()}  # fmt: skip
        except Exception:  # readability raises on empty documents: counted as empty
            return {}

    return run


def _score(p: GoldPage, r: Result) -> dict[str, float]:
    gold = p.gold
    out = {"body.f1": body_f1(gold.get("body_text") or "", r.get("body_text") or "")}
    body = unicodedata.normalize("NFKC", r.get("body_text") or "")
    markers = gold.get("boilerplate_markers") or []
    out["boilerplate.leak"] = sum(unicodedata.normalize("NFKC", m) in body for m in markers) / max(
        1, len(markers)
    )
    out["no_body"] = float(bool(gold.get("body_text")) and not (r.get("body_text") or "").strip())
    for field in ("title", "publisher"):
        if field in r and (gold.get(field) or r.get(field)):
            out[f"field.{field}"] = float(_norm(gold.get(field)) == _norm(r.get(field)))
    if "published_date" in r and (gold.get("published_date") or r.get("published_date")):
        got = r.get("published_date")
        got_date = parse_date(str(got)) if got else None
        out["field.published_date"] = float(
            str(got_date) == gold.get("published_date") if got_date else not gold.get("published_date")
        )
    if "suspect" in r:
        out["false_alarm"] = float(r["suspect"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=ROOT / "fixtures" / "real")
    ap.add_argument("--json", type=Path, help="write per-page scores here")
    a = ap.parse_args()
    pages = gold_pages(a.corpus)
    tools = {
        "gov-notices": _ours(),
        "trafilatura": _trafilatura(),
        "GNE": _gne(),
        "readability-lxml": _readability(),
    }
    rows: dict[str, dict[str, dict[str, float]]] = {name: {} for name in tools}
    for p in pages:
        raw = p.html.read_bytes()
        for name, run in tools.items():
            rows[name][p.name] = _score(p, run(p, raw))
    keys = [
        "body.f1",
        "boilerplate.leak",
        "no_body",
        "field.title",
        "field.published_date",
        "field.publisher",
        "false_alarm",
    ]
    print(f"{len(pages)} pages of {a.corpus}")
    print("| tool | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, per in rows.items():
        cells = []
        for k in keys:
            vals = [s[k] for s in per.values() if k in s]
            cells.append(f"{sum(vals) / len(vals):.3f}" if vals else "—")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if a.json:
        a.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Per-field quality of records against gold labels: the figures the quality gate pins.

Same definitions as the project's evaluation (normalised exact match for metadata fields,
character-bigram F1 for the body, boilerplate markers leaked into the body, section heading
recall/kind accuracy, attachment URL sets).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Any

FIELDS = [
    "title",
    "index_no",
    "publisher",
    "published_date",
    "written_date",
    "doc_no",
    "disclosure",
    "validity",
    "topic",
]


def _norm(s: Any) -> str | None:
    if s is None:
        return None
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(s))).strip("：:")
    return t or None


def _bigrams(text: str) -> Counter[str]:
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
    return Counter(t[i : i + 2] for i in range(len(t) - 1))


def body_f1(gold: str, pred: str) -> float:
    g, p = _bigrams(gold), _bigrams(pred)
    if not g and not p:
        return 1.0
    inter = sum((g & p).values())
    if not inter:
        return 0.0
    prec, rec = inter / sum(p.values()), inter / sum(g.values())
    return 2 * prec * rec / (prec + rec)


def _flatten(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, stack = [], list(reversed(sections))
    while stack:
        s = stack.pop()
        out.append(s)
        stack.extend(reversed(s.get("children") or []))
    return out


def score(gold: dict[str, Any], rec: dict[str, Any]) -> dict[str, float]:
    res: dict[str, float] = {}
    for f in FIELDS:
        g, p = _norm(gold.get(f)), _norm(rec.get(f))
        if g is not None or p is not None:
            res["field." + f] = float(g == p)
    res["body.f1"] = body_f1(gold.get("body_text") or "", rec.get("body_text") or "")
    body = unicodedata.normalize("NFKC", rec.get("body_text") or "")
    markers = gold.get("boilerplate_markers") or []
    res["boilerplate.leak"] = (
        sum(1 for m in markers if unicodedata.normalize("NFKC", m) in body) / len(markers) if markers else 0.0
    )
    gh = {
        (_norm(s["heading"]) or "")[:12]: s for s in _flatten(gold.get("sections") or []) if s.get("heading")
    }
    ph = {
        (_norm(s["heading"]) or "")[:12]: s for s in _flatten(rec.get("sections") or []) if s.get("heading")
    }
    if gh:
        hit = [k for k in gh if k in ph]
        res["sections.heading_recall"] = len(hit) / len(gh)
        res["sections.kind_acc"] = sum(1 for k in hit if gh[k]["kind"] == ph[k]["kind"]) / len(gh)
        res["sections.level_acc"] = sum(1 for k in hit if gh[k]["level"] == ph[k]["level"]) / len(gh)
    ga = {a["url"] for a in gold.get("attachments") or []}
    pa = {a["url"] for a in rec.get("attachments") or []}
    res["attachments.exact"] = float(ga == pa)
    flagged = (rec.get("integrity") or {}).get("status") == "suspect"
    res["spam.correct"] = float(flagged == bool(gold.get("injected_spam")))
    return res


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted({k for r in rows for k in r})
    out = {k: sum(r[k] for r in rows if k in r) / max(1, sum(1 for r in rows if k in r)) for k in keys}
    pairs = [v for r in rows for k, v in r.items() if k.startswith("field.")]
    out["field.mean"] = sum(pairs) / max(1, len(pairs))
    return out

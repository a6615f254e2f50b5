"""Stage integrity: CleanDocument (+ metadata) → Integrity. Pure, no I/O.

Evidence that a government page was tampered with: spam-lexicon terms injected into the
visible text or the title, and hidden blocks (黑链) of outbound links. Findings carry the
exact strings found, so archivists can see the evidence; the body is never rewritten.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

from pipeline.patterns import load
from schemas.record import Integrity, IntegrityFinding
from schemas.stages import CleanDocument, NoticeMetadata


@cache
def _lexicon() -> re.Pattern[str]:
    cfg = load("spam")
    terms = sorted(cfg["terms"], key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in terms), re.I if cfg.get("ignore_case") else 0)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def check_integrity(doc: CleanDocument, meta: NoticeMetadata) -> Integrity:
    """Findings of injected keywords and hidden outbound links."""
    rx = _lexicon()
    findings: list[IntegrityFinding] = []

    places = {"body": doc.body_text, "title": meta.title or ""}
    hits: dict[str, int] = {}
    where: dict[str, set[str]] = {}
    for place, text in places.items():
        for m in rx.finditer(text):
            term = m.group(0)
            hits[term] = hits.get(term, 0) + 1
            where.setdefault(term, set()).add(place)
    if hits:
        findings.append(
            IntegrityFinding(
                kind="injected_keyword",
                evidence=sorted(hits, key=lambda t: -hits[t]),
                locations=sorted({p for s in where.values() for p in s}),
                count=sum(hits.values()),
            )
        )

    page_host = _host(doc.url)
    min_foreign = int(load("spam")["hidden_foreign_links_min"])
    for block in doc.hidden:
        foreign = [ln for ln in block.links if _host(ln.href) and _host(ln.href) != page_host]
        spammy = [ln for ln in block.links if rx.search(ln.text)] or (
            [] if not rx.search(block.text) else foreign
        )
        if spammy or len(foreign) >= min_foreign:
            evidence = [ln.text for ln in (spammy or foreign) if ln.text]
            findings.append(
                IntegrityFinding(
                    kind="hidden_links",
                    evidence=list(dict.fromkeys(evidence)),
                    locations=[f"hidden block ({block.reason})"],
                    count=len(spammy or foreign),
                )
            )
    return Integrity(status="suspect" if findings else "clean", findings=findings)

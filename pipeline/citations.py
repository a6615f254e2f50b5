"""Stage citations: body text → list[CitedDocument]. Pure, no I/O.

Every distinct 《…》 title in the main text, in order of first appearance, with the 文号
printed in brackets right after it (``《…》（固政公开办发〔2024〕3号）``) when there is one.
"""

from __future__ import annotations

import re
from functools import cache

from pipeline.patterns import load
from schemas.record import CitedDocument


@cache
def _rx() -> tuple[re.Pattern[str], re.Pattern[str]]:
    cfg = load("documents")
    return re.compile(cfg["citation"]), re.compile(cfg["citation_doc_no"])


def find_citations(body_text: str) -> list[CitedDocument]:
    title_rx, doc_no_rx = _rx()
    found: dict[str, str | None] = {}
    for m in title_rx.finditer(body_text):
        title = m.group(1).strip()
        if not title:
            continue
        after = doc_no_rx.match(body_text, m.end())
        doc_no = after.group(1).strip() if after else None
        if title not in found or (found[title] is None and doc_no):
            found[title] = doc_no
    return [CitedDocument(title=t, doc_no=d) for t, d in found.items()]

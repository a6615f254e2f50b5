"""Stage citations: body text → list[CitedDocument]; keys to match citations to notices. Pure.

Every distinct 《…》 title in the main text, in order of first appearance, with the 文号
printed in brackets right after it (``《…》（固政公开办发〔2024〕3号）``) when there is one.
"""

from __future__ import annotations

import re
import unicodedata
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


_BRACKETED_YEAR = re.compile(r"[〔\[(【（［〈]\s*((?:19|20)\d{2})\s*[〕\])】）］〉]")
_SPACE = re.compile(r"\s+")


def doc_no_key(doc_no: str | None) -> str | None:
    """A 文号 as a comparison key: width-normalised, no spaces, the year in 〔〕, no 第.

    固政公开办发[2024]3号, 固政公开办发（2024）第3号 and 固政公开办发〔2024〕3号 share one key.
    """
    if not doc_no:
        return None
    key = _SPACE.sub("", unicodedata.normalize("NFKC", doc_no))
    key = _BRACKETED_YEAR.sub(r"〔\1〕", key).replace("第", "")
    return key or None


def title_key(title: str | None) -> str | None:
    """A title as a comparison key: width-normalised, without spaces and 《》."""
    if not title:
        return None
    key = _SPACE.sub("", unicodedata.normalize("NFKC", title)).strip("《》")
    return key or None

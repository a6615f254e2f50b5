"""Stage attachments: CleanDocument → list[Attachment]. Pure, no I/O.

Document links (.pdf .doc(x) .xls(x) .wps .ofd .zip .rar …) in the main text and in the
blocks right after it (附件下载 lists), as absolute URLs with their display names.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.patterns import load
from schemas.record import Attachment
from schemas.stages import CleanDocument


@cache
def _ext_rx() -> re.Pattern[str]:
    exts = "|".join(load("documents")["document_extensions"])
    return re.compile(rf"\.(?:{exts})\s*$", re.I)


def is_document_url(url: str, text: str = "") -> bool:
    """Does this link point at a document (by its path, a filename= parameter, or its text)?"""
    rx = _ext_rx()
    parts = urlsplit(url)
    if rx.search(unquote(parts.path)):
        return True
    for values in parse_qs(parts.query).values():
        if any(rx.search(v) for v in values):
            return True
    return bool(text and rx.search(text))


def find_attachments(doc: CleanDocument) -> list[Attachment]:
    """Attachments linked in or right after the article, in page order, each URL once."""
    lead = re.compile(load("documents")["attachment_text"])
    out: list[Attachment] = []
    seen: set[str] = set()
    for link in doc.links_near_content:
        if link.href in seen or not link.href.lower().startswith(("http://", "https://")):
            continue
        if is_document_url(link.href, link.text) or (lead.match(link.text) and not link.href.endswith("/")):
            seen.add(link.href)
            name = link.text or unquote(urlsplit(link.href).path.rsplit("/", 1)[-1])
            out.append(Attachment(name=name, url=link.href))
    return out

"""Stage decode: FetchResult (bytes) → DecodedPage (text). Pure, no I/O.

Order of evidence: byte-order mark, the HTTP ``charset``, the document's own
``<meta charset>`` / ``http-equiv`` declaration, then detection over the whole document
(charset_normalizer). A declared charset is only believed if the bytes decode cleanly with
it: servers lie (a GB2312 page sent as ``charset=UTF-8`` is common). Every GB2312/GBK label
decodes as GB18030, its superset, so characters such as 浉 outside GB2312 survive.
"""

from __future__ import annotations

import codecs
import logging
import re

from pipeline.errors import DecodeError
from schemas.stages import DecodedPage, EncodingSource, FetchResult

log = logging.getLogger(__name__)

_BOMS: list[tuple[bytes, str]] = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

# GB2312 and GBK are subsets of GB18030; pages labelled with them routinely contain
# characters only GB18030 has.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "windows-936": "gb18030",
    "unicode": "utf-8",
    "utf8": "utf-8",
    "iso-8859-1": "windows-1252",  # WHATWG: the latin-1 label means windows-1252
    "latin1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
}

_HTTP_CHARSET = re.compile(rb"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
# Tolerant of malformed tags: missing quotes, extra spaces, charset inside http-equiv content.
_META_CHARSET = re.compile(rb"<meta[^>]{0,400}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)

_PDF = b"%PDF-"
_BINARY_SIGNATURES: list[tuple[bytes, str]] = [
    (_PDF, "a PDF document"),
    (b"PK\x03\x04", "a ZIP/Office document"),
    (b"\xd0\xcf\x11\xe0", "an OLE (old Office) document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "gzip-compressed bytes"),
]


def normalize_encoding(label: str | bytes | None) -> str | None:
    """Map a charset label to the Python codec we decode with, or None if unknown."""
    if not label:
        return None
    name = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
    name = name.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name == "undefined":
        return None  # rot13, base64, zlib, 'undefined' are codecs but not charsets
    codec = info.name
    return _ALIASES.get(codec, codec)


_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])


def _sniff_binary(body: bytes) -> str | None:
    head = body[:16]
    for sig, what in _BINARY_SIGNATURES:
        if head.startswith(sig):
            return what
    sample = body[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16/32 text has NUL bytes by design
    # Control bytes other than tab/newline/form-feed/CR hardly occur in text in any encoding.
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > max(2, len(sample) // 100):
        return "binary data"
    return None


def _decodes_cleanly(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeError, LookupError):  # UnicodeError: codecs such as 'undefined' always raise
        return False
    return True


def _looks_like_utf8(body: bytes) -> bool:
    """Valid UTF-8 with multi-byte sequences: GBK text is practically never valid UTF-8 as well."""
    return not body.isascii() and _decodes_cleanly(body, "utf-8")


def _detect(body: bytes) -> str | None:
    from charset_normalizer import from_bytes  # imported lazily: only needed for undeclared pages

    best = from_bytes(body[:500_000]).best()
    return normalize_encoding(best.encoding) if best is not None else None


def decode_body(fetched: FetchResult, *, detect_min_bytes: int = 64) -> DecodedPage:
    """Decode the response body to text. Raises DecodeError for empty or non-text bodies."""
    body = fetched.body
    url = fetched.final_url or fetched.url
    if not body.strip():
        raise DecodeError("empty body: the page has no bytes to decode", url=url)
    binary = _sniff_binary(body)
    if binary:
        raise DecodeError(f"not an HTML page: the body is {binary}", url=url)

    warnings: list[str] = []
    candidates: list[tuple[EncodingSource, str | None]] = []
    for bom, enc in _BOMS:
        if body.startswith(bom):
            candidates.append(("bom", enc))
            break
    ctype = fetched.content_type
    if ctype:
        m = _HTTP_CHARSET.search(ctype.encode("latin-1", "ignore"))
        if m:
            candidates.append(("http", normalize_encoding(m.group(1))))
    m = _META_CHARSET.search(body[:65536])
    if m:
        candidates.append(("meta", normalize_encoding(m.group(1))))

    chosen: tuple[EncodingSource, str] | None = None
    for source, label in candidates:
        if label is None:
            warnings.append(f"unknown charset label in {source}")
            continue
        if source == "bom":
            chosen = (source, label)
            break
        if not _decodes_cleanly(body, label):
            warnings.append(f"{source} charset {label} does not fit the bytes; ignored")
            continue
        if label != "utf-8" and _looks_like_utf8(body):
            # GB18030 decodes almost any byte string; valid multi-byte UTF-8 is the stronger evidence.
            warnings.append(f"{source} charset {label} contradicted by valid UTF-8 bytes; ignored")
            continue
        chosen = (source, label)
        break
    if chosen is None:
        guess = (
            _detect(body) if len(body) >= detect_min_bytes and not _decodes_cleanly(body, "utf-8") else None
        )
        if _decodes_cleanly(body, "utf-8"):
            chosen = ("detected", "utf-8")
        elif guess and _decodes_cleanly(body, guess):
            chosen = ("detected", guess)
        elif _decodes_cleanly(body, "gb18030"):
            chosen = ("detected", "gb18030")
        else:
            chosen = ("fallback", "utf-8")

    assert chosen is not None
    source, encoding = chosen
    if source == "bom":
        text = body.decode(encoding + "-sig" if encoding == "utf-8" else encoding, errors="replace")
    else:
        text = body.decode(encoding, errors="replace")
    already = body.count(b"\xef\xbf\xbd") if encoding.startswith("utf-8") else 0  # U+FFFD sent as such
    replacements = max(text.count("\ufffd") - already, 0)
    if replacements:
        warnings.append(f"{replacements} undecodable byte sequences replaced with U+FFFD")
    return DecodedPage(
        url=url,
        content_type=ctype,
        text=text,
        encoding=encoding,
        encoding_source=source,
        replacement_chars=replacements,
        sha256=fetched.sha256,
        fetched_at=fetched.fetched_at,
        warc=fetched.warc,
        warnings=warnings,
    )

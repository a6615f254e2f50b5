"""Stage metadata: CleanDocument → NoticeMetadata. Pure, no I/O.

Each field is found by an ordered chain of strategies and the record says which one won
(``field_sources``):

1. ``table`` / ``dl`` / ``list`` / ``grid``: label/value pairs of the disclosure block —
   2- and 4-column tables, ``dl/dt/dd``, ``ul/li`` "label：value", div/span grids;
2. ``meta``: ``<meta name="ArticleTitle|PubDate|ContentSource">``;
3. ``inline``: a line such as "来源：XX 发布时间：2024-03-12 16:20 阅读次数：";
4. ``script``: string fields of inline JSON/JS article data;
5. ``heading`` / ``title_tag`` (title only) and ``url`` (published date from a TRS-style
   ``t20240925_`` path) as last resorts.

Labels are normalised (spaces incl. U+3000 and trailing ：/: removed) and mapped through the
synonym table in ``patterns/metadata.toml``; every other pair of the disclosure block goes to
``extras``. Dates become ISO dates from every common form, including 二〇二四年九月二十五日.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any

from lxml import etree

from pipeline.clean import BLOCK_TAGS, collapse, text_of
from pipeline.patterns import load
from schemas.record import METADATA_FIELDS, DocNumber, IndexNumber
from schemas.stages import CleanDocument, NoticeMetadata

_PRIORITY = {
    "table": 0,
    "dl": 0,
    "list": 0,
    "grid": 0,
    "meta": 1,
    "inline": 2,
    "script": 3,
    "heading": 4,
    "title_tag": 5,
    "url": 6,
}
_LABEL_STRIP = re.compile(r"[\s\u3000【】\[\]]+")
_LABEL_LEAD = re.compile(r"[\s\u3000【】\[\]]*")
_COLON = "：:"
_PAIR_START = re.compile(r"(?:^|(?<=\s))([^\s：:|]{2,10})\s*[：:]\s*")
_CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "Ｏ": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_DATE_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_DATE_CN = re.compile(
    r"([〇○零Ｏ一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)
_URL_DATE = re.compile(r"/t((?:19|20)\d{6})_\d+")
_INDEX_NO = re.compile(r"^([0-9A-Za-z]{6,20})\s*/\s*((?:19|20)\d{2})\s*[-－—]\s*([0-9A-Za-z]{1,10})$")
_DOC_NO = re.compile(
    r"^(.{1,30}?)\s*([〔\[［【（(])\s*((?:19|20)\d{2})\s*[〕\]］】）)]\s*(?:第\s*)?(\d{1,6})\s*号$"
)


def normalize_label(text: str) -> str:
    """'索 引 号：' → '索引号'."""
    return _LABEL_STRIP.sub("", text).rstrip(_COLON)


def _cn_number(s: str) -> int:
    if "十" in s:
        tens, _, units = s.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0) if units else 0)
    return _CN_DIGITS.get(s, 0)


def parse_date(text: str | None) -> dt.date | None:
    """The first date in ``text``: 2024-09-25, 2024年9月25日, 2024/9/25, 2024.09.25, 20240925, 二〇二四年九月二十五日."""
    if not text:
        return None
    for rx in (_DATE, _DATE_CN, _DATE_COMPACT):
        m = rx.search(text)
        if not m:
            continue
        if rx is _DATE_CN:
            year = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
            month, day = _cn_number(m.group(2)), _cn_number(m.group(3))
        else:
            year, month, day = (int(g) for g in m.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def parse_index_no(raw: str) -> IndexNumber:
    """索引号 ``640400017/2024-00208`` → organisation code, year, serial."""
    m = _INDEX_NO.match(raw.strip())
    if not m:
        return IndexNumber(raw=raw, standard=False)
    return IndexNumber(raw=raw, org_code=m.group(1), year=int(m.group(2)), serial=m.group(3), standard=True)


def parse_doc_no(raw: str) -> DocNumber:
    """文号 ``固政公开办发〔2024〕3号`` → prefix, year, number (〔〕 [] （） () accepted)."""
    m = _DOC_NO.match(raw.strip())
    if not m:
        return DocNumber(raw=raw, standard=False)
    return DocNumber(
        raw=raw, prefix=m.group(1), year=int(m.group(3)), number=int(m.group(4)), standard=m.group(2) == "〔"
    )


@cache
def _label_map() -> dict[str, str]:
    cfg = load("metadata")
    return {normalize_label(lbl): name for name, labels in cfg["labels"].items() for lbl in labels}


@cache
def _ignored_labels() -> frozenset[str]:
    return frozenset(normalize_label(x) for x in load("metadata")["ignored"])


@cache
def _title_attr_regex() -> re.Pattern[str]:
    tokens = "|".join(re.escape(t) for t in load("metadata")["title"]["tokens"])
    return re.compile(rf"(?:^|[\s_\-])(?:{tokens})(?:$|[\s_\-])", re.I)


def _strategy_for(el: Any) -> str:
    tag = el.tag
    if tag in ("td", "th"):
        return "table"
    if tag in ("dt", "dd"):
        return "dl"
    node = el
    for _ in range(3):
        if node is None:
            break
        if node.tag == "li":
            return "list"
        if node.tag in ("td", "th"):
            return "table"
        node = node.getparent()
    return "grid"


def _joined_text(el: Any) -> str:
    """Text of an element with <br> breaks joined by nothing ('标题<br/>续' → '标题续')."""
    pieces: list[str] = []
    seg: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        if event == "start":
            if node.tag == "br":
                pieces.append(collapse("".join(seg)))
                seg = []
            elif node is not el and isinstance(node.tag, str) and node.tag in BLOCK_TAGS:
                seg.append(" ")
            if node.text:
                seg.append(node.text)
        elif node is not el and node.tail:
            seg.append(node.tail)
    pieces.append(collapse("".join(seg)))
    return "".join(p for p in pieces if p)


def _spaced_text(el: Any) -> str:
    """Text with a space at every child-element boundary."""
    parts: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        if event == "start":
            parts.append(" ")
            if node.text:
                parts.append(node.text)
        else:
            parts.append(" ")
            if node is not el and node.tail:
                parts.append(node.tail)
    return collapse("".join(parts))


class _Found:
    """Every candidate value per field; the best valid one wins at the end."""

    def __init__(self) -> None:
        self.candidates: dict[
            str, list[tuple[int, int, str, str]]
        ] = {}  # field -> (priority, order, value, source)
        self.extras: dict[str, str] = {}
        self.order = 0

    def offer(self, name: str, value: str, source: str, *, late: bool = False) -> None:
        """``late``: a pair read out of a whole line ranks after pairs read from their own elements."""
        value = value.strip()
        if not value:
            return
        self.order += 1
        rank = _PRIORITY[source] * 2 + (1 if late else 0)
        self.candidates.setdefault(name, []).append((rank, self.order, value, source))

    def best(self, name: str) -> tuple[int, int, str, str] | None:
        found = self.candidates.get(name)
        return min(found) if found else None


def _scan_pairs(root: Any, found: _Found, labels: dict[str, str], ignored: frozenset[str]) -> None:
    consumed: set[Any] = set()
    containers: dict[Any, int] = {}
    unknown: list[tuple[Any, str, str]] = []

    def container_of(el: Any) -> Any:
        node = el.getparent()
        while node is not None and node.tag not in ("table", "dl", "ul", "ol", "div", "section"):
            node = node.getparent()
        return node

    def record(el: Any, label: str, value: str, source: str, late: bool = False) -> None:
        name = labels.get(label)
        if name:
            found.offer(name, value, source, late=late)
            c = container_of(el)
            containers[c] = containers.get(c, 0) + 1
        elif label not in ignored and value:
            unknown.append((el, label, value))

    body = root.find("body")
    if body is None:
        return
    prefixes = tuple(labels)
    initials = frozenset(label[0] for label in labels if label)
    for el in body.iter():
        if not isinstance(el.tag, str) or el in consumed or len(el) > 8:
            continue
        # Cheap pre-check before reading the element's whole text: a pair starts with a
        # known label, or has a colon within its first dozen characters.
        first = el.text
        if (first is None or not first.strip()) and len(el) and isinstance(el[0].tag, str):
            first = el[0].text
        if not first:
            continue
        # no label's first character and no colon in reach: not a pair (most elements)
        lead = _LABEL_LEAD.match(first).end()  # type: ignore[union-attr]  # matches the empty string
        if (
            (lead >= len(first) or first[lead] not in initials)
            and "：" not in first[:30]
            and ":" not in first[:30]
        ):
            continue
        head = _LABEL_STRIP.sub("", first[:30])
        if not head or not (head.startswith(prefixes) or "：" in head[:13] or ":" in head[:13]):
            continue
        text = text_of(el)
        if len(text) > 200:
            continue
        text = collapse(text)
        if not text:
            continue
        key = normalize_label(text)
        if len(key) <= 10 and (key in labels or (text[-1] in _COLON and len(key) >= 2)):
            tail = collapse(el.tail or "")
            value = ""
            if tail:
                value = tail
            else:
                sib = el.getnext()
                while sib is not None and not isinstance(sib.tag, str):
                    sib = sib.getnext()
                if sib is not None and normalize_label(collapse(text_of(sib))) not in labels:
                    value = _joined_text(sib) if labels.get(key) == "title" else collapse(text_of(sib))
                    consumed.add(sib)
            if key in labels or value:
                record(el, key, value, _strategy_for(el))
            continue
        if any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el):
            continue
        if len(el):
            text = _spaced_text(el)  # child boundaries separate pairs: <span>索引号：</span><span>…</span>
        starts = list(_PAIR_START.finditer(text))
        if not starts or starts[0].start() != 0:
            continue
        pairs = []
        for i, m in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            pairs.append((normalize_label(m.group(1)), text[m.end() : end].strip()))
        source = _strategy_for(el) if len(pairs) == 1 else "inline"
        for label, value in pairs:
            record(el, label, value, source, late=True)
    meta_blocks = {c for c, n in containers.items() if n >= 2 and c is not None}
    for el, label, value in unknown:
        if container_of(el) in meta_blocks and label not in found.extras:
            found.extras[label] = value
    # Label cells without a colon in a disclosure table: cells alternate label | value.
    for block in meta_blocks:
        if block.tag != "table":
            continue
        for tr in block.iter("tr"):
            cells = [c for c in tr if c.tag in ("td", "th")]
            for i in range(0, len(cells) - 1, 2):
                label = normalize_label(collapse(text_of(cells[i])))
                value = collapse(text_of(cells[i + 1]))
                if label and value and len(label) <= 10 and label not in labels and label not in ignored:
                    found.extras.setdefault(label, value)


def _scan_meta(root: Any, found: _Found) -> None:
    mapping: dict[str, str] = load("metadata")["meta"]
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").strip().lower()
        if name in mapping:
            found.offer(mapping[name], collapse(meta.get("content") or ""), "meta")


def _title_refs(root: Any) -> list[str]:
    refs = []
    for meta in root.iter("meta"):
        if (meta.get("name") or meta.get("property") or "").lower() in ("articletitle", "og:title"):
            refs.append(collapse(meta.get("content") or ""))
    t = root.find(".//title")
    if t is not None and t.text:
        refs.append(collapse(t.text))
    return [r for r in refs if r]


def _visible_title(root: Any, refs: list[str]) -> str | None:
    title_attr = _title_attr_regex()
    body = root.find("body")
    if body is None:
        return None
    cands: list[tuple[int, str]] = []
    for el in body.xpath(".//h1|.//h2|.//h3|.//*[@class or @id]"):
        rank = {"h1": 0, "h2": 1, "h3": 2}.get(el.tag)
        if rank is None:
            if not title_attr.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
                continue
            rank = 3
        if len(el) > 6:
            continue
        text = _joined_text(el)
        if 4 <= len(text) <= 200:
            cands.append((rank, text))
    squeezed_refs = [r.replace(" ", "") for r in refs]
    matching = [c for c in cands if any(c[1].replace(" ", "") in r for r in squeezed_refs)]
    if not matching and squeezed_refs:
        # Old templates style the title with <font>/<strong> in a centred cell: any short
        # element whose text is the notice part of <title> is the visible title.
        for el in body.iter():
            if not isinstance(el.tag, str) or len(el) > 3:
                continue
            raw = text_of(el)
            if not 8 <= len(raw) <= 300:
                continue
            text = _joined_text(el)
            if len(text) >= 8 and any(
                text.replace(" ", "") in r and len(text) * 2 > len(r) for r in squeezed_refs
            ):
                matching.append((4, text))
    if matching:
        return max(matching, key=lambda c: (len(c[1]), -c[0]))[1]
    if cands and not refs:
        return min(cands, key=lambda c: c[0])[1]
    h1 = [c for c in cands if c[0] == 0]
    return h1[0][1] if h1 else None


def _title_from_tag(refs: list[str]) -> str | None:
    if not refs:
        return None
    sep = re.compile(load("metadata")["title"]["suffix_separators"])
    site = re.compile(load("metadata")["title"]["site_name"])
    parts = [p.strip() for p in sep.split(refs[-1]) if p.strip()]
    notice_parts = [p for p in parts if not site.search(p)] or parts
    return max(notice_parts, key=len) if notice_parts else None


def extract_metadata(doc: CleanDocument) -> NoticeMetadata:
    """Find the metadata fields of a notice page."""
    labels = _label_map()
    ignored = _ignored_labels()
    found = _Found()
    root = doc.tree
    _scan_pairs(root, found, labels, ignored)
    _scan_meta(root, found)
    for name, value in doc.script_fields.items():
        if name in METADATA_FIELDS:
            found.offer(name, value, "script")
    refs = _title_refs(root)
    title = found.best("title")
    # A visible heading outranks <meta> and the <title> tag: archivists cite what the page shows.
    if title is None or title[0] >= 2 * _PRIORITY["meta"]:
        visible = _visible_title(root, refs)
        if visible:
            found.offer("title", visible, "heading")
            found.candidates["title"] = [
                c for c in found.candidates["title"] if c[3] not in ("meta", "script")
            ]
    if found.best("title") is None:
        tag_title = _title_from_tag(refs)
        if tag_title:
            found.offer("title", tag_title, "title_tag")
    m = _URL_DATE.search(doc.url)
    if m:
        found.offer("published_date", m.group(1), "url")

    warnings: list[str] = []
    out: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, cands in found.candidates.items():
        for _p, _o, value, source in sorted(cands):
            if name.endswith("_date"):
                date = parse_date(value)
                if date is None:
                    warnings.append(f"{name}: {value!r} ({source}) is not a date; skipped")
                    continue
                out[name] = date
            else:
                out[name] = value
            sources[name] = source
            break
    if out.get("index_no"):
        out["index_no_parsed"] = parse_index_no(out["index_no"])
        if not out["index_no_parsed"].standard:
            warnings.append(f"index_no {out['index_no']!r} is not in the standard org/year-serial form")
    if out.get("doc_no"):
        out["doc_no_parsed"] = parse_doc_no(out["doc_no"])
    return NoticeMetadata(**out, extras=found.extras, field_sources=sources, warnings=warnings)

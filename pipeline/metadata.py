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

# What the page shows outranks what its head says: <meta> dates are often the day the page
# was (re)generated, <meta> sources the template's default (docs/decisions.md, "Dates").
_PRIORITY = {
    "table": 0,
    "dl": 0,
    "list": 0,
    "grid": 0,
    "columns": 0,
    "inline": 1,
    "near_title": 2,
    "meta": 3,
    "script": 4,
    "body": 5,
    "heading": 6,
    "title_tag": 7,
    "url": 8,
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


_LEADING_DATE = re.compile(
    r"^(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\d{1,2}[:：时]\d{1,2}(?:[:：分]\d{1,2}秒?)?)?"
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
def _label_ranks() -> dict[str, int]:
    cfg = load("metadata")
    return {normalize_label(lbl): i for labels in cfg["labels"].values() for i, lbl in enumerate(labels)}


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

    def offer(self, name: str, value: str, source: str, *, late: bool = False, label_rank: int = 0) -> None:
        """``late``: a pair read out of a whole line ranks after pairs read from their own elements;
        ``label_rank``: within a strategy, the label listed first in patterns/metadata.toml wins."""
        value = value.strip()
        if not value:
            return
        self.order += 1
        rank = _PRIORITY[source] * 2 + (1 if late else 0)
        self.candidates.setdefault(name, []).append((rank, label_rank * 10_000 + self.order, value, source))

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

    ranks = _label_ranks()

    def record(el: Any, label: str, value: str, source: str, late: bool = False) -> None:
        name = labels.get(label)
        if name:
            found.offer(name, value, source, late=late, label_rank=ranks.get(label, 0))
            c = container_of(el)
            containers[c] = containers.get(c, 0) + 1
        elif label not in ignored and value:
            unknown.append((el, label, value))

    body = root.find("body")
    if body is None:
        return
    consumed.update(_scan_columns(body, found, labels, ranks))
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
        window = first[lead : lead + 40]  # past the indentation of the source
        if (not window or window[0] not in initials) and "：" not in window[:30] and ":" not in window[:30]:
            continue
        head = _LEADING_DATE.sub(
            "", _LABEL_STRIP.sub("", window)
        )  # "2020年07月04日 来源：…" opens with its date
        if len(head) < 4 and len(el) and not any(c in head for c in _COLON):
            head = _LABEL_STRIP.sub("", text_of(el).lstrip()[:30])  # 索<span/>引<span/>号：: split by spacers
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
                if sib is not None and not _is_label_text(collapse(text_of(sib)), labels, ignored):
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
        if not starts:
            continue
        if starts[0].start() != 0:
            # "2022-05-07 00:00 来源：X": an info line that opens with its date, no label
            lead_text = text[: starts[0].start()].strip()
            if not (len(lead_text) <= 25 and parse_date(lead_text)):
                continue
            record(el, "发布时间", lead_text, "inline", late=True)
        pairs = []
        for i, m in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            pairs.append((normalize_label(m.group(1)), text[m.end() : end].strip()))
        source = _strategy_for(el) if len(pairs) == 1 else "inline"
        for label, value in pairs:
            if _is_label_text(value, labels, ignored):
                value = ""  # "文件编号： 发布机构：X" read as one line: the first label is empty
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


def _scan_columns(body: Any, found: _Found, labels: dict[str, str], ranks: dict[str, int]) -> set[Any]:
    """A disclosure table laid out in columns: a header row of labels (索取号 | 发布时间 | 发布机构 |
    文件编号), the values in the row below it. Returns the cells read (no pair is read from them)."""
    used: set[Any] = set()
    for table in body.iter("table"):
        rows = [tr for tr in table.iter("tr")][:6]
        for i, tr in enumerate(rows[:-1]):
            cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
            keys = [normalize_label(collapse(text_of(c))) for c in cells]
            if len(keys) < 3 or sum(k in labels for k in keys) < max(3, len(keys) - 1):
                continue
            below = [c for c in rows[i + 1] if isinstance(c.tag, str) and c.tag in ("td", "th")]
            if len(below) != len(cells):
                break
            for key, cell in zip(keys, below, strict=True):
                name = labels.get(key)
                if name:
                    found.offer(name, collapse(text_of(cell)), "columns", label_rank=ranks.get(key, 0))
            used.update(cells)
            used.update(below)
            break
    return used


def _is_label_text(text: str, labels: dict[str, str], ignored: frozenset[str]) -> bool:
    """A cell or value that is itself a label (备注, 关键词：, 发布机构: 省教育厅), not a value."""
    if not text:
        return False
    key = normalize_label(text)
    if key in labels or key in ignored:
        return True
    m = _PAIR_START.match(text)
    if m:
        label = normalize_label(m.group(1))
        return label in labels or label in ignored or text.rstrip()[-1] in _COLON
    return False


def _scan_meta(root: Any, found: _Found) -> None:
    mapping: dict[str, str] = load("metadata")["meta"]
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").strip().lower()
        if name in mapping:
            value = collapse(meta.get("content") or "")
            m = _PAIR_START.match(value)
            if m and normalize_label(m.group(1)) in _label_map():
                value = value[m.end() :]  # content="来源：人民网-人民日报海外版"
            found.offer(mapping[name], value, "meta")


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
    site = re.compile(load("metadata")["title"]["site_name"])
    notices = [c for c in matching if not site.search(c[1])]
    if notices:  # the site's name in a logo <h1> matches the <title> suffix too
        matching = notices
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
    # "标题_栏目_站点" is the common order: the first part that is no site name is the notice
    return notice_parts[0] if notice_parts else None


_NAME_TAIL = re.compile(
    r"(?:\s+(?:(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s*\d{1,2}[:：时]\d{1,2}(?:[:：分]\d{1,2}秒?)?)?))+\s*$"
    r"|[\s|｜/\\>»]+$"
)
_ELLIPSIS = re.compile(r"(?:…+|\.{3,})\s*[】\]]?\s*$")


def _date_near_title(root: Any, title: str, content: Any) -> str | None:
    """The first date in the short run of text right after the visible title (the info line of
    a news template: '2024年12月07日 08时01分 来源: 四川日报'), before the article starts."""
    body = root.find("body")
    if body is None:
        return None
    squeezed = title.replace(" ", "")
    lead = squeezed[:4]
    heading = None
    for el in body.iter():
        # cheap filter first: the title's first characters open the element's own text
        if isinstance(el.tag, str) and len(el) <= 6 and el.text and lead in el.text.replace(" ", ""):
            text = _joined_text(el).replace(" ", "")
            if text and text == squeezed:
                heading = el
                break
    if heading is None:
        return None
    budget = int(load("metadata")["near_title"]["max_chars"])
    seen: list[str] = []
    node = heading
    # Text after the heading in document order: its tail, then what follows its ancestors.
    for event, el in etree.iterwalk(body, events=("start", "end")):
        if node is not None:
            if el is node and event == "end":
                node = None
                if el.tail:
                    seen.append(el.tail)
            continue
        if content is not None and el is content:
            break
        if event == "start" and el.tag == "a":
            link = collapse(text_of(el))
            if len(link) >= 8 and not parse_date(link):
                break  # a list of linked titles (关联稿件) has begun: its dates are other notices'
        if event == "start" and isinstance(el.tag, str) and el.text:
            seen.append(el.text)
        elif event == "end" and el.tail:
            seen.append(el.tail)
        run = collapse(" ".join(seen))
        date = _unlabelled_date(run)
        if date:
            return date
        if len(run) > budget:
            break
    return None


def _unlabelled_date(run: str) -> str | None:
    """A date of the run that no other field's label claims (生成日期：2024-06-04 is the written date)."""
    labels = _label_map()
    for rx in (_DATE, _DATE_CN):
        for m in rx.finditer(run):
            before = run[max(0, m.start() - 12) : m.start()]
            lab = re.search(r"([\u4e00-\u9fff][\u4e00-\u9fff\s]{1,8})[：:]\s*$", before)
            if lab and labels.get(normalize_label(lab.group(1)), "published_date") != "published_date":
                continue
            return m.group(0)
    return None


_TITLE_DOC_NO = re.compile(
    r"[（(]\s*([\u4e00-\u9fff]{1,12}[〔\[［【]\s*(?:19|20)\d{2}\s*[〕\]］】]\s*(?:第\s*)?\d{1,6}\s*号)\s*[)）]\s*$"
)
_WRITE_STRING = re.compile(r"""document\.write(?:ln)?\s*\(\s*(["'])(.{0,300}?)\1""", re.S)


def _date_written_by_script(scripts: list[str]) -> str | None:
    """A date a script writes into the page (document.write("发布时间：2024-05-21")): the
    page shows it although the HTML does not hold it as text."""
    for js in scripts:
        if js.startswith("src=") or "document.write" not in js:
            continue
        for m in _WRITE_STRING.finditer(js):
            literal = re.sub(r"<[^>]*>", " ", m.group(2))
            if parse_date(literal) and not re.search(r"getFullYear|new Date", literal):
                return collapse(literal)[:80]
    return None


def _doc_no_line(doc: CleanDocument) -> str | None:
    """A 文号 printed as a line of its own at the top of the body (川卫函〔2025〕46号)."""
    for text in [*doc.set_aside[:6], *(line.text for line in doc.content[:3])]:
        text = text.strip()
        if _DOC_NO.match(text) and len(text) <= 30 and not re.search(r"\s", text):
            return text
    return None


@cache
def _trailers() -> re.Pattern[str]:
    words = "|".join(re.escape(w) for w in sorted(load("metadata")["value_trailers"], key=len, reverse=True))
    return re.compile(rf"\s+(?:{words})\s*$")


def _clean_name(value: str) -> str:
    """A 来源 value as an info line runs it on: '广西日报 2024-10-17' → '广西日报', '某某市人民政府 |',
    '求是网 参与互动' → …"""
    prev = None
    while prev != value:
        prev, value = value, _trailers().sub("", _NAME_TAIL.sub("", value)).strip()
    return value


def _untruncated(ranked: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """A value the page cuts short ('综合自学习强国、川观新闻…】') gives way to a candidate that
    continues it (the full text in <meta> or in script data)."""
    out = []
    for i, (p, o, v, src) in enumerate(ranked):
        m = _ELLIPSIS.search(v)
        if m:
            stem = v[: m.start()].strip()
            longer = next(
                (c for c in ranked[i + 1 :] if len(c[2]) > len(stem) and c[2].startswith(stem)), None
            )
            if longer is not None:
                out.append((p, o, longer[2], longer[3]))
                continue
        out.append((p, o, v, src))
    return out


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
    written = _date_written_by_script(doc.scripts)
    if written:
        found.offer("published_date", written, "script", late=True)
    refs = _title_refs(root)
    title = found.best("title")
    # A visible heading outranks <meta> and the <title> tag: archivists cite what the page shows.
    if title is None or title[0] >= 2 * _PRIORITY["inline"]:
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
    shown_title = found.best("title")
    if shown_title is not None and doc.content:  # a list page's first item date is no notice's
        near = _date_near_title(root, shown_title[2], doc.content_node)
        if near:
            found.offer("published_date", near, "near_title")
    doc_line = _doc_no_line(doc)
    if doc_line:
        found.offer("doc_no", doc_line, "body")
    shown = found.best("title")
    if shown is not None:
        in_title = _TITLE_DOC_NO.search(shown[2])
        if in_title:
            found.offer("doc_no", in_title.group(1), "title_tag")  # 关于…的通知（某政发〔2024〕3号）
    m = _URL_DATE.search(doc.url)
    if m:
        found.offer("published_date", m.group(1), "url")
    if not doc.content:  # a list page or an empty template: no notice, so no guessed date
        found.candidates["published_date"] = [
            c
            for c in found.candidates.get("published_date", [])
            if c[3] not in ("script", "near_title", "url")
        ]

    warnings: list[str] = []
    out: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, cands in found.candidates.items():
        ranked = sorted(cands)
        if name == "publisher":
            ranked = _untruncated([(p, o, _clean_name(v), src) for p, o, v, src in ranked])
        for _p, _o, value, source in ranked:
            if not value:
                continue
            if name.endswith("_date"):
                date = parse_date(value)
                if date is None:
                    warnings.append(f"{name}: {value!r} ({source}) is not a date; skipped")
                    continue
                out[name] = date
            else:
                out[name] = value
            sources[name] = source
            if name == "published_date" and source == "url":
                warnings.append(
                    f"published_date: only the URL path gives a date ({m.group(0) if m else ''}); unchecked"
                )
            break
    if out.get("index_no"):
        out["index_no_parsed"] = parse_index_no(out["index_no"])
        if not out["index_no_parsed"].standard:
            warnings.append(f"index_no {out['index_no']!r} is not in the standard org/year-serial form")
    if out.get("doc_no"):
        out["doc_no_parsed"] = parse_doc_no(out["doc_no"])
    return NoticeMetadata(**out, extras=found.extras, field_sources=sources, warnings=warnings)

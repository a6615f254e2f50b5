"""Stage discover (parsing half): list pages and sitemaps → links to notices. Pure, no I/O.

``parse_list_page(DecodedPage, ListHints) -> ListPage``: the notice (and document) links of a
list page (栏目页) with their titles and dates, and the URLs of the list's other pages.
``parse_sitemap(bytes, url) -> Sitemap``: the URLs of a ``<urlset>``, the child sitemaps of a
``<sitemapindex>``, or the lines of a plain-text sitemap; gzip bodies are inflated up to a cap.
``trs_pagination(script, url)``: the pages a TRS WCM ``createPageHTML(...)`` call writes.

The list is found by structure, with no per-site selectors. Every ``<a>`` whose title reads
like a notice title (≥ 6 characters, mostly CJK, not 首页/更多/下一页) and that is not inside
page chrome (``<nav>``/``<header>``/``<footer>``, class/id tokens such as nav, menu, footer,
crumb, position, side) climbs to the ancestor with the most children holding such anchors:
that ancestor is its *container* (``<ul>``, ``<tbody>``, ``<dl>``, a ``<div>`` of items) and the
child holding the anchor its *item* (``<li>``, ``<tr>``, ``<dd>``, ``<div class="item">``).
Containers score by their items — one point per item, one more for a date printed in it, a
half for a notice-shaped URL (``t20240925_1.html``, ``art_1_2.html``, ``?id=``), less for a
column-shaped one — and the best container wins, with the containers built like it (a TRS
list split into several ``<ul>`` blocks). Hanweb (大汉) lists, which arrive as CDATA records
in ``<script type="text/xml"><datastore>``, are parsed into the tree first. ``ListHints``
override the heuristics: ``link_xpath`` selects the anchors, ``notice_url_pattern`` filters
them, ``list_url_pattern`` marks pagination links.

Pagination comes from pager anchors (下一页/尾页/…, page numbers beside them, rel=next), from
the TRS ``createPageHTML`` call, and from 共N页 text with the numbered URL pattern of the pager
links; it is capped (``max_pagination_pages``) for lists claiming thousands of pages.

Vocabularies live in ``pipeline/patterns/discover.toml``. Every walk over the tree is
iterative or bounded in depth, so hostile markup (deep nesting, giant tags, junk URLs) costs
linear time; anything that cannot be read raises ``DiscoveryError``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urldefrag, urlsplit, urlunsplit

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from pipeline.attachments import is_document_url
from pipeline.clean import collapse, safe_urljoin, text_of, xml_safe
from pipeline.errors import DiscoveryError
from pipeline.patterns import load, regex
from schemas.site import ListHints
from schemas.stages import DecodedPage

__all__ = [
    "ListLink",
    "ListPage",
    "Sitemap",
    "SitemapEntry",
    "parse_list_page",
    "parse_sitemap",
    "trs_pagination",
]

log = logging.getLogger(__name__)

_STAGE = "discover"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListLink(_Model):
    """One entry of a list page: a notice, or a document linked straight from the list."""

    url: str = Field(description="Absolute URL, fragment removed (链接)")
    title: str = Field(description="Full title (标题): the title attribute when the visible text is cut")
    date: dt.date | None = Field(None, description="Date printed beside the link (发布日期)")
    is_document: bool = Field(False, description="The link points at a document (pdf/doc/xls …), 附件")


class ListPage(_Model):
    """What a list page (栏目页) links to."""

    url: str = Field(description="URL of the list page")
    links: list[ListLink] = Field(
        default_factory=list, description="Links of the list, page order, each URL once"
    )
    pagination: list[str] = Field(
        default_factory=list, description="Other pages of this list (分页), page order, without this page"
    )
    page_count: int | None = Field(None, description="Total pages when the page says so (共N页)")
    warnings: list[str] = Field(default_factory=list)


class SitemapEntry(_Model):
    loc: str = Field(description="Absolute URL of the page")
    lastmod: dt.date | None = Field(
        None, description="Date part of <lastmod>, as written (no time zone shift)"
    )


class Sitemap(_Model):
    url: str = Field(description="URL the sitemap was read from")
    urls: list[SitemapEntry] = Field(default_factory=list, description="<url> entries or text lines")
    sitemaps: list[str] = Field(default_factory=list, description="Child sitemaps of a <sitemapindex>")


# ---------------------------------------------------------------------------- vocabulary


@cache
def _cfg() -> dict[str, Any]:
    return load("discover")


@cache
def _one(key: str, flags: int = 0) -> re.Pattern[str]:
    """A single pattern stored as a string under ``key``."""
    return re.compile(str(_cfg()[key]), flags)


def _any(key: str, flags: int = 0) -> re.Pattern[str]:
    """Alternatives stored as a list under ``key``."""
    return regex("discover", key, flags)


@cache
def _words(key: str) -> frozenset[str]:
    return frozenset(str(w).lower() for w in _cfg()[key])


def _int(key: str) -> int:
    return int(_cfg()[key])


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
_HREF_JUNK = re.compile(r"[\t\n\r]")
# A start tag of 20,000+ characters keeps only its name: libxml2 parses many distinct
# attribute names in quadratic time (the same guard as pipeline.clean).
_HUGE_TAG = re.compile(r"<([A-Za-z][\w:-]{0,30})[^<>]{20000,}>")
_SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "vbscript:", "about:", "#")


# ---------------------------------------------------------------------------- HTML helpers


def _parse_html(text: str, url: str) -> Any:
    parser = etree.HTMLParser(  # type: ignore[call-arg]  # lxml-stubs lack default_doctype
        encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True, default_doctype=False
    )
    text = _HUGE_TAG.sub(r"<\1>", xml_safe(text))
    try:
        return etree.fromstring(text.encode("utf-8", "replace"), parser=parser, base_url=url)
    except (etree.LxmlError, ValueError) as exc:
        raise DiscoveryError(f"list page not parseable as HTML: {exc}", url=url, stage=_STAGE) from exc


def _tag(el: Any) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _tokens(el: Any) -> list[str]:
    raw = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return [t for t in _TOKEN_SPLIT.split(raw) if t] if raw.strip() else []


def _absolute(base: str, href: str | None) -> str | None:
    """Absolute http(s) URL without fragment, or None for javascript:, mailto:, junk."""
    if not href:
        return None
    href = _HREF_JUNK.sub("", href).strip()
    if not href or href.lower().startswith(_SKIP_SCHEMES):
        return None
    joined = safe_urljoin(base, href)
    if joined is None:
        return None
    try:
        joined = urldefrag(joined).url
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return joined


_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.I)


def frontier_url(url: str) -> str:
    """The form a URL is remembered in: tracking and session parameters dropped, the others
    sorted (``?b=2&a=1&utm_source=x`` → ``?a=1&b=2``), ``;jsessionid=…`` removed, no fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path = _PATH_SESSION.sub("", parts.path)
    drop = _words("tracking_params")
    pairs = [p for p in parts.query.split("&") if p and p.split("=", 1)[0].lower() not in drop]
    query = "&".join(sorted(pairs))
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _same_page(a: str, b: str) -> bool:
    """Equal URLs, or a folder URL and its index page (…/bmdt/ and …/bmdt/index.html)."""
    if a == b:
        return True
    for x, y in ((a, b), (b, a)):
        if x.endswith("/") and y.startswith(x) and y[len(x) :].lower() in _words("index_names"):
            return True
    return False


def _visible_text(root: Any, limit: int = 2_000_000) -> str:
    """Page text outside <script>/<style>, whitespace collapsed (iterative, capped)."""
    parts: list[str] = []
    size = 0
    for el in root.iter():
        tag = _tag(el)
        if el.text and tag not in ("script", "style"):
            parts.append(el.text)
            size += len(el.text)
        if el.tail:
            parts.append(el.tail)
            size += len(el.tail)
        if size > limit:
            break
    return collapse(" ".join(parts))


# ---------------------------------------------------------------------------- dates


def _date(y: str | int, m: str | int, d: str | int) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _groups(m: re.Match[str]) -> list[str]:
    """The groups an alternative of a combined regex matched."""
    return [g for g in m.groups() if g is not None]


def _full_dates(text: str) -> list[dt.date]:
    found: list[dt.date] = []
    for m in _any("full_date").finditer(text):
        g = _groups(m)
        day = _date(g[0], g[1], g[2]) if len(g) >= 3 else None
        if day is not None:
            found.append(day)
    return found


def _year_from_url(url: str, month: int, day: int) -> int | None:
    """The year of a short date (09-25) when the notice URL carries it (t20240925_, /202409/)."""
    years: set[int] = set()
    for m in _any("url_full_date").finditer(url):
        g = _groups(m)
        if len(g) >= 3 and int(g[1]) == month and int(g[2]) == day:
            years.add(int(g[0]))
    if not years:
        for m in _any("url_year_month").finditer(url):
            g = _groups(m)
            if len(g) >= 2 and int(g[1]) == month:
                years.add(int(g[0]))
    return years.pop() if len(years) == 1 else None


def _short_date(text: str, urls: Iterable[str]) -> dt.date | None:
    hits = list(_any("short_date").finditer(text))
    if not hits:
        return None
    g = _groups(hits[-1])
    month, day = int(g[0]), int(g[1])
    years = {y for y in (_year_from_url(u, month, day) for u in urls) if y is not None}
    if len(years) != 1:
        return None  # no year in context, or contradictory ones: no date rather than a wrong one
    return _date(years.pop(), month, day)


def _text_date(text: str, urls: Iterable[str]) -> dt.date | None:
    """The date printed in an item: its last full date, else a short one whose year is known."""
    if not text:
        return None
    full = _full_dates(text)
    if full:
        return full[-1]  # the date column is the last one; an earlier date is 成文日期 or in a summary
    return _short_date(text, urls)


# ---------------------------------------------------------------------------- anchors


@dataclass(eq=False)
class _Anchor:
    el: Any
    url: str
    raw: str  # visible text as shown, whitespace collapsed
    text: str  # visible title text: date children and leading bullets removed
    title: str  # text, or the title attribute when the text is cut
    date_text: str  # text of date-only children inside the <a>
    chrome: bool  # inside navigation / header / footer / sidebar / pager
    navzone: bool  # inside chrome that is not a pager block
    pagerzone: bool  # inside a block whose class says pager
    doc: bool
    titlelike: bool
    order: int
    item: Any = None
    container: Any = None
    date: dt.date | None = None


def _strip_title(text: str) -> str:
    return _one("title_strip").sub("", text).strip()[: _int("max_title_chars")]


def _is_cut(text: str) -> bool:
    return bool(_one("cut_title").search(text[-12:]))


def _uncut(text: str) -> str:
    return (
        text[:-12] + _one("cut_title").sub("", text[-12:])
        if len(text) > 12
        else _one("cut_title").sub("", text)
    )


_NO_SPACE = re.compile(r"\s+")


def _choose_title(visible: str, attr: str) -> str:
    """The visible text, or the title attribute when the visible text is empty or cut short."""
    attr = _strip_title(collapse(attr))
    if not attr:
        return visible
    if not visible:
        return attr
    vis = _NO_SPACE.sub("", visible)
    full = _NO_SPACE.sub("", attr)
    if _is_cut(visible):
        stem = _NO_SPACE.sub("", _uncut(visible))
        # the attribute must be the same title: it starts like the stem and is at least as long
        if full.startswith(stem[:4]) and len(full) >= len(stem):
            return attr
        return visible
    if len(full) > len(vis) and full.startswith(vis):
        return attr  # cut without an ellipsis
    return visible


def _anchor_text(a: Any) -> tuple[str, str, str]:
    """(text as shown, text without date-only children, those dates) of an <a>."""
    raw = collapse(text_of(a))[:5000]
    if len(a) == 0 or not raw:
        return raw, raw, ""
    date_only = _one("date_only")
    dates: list[str] = []
    # Children and grandchildren only, a few of them: <a><span>title</span><em>date</em></a>.
    near = [c for child in a[:10] for c in (child, *child[:10])]
    for child in near:
        if not _tag(child):
            continue
        t = collapse(text_of(child))
        if t and len(t) <= 20 and date_only.match(t):
            dates.append(t)
    text = raw
    for d in dates:
        text = text.replace(d, " ", 1)
    return raw, collapse(text), " ".join(dates)


def _is_titlelike(title: str) -> bool:
    if len(title) < _int("min_title_chars") or len(_CJK.findall(title)) < _int("min_title_cjk"):
        return False
    return not _any("furniture_text", re.I).match(title)


@dataclass
class _Regions:
    chrome: set[Any]  # inside navigation, header, footer, sidebar or a pager: never a notice list
    nav: set[Any]  # inside chrome that is not a pager: never pagination either
    pager: set[Any]  # inside a block whose class/id says page/pager: page numbers there are pagination


def _regions(root: Any) -> _Regions:
    """Which elements stand in page chrome, in one pass (parents come before children).

    A pager name (pagination, page_nav) makes chrome but not navigation; the loose "page"
    only marks where page numbers count, since "page-main" may wrap the list itself and
    "page-header" is still a header.
    """
    exclude = _words("exclude_tokens")
    pager_words = _words("pager_tokens")
    zone_words = _words("pager_zone_tokens")
    tags = _words("exclude_tags")
    roles = _words("exclude_roles")
    reg = _Regions(set(), set(), set())
    for el in root.iter():
        tag = _tag(el)
        if not tag:
            continue
        parent = el.getparent()
        tokens = _tokens(el)
        names = [
            _TOKEN_SPLIT.sub("", n) for n in f"{el.get('class') or ''} {el.get('id') or ''}".lower().split()
        ]
        pager = any(t in pager_words for t in tokens) or any(n in pager_words for n in names)
        own_nav = tag in tags or (el.get("role") or "").lower() in roles
        own_nav = own_nav or (not pager and any(t in exclude for t in tokens))
        own_chrome = own_nav or pager or any(t in exclude for t in tokens)
        own_zone = pager or any(t in zone_words for t in tokens)
        if parent is not None:
            own_nav = own_nav or parent in reg.nav
            own_chrome = own_chrome or parent in reg.chrome
            own_zone = own_zone or parent in reg.pager
        if own_nav:
            reg.nav.add(el)
        if own_chrome:
            reg.chrome.add(el)
        if own_zone:
            reg.pager.add(el)
    return reg


def _collect_anchors(root: Any, base: str, reg: _Regions) -> list[_Anchor]:
    out: list[_Anchor] = []
    for i, a in enumerate(root.iter("a")):
        url = _absolute(base, a.get("href"))
        if url is None:
            continue
        raw, visible, date_text = _anchor_text(a)
        visible = _strip_title(visible)
        title = _choose_title(visible, a.get("title") or "")
        out.append(
            _Anchor(
                el=a,
                url=url,
                raw=raw,
                text=visible,
                title=title,
                date_text=date_text,
                chrome=a in reg.chrome,
                navzone=a in reg.nav,
                pagerzone=a in reg.pager,
                doc=is_document_url(url, visible),
                titlelike=_is_titlelike(title),
                order=i,
            )
        )
    return out


# ---------------------------------------------------------------------------- Hanweb datastore


def _datastore_records(script: str) -> str:
    """The HTML of the <record> entries of a Hanweb datastore, CDATA wrappers removed.

    A linear scan with str.find: a regex with a lazy ``.*?`` would be quadratic on a script
    full of unclosed ``<record>`` tags.
    """
    low = script.lower()
    parts: list[str] = []
    pos = 0
    while True:
        start = low.find("<record", pos)
        if start < 0:
            break
        if low[start + 7 : start + 8] not in (">", " ", "\t", "\n", "\r"):
            pos = start + 7  # <recordset>, <recordcount>: not a record
            continue
        open_end = low.find(">", start)
        end = low.find("</record", open_end) if open_end >= 0 else -1
        if end < 0:
            break
        body = script[open_end + 1 : end].strip()
        if body.startswith("<![CDATA["):
            body = body[9:]
            if body.endswith("]]>"):
                body = body[:-3]
        parts.append(body)
        pos = end + 8
    return "\n".join(parts)


def _expand_datastores(root: Any, url: str) -> int:
    """Put the records of Hanweb jpage datastores into the tree where their script stands."""
    marker = _one("hanweb_datastore", re.I)
    done = 0
    for script in list(root.iter("script")):
        text = script.text or ""
        if not marker.search(text):
            continue
        records = _datastore_records(text)
        parent = script.getparent()
        if not records.strip() or parent is None:
            continue
        fragment = _parse_html(f"<html><body><div>{records}</div></body></html>", url)
        holder = fragment.find("body/div") if fragment is not None else None
        if holder is None:
            continue
        holder.set("class", "datastore-records")
        holder.tail = script.tail
        parent.replace(script, holder)
        done += 1
    return done


# ---------------------------------------------------------------------------- list structure

_ITEM_TAGS = frozenset(["li", "tr", "dd", "dt", "dl", "p", "div", "table", "article", "section"])


def _place(anchors: list[_Anchor], depth: int) -> None:
    """Give each anchor its item and container.

    Every ancestor (up to ``depth`` levels) counts its children that hold one of the anchors;
    an anchor's container is its ancestor with the most such children (the lowest on a tie),
    its item the child of the container it stands in. A row that also links its 发布机构 has
    two holding cells, but its table has one holding row per notice: the table wins.
    """
    kids: dict[Any, int] = {}
    holders: set[Any] = set()
    for anc in anchors:
        el = anc.el
        for _ in range(depth):
            parent = el.getparent()
            if parent is None:
                break
            if el not in holders:
                holders.add(el)
                kids[parent] = kids.get(parent, 0) + 1
            el = parent
    for anc in anchors:
        el = anc.el
        best: tuple[int, Any, Any] | None = None
        for _ in range(depth):
            parent = el.getparent()
            if parent is None:
                break
            n = kids.get(parent, 0)
            if n >= 2 and (best is None or n > best[0]):
                best = (n, el, parent)
            el = parent
        if best is not None:
            anc.item, anc.container = best[1], best[2]
            continue
        anc.item, anc.container = anc.el, anc.el.getparent()
        el = anc.el
        for _ in range(depth):  # a list of one: the nearest item-like block holds it
            parent = el.getparent()
            if parent is None:
                break
            if _tag(parent) in _ITEM_TAGS:
                anc.item, anc.container = parent, parent.getparent()
                break
            el = parent


def _join_item(anc: _Anchor, items: dict[Any, _Item], containers: set[Any], depth: int) -> bool:
    """Place a short-texted link (附件 PDF) in the item it stands in, or as an item of a known container."""
    el = anc.el
    for _ in range(depth):
        if el in items:
            anc.item, anc.container = el, el.getparent()
            return True
        parent = el.getparent()
        if parent is None:
            return False
        if parent in containers:
            anc.item, anc.container = el, parent
            return True
        el = parent
    return False


def _signature(el: Any) -> tuple[str, str]:
    if el is None:
        return ("", "")
    return (_tag(el), " ".join(sorted(_tokens(el))))


@dataclass(eq=False)
class _Item:
    el: Any
    anchors: list[_Anchor] = field(default_factory=list)
    date: dt.date | None = None
    score: float = 0.0


class _DateColumns:
    """Which cell of a 信息公开目录 table row holds the publication date, read from the header row."""

    def __init__(self) -> None:
        self._cache: dict[Any, int | None] = {}

    def index(self, table: Any) -> int | None:
        if table not in self._cache:
            self._cache[table] = self._find(table)
        return self._cache[table]

    @staticmethod
    def cells(row: Any) -> list[Any]:
        return [c for c in row if _tag(c) in ("td", "th")]

    def _find(self, table: Any) -> int | None:
        for n, row in enumerate(table.iter("tr")):
            if n >= 3:
                break
            labels = [_NO_SPACE.sub("", text_of(c))[:20] for c in self.cells(row)]
            for rx in _cfg()["date_header"]:
                for i, label in enumerate(labels):
                    if re.match(rx, label):
                        return i
        return None


def _table_of(row: Any) -> Any:
    el = row.getparent()
    for _ in range(3):
        if el is None or _tag(el) == "table":
            return el
        el = el.getparent()
    return None


def _item_date(item: Any, anchors: list[_Anchor], columns: _DateColumns) -> dt.date | None:
    """The date printed in the item, outside the titles (a title may name a day itself)."""
    urls = [a.url for a in anchors]
    if _tag(item) == "tr":
        table = _table_of(item)
        idx = columns.index(table) if table is not None else None
        cells = columns.cells(item)
        if idx is not None and idx < len(cells):
            day = _text_date(collapse(text_of(cells[idx])), urls)
            if day is not None:
                return day
    text = collapse(text_of(item))[:20000]
    for a in anchors:
        if a.raw:
            text = text.replace(a.raw, " ", 1)
    day = _text_date(collapse(text), urls)
    for a in anchors:
        if day is not None:
            break
        if a.date_text:
            day = _text_date(a.date_text, urls)
    return day


def _score(item: _Item) -> float:
    notice = _any("notice_url", re.I)
    column = _any("column_url", re.I)
    score = 1.0
    if item.date is not None:
        score += 1.0
    if any(notice.search(a.url) for a in item.anchors):
        score += 0.5
    elif item.date is None and all(column.search(a.url) for a in item.anchors):
        score -= 0.7  # column links without dates: navigation laid out as a list
    return score


def _items_of(anchors: list[_Anchor]) -> dict[Any, _Item]:
    items: dict[Any, _Item] = {}
    for a in sorted(anchors, key=lambda x: x.order):
        items.setdefault(a.item, _Item(a.item)).anchors.append(a)
    return items


def _best_list(pool: list[_Anchor], candidates: list[_Anchor], *, use_chrome: bool) -> list[_Anchor] | None:
    """The anchors of the best-scoring list container, with the containers built like it."""
    depth = _int("max_item_depth")
    furniture = _any("furniture_item")
    column = _any("column_url", re.I)
    _place(pool, depth)
    columns = _DateColumns()
    by_container: dict[Any, list[_Item]] = {}
    for item in _items_of(pool).values():
        if furniture.match(collapse(text_of(item.el))[:100]):
            continue
        item.date = _item_date(item.el, item.anchors, columns)
        item.score = _score(item)
        by_container.setdefault(item.anchors[0].container, []).append(item)
    if not by_container:
        return None
    ranked = sorted(
        by_container.items(),
        key=lambda kv: (sum(i.score for i in kv[1]), -min(i.anchors[0].order for i in kv[1])),
        reverse=True,
    )
    best, best_items = ranked[0]
    if sum(i.score for i in best_items) < 2.5:  # one dated notice-shaped item, or two plain ones and more
        return None
    dated = sum(1 for i in best_items if i.date is not None) * 2 >= len(best_items)
    sig = (_signature(best), _signature(best.getparent() if best is not None else None))
    item_tags = {_tag(i.el) for i in best_items}
    chosen: dict[Any, _Item] = {i.el: i for i in best_items}
    containers = {best}
    for c, its in ranked[1:]:
        if (_signature(c), _signature(c.getparent() if c is not None else None)) != sig:
            continue
        if not {_tag(i.el) for i in its} & item_tags:
            continue
        if dated and sum(1 for i in its if i.date is not None) * 2 < len(its):
            continue
        containers.add(c)
        chosen.update((i.el, i) for i in its)
    # Document links with short texts ("附件", "PDF") join the item they stand in.
    for a in candidates:
        if a.doc and not a.titlelike and (use_chrome or not a.chrome):
            if not _join_item(a, chosen, containers, depth):
                continue
            if a.item in chosen:
                chosen[a.item].anchors.append(a)
            else:
                chosen[a.item] = _Item(a.item, [a], _item_date(a.item, [a], columns))
    picked: list[_Anchor] = []
    for item in chosen.values():
        here = item.anchors
        if len({a.url for a in here}) > 1 and any(not column.search(a.url) for a in here):
            # a row also linking its 发布机构 or 栏目: keep the notice, drop the column link
            here = [a for a in here if a.doc or not column.search(a.url)]
        for a in here:
            a.date = item.date
        picked.extend(here)
    return picked


def _select_heuristic(candidates: list[_Anchor], warnings: list[str]) -> list[_Anchor]:
    for use_chrome in (False, True):
        pool = [a for a in candidates if a.titlelike and (use_chrome or not a.chrome)]
        if not pool:
            continue
        picked = _best_list(pool, candidates, use_chrome=use_chrome)
        if picked:
            if use_chrome:
                warnings.append(
                    "the only list stands inside page chrome (nav/side/footer class names); used anyway"
                )
            return picked
    warnings.append("no notice list found on the page")
    return []


def _select_hinted(
    root: Any, candidates: list[_Anchor], hints: ListHints, url: str, warnings: list[str]
) -> list[_Anchor]:
    """Anchors chosen by the site's hints: link_xpath selects, notice_url_pattern filters."""
    depth = _int("max_item_depth")
    pool = list(candidates)
    if hints.link_xpath:
        try:
            found = root.xpath(hints.link_xpath)
        except (etree.XPathError, ValueError) as exc:
            raise DiscoveryError(
                f"hints.link_xpath is not a usable XPath: {exc}", url=url, stage=_STAGE
            ) from exc
        # lxml hands back the element proxies the anchors already hold: identity works
        selected = {e for e in found if isinstance(e, etree._Element)} if isinstance(found, list) else set()
        pool = [a for a in candidates if a.el in selected]
        if not pool:
            warnings.append("hints.link_xpath selected no links")
    picked = list(pool)
    if hints.notice_url_pattern:
        rx = re.compile(hints.notice_url_pattern)
        picked = [a for a in pool if rx.search(a.url)]
        if not picked:
            warnings.append("hints.notice_url_pattern matched no links")
    _place(picked, depth)
    columns = _DateColumns()
    items = _items_of(picked)
    containers = {a.container for a in picked if a.container is not None}
    if hints.notice_url_pattern:
        # documents in the list stand beside the notices the pattern matched
        taken = {id(a) for a in picked}
        for a in pool:
            if a.doc and id(a) not in taken and _join_item(a, items, containers, depth):
                items.setdefault(a.item, _Item(a.item)).anchors.append(a)
                picked.append(a)
    for item in items.values():
        item.date = _item_date(item.el, item.anchors, columns)
        for a in item.anchors:
            a.date = item.date
    return picked


def _to_links(
    picked: list[_Anchor], page_url: str, pagination: set[str], warnings: list[str]
) -> list[ListLink]:
    """ListLinks in page order, each URL once (the best title and the first date of its anchors)."""
    by_url: dict[str, tuple[_Anchor, str, dt.date | None]] = {}
    for a in sorted(picked, key=lambda x: x.order):
        if a.url in pagination or _same_page(a.url, page_url):
            continue
        title = a.title or a.text
        if not title and a.doc:
            title = urlsplit(a.url).path.rsplit("/", 1)[-1]
        prev = by_url.get(a.url)
        if prev is None:
            by_url[a.url] = (a, title, a.date)
            continue
        first, best_title, day = prev
        better = not _is_cut(title) and (len(title) > len(best_title) or _is_cut(best_title))
        by_url[a.url] = (first, title if better else best_title, day or a.date)
    cap = _int("max_links")
    if len(by_url) > cap:
        warnings.append(f"{len(by_url)} list links; only the first {cap} kept")
    return [
        ListLink(url=url, title=title, date=day, is_document=first.doc)
        for url, (first, title, day) in list(by_url.items())[:cap]
    ]


# ---------------------------------------------------------------------------- pagination


def _js_number(arg: str, script: str, pos: int) -> int | None:
    """A pager argument: a number literal, a quoted number, or a variable assigned a number."""
    m = _one("js_string").match(arg)
    value = m.group(2).strip() if m else arg.strip()
    if re.fullmatch(r"\d{1,9}", value):
        return int(value)
    if not re.fullmatch(r"[A-Za-z_$][\w$]{0,60}", value):
        return None
    assign = re.compile(str(_cfg()["js_number_assign"]).replace("NAME", re.escape(value)))
    before: int | None = None
    after: int | None = None
    for hit in assign.finditer(script):
        if hit.start() < pos:
            before = int(hit.group(1))
        elif after is None:
            after = int(hit.group(1))
            break
    return before if before is not None else after


def _trs_call(args: list[str], script: str, pos: int) -> tuple[int, str, str] | None:
    string = _one("js_string")

    def literal(s: str) -> str | None:
        m = string.match(s)
        return m.group(2) if m else None

    first = literal(args[0])
    if len(args) == 4 or (len(args) > 4 and (first is None or first.strip().isdigit())):
        # (count, current, "index", "html")
        count_arg, name, ext = args[0], literal(args[2]), literal(args[3])
    elif len(args) >= 5:  # ("page_div", count, current, "index", "html", records)
        count_arg, name, ext = args[1], literal(args[3]), literal(args[4])
    else:
        return None
    if name is None or ext is None:
        return None
    if not _one("trs_page_name").match(name) or not _one("trs_page_ext").match(ext):
        return None
    count = _js_number(count_arg, script, pos)
    return (count, name, ext) if count is not None else None


def trs_pagination(
    script_text: str, page_url: str, *, max_pages: int | None = None
) -> tuple[list[str], int | None]:
    """All pages of a TRS WCM list, from its ``createPageHTML(count, current, "index", "html")`` call.

    Returns (URLs in page order — ``index.html``, ``index_1.html`` … resolved against the
    page's folder, the page itself included — and the page count), or ``([], None)`` when the
    script has no such call. The count may be a literal or a variable assigned earlier in the
    script; the 6-argument form ``createPageHTML("div", count, current, name, ext, records)`` is
    read too. At most ``max_pages`` URLs (default ``max_pagination_pages``) are returned.
    """
    if _absolute(page_url, page_url) is None:
        raise DiscoveryError(f"invalid page URL: {page_url!r}", url=page_url, stage=_STAGE)
    cap = _int("max_pagination_pages") if max_pages is None else max_pages
    for m in _one("trs_pager_call").finditer(script_text):
        if script_text[max(0, m.start() - 12) : m.start()].rstrip().endswith("function"):
            continue  # the definition: function createPageHTML(_nPageCount, ...)
        call = _trs_call([a.strip() for a in m.group(1).split(",")], script_text, m.start())
        if call is None:
            continue
        count, name, ext = call
        names = [f"{name}.{ext}"] + [f"{name}_{i}.{ext}" for i in range(1, min(count, cap))]
        urls = [u for u in (_absolute(page_url, n) for n in names) if u is not None]
        return urls, count
    return [], None


def _page_count_text(text: str) -> int | None:
    for m in _any("page_count_text").finditer(text):
        g = _groups(m)
        if g:
            return int(g[0])
    return None


_DIGITS = re.compile(r"\d+")


def _template(url: str) -> tuple[str, int] | None:
    """(URL with its last number replaced by {}, that number): list_12_3.html → (list_12_{}.html, 3)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    head = f"{parts.scheme}://{parts.netloc}"
    rest = url[len(head) :]
    hits = list(_DIGITS.finditer(rest))
    if not hits:
        return None
    last = hits[-1]
    if len(last.group(0)) > 6:
        return None  # an id, not a page number
    return head + rest[: last.start()] + "\x00" + rest[last.end() :], int(last.group(0))


@dataclass
class _Pager:
    urls: list[str]
    page_count: int | None
    warnings: list[str]


def _pager_anchors(
    anchors: list[_Anchor], page_url: str, hints: ListHints | None
) -> list[tuple[_Anchor, str]]:
    """Anchors of the pager, with their bracket-free text."""
    strong = _any("pager_strong", re.I)
    weak = _any("pager_weak", re.I)
    strip = _one("pager_text_strip")
    rels = _words("pager_rel")
    listed = re.compile(hints.list_url_pattern) if hints and hints.list_url_pattern else None
    host = _host(page_url)
    zones: set[Any] = set()
    strong_found: list[tuple[_Anchor, str]] = []
    weak_found: list[tuple[_Anchor, str]] = []
    for a in anchors:
        if a.doc:
            continue
        text = strip.sub("", a.raw)[:20]
        rel = set((a.el.get("rel") or "").lower().split())
        if listed is not None and listed.search(a.url):
            strong_found.append((a, text))
            continue
        if a.navzone or _host(a.url) != host:
            continue
        if strong.match(text) or rel & rels:
            strong_found.append((a, text))
            el = a.el
            for _ in range(2):  # the pager block: the parent and grandparent of a 下一页
                el = el.getparent()
                if el is None:
                    break
                zones.add(el)
        elif weak.match(text):
            weak_found.append((a, text))
    out = list(strong_found)
    for a, text in weak_found:
        near = a.pagerzone
        el = a.el
        for _ in range(3):
            el = el.getparent()
            if el is None or near:
                break
            near = el in zones
        if near:
            out.append((a, text))
    return sorted(out, key=lambda p: p[0].order)


def _paginate(root: Any, anchors: list[_Anchor], base: str, page_url: str, hints: ListHints | None) -> _Pager:
    cap = _int("max_pagination_pages")
    warnings: list[str] = []
    keyed: dict[str, float] = {}

    def add(url: str, key: float) -> None:
        if url not in keyed or key < keyed[url]:
            keyed[url] = key

    scripts = "\n;\n".join(s.text for s in root.iter("script") if s.text)
    trs_urls, count = trs_pagination(scripts, base, max_pages=cap)
    for i, page in enumerate(trs_urls):
        add(page, i)
    if count is not None and count > cap:
        warnings.append(f"createPageHTML claims {count} pages; pagination capped at {cap}")
    if count is None:
        count = _page_count_text(_visible_text(root))

    found = _pager_anchors(anchors, page_url, hints)
    for link in root.iter("link"):  # <link rel="next" href="...">
        rel = set((link.get("rel") or "").lower().split())
        href = _absolute(base, link.get("href"))
        if href is not None and rel & _words("pager_rel"):
            add(href, 1e9 + len(keyed))
    first = _any("pager_first", re.I)
    digits = re.compile(r"\d{1,5}")
    templates: dict[str, set[int]] = {}
    offsets: list[int] = []
    for a, text in found:
        t = _template(a.url)
        if t is not None:
            templates.setdefault(t[0], set()).add(t[1])
            if digits.fullmatch(text):
                offsets.append(t[1] - int(text))
    tpl, numbers = max(templates.items(), key=lambda kv: len(kv[1])) if templates else ("", set())
    own = _template(page_url)
    if own is not None and own[0] == tpl:
        numbers = numbers | {own[1]}
    if len(numbers) < 2 and count is None:
        tpl, numbers = "", set()  # one number is no page numbering (archive-2023.html)
    for a, text in found:
        t = _template(a.url)
        if first.match(text) or "first" in (a.el.get("rel") or "").lower():
            add(a.url, -1)
        elif t is not None and t[0] == tpl:
            add(a.url, t[1])
        else:
            add(a.url, 1e9 + a.order)
    if tpl:
        lo, hi = _number_range(numbers, count, offsets)
        if hi - lo + 1 > cap:
            if not warnings:  # createPageHTML's cap was not reported already
                warnings.append(f"list claims {hi - lo + 1} numbered pages; pagination capped at {cap}")
            hi = lo + cap - 1
        for n in sorted(set(range(lo, hi + 1)) | {n for n in numbers if n <= hi}):
            numbered = _absolute(page_url, tpl.replace("\x00", str(n)))
            if numbered is not None:
                add(numbered, n)
    urls = [u for u, _ in sorted(keyed.items(), key=lambda kv: kv[1]) if not _same_page(u, page_url)]
    urls = [u for u in urls if not is_document_url(u)]
    if len(urls) > cap:
        warnings.append(f"{len(urls)} pagination links; only the first {cap} kept")
        urls = urls[:cap]
    return _Pager(urls, count, warnings)


def _number_range(numbers: set[int], count: int | None, offsets: list[int]) -> tuple[int, int]:
    """First and last page number of a numbered URL pattern.

    With the page count known, the numbering base decides: TRS-style lists number the second
    page ``_1`` (an anchor "2" links to ``index_1``, the last page is ``_{count-1}``), others
    ``_2``. Without it, the gap between the lowest and highest linked number is filled.
    """
    base: int | None = None  # 0: the second page is _1; 1: the second page is _2
    if offsets:
        common = max(set(offsets), key=offsets.count)
        base = {-1: 0, 0: 1}.get(common)
    if base is None and count is not None:
        base = {count - 1: 0, count: 1}.get(max(numbers))
    if count is not None and base is not None:
        lo = 1 if base == 0 or 1 in numbers else 2
        hi = count - 1 if base == 0 else count
        if hi >= lo:
            return lo, hi
    return min(numbers), max(numbers)


# ---------------------------------------------------------------------------- list page


def _base_url(root: Any, url: str) -> str:
    base = root.find("head/base")
    if base is not None:
        href = _absolute(url, base.get("href"))
        if href is not None:
            return href
    return url


def parse_list_page(page: DecodedPage, hints: ListHints | None = None) -> ListPage:
    """The notice (and document) links of a list page, its other pages and its page count.

    Raises DiscoveryError for a page URL or a ``hints.link_xpath`` that cannot be used, or
    for markup lxml cannot read; a page without a list gives no links and a warning.
    """
    url = page.url
    if _absolute(url, url) is None:
        raise DiscoveryError(f"invalid page URL: {url!r}", url=url, stage=_STAGE)
    if not page.text.strip():
        return ListPage(url=url, warnings=["empty page: no list"])
    root = _parse_html(page.text, url)
    if root is None:
        return ListPage(url=url, warnings=["empty page: no list"])
    base = _base_url(root, url)
    warnings: list[str] = []
    expanded = _expand_datastores(root, base)
    if expanded:
        log.debug("%s: %d Hanweb datastore(s) read", url, expanded)
    anchors = _collect_anchors(root, base, _regions(root))
    pager = _paginate(root, anchors, base, url, hints)
    warnings.extend(pager.warnings)
    pages = set(pager.urls)
    candidates = [a for a in anchors if a.url not in pages]
    if hints is not None and (hints.link_xpath or hints.notice_url_pattern):
        picked = _select_hinted(root, candidates, hints, url, warnings)
    else:
        picked = _select_heuristic(candidates, warnings)
    links = _to_links(picked, url, pages, warnings)
    if not links and picked:
        warnings.append("no notice list found on the page")
    return ListPage(
        url=url, links=links, pagination=pager.urls, page_count=pager.page_count, warnings=warnings
    )


# ---------------------------------------------------------------------------- sitemaps


def _gunzip(body: bytes, max_bytes: int, url: str) -> bytes:
    """Inflate gzip members, never producing more than ``max_bytes`` (a gzip bomb stops at the cap)."""
    out = bytearray()
    data = body
    while data:
        d = zlib.decompressobj(wbits=31)
        pending = data
        try:
            while True:
                chunk = d.decompress(pending, max_bytes + 1 - len(out))
                out += chunk
                if len(out) > max_bytes:
                    raise DiscoveryError(
                        f"gzip sitemap inflates beyond {max_bytes} bytes; refused", url=url, stage=_STAGE
                    )
                pending = d.unconsumed_tail
                if d.eof:
                    break
                if not pending and not chunk:
                    raise DiscoveryError("gzip sitemap is truncated", url=url, stage=_STAGE)
        except zlib.error as exc:
            raise DiscoveryError(f"gzip sitemap is corrupt: {exc}", url=url, stage=_STAGE) from exc
        data = d.unused_data
        if not data.strip(b"\x00"):
            break
    return bytes(out)


def _lastmod(text: str | None) -> dt.date | None:
    m = _one("lastmod_date").match(text or "")
    return _date(m.group(1), m.group(2), m.group(3)) if m else None


def _local(el: Any) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(el: Any, name: str) -> str | None:
    for child in el:
        if _local(child) == name:
            return "".join(t for t in child.itertext() if isinstance(t, str)).strip()
    return None


def _xml_sitemap(body: bytes, url: str) -> Sitemap:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except (etree.LxmlError, ValueError) as exc:
        raise DiscoveryError(f"sitemap is not well-formed XML: {exc}", url=url, stage=_STAGE) from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[union-attr]  # stubs lack it
        # A sitemap never needs entities; declaring them is a billion-laughs or XXE attempt.
        raise DiscoveryError("sitemap declares XML entities; refused", url=url, stage=_STAGE)
    kind = _local(root)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap: root element <{kind}>", url=url, stage=_STAGE)
    entries: list[SitemapEntry] = []
    children: list[str] = []
    seen: set[str] = set()
    for node in root:
        name = _local(node)
        if name not in ("url", "sitemap"):
            continue
        loc = _absolute(url, _child_text(node, "loc"))
        if loc is None or loc in seen:
            continue
        seen.add(loc)
        if kind == "sitemapindex":
            children.append(loc)
        else:
            entries.append(SitemapEntry(loc=loc, lastmod=_lastmod(_child_text(node, "lastmod"))))
    return Sitemap(url=url, urls=entries, sitemaps=children)


def _text_sitemap(body: bytes, url: str) -> Sitemap:
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    lines = 0
    for line in body.decode("utf-8-sig", "replace").splitlines():
        line = line.strip()
        if not line:
            continue
        lines += 1
        loc = _absolute(url, line) if line.lower().startswith(("http://", "https://")) else None
        if loc is not None and loc not in seen:
            seen.add(loc)
            entries.append(SitemapEntry(loc=loc))
    if lines and not entries:
        raise DiscoveryError("not a sitemap: neither XML nor lines of URLs", url=url, stage=_STAGE)
    return Sitemap(url=url, urls=entries)


def parse_sitemap(body: bytes, url: str, *, max_bytes: int = 50 * 1024 * 1024) -> Sitemap:
    """The URLs of a sitemap: XML ``<urlset>`` / ``<sitemapindex>`` (any namespace), gzip, or text.

    Entities are never expanded nor external resources fetched; a document declaring
    entities, invalid XML, a body (or inflated body) over ``max_bytes`` and a body that is
    no sitemap raise DiscoveryError.
    """
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body, max_bytes, url)
    elif len(body) > max_bytes:
        raise DiscoveryError(f"sitemap larger than {max_bytes} bytes; refused", url=url, stage=_STAGE)
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise DiscoveryError("empty sitemap", url=url, stage=_STAGE)
    if head.startswith(b"<") or body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _xml_sitemap(body.lstrip(b" \t\r\n"), url)
    return _text_sitemap(body, url)

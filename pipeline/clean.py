"""Stage clean: DecodedPage → CleanDocument. Pure, no I/O.

Parses the HTML once with lxml, removes what a reader never sees (scripts, styles,
comments, forms, hidden elements — the hidden ones are kept aside as ``HiddenBlock`` since
injected spam hides there: inline or <style> rules that hide, off-screen or zero-size boxes,
0px text, 1px marquees, text in the colour of the background the page declares), cuts the
page into text lines, and finds the main text by
scoring lines — sentence punctuation and length count for a block, link text, furniture
lines (当前位置, 分享到, 打印本页, footers) and class names like ``nav``/``footer`` count
against it — and choosing the element whose subtree scores highest (the deepest one when
near-equal). Pages that render the article from an inline JS/JSON variable are read from
that variable. All traversal is iterative, so 10,000 levels of nesting cannot overflow
the stack.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from pipeline.errors import DecodeError
from pipeline.patterns import load
from schemas.stages import CleanDocument, DecodedPage, HiddenBlock, Link, TextLine
from schemas.urls import web_url

log = logging.getLogger(__name__)

BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
EMPHASIS_TAGS = frozenset(["b", "strong", "h1", "h2", "h3", "h4", "h5", "h6"])
_WS = re.compile(r"\s+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DATE_NEAR = re.compile(r"(?:19|20)\d{2}[-/.年]\d{1,2}")
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")


def collapse(text: str) -> str:
    """Runs of whitespace (incl. U+3000 and NBSP) become one space; ends trimmed."""
    return _WS.sub(" ", text).strip()


@dataclass
class _Line:
    owner: Any
    parts: list[str] = field(default_factory=list)
    link_chars: int = 0
    emph_chars: int = 0
    neg: bool = False
    align: str | None = None
    furniture: bool = False  # a boilerplate or metadata label：value line

    final: str | None = None

    def text(self) -> str:
        if self.final is None:
            self.final = collapse("".join(self.parts))
        return self.final


def _cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def text_of(el: Any) -> str:
    """All text inside an element (not its tail), fast: libxml2 serialises it."""
    return str(etree.tostring(el, method="text", encoding="unicode", with_tail=False))


def drop_element(el: Any) -> None:
    """Remove an element and its content, keeping the text that follows it (its tail)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


# Characters XML/libxml2 cannot hold (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone
# surrogates): lxml hands them back in text but refuses them when text is written back.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# A start tag of 20,000+ characters: libxml2 parses many distinct attribute names in
# quadratic time (130k attributes: 31 s); such a tag keeps only its name.
_HUGE_TAG = re.compile(r"<([A-Za-z][\w:-]{0,30})[^<>]{20000,}>")


def xml_safe(text: str) -> str:
    """``text`` without the characters an XML tree cannot hold."""
    return _XML_UNSAFE.sub("", text)


def safe_urljoin(base: str, href: str) -> str | None:
    """urljoin as a browser resolves links, or None for a URL that cannot be parsed
    (``http://[::1``, port 99999) or that parsers could read as different hosts (user info,
    ``%5C@``: schemas/urls.py). In an http(s) page ``\\`` is ``/`` before resolution, so
    ``\\\\evil.example/x`` is the host evil.example, as a browser and requests read it."""
    href = href.strip()
    web_base = base[:6].lower().startswith(("http:", "https:"))
    scheme = href.split(":", 1)[0].lower() if ":" in href.split("/", 1)[0] else ""
    if web_base and scheme in ("", "http", "https"):
        href = href.replace("\\", "/")
    try:
        joined = urljoin(base, href)
        _ = urlsplit(joined).port  # raises on an out-of-range or non-numeric port
    except ValueError:
        return None
    if joined[:6].lower().startswith(("http:", "https:")):
        return web_url(joined)
    return joined


def _parse(text: str, url: str) -> Any:
    # Plain etree elements, not lxml.html's: no per-element class lookup (measured ~10% faster).
    parser = etree.HTMLParser(  # type: ignore[call-arg]  # lxml-stubs lack default_doctype
        encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True, default_doctype=False
    )
    text = _HUGE_TAG.sub(r"<\1>", xml_safe(text))
    try:
        root = etree.fromstring(text.encode("utf-8", "replace"), parser=parser, base_url=url)
    except (etree.ParserError, ValueError) as exc:
        raise DecodeError(f"not parseable as HTML: {exc}", url=url, stage="clean") from exc
    if root is None:
        raise DecodeError("not parseable as HTML: empty document", url=url, stage="clean")
    return root


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
# The last compound of a selector, when it names one class or id (optionally with a tag):
# ``.ft-gg``, ``div.ft-gg``, ``#links`` (also at the end of ``.footer .ft-gg``).
_CSS_KEY = re.compile(r"([a-z][\w-]*)?([.#][\w-]+)", re.I)
_CSS_COLOR = re.compile(r"(?<![-\w])color\s*:\s*([^;]+)", re.I)
_CSS_BG_COLOR = re.compile(r"background-color\s*:\s*([^;]+)", re.I)
_CSS_BG = re.compile(r"(?<![-\w])background\s*:\s*([^;]+)", re.I)
_CSS_BG_IMAGE = re.compile(r"background-image\s*:\s*url", re.I)
_HEX = re.compile(r"#([0-9a-f]{6}|[0-9a-f]{3})\b", re.I)
_RGB = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([\d.]+)\s*)?\)", re.I)
_PX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$", re.I)
_UNKNOWN = "unknown"  # a background image: its colour cannot be known
Rgb = tuple[int, int, int]


@dataclass
class _PageCss:
    """What the page's own <style> blocks say about hiding and colours (simple selectors only).

    Keys are ``.class``, ``#id`` or a bare tag (``body``/``html``). Rules inside @media blocks
    are skipped: print-only and small-screen hiding is not hiding from a reader.
    """

    hidden: dict[str, list[str]] = field(default_factory=dict)  # key -> the selectors as written
    sized: set[str] = field(default_factory=set)  # keys whose rule sets a visible font-size
    color: dict[str, str] = field(default_factory=dict)
    background: dict[str, str] = field(default_factory=dict)
    backgrounds: dict[Any, Rgb | None] = field(default_factory=dict)  # element -> background it sits on


def _css_rules(css: str) -> list[tuple[str, str]]:
    """(selector list, declarations) of the top-level rules of a stylesheet."""
    css = _CSS_COMMENT.sub("", css)
    out: list[tuple[str, str]] = []
    i, n = 0, len(css)
    while i < n:
        j = css.find("{", i)
        if j < 0:
            break
        sel = css[i:j]
        if ";" in sel:  # @import/@charset statements before the rule
            sel = sel.rsplit(";", 1)[1]
        sel = sel.strip()
        if sel.startswith("@"):  # @media/@supports/@keyframes: skip the whole nested block
            depth, k = 1, j + 1
            while k < n and depth:
                c = css[k]
                depth += (c == "{") - (c == "}")
                k += 1
            i = k
            continue
        k = css.find("}", j)
        k = n if k < 0 else k
        out.append((sel, css[j + 1 : k]))
        i = k + 1
    return out


def _present_keys(root: Any) -> set[str]:
    """The ``.class`` and ``#id`` keys that elements of the page carry (and body/html)."""
    keys = {"body", "html"}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        cls = el.get("class")
        if cls:
            keys.update("." + c for c in cls.split())
        ident = el.get("id")
        if ident:
            keys.add("#" + ident)
    return keys


def _page_css(root: Any) -> _PageCss:
    hidden_decl = _hidden_style_regex()
    page = _PageCss()
    present: set[str] | None = None
    for style in root.iter("style"):
        media = (style.get("media") or "").lower()
        if media and not any(m in media for m in ("screen", "all")):
            continue  # a print stylesheet hides the navigation from paper, not from a reader
        if present is None:
            present = _present_keys(root)
        for selectors, decl in _css_rules(style.text or ""):
            # The selectors first (string work): most rules of a site-wide stylesheet name classes
            # no element of this page carries, and their declarations need no regex at all.
            keyed: list[tuple[str, str]] = []
            for sel in selectors.split(","):
                sel = sel.strip()
                if not sel or any(ch in sel for ch in ":[*+~"):
                    continue  # pseudo-classes (:hover menus), attribute selectors, siblings
                last = re.split(r"[\s>]+", sel)[-1]
                m = _CSS_KEY.fullmatch(last)
                key = m.group(2) if m else (last.lower() if sel.lower() in ("body", "html") else None)
                if key is not None and key in present:
                    keyed.append((sel, key))
            if not keyed:
                continue
            hides = hidden_decl.search(decl) is not None
            color = _CSS_COLOR.search(decl)
            bg = _declared_background(decl)
            sized = _VISIBLE_FONT_SIZE.search(decl) is not None
            if not (hides or color or bg or sized):
                continue
            for sel, key in keyed:
                if hides:
                    page.hidden.setdefault(key, []).append(sel)
                if sized:
                    page.sized.add(key)
                if color and " " not in sel and ">" not in sel:
                    page.color[key] = color.group(1)
                if bg and " " not in sel and ">" not in sel:
                    page.background[key] = bg
    return page


@cache
def _hidden_style_regex() -> re.Pattern[str]:
    # clean.toml's declarations plus the finer ones kept with the integrity vocabulary.
    extra = load("integrity")["hidden"]["style"]
    return re.compile("|".join(f"(?:{p})" for p in [*load("clean")["hidden_style"], *extra]), re.I)


def _parse_color(value: str) -> Rgb | None:
    value = value.strip().lower()
    m = _HEX.search(value)
    if m:
        h = m.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    m = _RGB.search(value)
    if m:
        if m.group(4) is not None and float(m.group(4)) == 0:
            return None
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    named: dict[str, list[int]] = load("integrity")["hidden"]["named_colors"]
    for word in re.findall(r"[a-z]+", value):
        if word in named:
            r, g, b = named[word]
            return r, g, b
    return None


def _declared_background(decl: str) -> str | None:
    """The background colour a declaration block sets, ``_UNKNOWN`` for an image, else None."""
    m = _CSS_BG_COLOR.search(decl)
    if m and _parse_color(m.group(1)):
        return m.group(1).strip()
    m = _CSS_BG.search(decl)
    if m:
        if _parse_color(m.group(1)):
            return m.group(1).strip()
        if "url" in m.group(1).lower():
            return _UNKNOWN
    if _CSS_BG_IMAGE.search(decl):
        return _UNKNOWN
    return None


def _css_keys(el: Any) -> list[str]:
    keys = [f".{c}" for c in (el.get("class") or "").split()]
    if el.get("id"):
        keys.append(f"#{el.get('id')}")
    if isinstance(el.tag, str) and el.tag in ("body", "html"):
        keys.append(el.tag)
    return keys


def _own_color(el: Any, page: _PageCss) -> str | None:
    m = _CSS_COLOR.search(el.get("style") or "")
    if m:
        return m.group(1)
    if el.tag == "font" and el.get("color"):
        return str(el.get("color"))
    for key in _css_keys(el):
        if key in page.color:
            return page.color[key]
    return None


def _own_background(el: Any, page: _PageCss) -> str | None:
    bg = _declared_background(el.get("style") or "")
    if bg:
        return bg
    if el.get("bgcolor"):
        return str(el.get("bgcolor"))
    if el.get("background"):
        return _UNKNOWN
    for key in _css_keys(el):
        if key in page.background:
            return page.background[key]
    return None


def _near(a: Rgb, b: Rgb) -> bool:
    tol = int(load("integrity")["hidden"]["color_tolerance"])
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tol


def _background(el: Any, page: _PageCss) -> Rgb | None:
    """The background colour an element sits on, when an ancestor (or itself) declares it.

    Remembered per element, so a page of 3,000 nested coloured blocks stays linear.
    """
    path: list[Any] = []
    node = el
    bg: Rgb | None = None
    while node is not None and isinstance(node.tag, str):
        if node in page.backgrounds:
            bg = page.backgrounds[node]
            break
        path.append(node)
        declared = _own_background(node, page)
        if declared is not None:
            bg = None if declared == _UNKNOWN else _parse_color(declared)
            break
        node = node.getparent()
    for n in path:
        page.backgrounds[n] = bg
    return bg


def _same_color_reason(el: Any, page: _PageCss) -> str | None:
    """Text in the colour of the background it sits on, when the page itself says both."""
    fg_decl = _own_color(el, page)
    if fg_decl is None:
        return None
    fg = _parse_color(fg_decl)
    if fg is None:
        return "style color:transparent" if "transparent" in fg_decl.lower() else None
    bg = _background(el, page)
    if bg is None or not _near(fg, bg):
        return None
    for seen, d in enumerate(el.iterdescendants(), 1):  # a child in a visible colour shows
        if seen > 300:
            break
        if isinstance(d.tag, str):
            c = _own_color(d, page)
            rgb = _parse_color(c) if c else None
            if rgb is not None and not _near(rgb, bg):
                return None
    hex_fg = "#{:02x}{:02x}{:02x}".format(*fg)
    hex_bg = "#{:02x}{:02x}{:02x}".format(*bg)
    return f"color {hex_fg} on background {hex_bg}"


def _marquee_reason(el: Any) -> str | None:
    cfg = load("integrity")["hidden"]
    style = el.get("style") or ""
    for dim in ("width", "height"):
        value = el.get(dim)
        m = re.search(rf"(?<![-\w]){dim}\s*:\s*([\d.]+)\s*px", style, re.I)
        raw = m.group(1) if m else value
        px = _PX.match(raw) if raw else None
        if px and float(px.group(1)) <= float(cfg["marquee_max_px"]):
            return f"marquee {dim} {px.group(1)}"
    amount = _PX.match(el.get("scrollamount") or "")
    if amount and float(amount.group(1)) >= float(cfg["marquee_min_scrollamount"]):
        return f"marquee scrollamount {amount.group(1)}"
    return None


_VISIBLE_FONT_SIZE = re.compile(r"font-size\s*:\s*(?!0(?:\.0+)?(?:px|pt|em|rem)?\s*(?:;|$|!))[\d.]+", re.I)


def _resized_inside(el: Any, page: _PageCss) -> bool:
    """A descendant sets a visible font-size again: ``font-size:0`` on the parent only removes
    the gaps between inline blocks (a common layout trick), the text shows."""
    for seen, d in enumerate(el.iterdescendants(), 1):
        if seen > 300:
            break
        if not isinstance(d.tag, str):
            continue
        if _VISIBLE_FONT_SIZE.search(d.get("style") or "") or any(k in page.sized for k in _css_keys(d)):
            return True
        if d.tag == "font" and d.get("size"):
            return True
    return False


_SHOWN_INLINE = re.compile(r"(?<![-\w])display\s*:\s*(?!none)[a-z-]+", re.I)
_COMPOUND = re.compile(r"([a-z][\w-]*)?((?:[.#][\w-]+)*)", re.I)


def _matches(el: Any, compound: str) -> bool:
    m = _COMPOUND.fullmatch(compound)
    if not m:
        return True  # a form we do not read: as before, the rule applies
    tag, rest = m.group(1), m.group(2)
    if tag and (not isinstance(el.tag, str) or el.tag.lower() != tag.lower()):
        return False
    classes = set((el.get("class") or "").split())
    for part in re.findall(r"[.#][\w-]+", rest):
        if part[0] == "." and part[1:] not in classes:
            return False
        if part[0] == "#" and el.get("id") != part[1:]:
            return False
    return True


def _in_context(el: Any, selector: str) -> bool:
    """The element stands where a descendant selector points: ``.tab .content{display:none}``
    hides the .content inside a .tab, not every .content of the page (a real page lost its
    article to such a rule)."""
    compounds = [c for c in re.split(r"[\s>]+", selector.strip()) if c][:-1]
    node = el.getparent()
    for compound in reversed(compounds):
        while node is not None and not _matches(node, compound):
            node = node.getparent()
        if node is None:
            return False
        node = node.getparent()
    return True


def _hidden_reason(el: Any, page: _PageCss) -> str | None:
    if el.tag in ("body", "html"):
        return None  # body{display:none} until a script shows it (no flash of unstyled page)
    if el.get("hidden") is not None:
        return "hidden attribute"
    style = el.get("style")
    if style:
        m = _hidden_style_regex().search(style)
        if m and not ("font-size" in m.group(0).lower() and _resized_inside(el, page)):
            return f"style {collapse(m.group(0))}"
    if page.hidden and not (style and _SHOWN_INLINE.search(style)):  # inline display:block wins
        for key in _css_keys(el):
            for sel in page.hidden.get(key, ()):
                if _in_context(el, sel):
                    return f"stylesheet hides {sel}"
    if el.tag == "marquee":
        reason = _marquee_reason(el)
        if reason:
            return reason
    if style or el.tag == "font" or page.color:
        return _same_color_reason(el, page)
    return None


def _links(el: Any, base: str) -> list[Link]:
    out = []
    for a in el.iter("a"):
        href = (a.get("href") or "").strip()
        if href and not href.lower().startswith(("javascript:", "#", "mailto:")):
            joined = safe_urljoin(base, href)
            if joined is not None:
                out.append(Link(text=collapse(text_of(a)), href=joined))
    return out


def _strip_tree(root: Any, base: str) -> tuple[list[HiddenBlock], list[str]]:
    """Remove invisible and non-text elements in place; return hidden blocks and script texts."""
    cfg = load("clean")
    drop = frozenset(cfg["drop_tags"])
    form_max = int(cfg["form_max_chars"])
    page_css = _page_css(root)
    hidden: list[HiddenBlock] = []
    scripts: list[str] = []
    doomed: list[Any] = []
    body = root.find("body")
    for script in root.iter("script"):
        if script.text and script.text.strip():
            scripts.append(script.text)
        elif script.get("src"):
            scripts.append(f"src={safe_urljoin(base, script.get('src')) or script.get('src')}")
    stack = [body] if body is not None else []
    while stack:
        el = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag:  # comments, processing instructions, entities
            doomed.append(el)
            continue
        if tag in drop:
            doomed.append(el)
            continue
        reason = _hidden_reason(el, page_css)
        if reason:
            text = collapse(text_of(el))
            links = _links(el, base)
            if text or links:
                hidden.append(HiddenBlock(reason=reason, text=text[:5000], links=links[:200]))
            doomed.append(el)
            continue
        if tag == "form" and len(collapse(text_of(el))) < form_max:
            doomed.append(el)
            continue
        stack.extend(reversed(el))
    for el in doomed:
        drop_element(el)
    return hidden, scripts


def _is_layout_table(table: Any) -> bool:
    """Tables that lay out a page (old CMS) rather than hold data in the article."""
    for seen, el in enumerate(table.iterdescendants(), 1):
        if seen > 3000 or el.tag == "table":
            return True
        if el.tag in ("td", "th") and len(text_of(el)) > 300:
            return True
    return False


@lru_cache(maxsize=4096)  # class/id values repeat on every page of a site
def _neg_value(value: str, neg_tokens: frozenset[str]) -> bool:
    return any(tok in neg_tokens for tok in _TOKEN_SPLIT.split(value.lower()))


def _neg_hint(el: Any, neg_tokens: frozenset[str]) -> bool:
    for attr in ("class", "id"):
        value = el.get(attr)
        if value and _neg_value(value, neg_tokens):
            return True
    return False


_SENTENCE_END = re.compile(r"[。！？]")


def _is_wrapper(el: Any, page_chars: int) -> bool:
    """A class such as ``menu_con`` or ``print-class content-wrap`` on a block that wraps the
    article too: it holds a large share of the page and several written sentences. A real
    menu, footer or share bar holds neither, so its hint counts against it."""
    text = text_of(el)
    return len(text) >= 0.3 * page_chars and len(_SENTENCE_END.findall(text)) >= 3


def _align(el: Any) -> str | None:
    style = el.get("style")
    al = el.get("align")
    if not style and not al:
        return None
    style = (style or "").lower()
    al = (al or "").lower()
    for a in ("center", "right"):
        if a == al or f"text-align: {a}" in style or f"text-align:{a}" in style:
            return a
    return None


def _walk_lines(root: Any) -> list[_Line]:
    """Cut the subtree into lines, each owned by the block element that holds it."""
    neg_tokens = frozenset(load("clean")["negative_tokens"])
    page_chars = len(text_of(root))
    lines: list[_Line] = []
    cur = _Line(owner=root)
    owners: list[Any] = [root]
    a_depth = 0
    em_depth = 0
    neg_depth = 0
    data_tables: list[bool] = []  # stack: is the enclosing table a data table?
    neg_stack: list[bool] = []

    def flush(owner: Any) -> None:
        nonlocal cur
        if not cur.parts:  # nothing collected: the same empty line under its new owner
            cur.owner = owner
            cur.align = None
            return
        if cur.text():
            cur.neg = cur.neg or neg_depth > 0
            lines.append(cur)
        cur = _Line(owner=owner)

    def add(text: str | None) -> None:
        if not text:
            return
        cur.parts.append(text)
        n = len(text.strip())
        if a_depth:
            cur.link_chars += n
        if em_depth:
            cur.emph_chars += n
        if neg_depth:
            cur.neg = True

    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        in_data_table = bool(data_tables) and data_tables[-1]
        if event == "start":
            neg = _neg_hint(el, neg_tokens) and not _is_wrapper(el, page_chars)
            neg_stack.append(neg)
            if neg:
                neg_depth += 1
            if tag == "table":
                data_tables.append(not _is_layout_table(el))
            if tag == "br":
                if in_data_table:
                    add(" ")
                else:
                    flush(owners[-1])
            elif tag in BLOCK_TAGS:
                if in_data_table and tag not in ("tr", "table"):
                    if cur.parts:
                        add(" ")  # cells of a row: a space, as a browser's text gives them
                else:
                    flush(el)
                    owners.append(el)
                    cur.align = _align(el) or (cur.align if tag not in ("tr", "table") else None)
            if tag == "a":
                a_depth += 1
            if tag in EMPHASIS_TAGS:
                em_depth += 1
            add(el.text)
        else:
            if tag == "a":
                a_depth -= 1
            if tag in EMPHASIS_TAGS:
                em_depth -= 1
            if tag == "table":
                data_tables.pop()
            if tag in BLOCK_TAGS and not (in_data_table and tag not in ("tr", "table")) and tag != "br":
                if owners and owners[-1] is el:
                    owners.pop()
                flush(owners[-1] if owners else root)
            elif tag == "table":
                pass
            if neg_stack.pop():
                neg_depth -= 1
            if el is not root:
                add(el.tail)
    flush(root)
    return lines


@cache
def _furniture_regexes() -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """(patterns anchored at the line start, the others): tried as one alternation, the anchored
    ones cost a full attempt at every position of a line; apart, one attempt at its start."""
    cfg = load("clean")
    patterns = [*cfg["boilerplate_line"], *cfg["metadata_line"]]
    anchored = [p for p in patterns if p.startswith("^")]
    floating = [p for p in patterns if not p.startswith("^")]
    return (
        re.compile("|".join(f"(?:{p})" for p in anchored)) if anchored else None,
        re.compile("|".join(f"(?:{p})" for p in floating)) if floating else None,
    )


def is_furniture_line(text: str) -> bool:
    """A boilerplate or metadata ``label：value`` line (patterns/clean.toml)."""
    anchored, floating = _furniture_regexes()
    return bool(
        (anchored is not None and anchored.match(text)) or (floating is not None and floating.search(text))
    )


@cache
def _document_line() -> re.Pattern[str]:
    docs = load("documents")
    exts = "|".join(docs["document_extensions"])
    return re.compile(rf"(?:{docs['attachment_text']})|\.(?:{exts})\s*$", re.I)


def _short_notice(lines: list[_Line], texts: list[str], titles: list[str]) -> Any | None:
    """A notice too short for the density score (a two-sentence 公示 with its 附件, a line and an
    attachment): the lines right after the visible title, up to the next furniture, when they
    hold a written sentence or an attachment. The block that holds them all is the article."""
    cfg = load("clean")
    punct = cfg["prose_punctuation"]
    doc_line = _document_line()
    start = next(
        (
            i
            for i, (ln, t) in enumerate(zip(lines, texts, strict=True))
            if not ln.neg and _is_title_line(t, titles)
        ),
        None,
    )
    if start is None:
        return None
    picked: list[_Line] = []
    for line, text in zip(lines[start + 1 :], texts[start + 1 :], strict=True):
        attachment = bool(doc_line.search(text))
        n = len(text.replace(" ", "")) or 1
        if line.furniture and not picked:
            continue  # the info line under the title
        if line.neg or line.furniture or (line.link_chars / n >= 0.5 and not attachment):
            break
        picked.append(line)
        if len(picked) > 12:
            return None  # a long run the density score did not take is no short notice
    if not any(doc_line.search(ln.text()) or any(c in ln.text() for c in punct) for ln in picked):
        return None
    path = [picked[0].owner, *picked[0].owner.iterancestors()]  # candidates, deepest first
    for line in picked[1:]:
        mine = {line.owner, *line.owner.iterancestors()}
        path = [el for el in path if el in mine]
    return path[0] if path else None


def _line_score(line: _Line, text: str, cfg: dict[str, Any]) -> float:
    n = len(text.replace(" ", ""))
    if n == 0:
        return 0.0
    if line.link_chars / n >= 0.5:
        return -min(5.0, 1.0 + n / 15)
    if line.furniture:
        return -3.0
    punct = sum(map(text.count, cfg["prose_punctuation"]))
    score = punct + n / 40
    if punct == 0 and n < 20:
        score = -0.2
    if line.neg:
        score = min(score, 0.0) - 1.0
    return score


def _choose_content(lines: list[_Line], texts: list[str], root: Any) -> tuple[Any, float]:
    cfg = load("clean")
    own: dict[Any, float] = {}
    seen: set[str] = set()
    min_dup = int(cfg["duplicate_line_min_chars"])
    for line, text in zip(lines, texts, strict=True):
        score = _line_score(line, text, cfg)
        key = text.replace(" ", "")
        if len(key) >= min_dup:
            if key in seen:
                # A second copy of a line (the mobile copy of the article, a repeated summary)
                # adds nothing: else the element holding both copies outscores either copy.
                score = min(score, 0.0)
            seen.add(key)
        own[line.owner] = own.get(line.owner, 0.0) + score
    # Bottom-up sums in one pass: reversed preorder visits children before parents.
    total: dict[Any, float] = {}
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for el in reversed(elements):
        t = own.get(el, 0.0) + total.get(el, 0.0)
        total[el] = t
        parent = el.getparent()
        if parent is not None:
            total[parent] = total.get(parent, 0.0) + t
    if not total:
        return root, 0.0
    best_score = max(total.values())
    if best_score < float(cfg["min_content_score"]):
        return root, 0.0
    best = _deepest(root, total, best_score)
    # A page that carries the article twice (a PC copy and a mobile copy shown by @media
    # rules): the element holding both outscores either copy. When its two strongest children
    # hold the same text, the article is the stronger copy (the first when they tie).
    for _ in range(8):
        kids = sorted(
            (k for k in best if isinstance(k.tag, str) and total.get(k, 0.0) > 0), key=lambda k: -total[k]
        )
        if len(kids) < 2 or total[kids[1]] < 0.25 * total[best] or not _same_text(kids[0], kids[1]):
            break
        best = _deepest(kids[0], total, total[kids[0]])
    return best, best_score


def _deepest(top: Any, total: dict[Any, float], score: float) -> Any:
    """The deepest element under ``top`` that keeps (nearly) all of ``score``: wrappers add only furniture."""
    best, best_depth = top, -1
    depth: dict[Any, int] = {}
    for el in top.iter():
        if not isinstance(el.tag, str):
            continue
        parent = el.getparent()
        d = depth.get(parent, -1) + 1 if el is not top else 0
        depth[el] = d
        if total.get(el, 0.0) >= 0.97 * score and d > best_depth:
            best, best_depth = el, d
    return best


_SENTENCE_SPLIT = re.compile(r"[。！？；!?;\n]")


def _sentences(text: str) -> set[str]:
    out = set()
    for part in _SENTENCE_SPLIT.split(text):
        part = _WS.sub("", part)
        if len(part) >= 8 and _CJK.search(part):
            out.add(part)
    return out


def _same_text(a: Any, b: Any) -> bool:
    """The two blocks are copies of one article: at least half the sentences of the one with
    fewer stand word for word in the other (unrelated texts share none; copies edited apart
    by a third party, as forged clones are, still share most)."""
    sa, sb = _sentences(text_of(a)), _sentences(text_of(b))
    small, large = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return len(small) >= 3 and len(small & large) >= 0.5 * len(small)


_JS_STRING = re.compile(r'"((?:[^"\\\n]|\\.){1,200000})"|\'((?:[^\'\\\n]|\\.){1,200000})\'', re.S)
_JS_FIELD = re.compile(
    r'["\']?([A-Za-z_]\w{0,40})["\']?\s*[:=]\s*("(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
)


def _js_unquote(literal: str) -> str:
    body = literal[1:-1]
    if literal[0] == "'":
        body = body.replace("\\'", "'").replace('"', '\\"')
    try:
        value = json.loads(f'"{body}"')
    except ValueError:
        value = body.replace("\\/", "/").replace('\\"', '"')
    return xml_safe(str(value))  # \ud800 or \u0000 escapes must not reach a record


def _script_data(scripts: list[str], max_chars: int) -> tuple[dict[str, str], str | None]:
    """String fields of inline article data, and the longest HTML/text article found there."""
    keys = load("clean")["script_keys"]
    want = {k: name for name, ks in keys.items() for k in ks}
    fields: dict[str, str] = {}
    best: str | None = None
    budget = max_chars
    for script in scripts:
        if script.startswith("src=") or budget <= 0:
            continue
        script = script[:budget]
        budget -= len(script)
        for m in _JS_FIELD.finditer(script):
            name = want.get(m.group(1).lower().replace("_", ""))  # publish_time is publishtime
            if not name:
                continue
            value = _js_unquote(m.group(2))
            if name == "content":
                if len(_CJK.findall(value)) >= 30 and (best is None or len(value) > len(best)):
                    best = value
            elif value.strip() and name not in fields:
                fields[name] = collapse(value)
    return fields, best


def _fragment_lines(html: str) -> tuple[list[_Line], Any]:
    root = _parse(f"<html><body><div>{html}</div></body></html>", "about:blank")
    body = root.find("body")
    _strip_tree(root, "about:blank")
    lines = _walk_lines(body)
    return lines, body


def _to_textline(line: _Line, text: str) -> TextLine:
    tag = line.owner.tag if isinstance(getattr(line.owner, "tag", None), str) else "div"
    n = len(text.replace(" ", "")) or 1
    return TextLine(
        text=text,
        tag=tag,
        link_chars=min(line.link_chars, n),
        emphasis=line.emph_chars >= n * 0.8,
        align=line.align,
    )


def _title_texts(root: Any) -> list[str]:
    out = []
    t = root.find(".//title")
    if t is not None and t.text:
        out.append(collapse(t.text))
    for meta in root.iter("meta"):
        if (meta.get("name") or meta.get("property") or "").lower() in ("articletitle", "og:title", "title"):
            out.append(collapse(meta.get("content") or ""))
    return [s for s in out if s]


@cache
def _metadata_labels() -> frozenset[str]:
    labels = load("metadata")["labels"]
    return frozenset(re.sub(r"\s+", "", lbl) for names in labels.values() for lbl in names)


def _mark_label_rows(lines: list[_Line], texts: list[str]) -> None:
    """A disclosure table in columns (索取号 发布时间 发布机构 文件编号 | its values below): the
    header row is a line of three or more metadata labels, and the row after it is its values.
    Both are metadata, not article text."""
    labels = _metadata_labels()
    for i, text in enumerate(texts):
        cells = text.split()
        if len(cells) >= 3 and sum(c.rstrip("：:") in labels for c in cells) >= len(cells) - 1:
            lines[i].furniture = True
            table = next(lines[i].owner.iterancestors("table"), None)
            if (
                i + 1 < len(lines)
                and table is not None
                and table in lines[i + 1].owner.iterancestors("table")
            ):
                lines[i + 1].furniture = True  # the values row (in <tbody> under a <thead> of labels)


def _is_grid_table(table: Any) -> bool:
    """A label | value table (采购项目名称 | …, 品目 | …): three or more rows of 2 or 4 cells whose
    label cells are short and hold no sentence."""
    rows = [tr for tr in table.iter("tr")]
    if len(rows) > 40:
        return False
    pairs = 0
    other = 0
    for tr in rows:
        cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
        if len(cells) == 1:
            continue  # a heading row across the table (公告信息：)
        labels = [collapse(text_of(c)) for c in cells[::2]]
        if len(cells) in (2, 4) and all(
            t and len(t) <= 12 and not any(ch in t for ch in "，。；,;") for t in labels
        ):
            pairs += 1
        else:
            other += 1
    return pairs >= 3 and pairs >= 3 * other


def _mark_leading_grids(
    node: Any, lines: list[_Line], texts: list[str], punct: str, titles: list[str]
) -> None:
    """A label | value grid that opens the article block, before any written sentence (a
    procurement notice's 公告概要, a disclosure grid inside the article block): metadata, as the
    grid above the title is. A grid after the text has begun is the notice's own table, and so
    is a grid with no written text after it (a 行政处罚信息公开表 is all grid)."""
    inside = set(node.iter())
    grids: dict[Any, bool] = {}
    marked: list[_Line] = []
    heading: list[_Line] = []  # a label line right above a grid (公告概要：) belongs to it
    begun = False
    for line, text in zip(lines, texts, strict=True):
        if line.owner not in inside or line.furniture or _is_title_line(text, titles):
            continue
        prose = len(text) >= 15 and any(c in text for c in punct)
        table = next((a for a in line.owner.iterancestors("table")), None)
        if table is not None:
            if table not in grids:
                grids[table] = _is_grid_table(table)
            if grids[table]:
                marked += [*heading, line]
                heading = []
                continue
        if prose:
            begun = True
            break
        heading = [line] if len(text) <= 10 and text.rstrip().endswith(("：", ":")) else []
    if begun:
        for line in marked:
            line.furniture = True


def _is_title_line(text: str, titles: list[str]) -> bool:
    squeezed = text.replace(" ", "")
    return len(squeezed) >= 4 and any(squeezed in t.replace(" ", "") for t in titles)


def _links_near(node: Any, base: str) -> list[Link]:
    """Links in the content and in the blocks that follow it (attachment lists sit there)."""
    out = _links(node, base)
    level = node
    for _ in range(2):
        for sib in level.itersiblings():
            if isinstance(sib.tag, str):
                out.extend(_links(sib, base))
        parent = level.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        level = parent
    return out


def _count_list_items(lines: list[_Line], texts: list[str]) -> int:
    return sum(
        1
        for line, text in zip(lines, texts, strict=True)
        if line.link_chars >= 8 and (_DATE_NEAR.search(text) or line.link_chars >= 12)
    )


def strip_boilerplate(
    page: DecodedPage, *, max_script_chars: int = 400_000, min_body_chars: int = 20
) -> CleanDocument:
    """Separate the main text of a notice page from its furniture."""
    root = _parse(page.text, page.url)
    base_el = root.find(".//base[@href]")
    base = (safe_urljoin(page.url, base_el.get("href")) if base_el is not None else None) or page.url
    titles = _title_texts(root)
    hidden, scripts = _strip_tree(root, base)
    body = root.find("body")
    warnings: list[str] = []
    if body is None:
        body = root
    lines = _walk_lines(body)
    texts = [ln.text() for ln in lines]
    for line, text in zip(lines, texts, strict=True):
        line.furniture = is_furniture_line(text)
    node, score = _choose_content(lines, texts, body)
    if score <= 0:
        short = _short_notice(lines, texts, titles)
        if short is not None:
            node, score = short, 1.0

    content: list[TextLine] = []
    set_aside: list[str] = []
    strategy: str = "none"
    if score > 0:
        cfg = load("clean")
        doc_no_line = re.compile(cfg["doc_no_line"])
        trailing_label = re.compile(cfg["trailing_label"])
        _mark_label_rows(lines, texts)
        _mark_leading_grids(node, lines, texts, cfg["prose_punctuation"], titles)
        related_heading = re.compile(cfg["related_heading"])
        inside = set(node.iter())
        started = False
        related = False  # in the linked titles under a 延伸阅读 / 相关新闻 heading
        for line, text in zip(lines, texts, strict=True):
            if line.owner not in inside:
                continue
            if related and line.link_chars >= 0.5 * max(1, len(text.replace(" ", ""))):
                set_aside.append(text)
                continue
            related = bool(related_heading.match(text))
            if line.furniture:
                set_aside.append(text)
                continue
            if not started and _is_title_line(text, titles):
                continue  # the title repeated at the top of the article (a heading or a styled div)
            if len(content) < 3 and doc_no_line.match(text):
                set_aside.append(text)  # the 文号 printed atop the notice: metadata, not its text
                continue
            started = True
            content.append(_to_textline(line, text))
        while content and trailing_label.match(content[-1].text):
            set_aside.append(content.pop().text)  # an empty 附件： that ends the block
        if content:
            last = content[-1]
            cut = re.compile(cfg["trailing_widget"]).search(last.text)
            if cut and cut.start() > 0:  # 返回搜狐，查看更多 glued to the last paragraph
                set_aside.append(last.text[cut.start() :])
                content[-1] = last.model_copy(update={"text": last.text[: cut.start()].rstrip()})
        strategy = "density"

    script_fields, script_html = _script_data(scripts, max_script_chars)
    if script_html is not None and _cjk_count(script_html) > max(
        2 * sum(_cjk_count(t.text) for t in content), min_body_chars
    ):
        frag_lines, frag_root = _fragment_lines(
            script_html if "<" in script_html else script_html.replace("\n", "<br>")
        )
        content = [_to_textline(ln, ln.text()) for ln in frag_lines if ln.text()]
        node = frag_root
        strategy = "script"

    if len("".join(t.text for t in content)) < min_body_chars:
        items = _count_list_items(lines, texts)
        if items >= int(load("clean")["list_page_min_items"]):
            warnings.append(f"looks like a list page ({items} linked titles), not a notice: no main text")
        else:
            warnings.append("no main text found")
        if strategy == "density" and not content:
            strategy = "none"
    links = _links_near(node, base) if strategy != "none" else []
    return CleanDocument(
        url=page.url,
        base_url=base,
        decoded=page,
        tree=root,
        content_node=node if strategy != "none" else None,
        content=content,
        content_strategy=strategy,
        links_near_content=links,
        hidden=hidden,
        set_aside=set_aside,
        scripts=scripts,
        script_fields=script_fields,
        warnings=warnings,
    )

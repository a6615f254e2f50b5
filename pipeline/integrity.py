"""Stage integrity: CleanDocument (+ metadata) → Integrity. Pure, no I/O.

Evidence that a government page was tampered with. Every finding carries the exact strings
as they stand in the page (archivists want the evidence); the body is never rewritten.

Signals, each from data in ``patterns/spam.toml`` and ``patterns/integrity.toml``:

- **Hidden content** (``hidden_links``, ``hidden_text``): the blocks ``clean`` set aside
  because a reader never sees them (CSS, ``hidden``, off-screen, zero size, text in the
  background colour, 1px marquees). They are spam when they link to foreign hosts (neither
  the page's own site nor government) under spam-like anchor texts or in a run, or carry
  spam text. Hidden menus of the site's own links, 友情链接 panels of government sites, print
  headers and form fields are not.
- **Injected phrases** (``injected_keyword``, ``anomalous_phrase``) in the visible text:
  lexicon terms (matched on NFKC text without zero-width characters) unless their sentence
  reports on them (打击, 查处, quoted names …); and, without the lexicon, a phrase foreign to
  the page's vocabulary — a brand the rest of the page never uses glued to spam morphemes
  (官网, 入口, 体育 …) — repeated in otherwise normal sentences or sitting in a government
  slot (人民政府…办公室). The term it replaced is inferred when the same slot holds a normal
  term elsewhere on the page, or from the slot's usual filler.
- **Links** (``injected_keyword``, location ``link``): visible links to foreign hosts under
  spam anchor texts (a side list with adult links mixed in).
- **Title / meta** (``title_injection``): spam in <title> or meta keywords/description that
  the visible page does not contain.
- **Scripts** (``script_redirect``, ``script_injection``): a redirect to a foreign host under
  a ``document.referrer`` (search engine) or ``navigator.userAgent`` condition, and markup
  written by script that links to foreign hosts.

A replaced term is an ``injected_keyword`` whether the lexicon or the anomaly signal found it
(the note says which, and what it replaces); ``anomalous_phrase`` is kept for the weakest
case, a foreign Latin/CJK token repeated in government slots with no spam morpheme at all.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from pipeline.clean import BLOCK_TAGS, collapse
from pipeline.patterns import load
from schemas.record import Integrity, IntegrityFinding
from schemas.stages import CleanDocument, HiddenBlock, Link, NoticeMetadata

# ----------------------------------------------------------------------------- text

# Invisible characters spammers put between the characters of a term (澳\u200b门新葡京).
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
# Characters that vanish from the normalised text: offsets need a map (slow path).
_SLOW = re.compile(f"[{_ZERO_WIDTH}]")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Bounds that keep a hostile page (one phrase 20,000 times, a 1 MB line) linear: how far a
# sentence or line is looked for around a term, how many copies of a phrase are examined
# (all are counted), and how many seed and term matches a page is searched from.
_WINDOW = 300
_MAX_COPIES = 50
_MAX_MATCHES = 2000
_UNIT = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+")
_JUNCTION = re.compile(r"(?<=[\u3400-\u9fff])[a-z][a-z0-9]*|[a-z][a-z0-9]*(?=[\u3400-\u9fff])")
_LATIN_RUN = re.compile(r"[a-z][a-z0-9]*")


def _is_cjk_at(text: str, i: int) -> bool:
    return 0 <= i < len(text) and "\u3400" <= text[i] <= "\u9fff"


def _junctions(norm: str) -> Iterator[tuple[int, int]]:
    """The spans ``_JUNCTION.finditer`` finds (Latin glued to CJK), from the Latin runs alone:
    the lookbehind-led alternation is tried at every position of a page; the runs are few."""
    for m in _LATIN_RUN.finditer(norm):
        s, e = m.span()
        if _is_cjk_at(norm, s - 1) or _is_cjk_at(norm, e):
            yield s, e


@dataclass
class _Text:
    """A raw string and its normalised form (NFKC, lower case, no zero-width characters)."""

    raw: str
    norm: str
    pos: list[int] | None = None  # raw offset of each normalised character; None: the same

    def raw_of(self, start: int, end: int) -> str:
        if self.pos is None:
            return self.raw[start:end]
        if start >= end:
            return ""
        return self.raw[self.pos[start] : self.pos[end - 1] + 1]


def _normalise(raw: str) -> _Text:
    if not _SLOW.search(raw):
        # NFKC maps almost every character one to one (full-width ASCII, U+3000): offsets hold.
        nfkc = raw if unicodedata.is_normalized("NFKC", raw) else unicodedata.normalize("NFKC", raw)
        low = nfkc.lower()
        if len(low) == len(raw):
            return _Text(raw, low)
    chars: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(raw):
        if ch in _ZERO_WIDTH:
            continue
        for c in unicodedata.normalize("NFKC", ch).lower():
            chars.append(c)
            pos.append(i)
    return _Text(raw, "".join(chars), pos)


def _norm(s: str) -> str:
    return _normalise(s).norm


def _visible_text(root: Any) -> tuple[str, list[tuple[int, int, str]]]:
    """The text a reader sees (hidden blocks, scripts and styles are gone from the tree), and
    where each link's text stands in it: (start, end, href)."""
    body = root.find("body")
    if body is None:
        body = root
    parts: list[str] = []
    n = 0
    open_links: list[int] = []
    links: list[tuple[int, int, str]] = []

    def put(piece: str) -> None:
        nonlocal n
        parts.append(piece)
        n += len(piece)

    for event, el in etree.iterwalk(body, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in BLOCK_TAGS or tag == "br":
                put("\n")
            if tag == "a":
                open_links.append(n)
            if tag and el.text:
                put(el.text)
        else:
            if tag in BLOCK_TAGS:
                put("\n")
            if tag == "a" and open_links:
                links.append((open_links.pop(), n, (el.get("href") or "").strip()))
            if el.tail and el is not body:
                put(el.tail)
    return "".join(parts), links


# ----------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class _Slot:
    before: re.Pattern[str]
    after: re.Pattern[str]
    usual: str
    shape: str


@dataclass(frozen=True)
class _Vocab:
    lexicon: re.Pattern[str]
    category: dict[str, str]
    topic: frozenset[str]
    prose_min_chars: int
    context: dict[str, re.Pattern[str]]
    category_context: dict[str, re.Pattern[str]]
    quotes: list[tuple[str, str]]
    contact: re.Pattern[str]
    topic_title: re.Pattern[str]
    strong: re.Pattern[str]
    weak: re.Pattern[str]
    business: frozenset[str]
    not_brand: list[str]
    government: re.Pattern[str]
    brand_stop_rx: re.Pattern[str]
    stop: frozenset[str]
    sentence_end: str
    max_phrase: int
    min_phrase: int
    foreign_share: float
    slots: list[_Slot]
    glue_left: list[str]
    edge_chars: frozenset[str]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@cache
def _vocab() -> _Vocab:
    spam = load("spam")
    cfg = load("integrity")
    category = {_norm(t): cat for cat, terms in spam["lexicon"].items() for t in terms}
    ctx = cfg["context"]
    context = {
        cat: re.compile(_alternation([*ctx["any"], *ctx.get(cat, [])]) or "(?!)") for cat in spam["lexicon"]
    }
    context[""] = re.compile(_alternation(ctx["any"]))
    category_context = {cat: re.compile(_alternation(ctx[cat])) for cat in spam["lexicon"] if ctx.get(cat)}
    ph = cfg["phrases"]
    strong = f"(?:{_alternation(ph['category'])})(?:{_alternation(ph['access'])})|" + "|".join(
        re.escape(a + b) for a, b in ph["access_pairs"]
    )
    slots = [
        _Slot(
            before=re.compile(f"(?:{s['before']})$") if s["before"] else re.compile(""),
            after=re.compile(s["after"]) if s["after"] else re.compile(""),
            usual=s["usual"],
            shape=f"{_shape(s['before'])}…{_shape(s['after'])}",
        )
        for s in cfg["slots"]
    ]
    return _Vocab(
        lexicon=re.compile(_alternation(list(category))),
        category=category,
        topic=frozenset(_norm(t) for t in spam["topic_terms"]),
        prose_min_chars=int(cfg["phrases"]["prose_min_chars"]),
        context=context,
        category_context=category_context,
        quotes=[(o, c) for o, c in ctx["quotes"]],
        contact=re.compile(ctx["contact"]),
        topic_title=re.compile(_alternation(ctx["topic_title"])),
        strong=re.compile(strong),
        weak=re.compile(_alternation(ph["weak"])),
        business=frozenset(ph["business"]),
        not_brand=sorted(
            {*ph["weak"], *ph["generic"], *ph["access"], *ph["category"]}, key=len, reverse=True
        ),
        government=re.compile(_alternation(ph["government"])),
        brand_stop_rx=re.compile(f"(?:{_alternation(ph['brand_stop'])})$"),
        stop=frozenset(ph["stop"]),
        sentence_end=ph["sentence_end"],
        max_phrase=int(ph["max_phrase"]),
        min_phrase=int(ph["min_phrase"]),
        foreign_share=float(ph["foreign_share"]),
        slots=slots,
        glue_left=sorted([*ph["weak"], "澳门"], key=len, reverse=True),
        edge_chars=frozenset(ph["edge_chars"]),
    )


def _shape(rx: str) -> str:
    """A readable form of a slot side: its first literal alternative (县, 办公室)."""
    word = re.sub(r"\\.|[()?:|\[\]]", " ", rx).split()
    return word[0] if word else ""


# ----------------------------------------------------------------------------- hosts


@cache
def _host_cfg() -> dict[str, Any]:
    return dict(load("integrity")["hosts"])


def _bare_host(host: str) -> str:
    host = host.lower().rstrip(".")
    for suffix in _host_cfg()["reserved_suffixes"]:
        if host.endswith(suffix):
            return host[: -len(suffix)]
    return host


def _site(host: str) -> str:
    """Registrable domain: xtx.gov.cn for www.xtx.gov.cn and m.xtx.gov.cn."""
    labels = _bare_host(host).split(".")
    if len(labels) <= 2:
        return ".".join(labels)
    last_two = ".".join(labels[-2:])
    n = 3 if last_two in _host_cfg()["public_suffixes"] else 2
    return ".".join(labels[-n:])


@lru_cache(maxsize=8192)  # the same few hosts on every page of a site
def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _page_sites(doc: CleanDocument) -> frozenset[str]:
    """The sites that are the page's own: its URL's, the one it names itself (link rel=canonical,
    og:url, <meta name="url">), and — when none of its links point to its URL's site, as on a
    saved copy served from elsewhere — the site most of its absolute links point to."""
    sites = {_site(_host(doc.url))}
    root = doc.tree
    for el in root.iter("link", "meta"):
        rel = (el.get("rel") or "").lower()
        name = (el.get("name") or el.get("property") or "").lower()
        if (el.tag == "link" and rel == "canonical") or name in ("og:url", "url"):
            href = el.get("href") if el.tag == "link" else el.get("content")
            if href and href.lower().startswith(("http:", "https:", "//")):
                sites.add(_site(_host(href if ":" in href[:6] else "http:" + href)))
    hosts: Counter[str] = Counter()
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        if href.lower().startswith(("http:", "https:", "//")):
            h = _host(href if ":" in href[:6] else "http:" + href)
            if h:
                hosts[_site(h)] += 1
    total = sum(hosts.values())
    if total and not any(hosts[s] for s in sites):
        top, n = hosts.most_common(1)[0]
        if n >= max(5, 0.3 * total):
            sites.add(top)
    sites.discard("")
    return frozenset(sites)


def _is_foreign(url: str, page_site: frozenset[str]) -> bool:
    """A host that is neither the page's own site, nor government, nor a trusted service."""
    if url.startswith(("/", ".", "#", "?")) or (":" not in url[:12] and not url.startswith("//")):
        return False  # relative: the page's own site
    return _foreign_host(_host(url), page_site)


@lru_cache(maxsize=8192)
def _foreign_host(host: str, page_site: frozenset[str]) -> bool:
    if not host:
        return False
    bare = _bare_host(host)
    if _site(host) in page_site:
        return False
    cfg = _host_cfg()
    if any(bare == s or bare.endswith("." + s) for s in cfg["government"]):
        return False
    return not any(bare == s or bare.endswith("." + s) for s in cfg["trusted"])


# ----------------------------------------------------------------------------- phrases


@dataclass
class _Phrase:
    """A suspicious phrase of the visible text, title or meta (normalised form ``key``)."""

    key: str
    kind: str
    evidence: list[str] = field(default_factory=list)
    locations: set[str] = field(default_factory=set)
    count: int = 0
    note: str | None = None


def _sentence(norm: str, start: int, end: int, ends: str) -> tuple[int, int]:
    lo, hi = max(0, start - _WINDOW), min(len(norm), end + _WINDOW)
    s = max(max(norm.rfind(c, lo, start) for c in ends) + 1, lo)
    found = [i for i in (norm.find(c, end, hi) for c in ends) if i >= 0]
    return s, min(found, default=hi)


def _quoted(norm: str, start: int, end: int, s: int, e: int, v: _Vocab) -> bool:
    for o, c in v.quotes:
        if o == c:
            if norm.count(o, s, start) % 2 == 1 and norm.find(c, end, e) >= 0:
                return True
            continue
        lo = norm.rfind(o, s, start)
        if lo >= 0 and norm.find(c, lo + 1, start) < 0 and 0 <= norm.find(c, end, e) <= end + 16:
            return True
    return False


def _legit(norm: str, start: int, end: int, cat: str, v: _Vocab, topic_page: bool, title: str = "") -> bool:
    """Is the term at norm[start:end] reported on (enforcement, warning, quoted), not advertised?

    Its sentence says so (打击, 查处, 杜绝 …, or the category's own words: 比赛 for a score),
    or it is quoted, or the page title has the category's words (a 联赛 results page may
    print a 篮球比分), or it is a table cell on an enforcement page. A sentence with a
    WeChat/QQ id or an ad phrase (货到付款) is an ad whatever else it says.
    """
    s, e = _sentence(norm, start, end, v.sentence_end)
    sentence = norm[s:start] + " " * (end - start) + norm[end:e]
    if v.contact.search(sentence):
        return False
    if _quoted(norm, start, end, s, e, v):
        return True
    if v.context.get(cat, v.context[""]).search(sentence):
        return True
    own = v.category_context.get(cat)
    if title and own is not None and own.search(title):
        return True
    if topic_page:  # a table cell or list item (no sentence punctuation) on an enforcement page
        ls = norm.rfind("\n", 0, start) + 1
        le = norm.find("\n", end)
        line = norm[ls : le if le >= 0 else len(norm)]
        return not any(p in line for p in "，,。")
    return False


def _extend(norm: str, start: int, end: int, v: _Vocab) -> tuple[int, int]:
    """Grow a term over glued Latin/digits and spam morphemes (188篮球比分, 澳门新葡京, ｂｅｔ３６５体育)."""
    changed = True
    while changed and end - start < v.max_phrase:
        changed = False
        while end < len(norm) and norm[end].isascii() and norm[end].isalnum():
            end, changed = end + 1, True
        m = v.weak.match(norm, end)
        if m:
            end, changed = m.end(), True
    changed = True
    while changed and end - start < v.max_phrase:
        changed = False
        while start > 0 and norm[start - 1].isascii() and norm[start - 1].isalnum():
            start, changed = start - 1, True
        for w in v.glue_left:
            if norm.endswith(w, 0, start):
                start, changed = start - len(w), True
                break
    return start, end


def _brand_units(phrase: str, v: _Vocab) -> list[str]:
    """The brand of a spam-shaped phrase, as units (CJK characters, Latin/digit tokens).

    Spam phrases put the brand first and the morphemes after it (金博宝 + 体育官网, 鸿运 +
    国际H8官方入口); a phrase whose morphemes are followed by ordinary words (娱乐场所,
    直播带货, 平台建设) is an ordinary compound and has no brand. Generic words (网络, 政务)
    are no brand either.
    """
    m = v.weak.search(phrase)
    first = min(
        m.start() if m else len(phrase), (lm.start() if (lm := v.lexicon.search(phrase)) else len(phrase))
    )
    brand, tail = phrase[:first], phrase[first:]
    tail = v.lexicon.sub(" ", tail)
    for w in v.not_brand:
        tail = tail.replace(w, " ")
    if _CJK.search(tail):
        return []
    for w in v.not_brand:
        brand = brand.replace(w, " ")
    return _UNIT.findall(brand) + _UNIT.findall(tail)


def _foreign_share(units: list[str], other: str, other_chars: set[str]) -> float:
    if not units:
        return 0.0
    foreign = 0
    for u in units:
        if len(u) == 1 and not u.isascii():
            foreign += u not in other_chars
        else:
            foreign += re.search(rf"(?<![a-z0-9]){re.escape(u)}(?![a-z0-9])", other) is None
    return foreign / len(units)


def _brand_is_foreign(units: list[str], other: str, other_chars: set[str], v: _Vocab) -> bool:
    latin = [u for u in units if u.isascii() and any(c.isalpha() for c in u)]
    if latin and _foreign_share(latin, other, other_chars) == 1.0:
        return True
    return len(units) >= 2 and _foreign_share(units, other, other_chars) >= v.foreign_share


def _in_slot(norm: str, start: int, end: int, v: _Vocab) -> _Slot | None:
    """The government slot the phrase at norm[start:end] fills, with the words around it as shown."""
    left = norm[max(0, start - 12) : start]
    for slot in v.slots:
        if not slot.before.pattern and not slot.after.pattern:
            continue
        b = slot.before.search(left) if slot.before.pattern else None
        if slot.before.pattern and not b:
            continue
        a = slot.after.match(norm, end) if slot.after.pattern else None
        if slot.after.pattern and not a:
            continue
        return replace(slot, shape=f"{b.group(0) if b else ''}…{a.group(0) if a else ''}")
    return None


def _repeats(norm: str, seeds: list[tuple[int, int]], v: _Vocab) -> dict[str, list[int]]:
    """Maximal repeated phrases around seed matches: the same string in different contexts."""
    limit = v.max_phrase
    # Seeds that touch or overlap (澳门威尼斯人 + app + 下载, 比分 in 篮球比分) make one run;
    # a run is searched from its first seed only (the extension finds the rest).
    runs: list[tuple[int, int, int]] = []  # run start, first seed end, run end
    for s, e in sorted(set(seeds)):
        if runs and s <= runs[-1][2]:
            runs[-1] = (runs[-1][0], runs[-1][1], max(e, runs[-1][2]))
        else:
            runs.append((s, e, e))
    by_seed: dict[str, list[int]] = {}
    for s, e, _ in runs:
        by_seed.setdefault(norm[s:e], []).append(s)
    candidates: set[str] = set()
    for seed, starts in by_seed.items():
        if len(starts) < 2:
            continue
        candidates.add(seed)
        n = len(seed)
        lefts = [_run(norm[max(0, i - limit) : i][::-1], v.stop) for i in starts]
        rights = [_run(norm[i + n : i + n + limit], v.stop) for i in starts]
        # Only two copies that share a neighbour extend the seed: compare within those buckets
        # (a frequent seed such as 平台 would otherwise cost n² comparisons).
        buckets: dict[str, list[int]] = {}
        for k in range(len(starts)):
            if lefts[k]:
                buckets.setdefault("<" + lefts[k][0], []).append(k)
            if rights[k]:
                buckets.setdefault(">" + rights[k][0], []).append(k)
        pairs = {(a, b) for ks in buckets.values() for x, a in enumerate(ks[:24]) for b in ks[x + 1 : 24]}
        for a, b in pairs:
            left = _common(lefts[a], lefts[b])
            gap = starts[b] - left - starts[a] - n  # the copies must not overlap
            right = min(_common(rights[a], rights[b]), max(0, gap))
            if left + n + right <= limit:
                i = starts[a]
                candidates.add(norm[i - left : i + n + right])
    out: dict[str, list[int]] = {}
    for p in candidates:
        if len(p) < v.min_phrase or not _CJK.search(p):
            continue
        occ = [m.start() for m in re.finditer(re.escape(p), norm)]
        if len(occ) < 2:
            continue
        before = {norm[o - 1] if o > 0 and norm[o - 1] not in v.stop else "^" for o in occ}
        after = {
            norm[o + len(p)] if o + len(p) < len(norm) and norm[o + len(p)] not in v.stop else "$"
            for o in occ
        }
        if (len(before) >= 2 or "^" in before) and (len(after) >= 2 or "$" in after):
            out[p] = occ
    # A phrase that only ever occurs inside a longer kept one adds nothing; a longer one whose
    # part occurs more often is that part plus a frequent neighbour.
    kept = {p: o for p, o in out.items() if not any(q != p and q in p and len(out[q]) > len(o) for q in out)}
    return kept


# ----------------------------------------------------------------------------- page analysis


@dataclass
class _Page:
    doc: CleanDocument
    v: _Vocab
    site: frozenset[str]  # the registrable domains that are the page's own (_page_sites)
    raw_html: str
    visible: _Text
    body_norm: str | None  # computed when a phrase is found
    title: _Text
    metas: list[tuple[str, _Text]]
    topic_page: bool
    titles: list[str]
    title_ctx: str
    visible_chars: set[str]
    own_links: bytearray = field(default_factory=bytearray)  # 1 at raw offsets of own-site link text
    phrases: dict[str, _Phrase] = field(default_factory=dict)
    exact: dict[str, list[str]] = field(default_factory=dict)  # raw text -> its evidence strings


def _head_texts(root: Any) -> tuple[str, list[tuple[str, str]]]:
    title = ""
    t = root.find(".//title")
    if t is not None:
        title = "".join(t.itertext())
    metas = []
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").lower()
        if name in ("keywords", "description", "og:title", "og:description") and meta.get("content"):
            metas.append((f"meta {name}", str(meta.get("content"))))
    return title, metas


def _exact(s: str, raw_html: str) -> list[str]:
    """``s`` if the page's source holds it as is, else its whitespace-separated pieces that it holds."""
    s = s.strip()
    if not s:
        return []
    if s in raw_html:
        return [s]
    if html.escape(s, quote=False) in raw_html:  # A&B in the text is A&amp;B in the source
        return [html.escape(s, quote=False)]
    return [p for p in s.split() if len(p) >= 2 and p in raw_html]


def _add(
    page: _Page,
    key: str,
    kind: str,
    raw: str,
    location: str | list[str],
    count: int = 1,
    note: str | None = None,
) -> None:
    ph = page.phrases.get(key)
    if ph is None:
        ph = page.phrases[key] = _Phrase(key=key, kind=kind, note=note)
    if raw not in page.exact:
        page.exact[raw] = _exact(raw, page.raw_html) or [raw.strip()]
    for e in page.exact[raw]:
        if e and e not in ph.evidence:
            ph.evidence.append(e)
    ph.locations.update([location] if isinstance(location, str) else location)
    ph.count += count
    if note and not ph.note:
        ph.note = note


def _visible_phrases(page: _Page) -> None:
    v = page.v
    text = page.visible
    norm = text.norm
    lex = [(m.start(), m.end()) for m in islice(v.lexicon.finditer(norm), _MAX_MATCHES)]
    seeds = lex + [(m.start(), m.end()) for m in islice(v.weak.finditer(norm), _MAX_MATCHES)]
    seeds += list(islice(_junctions(norm), _MAX_MATCHES))
    covered = bytearray(len(norm) + 1)  # 1 where a reported phrase already stands

    trimmed: dict[str, list[int]] = {}
    for p0 in _repeats(norm, seeds, v):
        p = _trim(p0, norm, v)
        if len(p) >= v.min_phrase and p not in trimmed:
            trimmed[p] = [m.start() for m in re.finditer(re.escape(p), norm)]
    for p, all_occ in sorted(trimmed.items(), key=lambda kv: -len(kv[1])):
        occ = all_occ[:_MAX_COPIES]
        if v.government.search(p):
            continue
        lex_hits = list(v.lexicon.finditer(p))
        strong = v.strong.search(p) is not None
        weak = any(m.group(0) not in v.business for m in v.weak.finditer(p))
        junction = _JUNCTION.search(p) is not None
        if not (lex_hits or strong or weak or junction):
            continue
        cat = v.category[lex_hits[0].group(0)] if lex_hits else ""
        nonlegit = [
            o
            for o in occ
            if not _legit(norm, o, o + len(p), cat, v, page.topic_page, page.title_ctx)
            and not _title_line(page, o, o + len(p))
            and not (lex_hits and _in_own_link(page, o, o + len(p)))  # the site's own menu item
        ]
        if not nonlegit:
            continue
        other = norm.replace(p, " ")
        units = _brand_units(p, v)
        foreign = _brand_is_foreign(units, other, set(other), v)
        slots = [sl for o in occ if (sl := _in_slot(norm, o, o + len(p), v))]
        kind = ""
        if lex_hits or (
            (strong or weak) and foreign and (strong or (len(nonlegit) >= 2 and (slots or junction)))
        ):
            kind = "injected_keyword"
        elif (
            junction
            and len(nonlegit) >= 2
            and slots
            and len(_CJK.findall(p)) >= 2
            and _foreign_share(units, other, set(other)) >= v.foreign_share
        ):
            kind = "anomalous_phrase"
        if not kind:
            continue
        if any(covered[o] and covered[o + len(p) - 1] for o in occ):
            continue
        note = None if lex_hits else "not in the spam lexicon: a phrase foreign to the page, repeated"
        replaced = _replaced_term(page, p, occ[:10], slots)
        if replaced:
            note = f"{note}; {replaced}" if note else replaced
        where = _where(page, p)
        for raw in dict.fromkeys(text.raw_of(o, o + len(p)) for o in occ):
            _add(page, p, kind, raw, where, count=0, note=note)
        page.phrases[p].count += len(all_occ)
        for o in all_occ:
            covered[o : o + len(p)] = b"\x01" * len(p)

    # Single occurrences: lexicon terms, and spam compounds with a foreign brand in a slot.
    other_chars = page.visible_chars  # set(norm)
    spans: list[tuple[int, int]] = []
    for s, e in lex:
        if covered[s] and covered[e - 1]:
            continue
        cat = v.category[norm[s:e]]
        if _legit(norm, s, e, cat, v, page.topic_page, page.title_ctx) or _title_line(page, s, e):
            continue
        if all(_in_own_link(page, o, o + (e - s)) for o in _occurrences(norm, norm[s:e])):
            continue  # only ever a portal's own menu item (时时彩 in its lottery channel's menu)
        ad = _ad_line(norm, s, e, v)
        grown = _extend(norm, s, e, v)
        if (
            ad is None
            and grown == (s, e)
            and norm[s:e] in v.topic
            and text.raw_of(s, e).lower() == norm[s:e]  # written plainly: 百\u200b家乐 hides from filters
            and _in_prose(norm, s, e, v)
        ):
            continue  # 博彩 in a sentence of a news report: a word the article is about, not an ad
        spans.append(ad or grown)
    for s2, e2 in _merge(spans, norm):
        key = norm[s2:e2]
        _add(page, key, "injected_keyword", text.raw_of(s2, e2), _where(page, key))
        covered[s2:e2] = b"\x01" * (e2 - s2)
    for m in islice(v.strong.finditer(norm), _MAX_MATCHES):
        s, e = m.start(), m.end()
        if covered[s] and covered[e - 1]:
            continue
        s2 = _brand_start(norm, s, v)
        _, e2 = _extend(norm, s, e, v)
        key = norm[s2:e2]
        units = _brand_units(key, v)
        if not units or v.government.search(key) or _legit(norm, s2, e2, "", v, page.topic_page):
            continue
        slot = _in_slot(norm, s2, e2, v)
        if not (slot or _JUNCTION.search(norm[s2:s])):
            continue
        if _brand_is_foreign(units, norm[:s2] + norm[e2:], other_chars, v):
            note = "not in the spam lexicon: a spam compound with a brand foreign to the page"
            replaced = _replaced_term(page, key, [s2], [slot] if slot else [])
            _add(
                page,
                key,
                "injected_keyword",
                text.raw_of(s2, e2),
                _where(page, key),
                note=_join(note, replaced),
            )
            covered[s2:e2] = b"\x01" * (e2 - s2)


def _run(text: str, stop: frozenset[str]) -> str:
    """``text`` up to its first stop character."""
    for k, c in enumerate(text):
        if c in stop:
            return text[:k]
    return text


def _common(a: str, b: str) -> int:
    """Length of the common prefix of two strings (binary search over C-speed slice compares)."""
    if not a or not b or a[0] != b[0]:
        return 0
    lo, hi = 1, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _trim(p: str, norm: str, v: _Vocab) -> str:
    """Drop ordinary words a repeated phrase picked up from always standing next to them.

    政府金博宝体育官网 (always after 政府) → 金博宝体育官网; 红运来app下载工作 → 红运来app下载.
    An edge word is ordinary when the page also uses it with other neighbours; place suffixes
    and particles at the edge go too; spam morphemes, Latin and digits are never trimmed.
    """
    while len(p) > v.min_phrase:
        head, tail = p[:2], p[-2:]
        if _ordinary_edge(head, p[:4], norm, v) and not v.weak.match(p):
            p = p[2:]
        elif _ordinary_edge(tail, p[-4:], norm, v) and not any(p.endswith(w) for w in v.glue_left):
            p = p[:-2]
        elif p[0] in v.edge_chars:
            p = p[1:]
        elif p[-1] in v.edge_chars:
            p = p[:-1]
        else:
            break
    return p


def _ordinary_edge(word: str, joined: str, norm: str, v: _Vocab) -> bool:
    """The page uses the edge word with other neighbours too (政府 of 政府金博宝…, 工作 of …官网工作)."""
    return (
        len(word) == 2
        and all(_CJK.match(c) for c in word)
        and not v.lexicon.search(word)
        and norm.count(word) > norm.count(joined)
    )


def _in_own_link(page: _Page, start: int, end: int) -> bool:
    """norm[start:end] is the text of a link to the page's own site (all of it)."""
    pos = page.visible.pos
    a, b = (start, end - 1) if pos is None else (pos[start], pos[end - 1])
    return bool(page.own_links[a]) and bool(page.own_links[b])


def _occurrences(norm: str, term: str) -> Iterator[int]:
    start = norm.find(term)
    for _ in range(_MAX_COPIES):
        if start < 0:
            return
        yield start
        start = norm.find(term, start + 1)


def _in_prose(norm: str, start: int, end: int, v: _Vocab) -> bool:
    """The term stands in a written sentence: sentence punctuation and enough other words around it."""
    s, e = _sentence(norm, start, end, v.sentence_end)
    around = norm[s:start] + norm[end:e]
    return len(_CJK.findall(around)) >= v.prose_min_chars and any(c in around for c in "，,。;；")


def _ad_line(norm: str, start: int, end: int, v: _Vocab) -> tuple[int, int] | None:
    """The whole line around a term when the line is an ad (a WeChat/QQ id, 货到付款): all of it is injected."""
    a = norm.rfind("\n", max(0, start - 200), start) + 1
    b = norm.find("\n", end, end + 200)
    b = len(norm) if b < 0 else b
    if b - a > 200 or not v.contact.search(norm[a:b]):
        return None
    while a < start and norm[a].isspace():
        a += 1
    while b > end and norm[b - 1].isspace():
        b -= 1
    return a, b


def _merge(spans: list[tuple[int, int]], norm: str) -> list[tuple[int, int]]:
    """Overlapping spans, and spans one separator apart (188篮球比分,188比分直播), as one."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s - out[-1][1] <= 1 and all(c in ",、|/" for c in norm[out[-1][1] : s]):
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def _title_line(page: _Page, start: int, end: int) -> bool:
    """The occurrence is in the notice's own title (shown again as a heading): it proves nothing alone."""
    norm = page.visible.norm
    a = norm.rfind("\n", max(0, start - _WINDOW), start) + 1
    b = norm.find("\n", end, end + _WINDOW)
    if (a == 0 and start > _WINDOW) or (b < 0 and end + _WINDOW < len(norm)):
        return False  # a line this long is no title
    line = norm[a : b if b >= 0 else len(norm)].strip()
    return bool(line) and any(line in t for t in page.titles)


def _join(a: str | None, b: str | None) -> str | None:
    return f"{a}; {b}" if a and b else a or b


def _brand_start(norm: str, start: int, v: _Vocab) -> int:
    """Start of the brand in front of a spam compound: up to 6 characters, cut at a stop word."""
    s = start
    while (
        s > 0
        and start - s < 6
        and (_CJK.match(norm[s - 1]) or (norm[s - 1].isascii() and norm[s - 1].isalnum()))
    ):
        if v.brand_stop_rx.search(norm, max(0, s - 4), s):
            break
        s -= 1
    return s


def _where(page: _Page, key: str) -> list[str]:
    """body when the main text holds the phrase; page when the furniture (nav, side, footer) does too."""
    if page.body_norm is None:
        page.body_norm = _norm(page.doc.body_text)
    in_body = page.body_norm.count(key)
    out = ["body"] if in_body else []
    if page.visible.norm.count(key) > in_body:
        out.append("page")
    return out


def _replaced_term(page: _Page, p: str, occ: list[int], slots: list[_Slot]) -> str | None:
    """The ordinary term the phrase stands in for: the same slot filled elsewhere, or the slot's usual term.

    Votes: the same two characters on both sides around another filler (政府[信息公开]工作)
    count 2; the same four characters on one side (…[政务公开]工作要点) count 1; a filler the
    page uses twice or more gets 1 more. A score of 2 names the term.
    """
    cfg = load("integrity")["replace"]
    k, lo, hi, one = (
        int(cfg[key]) for key in ("context_chars", "min_filler", "max_filler", "one_side_chars")
    )
    v = page.v
    norm = page.visible.norm
    hay = "\n".join([norm, page.title.norm, *(t.norm for _, t in page.metas)]).replace(p, "\x00")
    stop = re.escape("".join(sorted(v.stop | {"\x00", ","})))
    votes: Counter[str] = Counter()

    def ok(f: str) -> bool:
        return bool(_CJK.search(f)) and not v.lexicon.search(f) and not v.strong.search(f)

    for o in occ:
        e = o + len(p)
        left, right = norm[max(0, o - k) : o], norm[e : e + k]
        if len(left) == k == len(right) and not any(c in v.stop for c in left + right):
            rx = re.compile(f"{re.escape(left)}([^{stop}]{{{lo},{hi}}}?){re.escape(right)}")
            votes.update({f: 2 for f in {m.group(1) for m in rx.finditer(hay)} if ok(f)})
        right4 = norm[e : e + one]
        if len(right4) == one and not any(c in v.stop for c in right4):
            votes.update(dict.fromkeys((f for f in _fillers(hay, right4, "before", lo, hi, v) if ok(f)), 1))
        left4 = norm[max(0, o - one) : o]
        if len(left4) == one and not any(c in v.stop for c in left4):
            votes.update(dict.fromkeys((f for f in _fillers(hay, left4, "after", lo, hi, v) if ok(f)), 1))
    seen = {f: hay.count(f) for f in votes}
    for f, times in seen.items():
        if times >= 2:
            votes[f] += 1
    if votes:
        # ties go to the filler the page uses most, then to the earliest: never to the order of
        # a set (string hashes differ from process to process, and so would the record)
        term = max(votes, key=lambda f: (votes[f], seen[f], -hay.find(f), f))
        if votes[term] >= 2:
            return f"replaces {term} (the same slot holds it elsewhere on the page)"
    usual = Counter(s.usual for s in slots if s.usual)
    if usual:
        term = usual.most_common(1)[0][0]
        shape = next(s.shape for s in slots if s.usual == term)
        return f"replaces {term} (the usual term of the slot {shape})"
    return None


def _fillers(hay: str, ctx: str, side: str, lo: int, hi: int, v: _Vocab) -> set[str]:
    """Words next to ``ctx`` elsewhere: the longest run the page repeats (政务公开 before 工作要点)."""
    out: set[str] = set()
    start = hay.find(ctx)
    for _ in range(20):
        if start < 0:
            break
        best = None
        for n in range(lo, hi + 1):
            cand = (
                hay[start - n : start] if side == "before" else hay[start + len(ctx) : start + len(ctx) + n]
            )
            if len(cand) < n or start - n < 0 or any(c in v.stop or c == "\x00" for c in cand):
                break
            if hay.count(cand) < 2:
                break
            best = cand
        if best:
            out.add(best)
        start = hay.find(ctx, start + 1)
    return out


def _title_phrases(page: _Page) -> None:
    v = page.v
    visible = page.visible.norm
    chars = set(visible)
    for location, text in [("title", page.title), *page.metas]:
        norm = text.norm
        spans: list[tuple[int, int]] = []
        for m in v.lexicon.finditer(norm):
            if not _legit(norm, m.start(), m.end(), v.category[m.group(0)], v, False):
                spans.append(_extend(norm, m.start(), m.end(), v))
        for m in v.strong.finditer(norm):
            s2 = _brand_start(norm, m.start(), v)
            _, e2 = _extend(norm, m.start(), m.end(), v)
            units = _brand_units(norm[s2:e2], v)
            if units and not v.government.search(norm[s2:e2]) and _brand_is_foreign(units, visible, chars, v):
                spans.append((s2, e2))
        for s, e in spans:
            key = norm[s:e]
            if key in page.phrases:
                page.phrases[key].locations.add(location.split()[0])
                continue
            if _shown(page, key):
                continue  # the page shows it: reported (or excused) with the visible text
            seg_s, seg_e = _segment(norm, s, e)
            # One finding for all of the head's spam: the evidence lists each segment.
            _add(page, "\x00title", "title_injection", text.raw_of(seg_s, seg_e), location.split()[0])


def _shown(page: _Page, key: str) -> bool:
    """The visible page holds the phrase outside a repeat of the notice title (an <h1>)."""
    norm = page.visible.norm
    start = norm.find(key)
    while start >= 0:
        if not _title_line(page, start, start + len(key)):
            return True
        start = norm.find(key, start + 1)
    return False


_SEPARATORS = "_|-—–,;、\n"


def _segment(norm: str, s: int, e: int) -> tuple[int, int]:
    """The title/keyword segment around a phrase (titles are 'notice_site', keywords 'a,b,c')."""
    a = max(norm.rfind(c, 0, s) for c in _SEPARATORS) + 1
    found = [i for i in (norm.find(c, e) for c in _SEPARATORS) if i >= 0]
    b = min(found, default=len(norm))
    while a < s and norm[a].isspace():
        a += 1
    while b > e and norm[b - 1].isspace():
        b -= 1
    return a, b


def _anchor_spam(text: str, page: _Page, *, context: bool) -> bool:
    """Anchor or hidden text that reads like spam: a lexicon term or a spam compound (体育官网, 娱乐平台).

    A brand the visible page never uses next to a weak morpheme (登录, 平台, 下载) is not
    enough here: hidden login panels, app-download pop-ups and a portal's own ads all read so.
    """
    v = page.v
    t = _normalise(text).norm
    for m in v.lexicon.finditer(t):
        if not context or not _legit(t, m.start(), m.end(), v.category[m.group(0)], v, False):
            return True
    for m in v.strong.finditer(t):
        s2 = _brand_start(t, m.start(), v)
        if not v.government.search(t[s2 : m.end()]):
            return True
    return False


def _visible_links(page: _Page) -> None:
    root = page.doc.tree
    body = root.find("body")
    for a in (body if body is not None else root).iter("a"):
        href = a.get("href") or ""
        if not href.lower().startswith(("http:", "https:", "//")) or not _is_foreign(href, page.site):
            continue
        text = collapse("".join(a.itertext()))
        if text and _anchor_spam(text, page, context=True):
            key = _norm(text)
            _add(page, key, "injected_keyword", text, "link")


def _hidden_findings(page: _Page) -> list[IntegrityFinding]:
    cfg = load("integrity")["blocks"]
    org = re.compile(cfg["org_suffix"])
    groups: dict[str, list[HiddenBlock]] = {}
    for block in page.doc.hidden:
        groups.setdefault(block.reason, []).append(block)
    out: list[IntegrityFinding] = []
    for reason, blocks in groups.items():
        links: list[Link] = [ln for b in blocks for ln in b.links]
        foreign = [ln for ln in links if _is_foreign(ln.href, page.site)]
        spammy = [ln for ln in foreign if ln.text and _anchor_spam(ln.text, page, context=False)]
        orgish = [ln for ln in foreign if org.search(ln.text or "")]
        # A 黑链 block is a run of links to many hosts, one keyword each; a hidden widget or menu
        # (a search box's suggestions, a channel list) sends most of its links to one service.
        hosts = {_host(ln.href) for ln in foreign}
        many = (
            len(hosts) >= int(cfg["min_foreign_links"])
            and len(hosts) * 2 >= len(foreign)
            # keywords or bare hosts of a link farm (澳门赌场, www.site3.com); a reading list of
            # headlines in another language ("How the care system works") is no farm we can judge
            and sum(1 for ln in foreign if _CJK.search(ln.text or "") or " " not in (ln.text or "").strip())
            * 2
            > len(foreign)
        )
        if spammy or (many and len(orgish) * 2 < len(foreign)):
            evidence = _first_evidence(
                _exact(ln.text, page.raw_html) or ([ln.href] if ln.href in page.raw_html else [])
                for ln in foreign
            )
            out.append(
                IntegrityFinding(
                    kind="hidden_links",
                    evidence=evidence,
                    locations=[f"hidden block ({reason})"],
                    count=len(foreign),
                    note=None if spammy else f"{len(foreign)} links to other hosts that no reader sees",
                )
            )
            continue
        texts = [b.text for b in blocks if b.text and _anchor_spam(b.text, page, context=True)]
        if texts:
            evidence = _first_evidence(_exact(t, page.raw_html) or _spam_pieces(t, page) for t in texts)
            out.append(
                IntegrityFinding(
                    kind="hidden_text",
                    evidence=evidence,
                    locations=[f"hidden block ({reason})"],
                    count=len(texts),
                )
            )
    return out


def _first_evidence(groups: Iterator[list[str]] | Any) -> list[str]:
    """The distinct evidence strings of the first items, at most ``max_evidence`` of them: a
    block of 20,000 hidden links is one finding whose ``count`` says 20,000, and looking up each
    link in the page source would cost the page's size per link (issue 14: 24 s)."""
    cap = int(load("integrity")["blocks"]["max_evidence"])
    seen: dict[str, None] = {}
    for group in groups:
        for e in group:
            seen.setdefault(e, None)
        if len(seen) >= cap:
            break
    return list(seen)[:cap]


def _spam_pieces(text: str, page: _Page) -> list[str]:
    """The spam phrases of a hidden text whose whole does not stand in the source as is."""
    t = _normalise(text)
    out = []
    for m in [*page.v.lexicon.finditer(t.norm), *page.v.strong.finditer(t.norm)]:
        s = _brand_start(t.norm, m.start(), page.v) if page.v.strong.fullmatch(m.group(0)) else m.start()
        s, e = _extend(t.norm, s, m.end(), page.v)
        raw = t.raw_of(s, e)
        if raw in page.raw_html and raw not in out:
            out.append(raw)
    return out


# ----------------------------------------------------------------------------- scripts


@cache
def _script_rx() -> dict[str, re.Pattern[str]]:
    cfg = load("integrity")["scripts"]
    return {
        k: re.compile(cfg[k], re.I | re.S)
        for k in ("referrer", "user_agent", "engines", "agents", "redirect", "write", "link")
    }


@cache
def _hidden_style() -> re.Pattern[str]:
    styles = [*load("clean")["hidden_style"], *load("integrity")["hidden"]["style"]]
    return re.compile("|".join(f"(?:{p})" for p in styles), re.I)


_URL = re.compile(
    r"(?:https?:)?//[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+(?::\d+)?[^\s\"'<>()\\]*", re.I
)
# \x62, \u0062, %u0062 and %62: the ways a script hides "baidu" or a URL from a reader.
_ESCAPES = [
    re.compile(r"\\x([0-9a-f]{2})", re.I),
    re.compile(r"\\u([0-9a-f]{4})", re.I),
    re.compile(r"%u([0-9a-f]{4})", re.I),
    re.compile(r"%([0-9a-f]{2})", re.I),
]
_CONCAT = re.compile(r"""["']\s*\+\s*["']""")
_CHARCODES = re.compile(r"String\.fromCharCode\(([\d,\s]+)\)", re.I)


def _deobfuscate(js: str) -> str:
    """Script text with escapes decoded and string concatenations joined (for reading, not evidence)."""
    s = _CHARCODES.sub(
        lambda m: "'" + "".join(chr(int(n)) for n in m.group(1).split(",") if n.strip()) + "'", js
    )
    for rx in _ESCAPES:
        s = rx.sub(_hex_char, s)
    s = _CONCAT.sub("", s)
    return _ATOB.sub(_atob, s)  # atob('aHR0cDovL3...') → 'http://...' (and eval(atob(...)) bodies)


_ATOB = re.compile(r"""(?:window\.)?atob\(\s*(['"])([A-Za-z0-9+/=\s]{8,4000})\1\s*\)""")


def _atob(m: re.Match[str]) -> str:
    import base64
    import binascii

    try:
        decoded = base64.b64decode("".join(m.group(2).split()), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return m.group(0)
    if not decoded.isprintable():
        return m.group(0)
    return "'" + decoded.replace("'", '"') + "'" if "(" not in decoded else decoded


# A URL a script can send the visitor to stands in a string literal; a JS line comment
# (``//console.log(x)``) is no URL. Comments are cut only where ``//`` follows no quote or colon.
_JS_LINE_COMMENT = re.compile(r"""(?<![:"'\\\w])//[^\n]*""")
_QUOTED_URL = re.compile(r"""["'`]\s*((?:https?:)?//[a-z0-9][^\s"'`<>()\\]*)""", re.I)


def _quoted_urls(js: str) -> list[str]:
    """URLs that stand in the script's string literals (after its line comments are gone)."""
    js = _JS_LINE_COMMENT.sub("", js)
    return [m.group(1) for m in _QUOTED_URL.finditer(js) if _URL.fullmatch(m.group(1).rstrip("/") + "/")]


def _hex_char(m: re.Match[str]) -> str:
    return chr(int(m.group(1), 16))


def _line_of(js: str, rx: re.Pattern[str]) -> str | None:
    """The raw statement around the first match: ``if(/baidu|sogou/i.test(r))``, not the whole script.

    A statement ends at ``;``, ``{``, ``}`` or a line end (minified scripts are one line).
    """
    m = rx.search(js)
    if not m:
        return None
    a = max(js.rfind(c, 0, m.start()) for c in ";{}\n") + 1
    ends = [i for i in (js.find(c, m.end()) for c in ";{}\n") if i >= 0]
    b = min(ends, default=len(js))
    return js[a:b].strip()[:300] or None


def _script_findings(page: _Page) -> list[IntegrityFinding]:
    rx = _script_rx()
    cfg = load("integrity")["scripts"]
    redirects: list[str] = []
    hidden_targets: list[str] = []  # targets a reader of the source cannot see (decoded here)
    injected: list[str] = []
    injected_count = 0
    for js in page.doc.scripts:
        if js.startswith("src="):
            continue
        plain = _deobfuscate(js)
        cond = None
        if rx["referrer"].search(plain) and rx["engines"].search(plain):
            cond = rx["referrer"]
        elif rx["user_agent"].search(plain) and rx["agents"].search(plain):
            cond = rx["user_agent"]
        if cond is not None and rx["redirect"].search(plain):
            targets = [
                u for u in _quoted_urls(plain) if _is_foreign(u if ":" in u[:6] else "http:" + u, page.site)
            ]
            if targets:
                for t in dict.fromkeys(targets):
                    if t in js:
                        redirects.append(t)
                    else:  # escaped or base64: the evidence is the statement as it stands
                        redirects.append(
                            _line_of(js, rx["redirect"]) or _line_of(js, _ATOB) or js.strip()[:300]
                        )
                        hidden_targets.append(t)
                line = _line_of(js, rx["engines"] if cond is rx["referrer"] else rx["agents"]) or _line_of(
                    js, cond
                )
                if line:
                    redirects.append(line)
        if rx["write"].search(plain):
            links = rx["link"].findall(plain)
            foreign = [(u, t) for u, t in links if _is_foreign(u if ":" in u[:6] else "http:" + u, page.site)]
            if not foreign:
                continue
            texts = [collapse(re.sub(r"<[^>]*>", "", t)) for _, t in foreign]
            spammy = any(t and _anchor_spam(t, page, context=False) for t in texts)
            hosts = {_host(u if ":" in u[:6] else "http:" + u) for u, _ in foreign}
            hidden = _hidden_style().search(plain) is not None  # written into a box nobody sees
            if spammy or hidden or len(hosts) >= int(cfg["min_foreign_links"]):
                injected_count += len(foreign)
                for (u, _), t in zip(foreign, texts, strict=True):
                    e = t if t and t in js else (u if u in js else None)
                    if e and e not in injected:
                        injected.append(e)
                if not injected:
                    line = _line_of(js, rx["write"])
                    if line:
                        injected.append(line)
    out: list[IntegrityFinding] = []
    for meta in page.doc.tree.iter("meta"):
        if (meta.get("http-equiv") or "").lower() == "refresh":
            m = _URL.search(meta.get("content") or "")
            if m and _is_foreign(m.group(0) if ":" in m.group(0)[:6] else "http:" + m.group(0), page.site):
                redirects.append(m.group(0))
    if redirects:
        out.append(
            IntegrityFinding(
                kind="script_redirect",
                evidence=list(dict.fromkeys(redirects)),
                locations=["script"],
                count=len(redirects),
                note="sends search-engine or mobile visitors to another host"
                + (
                    f" (decoded target: {', '.join(dict.fromkeys(hidden_targets))})" if hidden_targets else ""
                ),
            )
        )
    if injected:
        out.append(
            IntegrityFinding(
                kind="script_injection",
                evidence=injected,
                locations=["script"],
                count=injected_count,
                note="links to other hosts written into the page by script",
            )
        )
    return out


# ----------------------------------------------------------------------------- entry point


def check_integrity(doc: CleanDocument, meta: NoticeMetadata) -> Integrity:
    """Findings of hidden spam, injected phrases, title/meta spam and cloaking scripts."""
    v = _vocab()
    root = doc.tree
    title_raw, metas_raw = _head_texts(root)
    visible_raw, links = _visible_text(root)
    if doc.content_strategy == "script":
        visible_raw += "\n" + doc.body_text
    title = _normalise(title_raw)
    page = _Page(
        doc=doc,
        v=v,
        site=_page_sites(doc),
        raw_html=doc.decoded.text,
        visible=_normalise(visible_raw),
        body_norm=None,
        title=title,
        metas=[(name, _normalise(text)) for name, text in metas_raw],
        topic_page=bool(v.topic_title.search(title.norm + "\n" + _norm(meta.title or ""))),
        titles=[t for t in (title.norm.strip(), _norm(meta.title or "").strip()) if t],
        title_ctx=title.norm + "\n" + _norm(meta.title or ""),
        visible_chars=set(),
    )
    page.visible_chars = set(page.visible.norm)
    page.own_links = bytearray(len(visible_raw) + 1)
    for start, end, href in links:
        if href and not href.lower().startswith(("javascript:", "#")) and not _is_foreign(href, page.site):
            page.own_links[start:end] = b"\x01" * (end - start)
    _visible_phrases(page)
    for ph in page.phrases.values():  # the same phrase in the head (a site-wide replacement)
        if ph.key in page.title.norm:
            ph.locations.add("title")
        if any(ph.key in t.norm for _, t in page.metas):
            ph.locations.add("meta")
    _visible_links(page)
    _title_phrases(page)

    findings: list[IntegrityFinding] = []
    plain = [p for p in page.phrases.values() if p.kind == "injected_keyword" and not p.note]
    if plain:
        findings.append(
            IntegrityFinding(
                kind="injected_keyword",
                evidence=list(dict.fromkeys(e for p in plain for e in p.evidence)),
                locations=sorted({loc for p in plain for loc in p.locations}),
                count=sum(p.count for p in plain),
            )
        )
    for p in page.phrases.values():
        if p.note or p.kind != "injected_keyword":
            findings.append(
                IntegrityFinding(
                    kind=p.kind,
                    evidence=p.evidence,
                    locations=sorted(p.locations),
                    count=p.count,
                    note=p.note,
                )
            )
    findings += _hidden_findings(page)
    findings += _script_findings(page)
    cap = int(load("integrity")["blocks"]["max_evidence"])
    for f in findings:  # a phrase inside a longer reported one adds nothing (script excerpts stay)
        f.evidence = list(dict.fromkeys(f.evidence))[:cap]  # bounded: the pairwise check below
        if not f.kind.startswith("script"):
            f.evidence = [e for e in f.evidence if not any(e != o and e in o for o in f.evidence)]
    findings = [f for f in findings if _stands_in_page(f, page.raw_html)]
    findings.sort(key=lambda f: _KIND_ORDER.index(f.kind))
    return Integrity(findings=findings)


def _stands_in_page(finding: IntegrityFinding, raw_html: str) -> bool:
    """Keep only evidence that stands in the page's source as is; a finding left with none is dropped.

    An archivist must be able to find every evidence string in the archived bytes: a finding
    that cannot show one is an opinion, not evidence (docs/decisions.md).
    """
    finding.evidence = [e for e in finding.evidence if e.strip() and e in raw_html]
    return bool(finding.evidence)


_KIND_ORDER = [
    "injected_keyword",
    "anomalous_phrase",
    "title_injection",
    "hidden_links",
    "hidden_text",
    "script_redirect",
    "script_injection",
]

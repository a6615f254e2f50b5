"""Stage entities: NoticeRecord (body_text, sections, published_date) → list[Entity]. Pure, no I/O
(``save_pipeline`` excepted, which writes the spaCy pipeline to a folder).

The spaCy pipeline is ``spacy.blank("zh")`` plus one rule component, built once per worker by
:func:`build_nlp` and passed in; :func:`find_entities` runs it on one record.

Segmentation. The blank Chinese pipeline segments by character by default ("char": no
dictionary, no download; pkuseg downloads its model at run time and jieba is not a dependency).
Every rule matches on the text, so words are not needed and characters are the right unit.
spaCy's own char tokenizer aligns characters to the text with a slice per character, which is
quadratic (200,000 characters: 1.4 s, measured in bench/bench_entities.py); the registered
tokenizer ``notices.zh_char_tokenizer.v1`` produces the same tokens in linear time.

Rules (component "notices_regex_entities", all vocabulary in ``patterns/entities.toml``):

- DATE: 2024年9月25日, 2024-09-25, 二〇二四年九月二十五日, 9月20日, 9月下旬, 2024年9月, 2024年,
  times (上午10:00, 14:00, 10时30分) kept in the date's span when they follow it, and ranges
  (6月10日至6月18日, 7月8日至19日, 9:00—11:30) as one span. ``normalized`` is ISO 8601. A date
  without a year takes the year that puts it nearest the notice's publication date
  (published 2025-01-05, 12月28日 → 2024-12-28; published 2024-12-30, 1月3日 → 2025-01-03);
  the end of a range is resolved from its start (12月28日至1月3日 crosses into the next year).
  A part of a month is an interval: 上旬 = days 1–10, 中旬 11–20, 下旬 21–end (9月下旬 →
  "2024-09-21/2024-09-30"). A time alone is "T10:00": a bare time ("每周一上午10时") is rarely
  on the publication day, so it is not anchored to it. Without a publication date a month-day
  stays "--09-20". A date that does not exist (2月30日) is still a DATE, normalized None.
- DOC_NO: prefix + year in any bracket pair + (第)N号, normalized to ``prefix〔year〕N号``;
  and 令 numbers (南通市人民政府令第12号).
- LAW: the text inside 《》 when, with trailing brackets such as （试行） removed, it ends in a
  document-type word (法, 条例, 办法, 意见, 通知, 方案 …). Other titles (《…一封信》, certificates)
  are not entities; every 《…》 title is in ``record.cited_documents`` either way.
- QUANTITY: number (+万/亿, +余/多) + unit: 30余人, 5个工作日, 2.3万亩, 100%, 1200万元, 3场次.
- GPE: known province/city names with their suffix, or 2–3 characters before a place suffix
  (省/市/县/区/乡/镇/村/街道 …) starting after a boundary; adjacent names merge (湖州市吴兴区).
- ORG: a place prefix (a GPE, or a bare 市/区/县 … meaning "the city's") + the shortest body
  reaching an organisation suffix (局/委/办/中心/政府/委员会/办公室 …), then optional sub-units
  (…局办公室). The shortest body keeps the verb out: 市农业农村局将 → 市农业农村局.

Overlaps: the longest span wins; on equal length DOC_NO > LAW > ORG > DATE > QUANTITY > GPE
(so an ORG beats the GPE inside it, and a LAW title swallows the dates inside it).

``section_path`` is found by locating each section's heading and paragraphs in ``body_text``
in document order; a mention belongs to the deepest section whose located text contains it.

Packaging: the factory and the tokenizer are registered with spaCy's registries here and
advertised through the ``spacy_factories`` / ``spacy_tokenizers`` entry points, so
``spacy.load(path)`` of a folder written by :func:`save_pipeline` works in a fresh interpreter
without importing this module first. The component saves its pattern data with the pipeline.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import spacy
from spacy.attrs import IDX
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import DummyTokenizer, filter_spans, registry
from spacy.vocab import Vocab

from pipeline.patterns import load
from pipeline.settings import Settings
from schemas.entity import ENTITY_LABELS, Entity, EntityLabel
from schemas.record import NoticeRecord, NoticeSection

__all__ = [
    "COMPONENT",
    "TOKENIZER",
    "CharTokenizer",
    "RegexEntities",
    "build_nlp",
    "create_char_tokenizer",
    "find_entities",
    "make_regex_entities",
    "save_pipeline",
]

log = logging.getLogger(__name__)

COMPONENT = "notices_regex_entities"
TOKENIZER = "notices.zh_char_tokenizer.v1"
# Doc / Span extension attributes set by the component.
REFERENCE_DATE_ATTR = "notice_reference_date"
NORMALIZED_ATTR = "notice_normalized"
# Where the component keeps normalized values: doc.user_data[_NORMALIZED_KEY]["start:end"]; the
# span attribute reads them (a getter: one dict per Doc instead of an Underscore per span).
_NORMALIZED_KEY = "notices_normalized"

# Bodies are processed in blocks of whole lines of at most this many characters: a spaCy Doc
# costs memory per character, and no rule matches across a line break, so nothing is lost
# except in a single line longer than this (cut where it must be).
_CHUNK_CHARS = 100_000

_WHITESPACE_RUNS = re.compile(r"(\s+)")
_MAX_CACHED_ORTHS = 200_000
_TEXT_KEY = "notices_text"
_SURROGATE = re.compile("[\ud800-\udfff]")


# --------------------------------------------------------------------------------------------
# Tokenizer


class CharTokenizer(DummyTokenizer):
    """One token per non-space character, whitespace as spaCy's char segmenter keeps it.

    Same tokens as ``spacy.lang.zh.ChineseTokenizer(segmenter="char")`` in linear time.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        # string → its hash in the vocab's StringStore: a Doc built from hashes skips hashing
        # every character again (0.34 → 0.15 ms for a 1,500-character notice, measured)
        self._orths: dict[str, int] = {}

    def _orth_ids(self, words: list[str]) -> list[int]:
        orths = self._orths
        if len(orths) > _MAX_CACHED_ORTHS:  # whitespace runs vary without end; characters do not
            orths.clear()
        add = self.vocab.strings.add
        return [orths.get(w) or orths.setdefault(w, add(w)) for w in words]

    def __call__(self, text: str) -> Doc:
        # Each non-space character is a token; one plain space after a character is that token's
        # trailing space; any other whitespace run (or what is left of it) is a token of its own.
        words: list[str] = []
        spaces: list[bool] = []
        pieces = _WHITESPACE_RUNS.split(text)  # text, whitespace, text, …, text
        for i in range(0, len(pieces), 2):
            run = pieces[i]
            words.extend(run)
            spaces.extend([False] * len(run))
            if i + 1 < len(pieces):
                gap = pieces[i + 1]
                if run and gap[0] == " ":
                    spaces[-1] = True
                    gap = gap[1:]
                if gap:
                    words.append(gap)
                    spaces.append(False)
        doc = Doc(self.vocab, words=self._orth_ids(words), spaces=spaces)  # type: ignore[arg-type]
        doc.user_data[_TEXT_KEY] = text  # doc.text rebuilds the string token by token: slow
        return doc


def create_char_tokenizer(segmenter: str = "char") -> Callable[[Language], CharTokenizer]:
    """spaCy tokenizer factory (config ``@tokenizers = "notices.zh_char_tokenizer.v1"``)."""
    if segmenter != "char":
        raise ValueError(f"{TOKENIZER} segments by character only, not {segmenter!r}")

    def make(nlp: Language) -> CharTokenizer:
        return CharTokenizer(nlp.vocab)

    return make


registry.tokenizers.register(TOKENIZER, func=create_char_tokenizer)


# --------------------------------------------------------------------------------------------
# Mentions and dates


@dataclass(frozen=True, slots=True)
class _When:
    """A date or time as printed; None where the text gives no value."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    part: tuple[int, int] | None = None  # day range of 上旬/中旬/下旬
    hour: int | None = None
    minute: int | None = None

    @property
    def time_only(self) -> bool:
        return self.year is None and self.month is None and self.day is None

    def valid_day(self) -> bool:
        if self.month is None or self.day is None:
            return True
        year = self.year if self.year is not None else 2024  # a leap year: 2月29日 may exist
        return 1 <= self.day <= calendar.monthrange(year, self.month)[1]


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    label: EntityLabel
    normalized: str | None = None
    when: _When | None = None
    when_end: _When | None = None  # the end of a DATE range


_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})


def _cn_number(s: str) -> int:
    """十 → 10, 二十五 → 25, 三十一 → 31, 九 → 9."""
    if "十" not in s:
        return _CN_DIGITS[s]
    tens, _, units = s.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _resolve(w: _When, ref: dt.date | None) -> _When:
    """Give a month-day or month without a year the year nearest the publication date."""
    if w.year is not None or w.month is None or ref is None:
        return w
    if w.day is not None:
        best: tuple[int, int, int] | None = None
        for year in (ref.year - 1, ref.year, ref.year + 1):
            try:
                distance = abs((dt.date(year, w.month, w.day) - ref).days)
            except ValueError:  # 2月29日 in a common year, 2月30日
                continue
            key = (distance, abs(year - ref.year), year)
            best = key if best is None or key < best else best
        return replace(w, year=best[2]) if best else w
    years = (ref.year - 1, ref.year, ref.year + 1)
    here = _month_index(ref.year, ref.month)
    year = min(years, key=lambda y: (abs(_month_index(y, w.month or 1) - here), abs(y - ref.year)))
    return replace(w, year=year)


def _continue_from(start: _When, end: _When) -> _When:
    """Fill the end of a range from its (resolved) start: 12月28日至1月3日, 7月8日至19日, 9:00—11:30."""
    if end.year is not None:
        return end
    if end.time_only:
        return replace(end, year=start.year, month=start.month, day=start.day)
    if end.month is None:  # a bare day: 7月8日至19日
        if start.month is None or start.day is None or end.day is None:
            return end
        year, month = start.year, start.month
        if end.day < start.day:
            month += 1
            if month > 12:
                month, year = 1, (year + 1 if year is not None else None)
        return replace(end, year=year, month=month)
    if start.year is None or start.month is None:
        return end
    year = start.year
    if (end.month, end.day or 1) < (start.month, start.day or 1):
        year += 1
    return replace(end, year=year)


def _iso(w: _When, *, end: bool = False) -> str | None:
    """ISO 8601 for one point: 2024-09-25T10:00, 2024-09, 2024, --09-20, T10:00."""
    time = f"T{w.hour:02d}:{w.minute or 0:02d}" if w.hour is not None else ""
    if w.time_only:
        return time or None
    if w.month is None:
        return f"{w.year:04d}" if w.year is not None else None
    if not w.valid_day():
        return None
    date = f"{w.year:04d}-{w.month:02d}" if w.year is not None else f"--{w.month:02d}"
    day = w.day
    if day is None and w.part is not None:
        last = calendar.monthrange(w.year if w.year is not None else 2024, w.month)[1]
        day = min(w.part[1], last) if end else w.part[0]
    if day is None:
        return date
    return f"{date}-{day:02d}{time}"


def _normalize_date(m: _Mention, ref: dt.date | None) -> str | None:
    assert m.when is not None
    start = _resolve(m.when, ref)
    if m.when_end is None:
        first = _iso(start)
        if start.part is not None and start.day is None:
            last = _iso(start, end=True)
            return f"{first}/{last}" if first and last else None
        return first
    stop = _continue_from(start, m.when_end)
    first, last = _iso(start), _iso(stop, end=True)
    return f"{first}/{last}" if first and last else None


def _format_number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


# --------------------------------------------------------------------------------------------
# Rules


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def _lookahead(mapping: dict[str, list[str]], word: str) -> str:
    banned = mapping.get(word)
    return f"(?!{_alternation(banned)})" if banned else ""


_LEADING_LOOKBEHIND = re.compile(r"\(\?<!(\\d|\[(?:\\.|[^\]\\])*\])\)")


class _Scanner:
    """``finditer`` of a pattern that starts with a one-character negative lookbehind, fast.

    ``(?<![\\d.])…`` hides the pattern's first characters from ``re``'s search loop, which then
    runs the whole pattern at every position. The rest of the pattern is searched instead (its
    first characters let ``re`` skip ahead) and the lookbehind is checked on each hit; a
    rejected hit resumes the search one character further, so the matches are exactly those
    of the original pattern."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)
        lead = _LEADING_LOOKBEHIND.match(pattern)
        self.rest = re.compile(pattern[lead.end() :]) if lead else None
        self.before = re.compile(lead.group(1)) if lead else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if self.rest is None or self.before is None:
            yield from self.pattern.finditer(text)
            return
        rest, before = self.rest, self.before
        pos, n = 0, len(text)
        while pos <= n:
            m = rest.search(text, pos)
            if m is None:
                return
            start = m.start()
            if start > 0 and before.match(text, start - 1):
                pos = start + 1
                continue
            yield m
            pos = m.end() if m.end() > start else start + 1


class _Rules:
    """The compiled rules of one pattern file; ``find(text, ref)`` → non-overlapping mentions."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        cjk = data["cjk"]
        self.priority = {label: i for i, label in enumerate(data["priority"])}
        self._cjk = re.compile(cjk)

        d = data["date"]
        self.date_rx = [_Scanner(p) for p in d["patterns"]]
        self.time_rx = re.compile(d["time"])
        self.pm = frozenset(d["pm"])
        self.weekday_rx = re.compile(d["weekday"])
        self.connector_rx = re.compile(d["range_connector"])
        self.bare_day_rx = re.compile(d["bare_day"])
        self.parts: dict[str, tuple[int, int]] = {k: (v[0], v[1]) for k, v in d["parts"].items()}

        n = data["doc_no"]
        self.doc_no_rx = re.compile(n["core"])
        self.order_rx = re.compile(n["order_core"])
        self.doc_prefix_max = int(n["prefix_scan"])
        self.doc_prefix_keep = int(n["max_prefix"])
        self.lead_words = sorted(n["lead_words"], key=len, reverse=True)

        law = data["law"]
        self.law_rx = re.compile(law["title"])
        self.law_trailing = re.compile(law["trailing_brackets"])
        self.law_endings = tuple(law["endings"])

        q = data["quantity"]
        units = _alternation(q["units"])
        self.quantity_rx = [_Scanner(q["pattern"].replace("{units}", units)), _Scanner(q["years_pattern"])]
        self.unit_nfb: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in q["not_followed_by"].items()}

        g = data["gpe"]
        self.gpe_full = sorted(g["full_names"], key=len, reverse=True)
        self.gpe_known = {"省": frozenset(g["provinces"]), "市": frozenset(g["cities"])}
        self.gpe_known_lengths = sorted(
            {len(x) for names in self.gpe_known.values() for x in names}, reverse=True
        )
        self.gpe_full_set = frozenset(g["full_names"])
        self.gpe_suffix_rx = re.compile(_alternation(g["suffixes"]))
        self.gpe_nfb_rx = re.compile(_alternation(g["not_followed_by"]))
        self.gpe_min, self.gpe_max = int(g["name_min"]), int(g["name_max"])
        self.stop_chars = frozenset(g["stop_chars"])
        self.stop_words = frozenset(g["stop_words"])
        self.stop_word_lengths = sorted({len(w) for w in g["stop_words"]}, reverse=True)
        self.common_nouns = tuple(g["common_nouns"])
        self.not_before_suffix = frozenset(g["not_before_suffix"])
        self.chain_suffixes = frozenset(g["chain_suffixes"])

        o = data["org"]
        admin = o["admin_chars"]
        unit = f"(?:{_alternation(o['body_words'])}|(?![{re.escape(o['body_stop_chars'] + admin)}]){cjk})"
        before = o["suffix_not_preceded_by"]
        suffixes = "|".join(
            (f"(?<![{re.escape(before[s])}])" if s in before else "")
            + re.escape(s)
            + _lookahead(o["suffix_not_followed_by"], s)
            for s in sorted(o["suffixes"], key=len, reverse=True)
        )
        subs = "|".join(
            re.escape(s) + _lookahead(o["sub_unit_not_followed_by"], s)
            for s in sorted(o["sub_units"], key=len, reverse=True)
        )
        self.org_rx = re.compile(f"{unit}{{0,{int(o['body_max'])}}}?(?:{suffixes})")
        self.org_sub_rx = re.compile(f"{unit}{{0,{int(o['sub_body_max'])}}}?(?:{subs})")
        self.admin_rx = re.compile(f"[{re.escape(admin)}]")

    # -- helpers ------------------------------------------------------------------------------

    def _is_cjk(self, ch: str) -> bool:
        return bool(self._cjk.match(ch))

    def _after_stop_word(self, text: str, j: int) -> bool:
        return any(j >= n and text[j - n : j] in self.stop_words for n in self.stop_word_lengths)

    def _at_boundary(self, text: str, j: int) -> bool:
        """Can a name start at ``j``? (start of text, after punctuation/digits, a stop char or word)."""
        if j == 0:
            return True
        ch = text[j - 1]
        return (
            not self._is_cjk(ch)
            or ch in self.stop_chars
            or ch in self.not_before_suffix  # 决赛中|区税务局
            or self._after_stop_word(text, j)
        )

    # -- DATE ---------------------------------------------------------------------------------

    def _when(self, m: re.Match[str]) -> _When | None:
        g = m.groupdict()
        year = int(g["y"]) if g.get("y") else None
        if g.get("yc"):
            year = int("".join(str(_CN_DIGITS[c]) for c in g["yc"]))
        month = int(g["m"]) if g.get("m") else (_cn_number(g["mc"]) if g.get("mc") else None)
        day = int(g["d"]) if g.get("d") else (_cn_number(g["dc"]) if g.get("dc") else None)
        if month is not None and not 1 <= month <= 12:
            return None
        if day is not None and not 1 <= day <= 31:
            return None
        part = self.parts.get(g.get("part") or "")
        return _When(year=year, month=month, day=day, part=part)

    def _time(self, m: re.Match[str]) -> tuple[int, int] | None:
        hour = int(m.group("hh"))
        minute = m.group("mi") or m.group("mi2")
        mins = 30 if m.group("half") else int(minute) if minute else 0
        if m.group("ampm") in self.pm and hour < 12:
            hour += 12
        if hour > 24 or mins > 59 or (hour == 24 and mins):
            return None
        return hour, mins

    def _dates(self, text: str) -> Iterator[_Mention]:
        for rx in self.date_rx:
            for m in rx.finditer(text):
                when = self._when(m)
                if when is None:
                    continue
                end = m.end()
                if when.day is not None:  # a weekday and a time printed right after belong to it
                    wd = self.weekday_rx.match(text, end)
                    if wd:
                        end = wd.end()
                    gap = end
                    while gap < len(text) and text[gap] in " \t\u3000":  # 2024-09-25 10:00
                        gap += 1
                    t = self.time_rx.match(text, gap)
                    hm = self._time(t) if t else None
                    if t and hm:
                        when = replace(when, hour=hm[0], minute=hm[1])
                        end = t.end()
                    elif wd is None:
                        end = m.end()
                yield _Mention(m.start(), end, "DATE", when=when)
        for t in self.time_rx.finditer(text):
            # A time alone needs 上午/下午… or a colon: "12点" is more often a count of points.
            if not (t.group("ampm") or t.group("mi")):
                continue
            hm = self._time(t)
            if hm:
                yield _Mention(t.start(), t.end(), "DATE", when=_When(hour=hm[0], minute=hm[1]))

    def _merge_ranges(self, text: str, mentions: list[_Mention]) -> list[_Mention]:
        out: list[_Mention] = []
        i = 0
        while i < len(mentions):
            a = mentions[i]
            i += 1
            if a.label != "DATE" or a.when is None:
                out.append(a)
                continue
            c = self.connector_rx.match(text, a.end)
            if c is None:
                out.append(a)
                continue
            nxt = mentions[i] if i < len(mentions) else None
            if (
                nxt is not None
                and nxt.label == "DATE"
                and nxt.start == c.end()
                and nxt.when is not None
                and _range_ok(a.when, nxt.when)
            ):
                out.append(replace(a, end=nxt.end, when_end=nxt.when))
                i += 1
                continue
            bare = self.bare_day_rx.match(text, c.end())
            if (
                bare
                and a.when.day is not None
                and (nxt is None or nxt.start >= bare.end())
                and 1 <= int(bare.group("d")) <= 31
            ):
                out.append(replace(a, end=bare.end(), when_end=_When(day=int(bare.group("d")))))
                continue
            out.append(a)
        return out

    # -- DOC_NO -------------------------------------------------------------------------------

    def _prefix_start(self, text: str, end: int) -> int:
        j = end
        while j > 0 and end - j < self.doc_prefix_max and self._is_cjk(text[j - 1]):
            j -= 1
        prefix = text[j:end]
        cut = 0
        for w in self.lead_words:  # the number starts after the last introducing word
            k = prefix.rfind(w)
            if k >= 0 and (len(w) > 1 or k == 0):
                cut = max(cut, k + len(w))
        j += cut
        return max(j, end - self.doc_prefix_keep)

    def _doc_nos(self, text: str) -> Iterator[_Mention]:
        for m in self.doc_no_rx.finditer(text):
            start = self._prefix_start(text, m.start())
            if start >= m.start():
                continue
            prefix = text[start : m.start()]
            norm = f"{prefix}〔{int(m.group('year'))}〕{int(m.group('num'))}号"
            yield _Mention(start, m.end(), "DOC_NO", normalized=norm)
        for m in self.order_rx.finditer(text):
            start = self._prefix_start(text, m.start() + 1)  # the prefix ends with 令
            if m.start() + 1 - start < 3:
                continue
            norm = f"{text[start : m.start() + 1]}第{int(m.group('num'))}号"
            yield _Mention(start, m.end(), "DOC_NO", normalized=norm)

    # -- LAW ----------------------------------------------------------------------------------

    def _laws(self, text: str) -> Iterator[_Mention]:
        for m in self.law_rx.finditer(text):
            title = m.group("title")
            bare = self.law_trailing.sub("", title.strip()).strip()
            if not bare.endswith(self.law_endings):
                continue
            start = m.start("title") + (len(title) - len(title.lstrip()))
            end = m.end("title") - (len(title) - len(title.rstrip()))
            yield _Mention(start, end, "LAW")

    # -- QUANTITY -----------------------------------------------------------------------------

    def _quantities(self, text: str) -> Iterator[_Mention]:
        for rx in self.quantity_rx:
            for m in rx.finditer(text):
                unit = m.group("unit")
                banned = self.unit_nfb.get(unit)
                if banned and text.startswith(banned, m.end()):
                    continue
                try:
                    value = Decimal(m.group("num"))
                except InvalidOperation:
                    continue
                mult = m.groupdict().get("mult")
                for ch in mult or "":
                    value *= {"百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}[ch]
                plus = "+" if m.group("approx") else ""
                unit = "%" if unit == "％" else unit
                yield _Mention(
                    m.start(), m.end(), "QUANTITY", normalized=f"{_format_number(value)}{plus} {unit}"
                )

    # -- GPE and ORG --------------------------------------------------------------------------

    def _gpes(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        chain_ends: set[int] = set()
        deferred: list[tuple[int, int]] = []
        for name in self.gpe_full:
            k = text.find(name)
            while k >= 0:
                found.append((k, k + len(name)))
                chain_ends.add(k + len(name))
                k = text.find(name, k + len(name))
        for m in self.gpe_suffix_rx.finditer(text):
            s, e = m.start(), m.end()
            known = self.gpe_known.get(m.group())
            hit = None
            if known:
                hit = next(
                    (s - n for n in self.gpe_known_lengths if s >= n and text[s - n : s] in known), None
                )
            if hit is not None:
                found.append((hit, e))
                chain_ends.add(e)
                continue
            if any(s - n >= 0 and text[s - n : e] in self.gpe_full_set for n in range(2, 8)):
                continue
            if self.gpe_nfb_rx.match(text, s) or (s > 0 and text[s - 1] in self.not_before_suffix):
                continue
            j = s
            while j > 0 and s - j <= self.gpe_max:
                ch = text[j - 1]
                if not self._is_cjk(ch) or ch in self.stop_chars or self._after_stop_word(text, j):
                    break
                j -= 1
            if not self.gpe_min <= s - j <= self.gpe_max:
                continue  # too short, or no boundary within reach: cannot tell where it starts
            # 偏远山区 is a mountain area, but 深圳市南山区 is a district: right after a place
            # name, a name ending like a common noun is still a name.
            chained = j in chain_ends and m.group() in self.chain_suffixes
            if not chained and text[j:e].endswith(self.common_nouns):
                deferred.append((j, e))
                continue
            found.append((j, e))
            chain_ends.add(e)
        # …and once known as a name in this text, it is a name everywhere in it.
        names = {text[s:e] for s, e in found}
        found += [(s, e) for s, e in deferred if text[s:e] in names]
        # Keep the longest of overlapping names, then join adjacent ones: 湖州市 + 吴兴区.
        found.sort(key=lambda se: (se[0], -se[1]))
        merged: list[tuple[int, int]] = []
        for s, e in found:
            if merged and s < merged[-1][1]:
                if e > merged[-1][1] and s == merged[-1][0]:
                    merged[-1] = (s, e)
                continue
            if merged and s == merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        return merged

    def _org_at(self, text: str, start: int, body_from: int) -> _Mention | None:
        m = self.org_rx.match(text, body_from)
        if m is None:
            return None
        end = m.end()
        sub = self.org_sub_rx.match(text, end)
        while sub is not None and sub.end() > end:
            end = sub.end()
            sub = self.org_sub_rx.match(text, end)
        return _Mention(start, end, "ORG")

    def _orgs(self, text: str, gpes: Sequence[tuple[int, int]]) -> Iterator[_Mention]:
        for s, e in gpes:
            org = self._org_at(text, s, e)
            if org is not None:
                yield org
        for m in self.admin_rx.finditer(text):
            p = m.start()
            if self.gpe_nfb_rx.match(text, p) or not self._at_boundary(text, p):
                continue
            org = self._org_at(text, p, p + 1)
            if org is not None:
                yield org

    # -- all ----------------------------------------------------------------------------------

    def find(self, text: str, ref: dt.date | None) -> list[_Mention]:
        """Non-overlapping mentions in ``text``, in order, dates normalized against ``ref``."""
        gpes = self._gpes(text)
        candidates: list[_Mention] = [
            *self._dates(text),
            *self._doc_nos(text),
            *self._laws(text),
            *self._quantities(text),
            *(_Mention(s, e, "GPE") for s, e in gpes),
            *self._orgs(text, gpes),
        ]
        chosen = _longest_first(candidates, self.priority)
        chosen = self._merge_ranges(text, chosen)
        return [replace(m, normalized=_normalize_date(m, ref)) if m.when is not None else m for m in chosen]


def _range_ok(a: _When, b: _When) -> bool:
    """Can ``a`` 至 ``b`` be one range? A time may end a range that starts with a date or a
    time; a time alone cannot start a dated range; 2023年至3月 is no range."""
    if b.time_only:
        return a.hour is not None or a.day is not None
    if a.time_only:
        return False
    return not (a.month is None and b.month is not None and b.year is None)


def _longest_first(candidates: list[_Mention], priority: dict[str, int]) -> list[_Mention]:
    """Longest span wins; ties by label priority, then position. Returns spans in text order."""
    candidates.sort(key=lambda c: (-(c.end - c.start), priority[c.label], c.start))
    starts: list[int] = []
    kept: list[_Mention] = []
    for c in candidates:
        if c.end <= c.start:
            continue
        i = bisect.bisect_right(starts, c.start)
        if i > 0 and kept[i - 1].end > c.start:
            continue
        if i < len(kept) and kept[i].start < c.end:
            continue
        starts.insert(i, c.start)
        kept.insert(i, c)
    return kept


# --------------------------------------------------------------------------------------------
# spaCy component


class RegexEntities:
    """spaCy component: sets ``doc.ents`` from the rules; ``span._.notice_normalized`` holds the
    normalized value. Dates without a year resolve against ``doc._.notice_reference_date``
    (a ``datetime.date`` or ISO string) when it is set before the component runs."""

    def __init__(self, nlp: Language, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.data = data
        self.rules = _Rules(data)

    def __call__(self, doc: Doc) -> Doc:
        ref = doc._.get(REFERENCE_DATE_ATTR)
        if isinstance(ref, str):
            try:
                ref = dt.date.fromisoformat(ref)
            except ValueError:
                ref = None
        elif isinstance(ref, dt.datetime):
            ref = ref.date()
        elif not isinstance(ref, dt.date):
            ref = None
        mentions = self.rules.find(_doc_text(doc), ref)
        token_starts = doc.to_array([IDX]).tolist() if mentions else []
        spans: list[Span] = []
        values: dict[str, str | None] = doc.user_data.setdefault(_NORMALIZED_KEY, {})
        for m in mentions:
            span = _aligned_span(doc, token_starts, m)
            if span is None:
                continue
            values[f"{span.start_char}:{span.end_char}"] = m.normalized
            spans.append(span)
        if doc.has_annotation("ENT_IOB"):  # keep what an earlier component found, where it fits
            spans = filter_spans([*spans, *doc.ents])
        doc.set_ents(spans)
        return doc

    # Serialization: the pattern data travels with a saved pipeline.
    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return json.dumps(self.data, ensure_ascii=False).encode("utf-8")

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> RegexEntities:
        self.data = json.loads(data.decode("utf-8"))
        self.rules = _Rules(self.data)
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "patterns.json").write_bytes(self.to_bytes())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> RegexEntities:
        file = Path(path) / "patterns.json"
        if file.is_file():
            self.from_bytes(file.read_bytes())
        return self


def _doc_text(doc: Doc) -> str:
    """The text of ``doc``: as our tokenizer kept it when it still matches the tokens."""
    text = doc.user_data.get(_TEXT_KEY)
    if isinstance(text, str) and len(doc) and doc[-1].idx + len(doc[-1].text_with_ws) == len(text):
        return text
    return doc.text


def _aligned_span(doc: Doc, token_starts: list[int], m: _Mention) -> Span | None:
    """The span of tokens covering exactly ``m`` (always, with one token per character); with
    another tokenizer, the tokens that contain it."""
    first = bisect.bisect_right(token_starts, m.start) - 1
    last = bisect.bisect_left(token_starts, m.end)
    if first >= 0 and token_starts[first] == m.start:
        span = Span(doc, first, last, label=m.label)
        if span.end_char == m.end:
            return span
    return doc.char_span(m.start, m.end, label=m.label, alignment_mode="expand")


def _normalized_of(span: Span) -> str | None:
    """``span._.notice_normalized``: the value the component normalized for exactly this span."""
    values = span.doc.user_data.get(_NORMALIZED_KEY)
    return values.get(f"{span.start_char}:{span.end_char}") if isinstance(values, dict) else None


def _register_extensions() -> None:
    if not Doc.has_extension(REFERENCE_DATE_ATTR):
        Doc.set_extension(REFERENCE_DATE_ATTR, default=None)
    if not Span.has_extension(NORMALIZED_ATTR):
        Span.set_extension(NORMALIZED_ATTR, getter=_normalized_of)


@Language.factory(COMPONENT, default_config={"patterns": "entities"})
def make_regex_entities(nlp: Language, name: str, patterns: str) -> RegexEntities:
    """spaCy factory of the rule component; ``patterns`` names a file in ``pipeline/patterns``."""
    _register_extensions()
    return RegexEntities(nlp, name, load(patterns))


# --------------------------------------------------------------------------------------------
# Public API


def build_nlp(settings: Settings | None = None) -> Language:
    """The entity pipeline: blank Chinese, linear char tokenizer, the rule component.

    Build it once per worker (≈50 ms) and pass it to :func:`find_entities`. ``settings`` is
    accepted like every stage's resources; no setting applies to the rules yet.
    """
    del settings
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe(COMPONENT)
    return nlp


def save_pipeline(path: str | Path, nlp: Language | None = None) -> Path:
    """Write the pipeline (``build_nlp()`` unless given) to ``path`` for ``spacy.load(path)``."""
    folder = Path(path)
    (nlp if nlp is not None else build_nlp()).to_disk(folder)
    return folder


def _chunks(text: str, size: int = _CHUNK_CHARS) -> Iterator[tuple[int, str]]:
    """(offset, block) of whole lines, each at most ``size`` characters."""
    start, n = 0, len(text)
    while start < n:
        stop = min(start + size, n)
        if stop < n:
            cut = text.rfind("\n", start, stop)
            if cut > start:
                stop = cut + 1
            else:
                log.warning("a line of more than %d characters is cut for entity matching", size)
        yield start, text[start:stop]
        start = stop


class _SectionIndex:
    """Where each section's text lies in the body; ``path_at(offset)`` → its section_path."""

    def __init__(self, text: str, sections: Sequence[NoticeSection]) -> None:
        self.text = text
        self.cursor = 0
        nodes: list[tuple[int, int, tuple[int, ...]]] = []
        self._locate(sections, (), nodes)
        nodes.sort(key=lambda n: (n[0], -n[1], len(n[2])))
        # Flatten the nested spans into consecutive segments, each owned by its deepest section.
        self.starts: list[int] = []
        self.paths: list[tuple[int, ...]] = []
        stack: list[tuple[int, tuple[int, ...]]] = []
        pos = 0
        for start, end, path in nodes:
            pos = self._close(stack, pos, start)
            if pos < start:
                self._segment(pos, stack[-1][1] if stack else ())
                pos = start
            stack.append((max(end, start), path))
        pos = self._close(stack, pos, len(text) + 1)
        self._segment(pos, ())  # after the last located text

    def _close(self, stack: list[tuple[int, tuple[int, ...]]], pos: int, until: int) -> int:
        while stack and stack[-1][0] <= until:
            end, path = stack.pop()
            if pos < end:
                self._segment(pos, path)
                pos = end
        return pos

    def _segment(self, start: int, path: tuple[int, ...]) -> None:
        if self.paths and self.paths[-1] == path:
            return
        self.starts.append(start)
        self.paths.append(path)

    def _find(self, piece: str) -> tuple[int, int] | None:
        piece = piece.strip()
        if not piece:
            return None
        k = self.text.find(piece, self.cursor)
        if k < 0:
            return None
        self.cursor = k + len(piece)
        return k, self.cursor

    def _locate(
        self,
        sections: Sequence[NoticeSection],
        prefix: tuple[int, ...],
        out: list[tuple[int, int, tuple[int, ...]]],
    ) -> tuple[int, int] | None:
        lo: int | None = None
        hi = 0
        for i, node in enumerate(sections):
            path = (*prefix, i)
            found = [self._find(node.heading)] + [self._find(p) for p in node.text.split("\n")]
            spans = [f for f in found if f is not None]
            child = self._locate(node.children, path, out)
            if child is not None:
                spans.append(child)
            if not spans:
                continue
            start, end = min(s for s, _ in spans), max(e for _, e in spans)
            out.append((start, end, path))
            lo = start if lo is None else min(lo, start)
            hi = max(hi, end)
        return (lo, hi) if lo is not None else None

    def path_at(self, offset: int) -> list[int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        return list(self.paths[i]) if i >= 0 else []


_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def find_entities(nlp: Language, record: NoticeRecord) -> list[Entity]:
    """Entities in ``record.body_text``, in text order, offsets into ``body_text``."""
    text = record.body_text
    if not text.strip():
        return []
    found: list[tuple[int, int, str, str | None]] = []
    for offset, block in _chunks(text):
        # spaCy cannot hash lone surrogates (from undecodable bytes); U+FFFD keeps every offset.
        # full-width digits and Latin (２０２４年９月) read as ASCII: one character each, so offsets hold
        doc = nlp.make_doc(_SURROGATE.sub("\ufffd", block).translate(_HALF_WIDTH))
        doc._.set(REFERENCE_DATE_ATTR, record.published_date)
        for _name, proc in nlp.pipeline:
            doc = proc(doc)
        values = doc.user_data.get(_NORMALIZED_KEY) or {}
        for span in doc.ents:
            label = span.label_
            if label in ENTITY_LABELS:
                s, e = span.start_char, span.end_char
                found.append((offset + s, offset + e, label, values.get(f"{s}:{e}")))
    index = _SectionIndex(text, record.sections)
    return [
        Entity(
            text=text[start:end],
            label=label,
            start=start,
            end=end,
            section_path=index.path_at(start),
            normalized=normalized,
        )
        for start, end, label, normalized in found
    ]

"""Stage sections: CleanDocument (its main-text lines) → list[NoticeSection]. Pure, no I/O.

Headings are body lines that start with a Chinese outline number (一、 / （一） / 1. or 1、 /
（1）, and 第一章 / 第一条 in regulations). The heading is the whole line unless a 。 comes
before its end — a run-in heading — then it is the text up to and including that 。; the
rest of the line is the section's first paragraph. Inline 一是…二是… enumerations never
start a line and so are items, not headings. A numbered line is only a heading when its
number continues its siblings' count (1, then 2 ...), which keeps attachment lists
("附件：1.…docx / 2.…xls") and stray numbers out of the outline.

``kind`` comes from the vocabulary in ``patterns/sections.toml``; children inherit their
parent's kind unless their own heading is one of a kind's canonical titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.patterns import load
from schemas.record import NoticeSection, SectionKind
from schemas.stages import CleanDocument

_CN_VALUES = {
    "零": 0,
    "〇": 0,
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


def cn_to_int(s: str) -> int:
    """一 → 1, 十二 → 12, 二十三 → 23, 一百零五 → 105."""
    total, num = 0, 0
    for ch in s:
        if ch in _CN_VALUES:
            num = _CN_VALUES[ch]
        elif ch == "十":
            total += (num or 1) * 10
            num = 0
        elif ch == "百":
            total += (num or 1) * 100
            num = 0
    return total + num


@dataclass
class _Node:
    heading: str
    level: int
    number: int
    kind: str = "other"
    text: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)


def _markers() -> list[tuple[str, re.Pattern[str]]]:
    cfg = load("sections")["markers"]
    return [(name, re.compile(rx)) for name, rx in cfg.items()]


_MARKER_STARTS = frozenset("第一二三四五六七八九十（(0123456789")


def _match_marker(text: str, markers: list[tuple[str, re.Pattern[str]]]) -> tuple[str, int, int] | None:
    if not text or text[0] not in _MARKER_STARTS:  # cheap test before six regexes
        return None
    for name, rx in markers:
        m = rx.match(text)
        if m:
            raw = m.group(1)
            number = int(raw) if raw.isdigit() else cn_to_int(raw)
            return name, number, m.end()
    return None


def split_heading(line: str) -> tuple[str, str]:
    """('（一）积极谋划，周密部署。一是…' → ('（一）积极谋划，周密部署。', '一是…')."""
    cut = line.find("。")
    if 0 <= cut < len(line) - 1:
        return line[: cut + 1], line[cut + 1 :].strip()
    return line, ""


def _strip_marker(heading: str, markers: list[tuple[str, re.Pattern[str]]]) -> str:
    hit = _match_marker(heading, markers)
    core = heading[hit[2] :] if hit else heading
    return core.strip().rstrip("。：:；;，,.").strip()


def classify_heading(core: str) -> SectionKind | None:
    """The kind a heading names (marker removed), or None if it names none."""
    kinds = load("sections")["kinds"]
    for entry in kinds:
        if core in entry["titles"]:
            return entry["kind"]  # type: ignore[no-any-return]
    for entry in kinds:
        for pat in entry["patterns"]:
            if re.search(pat, core):
                return entry["kind"]  # type: ignore[no-any-return]
    return None


def _canonical_kind(core: str) -> SectionKind | None:
    for entry in load("sections")["kinds"]:
        if core in entry["titles"]:
            return entry["kind"]  # type: ignore[no-any-return]
    return None


def _to_model(node: _Node) -> NoticeSection:
    # Iterative post-order so that no outline depth can exhaust the stack.
    built: dict[int, NoticeSection] = {}
    stack: list[tuple[_Node, bool]] = [(node, False)]
    while stack:
        cur, done = stack.pop()
        if done:
            built[id(cur)] = NoticeSection(
                heading=cur.heading,
                level=cur.level,
                kind=cur.kind,
                text="\n".join(cur.text),
                children=[built[id(c)] for c in cur.children],
            )
        else:
            stack.append((cur, True))
            stack.extend((c, False) for c in cur.children)
    return built[id(node)]


def split_sections(doc: CleanDocument, *, title: str | None = None) -> list[NoticeSection]:
    """The outline tree of the main text; ``title`` tells a report from a directive."""
    return outline_from_lines([line.text for line in doc.content], title=title)


def notice_genre(title: str | None) -> str | None:
    """'report' (总结, 报告 …), 'directive' (通知, 方案 …) or 'announcement' (a 公示 of results,
    a 名单): whichever genre word comes last."""
    if not title:
        return None
    cfg = load("sections")["genre"]
    best: tuple[int, str] | None = None
    for genre in ("report", "directive", "announcement"):
        for m in re.finditer(cfg[genre], title):
            if best is None or m.end() >= best[0]:
                best = (m.end(), genre)
    return best[1] if best else None


def _levels(lines: list[str], markers: list[tuple[str, re.Pattern[str]]]) -> dict[str, int]:
    """Fixed levels; in a regulation (第X条 present) the other types rank below 章/条 in order."""
    levels: dict[str, int] = dict(load("sections")["levels"])
    present = {hit[0] for t in lines if (hit := _match_marker(t, markers))}
    if "article" in present:
        base = int(levels["regulation_shift"])
        plain = [n for n in ("cn", "cn_paren", "num", "num_paren") if n in present]
        levels.update({name: base + i + 1 for i, name in enumerate(plain)})
    return levels


def outline_from_lines(lines: list[str], *, title: str | None = None) -> list[NoticeSection]:
    cfg = load("sections")
    markers = _markers()
    levels = _levels(lines, markers)
    attach_lead = re.compile(cfg["attachment_lead"])
    doc_suffix = re.compile(cfg["document_suffix"], re.I)

    root = _Node(heading="", level=0, number=0)
    path: list[_Node] = [root]
    preamble: list[str] = []
    in_attachments = False
    any_heading = False
    last_article = 0
    for text in lines:
        hit = _match_marker(text, markers)
        if attach_lead.match(text):
            in_attachments = True
        elif hit is None:
            in_attachments = False
        heading_ok = hit is not None and not in_attachments and not doc_suffix.search(text)
        if heading_ok and hit is not None:
            name, number, _end = hit
            level = levels[name]
            # The parent is the nearest open node of a lower level.
            idx = len(path) - 1
            while idx > 0 and path[idx].level >= level:
                idx -= 1
            parent = path[idx]
            siblings = [c for c in parent.children if c.level == level]
            prev = siblings[-1].number if siblings else 0
            if name == "article":
                prev = last_article  # 第X条 count runs on across chapters
            if number != prev + 1:
                heading_ok = False  # out of sequence: an ordinary line (attachment item, stray number)
        if heading_ok and hit is not None:
            head, rest = split_heading(text)
            node = _Node(heading=head, level=level, number=number)
            parent.children.append(node)
            path = [*path[: idx + 1], node]
            if name == "article":
                last_article = number
            if rest:
                node.text.append(rest)
            any_heading = True
            continue
        target = path[-1]
        if target is root:
            preamble.append(text)
        else:
            target.text.append(text)

    # A regulation's chapters (交存, 使用, 监督管理 …) are neither work reported nor work directed.
    regulation = levels["article"] == 2 and any(
        c.level == 1 and _match_marker(c.heading, markers[:1]) for c in root.children
    )
    _assign_kinds(root, markers, None if regulation else notice_genre(title))
    out = [_to_model(c) for c in root.children]
    if any_heading and preamble:
        out.insert(0, NoticeSection(heading="", level=1, kind="background", text="\n".join(preamble)))
    return out


def _assign_kinds(root: _Node, markers: list[tuple[str, re.Pattern[str]]], genre: str | None) -> None:
    cfg = load("sections")["genre"]
    stack: list[tuple[_Node, str | None]] = [(c, None) for c in root.children]
    while stack:
        node, inherited = stack.pop()
        core = _strip_marker(node.heading, markers)
        if inherited is not None:
            node.kind = _canonical_kind(core) or inherited
        else:
            kind = classify_heading(core)
            if (
                kind is None
                and genre == "directive"
                and re.search("|".join(cfg["directive_requirements"]), core)
            ):
                kind = "requirements"
            if kind is None and genre is not None:
                kind = cfg[f"{genre}_default"]
            node.kind = kind or "other"
        stack.extend((c, node.kind) for c in node.children)


def section_kinds(sections: list[NoticeSection]) -> set[str]:
    """Every kind used anywhere in the tree (for search filters)."""
    kinds: set[str] = set()
    stack: list[Any] = list(sections)
    while stack:
        s = stack.pop()
        kinds.add(s.kind)
        stack.extend(s.children)
    return kinds

"""Records for people on a terminal: search results, one record as an outline, version diffs.

Pure functions from records to rich renderables / text; the CLI prints them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from schemas.record import METADATA_FIELDS, NoticeRecord, NoticeSection
from schemas.search import SearchPage, VersionInfo

__all__ = ["citation_view", "diff_records", "record_view", "results_table", "suspects_table", "terminal_text"]

_LABELS = {
    "title": "标题 title",
    "index_no": "索引号 index no.",
    "publisher": "发布机构 publisher",
    "published_date": "发布日期 published",
    "written_date": "成文日期 written",
    "doc_no": "文号 doc no.",
    "disclosure": "公开方式 disclosure",
    "validity": "有效性 validity",
    "topic": "主题分类 topic",
}


# Control characters and bidi overrides in page text would reach the terminal as escape
# sequences (colours, cursor moves, a rewritten screen) or reorder what a reader sees.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_M = TypeVar("_M", bound=BaseModel)


def terminal_text(text: str) -> str:
    """``text`` without what a terminal would run or reorder (ESC sequences, C1, bidi)."""
    return _TERMINAL_UNSAFE.sub("", text)


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        return terminal_text(value)
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _safe(model: _M) -> _M:
    """A copy of a record (or page of results) whose every string is safe on a terminal."""
    return type(model).model_validate(_strip(model.model_dump()))


def _marked(snippet: str) -> Text:
    """A snippet with [[matches]] shown highlighted."""
    text = Text()
    rest = snippet
    while "[[" in rest and "]]" in rest.split("[[", 1)[1]:
        before, after = rest.split("[[", 1)
        hit, rest = after.split("]]", 1)
        text.append(before)
        text.append(hit, style="bold yellow")
    text.append(rest)
    return text


def _window(snippet: str, before: int = 16, width: int = 64) -> str:
    """The part of a snippet around its first match, short enough for a table cell."""
    at = snippet.find("[[")
    start = max(at - before, 0) if at >= 0 else 0
    part = snippet[start : start + width]
    if part.count("[[") > part.count("]]"):
        part += "]]"
    return ("…" if start else "") + part.lstrip("…") + ("…" if start + width < len(snippet) else "")


def results_table(page: SearchPage) -> Table:
    page = _safe(page)
    table = Table(show_lines=False, expand=True)
    table.add_column("date", no_wrap=True)
    table.add_column("title / snippet", ratio=3)
    table.add_column("publisher", ratio=1)
    table.add_column("id", no_wrap=True)
    for hit in page.items:
        title = Text(hit.title or "(no title)", style="bold")
        if hit.integrity == "suspect":
            title.append("  [suspect]", style="red")
        if hit.validity and hit.validity != "有效":
            title.append(f"  [{hit.validity}]", style="magenta")
        cell = Text.assemble(title, "\n", _marked(_window(hit.snippet)))
        table.add_row(str(hit.published_date or ""), cell, hit.publisher or "", hit.id[:12])
    return table


def _outline(tree: Tree, sections: Iterable[NoticeSection]) -> None:
    for section in sections:
        label = Text(section.heading or "(preamble)", style="bold")
        label.append(f"  [{section.kind}]", style="cyan")
        node = tree.add(label)
        if section.text:
            first = section.text.split("\n", 1)[0]
            node.add(Text(first[:120] + ("…" if len(first) > 120 else ""), style="dim"))
        _outline(node, section.children)


def record_view(record: NoticeRecord, versions: list[VersionInfo]) -> RenderableType:
    """One record: metadata, outline, attachments, integrity, provenance, version history."""
    record = _safe(record)
    meta = Table(show_header=False, box=None)
    meta.add_column(style="bold")
    meta.add_column()
    for name in METADATA_FIELDS:
        value = getattr(record, name)
        if value is not None:
            meta.add_row(_LABELS.get(name, name), escape(str(value)))
    meta.add_row("id", record.id)
    meta.add_row("url", record.url)
    parts: list[RenderableType] = [meta]
    if record.sections:
        tree = Tree("sections")
        _outline(tree, record.sections)
        parts.append(tree)
    if record.attachments:
        att = Tree("attachments 附件")
        for a in record.attachments:
            att.add(f"{escape(a.name)}  {escape(a.url)}")
        parts.append(att)
    if record.cited_documents:
        cited = Tree("cites 引用")
        for c in record.cited_documents:
            cited.add(f"《{escape(c.title)}》" + (f" {escape(c.doc_no)}" if c.doc_no else ""))
        parts.append(cited)
    integrity = Tree(
        Text(f"integrity: {record.integrity.status}", style="red" if record.integrity.findings else "green")
    )
    for f in record.integrity.findings:
        integrity.add(
            escape(f"{f.kind} ×{f.count}: {', '.join(f.evidence)}" + (f" ({f.note})" if f.note else ""))
        )
    parts.append(integrity)
    src = record.source
    prov = Table(title="provenance", show_header=False, box=None, title_justify="left")
    prov.add_column(style="bold")
    prov.add_column()
    prov.add_row("fetched", str(src.fetched_at or "—"))
    prov.add_row("archived at", src.warc or "—")
    prov.add_row("sha256", src.sha256)
    prov.add_row("encoding", f"{src.encoding} ({src.encoding_source})")
    parts.append(prov)
    if versions:
        hist = Table(title="versions", title_justify="left")
        for col in ("v", "stored", "fetched", "sha256", "archived at", "extractor"):
            hist.add_column(col)
        for v in versions:
            hist.add_row(
                str(v.version), v.created_at.strftime("%Y-%m-%d %H:%M"),
                v.fetched_at.strftime("%Y-%m-%d %H:%M") if v.fetched_at else "—",
                v.sha256[:12], v.warc or "—", v.extractor_version,
            )  # fmt: skip
        parts.append(hist)
    if record.warnings:
        warn = Tree("warnings")
        for w in record.warnings:
            warn.add(escape(w))
        parts.append(warn)
    return Group(*parts)


def _outline_lines(sections: Iterable[NoticeSection], depth: int = 0) -> list[str]:
    out: list[str] = []
    for s in sections:
        out.append("  " * depth + f"{s.heading} [{s.kind}]")
        out += _outline_lines(s.children, depth + 1)
    return out


def diff_records(old: NoticeRecord, new: NoticeRecord, *, old_label: str, new_label: str) -> list[str]:
    """What changed between two versions of a record, as lines of text."""
    old, new = _safe(old), _safe(new)
    old_label, new_label = terminal_text(old_label), terminal_text(new_label)
    lines: list[str] = []
    for name in METADATA_FIELDS:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            lines.append(f"{name}: {a!r} → {b!r}")
    if old.integrity.status != new.integrity.status:
        lines.append(f"integrity: {old.integrity.status} → {new.integrity.status}")
    for label, a_lines, b_lines in (
        ("sections", _outline_lines(old.sections), _outline_lines(new.sections)),
        ("body_text", old.body_text.splitlines(), new.body_text.splitlines()),
        ("attachments", [x.url for x in old.attachments], [x.url for x in new.attachments]),
    ):
        if a_lines != b_lines:
            lines.append(f"--- {label}")
            lines += list(
                difflib.unified_diff(a_lines, b_lines, fromfile=old_label, tofile=new_label, lineterm="", n=1)
            )
    if old.source.sha256 != new.source.sha256:
        lines.append(f"source.sha256: {old.source.sha256[:16]}… → {new.source.sha256[:16]}…")
    return lines


def citation_view(cites: list[dict[str, Any]], cited_by: list[dict[str, Any]]) -> RenderableType:
    """What a notice cites (resolved to stored notices where possible) and what cites it."""
    cites, cited_by = _strip(cites), _strip(cited_by)
    tree = Tree("citation graph")
    out = tree.add(f"cites ({len(cites)})")
    for c in cites:
        label = f"《{escape(c['title'])}》" + (f" {escape(c['doc_no'])}" if c.get("doc_no") else "")
        if c.get("to_id"):
            label += f"  → {c['to_id'][:12]} {escape(c.get('to_title') or '')}"
        else:
            label += "  (not in the store)"
        out.add(label)
    back = tree.add(f"cited by ({len(cited_by)})")
    for c in cited_by:
        back.add(f"{c['from_id'][:12]} {c.get('published_date') or ''} {escape(c.get('from_title') or '')}")
    return tree


def suspects_table(rows: list[dict[str, Any]]) -> Table:
    """Suspect notices with their findings (kind and evidence), for `notices review`."""
    import json

    rows = _strip(rows)
    table = Table(expand=True)
    for col in ("id", "date", "title", "findings", "released"):
        table.add_column(col)
    for row in rows:
        findings = json.loads(row["record_json"])["integrity"]["findings"]
        text = "; ".join(f"{f['kind']}: {', '.join(f['evidence'][:3])}" for f in findings)
        table.add_row(
            row["id"][:12], str(row.get("published_date") or ""), row.get("title") or "", text,
            str(row.get("released_at") or ""),
        )  # fmt: skip
    return table

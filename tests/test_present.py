"""pipeline/present.py: records on a terminal, never the page's escape sequences (issue 14)."""

from __future__ import annotations

import io

from rich.console import Console

from pipeline.present import diff_records, record_view, results_table, terminal_text
from pipeline.record import extract_notice
from schemas.search import SearchHit, SearchPage
from tests.conftest import article, page

HOSTILE = "\x1b[2J\x1b[31m清屏\x1b]0;pwned\x07\x9b1m\u202e反转"


def _rendered(renderable: object) -> str:
    buf = io.StringIO()
    Console(file=buf, force_terminal=False, width=200).print(renderable)  # rich adds no escapes itself
    return buf.getvalue()


def test_escape_sequences_in_page_text_never_reach_the_terminal() -> None:
    html = article(
        f"<h1>关于开展检查的通知{HOSTILE}</h1><p>各单位：现将有关事项通知如下，请认真贯彻落实{HOSTILE}。</p>"
    )
    record = extract_notice(page(html))
    assert "\x9b" in (record.title or "") + record.body_text  # the record keeps what the page said (C1)
    shown = _rendered(record_view(record, []))
    hit = SearchHit(id=record.id, url=record.url, title=record.title, publisher=HOSTILE, published_date=None,
                    validity=None, doc_no=None, integrity="clean", current_version=1, snippet=f"[[检查]]{HOSTILE}")  # fmt: skip
    shown += _rendered(results_table(SearchPage(items=[hit])))
    changed = record.model_copy(update={"title": "新标题" + HOSTILE})
    shown += "\n".join(diff_records(record, changed, old_label="v1", new_label="v2" + HOSTILE))
    for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert bad not in shown, repr(bad)
    assert "清屏" in shown and "反转" in shown  # the text itself is shown


def test_terminal_text_keeps_newlines_and_tabs() -> None:
    assert terminal_text("a\tb\nc\x1b[0m\x00") == "a\tb\nc[0m"

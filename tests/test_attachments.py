"""Stage attachments and citations."""

from __future__ import annotations

from pipeline.attachments import find_attachments, is_document_url
from pipeline.citations import find_citations
from tests.conftest import article, cleaned
from tests.test_clean import body_html

URL = "http://www.example.gov.cn/zwgk/tzgg/202403/t20240312_9.html"


def test_attachment_block_after_the_article() -> None:
    block = (
        "<div class='fj'><p>附件：</p><ul><li><a href='./P020240312.pdf'>附件1：实施方案.pdf</a></li>"
        "<li><a href='/module/download/downfile.jsp?classid=0&filename=2403121.docx'>附件2：报名表</a></li>"
        "<li><a href='../../W0202403.ofd'>附件3.ofd</a></li></ul></div>"
    )
    doc = cleaned(article(f"<div id='zoom'>{body_html()}</div>{block}"), URL)
    got = [(a.name, a.url) for a in find_attachments(doc)]
    assert got == [
        ("附件1：实施方案.pdf", "http://www.example.gov.cn/zwgk/tzgg/202403/P020240312.pdf"),
        (
            "附件2：报名表",
            "http://www.example.gov.cn/module/download/downfile.jsp?classid=0&filename=2403121.docx",
        ),
        ("附件3.ofd", "http://www.example.gov.cn/zwgk/W0202403.ofd"),
    ]
    assert "附件" not in doc.body_text  # the block is template, not body


def test_links_inside_the_body_and_no_duplicates_or_pages() -> None:
    body = body_html() + (
        "<p>附件：<a href='a.wps'>1.回执.wps</a></p><p><a href='a.wps'>1.回执.wps</a></p>"
        "<p><a href='/zwgk/other.html'>相关通知</a></p>"
    )
    doc = cleaned(article(f"<div id='zoom'>{body}</div>"), URL)
    assert [a.url for a in find_attachments(doc)] == ["http://www.example.gov.cn/zwgk/tzgg/202403/a.wps"]


def test_side_column_documents_are_not_attachments() -> None:
    side = "<div class='side'><a href='/zwgk/guide.pdf'>政府信息公开指南.pdf</a></div>"
    html = article(f"{side}<div class='content'><div id='zoom'>{body_html()}</div></div>")
    assert find_attachments(cleaned(html, URL)) == []


def test_document_url_rules() -> None:
    assert is_document_url("http://x.gov.cn/a/P0.PDF")
    assert is_document_url("http://x.gov.cn/down.jsp?filename=%E9%99%84.xlsx")
    assert is_document_url("http://x.gov.cn/down?id=3", "报名表.docx")
    assert not is_document_url("http://x.gov.cn/a/t2024.html", "附件说明")


def test_citations_with_and_without_document_numbers() -> None:
    text = (
        "按照《关于开展2024年“政府开放日”活动的通知》(固政公开办发〔2024〕3号)要求，根据《中华人民共和国森林法》"
        "《森林防火条例》和《关于印发〈某某办法〉的通知》（某政发[2023]12号），再次重申《中华人民共和国森林法》。"
    )
    got = [(c.title, c.doc_no) for c in find_citations(text)]
    assert got == [
        ("关于开展2024年“政府开放日”活动的通知", "固政公开办发〔2024〕3号"),
        ("中华人民共和国森林法", None),
        ("森林防火条例", None),
        ("关于印发〈某某办法〉的通知", "某政发[2023]12号"),
    ]


def test_bracket_after_a_title_that_is_not_a_doc_number() -> None:
    assert [(c.title, c.doc_no) for c in find_citations("详见《实施方案》（见附件1）。")] == [
        ("实施方案", None)
    ]

"""Stage record: assembly, the published schema, ids, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import DecodeError, PipelineError
from pipeline.record import canonical_url, extract_notice, notice_id
from pipeline.settings import Settings
from schemas.record import NoticeRecord, record_json_schema
from schemas.stages import FetchResult
from tests.conftest import CORPUS, article, page
from tests.test_clean import PARAS, body_html

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "notice_record.schema.json"


def test_published_schema_file_is_current() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(record_json_schema())), "run: notices schema > " + str(
        SCHEMA_FILE
    )


def test_every_corpus_record_validates_against_the_published_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for p in CORPUS:
        jsonschema.validate(json.loads(p.record().model_dump_json()), schema)


def test_record_round_trips_and_forbids_unknown_fields() -> None:
    rec = CORPUS[0].record()
    again = NoticeRecord.model_validate_json(rec.model_dump_json())
    assert again == rec
    data = json.loads(rec.model_dump_json())
    data["surprise"] = 1
    with pytest.raises(ValueError, match="surprise"):
        NoticeRecord.model_validate(data)


def test_ids_are_stable_over_url_spelling() -> None:
    a = "HTTP://WWW.Example.gov.cn:80/zwgk/t1.html#top"
    assert canonical_url(a) == "http://www.example.gov.cn/zwgk/t1.html"
    assert notice_id(a) == notice_id("http://www.example.gov.cn/zwgk/t1.html")
    assert notice_id(a) != notice_id("http://www.example.gov.cn/zwgk/t2.html")
    assert len(notice_id(a)) == 32


def test_provenance_is_recorded() -> None:
    p = CORPUS[0]
    rec = p.record()
    assert rec.source.sha256 == p.fetch().sha256
    assert rec.source.encoding == "utf-8" and rec.source.encoding_source in ("http", "meta")
    assert rec.source.content_type == p.gold["content_type_header"]


# --- bad input: a clear error or a record with warnings, never a crash or a hang ---


def test_empty_file_is_a_clear_error() -> None:
    with pytest.raises(DecodeError, match="empty"):
        extract_notice(FetchResult.from_file_bytes(b"", url="http://x.gov.cn/a.html"))


def test_pdf_bytes_are_a_clear_error() -> None:
    with pytest.raises(PipelineError, match="PDF"):
        extract_notice(FetchResult.from_file_bytes(b"%PDF-1.4\n1 0 obj<<>>", url="http://x.gov.cn/a.pdf"))


def test_truncated_html_still_gives_the_text_it_has() -> None:
    html = article(f"<h1>关于开展汛前检查的通知</h1><div id='zoom'>{body_html()}</div>")
    cut = html[: html.index(PARAS[3]) + 4]
    rec = extract_notice(page(cut))
    assert rec.body_text.startswith(PARAS[0]) and PARAS[2] in rec.body_text
    assert rec.title == "关于开展汛前检查的通知"


def test_twenty_megabyte_page_is_processed_with_a_warning() -> None:
    filler = "<p>" + "各单位要高度重视，认真组织实施，确保工作取得实效。" * 40 + "</p>"
    html = article("<div id='zoom'>" + filler * 12000 + "</div>")
    body = html.encode("utf-8")
    assert len(body) > 20_000_000
    rec = extract_notice(
        FetchResult.from_file_bytes(
            body, url="http://x.gov.cn/big.html", content_type="text/html; charset=utf-8"
        )
    )
    assert any("only the first" in w for w in rec.warnings)
    assert rec.body_text.startswith("各单位要高度重视")
    assert rec.source.sha256 == FetchResult.from_file_bytes(body, url="x").sha256  # hash of what was sent


def test_ten_thousand_levels_of_nesting() -> None:
    html = article("<div>" * 10_000 + body_html() + "</div>" * 10_000)
    rec = extract_notice(page(html))
    assert isinstance(rec, NoticeRecord)


def test_list_page_gives_a_record_with_a_warning() -> None:
    items = "".join(
        f"<li><a href='t{i}.html'>关于做好第{i}批项目资金公示工作的通知</a><span>2024-03-{i:02d}</span></li>"
        for i in range(1, 21)
    )
    rec = extract_notice(page(article(f"<ul class='list'>{items}</ul>")))
    assert rec.body_text == "" and rec.sections == []
    assert any("list page" in w for w in rec.warnings)


def test_page_with_no_main_text() -> None:
    rec = extract_notice(page(article("<div id='zoom'></div>")))
    assert rec.body_text == "" and any("no main text" in w for w in rec.warnings)


def test_not_html_at_all_is_a_record_with_warnings() -> None:
    rec = extract_notice(
        FetchResult.from_file_bytes("这不是网页，只是一段纯文本。".encode(), url="http://x.gov.cn/a.txt")
    )
    assert isinstance(rec, NoticeRecord)


def test_settings_limit_is_respected() -> None:
    s = Settings(max_html_bytes=2000)
    rec = extract_notice(CORPUS[0].fetch(), s)
    assert any("only the first 2,000" in w for w in rec.warnings)


def test_a_format_1_record_without_entities_still_reads() -> None:
    from schemas.record import NoticeRecord

    record = CORPUS[0].record()
    old = json.loads(record.model_dump_json())
    old["schema_version"] = "1"
    del old["entities"]
    again = NoticeRecord.model_validate(old)
    assert again.schema_version == "1" and again.entities == []


def test_a_page_url_with_user_info_gives_no_record_id() -> None:
    """The id must name the host the bytes came from: user info could hide another host."""
    from pipeline.errors import ExtractionError

    for url in ["http://127.0.0.1@www.example.gov.cn/zwgk/t1.html", "http://a%5C@www.example.gov.cn/t1.html"]:
        with pytest.raises(ExtractionError):
            canonical_url(url)
    assert (
        canonical_url("http://www.example.gov.cn\\zwgk\\t1.html") == "http://www.example.gov.cn/zwgk/t1.html"
    )


def test_a_page_over_the_extraction_budget_gets_a_record_with_a_warning() -> None:
    """Issue 14: pages of a few MB took 2–4 s; past the per-page budget the record is still made
    (every field, integrity) but without entities, and says so."""
    from pipeline.entities import build_nlp
    from pipeline.settings import Settings
    from tests.conftest import article, page

    nlp = build_nlp()
    fetched = page(
        article(
            "<h1>关于开展安全检查的通知</h1><p>各单位：请于2024年5月1日前报送材料，联系电话0551-1234567。</p>"
        )
    )
    within = extract_notice(fetched, Settings(), nlp=nlp)
    assert within.entities and not any("budget" in w for w in within.warnings)
    over = extract_notice(fetched, Settings(extract_budget_seconds=1e-9), nlp=nlp)
    assert over.entities == [] or over.entities is None
    assert any("over the per-page budget" in w for w in over.warnings)
    assert over.title == within.title and over.integrity == within.integrity

"""Entities (pipeline/entities.py): a test per label on fixture text with exact spans, date
resolution across year boundaries, overlaps, hostile input, speed, and packaging."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest
import spacy
from pydantic import ValidationError
from spacy.language import Language

from pipeline.entities import (
    COMPONENT,
    TOKENIZER,
    CharTokenizer,
    build_nlp,
    find_entities,
    make_regex_entities,
    save_pipeline,
)
from schemas.entity import Entity
from schemas.record import NoticeRecord, NoticeSection, Source
from tests.conftest import CORPUS, EXTRA

ROOT = Path(__file__).resolve().parent.parent
PAGES = {g.name: g for g in CORPUS + EXTRA}


@pytest.fixture(scope="module")
def nlp() -> Language:
    return build_nlp()


@cache
def _record(name: str) -> NoticeRecord:
    return PAGES[name].record()


@cache
def _entities(name: str) -> tuple[Entity, ...]:
    return tuple(find_entities(build_nlp(), _record(name)))


def _make(
    body: str, published: dt.date | None = None, sections: list[NoticeSection] | None = None
) -> NoticeRecord:
    return NoticeRecord(
        id="0" * 32,
        url="http://www.example.gov.cn/a.html",
        published_date=published,
        body_text=body,
        sections=sections or [],
        source=Source(
            url="http://www.example.gov.cn/a.html", encoding="utf-8", encoding_source="http", sha256="0" * 64
        ),
    )


def _one(ents: list[Entity] | tuple[Entity, ...], text: str, label: str, nth: int = 0) -> Entity:
    hits = [e for e in ents if e.text == text and e.label == label]
    assert len(hits) > nth, f"no {label} {text!r} in {[(e.text, e.label) for e in ents]}"
    return hits[nth]


def _at(name: str, text: str, nth: int = 0) -> tuple[int, int]:
    body = _record(name).body_text
    start = -1
    for _ in range(nth + 1):
        start = body.index(text, start + 1)
    return start, start + len(text)


# ---- one test per label, on fixture text with exact spans ------------------------------------


def test_date_on_fixtures() -> None:
    ents = _entities("xxgktable_01")  # published 2024-09-25
    e = _one(ents, "9月20日", "DATE")
    assert (e.start, e.end) == _at("xxgktable_01", "9月20日")
    assert e.normalized == "2024-09-20"
    assert e.section_path == [1]  # 一、活动开展情况

    assert _one(_entities("oldtable_01"), "二〇一二年四月六日", "DATE").normalized == "2012-04-06"
    assert _one(_entities("dlgrid_01"), "3月下旬至4月下旬", "DATE").normalized == "2024-03-21/2024-04-30"
    assert _one(_entities("dlgrid_01"), "4月2日（星期二）", "DATE").normalized == "2024-04-02"
    when = _one(_entities("trsul_03"), "2020年6月10日（星期三）上午9:00", "DATE")
    assert when.normalized == "2020-06-10T09:00"
    assert (when.start, when.end) == _at("trsul_03", "2020年6月10日（星期三）上午9:00")
    # published 2021-11-02: 11月16日 is this year; the range ends in the next
    span = _one(_entities("xxgktable_03"), "11月16日至2022年2月28日", "DATE")
    assert span.normalized == "2021-11-16/2022-02-28"
    assert _one(_entities("jsrender_01"), "7月8日至19日", "DATE").normalized == "2024-07-08/2024-07-19"
    assert (
        _one(_entities("xxgktable_04"), "2025年5月16日（星期五）上午9:00—11:30", "DATE").normalized
        == "2025-05-16T09:00/2025-05-16T11:30"
    )
    assert _one(_entities("attachments_02"), "8月31日下午14:00至18:00", "DATE").normalized == (
        "2022-08-31T14:00/2022-08-31T18:00"
    )


def test_org_on_fixtures() -> None:
    ents = _entities("xxgktable_01")
    org = _one(ents, "市农产品质量安全监管中心", "ORG")
    assert (org.start, org.end) == _at("xxgktable_01", "市农产品质量安全监管中心")
    # "下一步市农业农村局将认真贯彻…": neither 下一步 nor 将 is part of the organisation
    body = _record("xxgktable_01").body_text
    k = body.index("下一步市农业农村局将") + len("下一步")
    assert any(e.label == "ORG" and (e.start, e.end) == (k, k + len("市农业农村局")) for e in ents)
    assert not any("将" in e.text for e in ents if e.label == "ORG")
    assert _one(ents, "固原市人民政府", "ORG").normalized is None

    assert _one(_entities("attachments_01"), "湖州市吴兴区人力资源和社会保障局", "ORG")
    assert _one(_entities("attachments_01"), "吴兴区人力资源和社会保障局职业能力建设科", "ORG")
    assert _one(_entities("dlgrid_01"), "吴忠市人民政府办公室", "ORG")
    assert _one(_entities("dlgrid_01"), "市绿化委员会办公室", "ORG")
    assert _one(_entities("trsul_03"), "区卫生健康委", "ORG")
    assert _one(_entities("xxgktable_03"), "区森林草原防灭火指挥部办公室", "ORG")
    assert _one(_entities("jsrender_01"), "深圳市南山区文化广电旅游体育局", "ORG")  # 南山区 ends like 山区


def test_doc_no_on_fixtures() -> None:
    ents = _entities("xxgktable_01")
    e = _one(ents, "固政公开办发〔2024〕3号", "DOC_NO")
    assert (e.start, e.end) == _at("xxgktable_01", "固政公开办发〔2024〕3号")
    assert e.normalized == "固政公开办发〔2024〕3号"
    assert _one(_entities("attachfj_01"), "鸠政〔2023〕41号", "DOC_NO")
    assert _one(_entities("trsul_02"), "川民发〔2023〕112号", "DOC_NO")
    # a 文号 inside a sentence, in brackets after the 《》 title it numbers
    e = _one(_entities("govcn_01"), "湖政发〔2023〕9号", "DOC_NO")
    assert (e.start, e.end) == _at("govcn_01", "湖政发〔2023〕9号")


def test_law_on_fixtures() -> None:
    ents = _entities("newsline_02")
    law = _one(ents, "中华人民共和国消费者权益保护法", "LAW")
    assert (law.start, law.end) == _at("newsline_02", "中华人民共和国消费者权益保护法")
    assert _one(_entities("attachfj_01"), "鸠江区科技创新若干政策（试行）", "LAW")
    assert _one(_entities("regulation_01"), "中华人民共和国民法典", "LAW")
    # a title that is not a law or policy document is no entity, but is still cited
    record = _record("spamhidden_01")
    assert not any(e.text == "致广大旅游经营者的一封信" for e in _entities("spamhidden_01"))
    assert "致广大旅游经营者的一封信" in [c.title for c in record.cited_documents]


def test_every_title_goes_somewhere() -> None:
    """Each 《…》 title of every fixture is a LAW entity or (only) a cited document."""
    for name in PAGES:
        record = _record(name)
        laws = {e.text for e in _entities(name) if e.label == "LAW"}
        cited = {c.title for c in record.cited_documents}
        assert laws <= cited, name


def test_quantity_on_fixtures() -> None:
    ents = _entities("xxgktable_01")
    q = _one(ents, "30余人", "QUANTITY")
    assert (q.start, q.end) == _at("xxgktable_01", "30余人")
    assert q.normalized == "30+ 人"
    assert _one(ents, "5个工作日", "QUANTITY").normalized == "5 个工作日"
    assert _one(_entities("oldtable_01"), "1.2万亩", "QUANTITY").normalized == "12000 亩"
    assert _one(_entities("trsul_01"), "2860万元", "QUANTITY").normalized == "28600000 元"
    assert _one(_entities("xxgktable_02"), "100%", "QUANTITY").normalized == "100 %"
    assert _one(_entities("newsline_03"), "56场次", "QUANTITY").normalized == "56 场次"
    assert _one(_entities("newsline_02"), "1.1万余元", "QUANTITY").normalized == "11000+ 元"
    # 第21个 is an ordinal
    assert not any(e.text.startswith("21") for e in _entities("newsline_03") if e.label == "QUANTITY")


def test_gpe_on_fixtures() -> None:
    ents = _entities("trsul_03")
    g = _one(ents, "信阳市浉河区", "GPE")  # 信阳市 + 浉河区 joined
    assert (g.start, g.end) == _at("trsul_03", "信阳市浉河区")
    assert _one(_entities("trsul_01"), "神农镇", "GPE")
    assert _one(_entities("trsul_01"), "八鱼镇", "GPE")
    assert _one(_entities("dlgrid_02"), "沙坡头区", "GPE")
    assert _one(_entities("dlgrid_02"), "中宁县", "GPE")
    assert _one(_entities("dlgrid_01"), "利通区金积镇", "GPE")
    # the place inside an organisation is part of the ORG, not a GPE of its own
    assert _one(_entities("dlgrid_02"), "海原县人民政府", "ORG")
    assert not any(e.label == "GPE" and e.text == "海原县" for e in _entities("dlgrid_02"))


def test_no_gpe_false_positives_on_fixtures() -> None:
    """Words before a place suffix that are not places (seen while tuning the stop lists)."""
    bad = {"具有吴兴区", "至吴兴区", "来夷陵区", "相关村", "圆满完成区", "分片包乡", "组建街道", "办事更省"}
    for name in PAGES:
        assert not {e.text for e in _entities(name) if e.label == "GPE"} & bad, name
    assert not any(
        e.text.startswith(("决赛中", "比分战胜", "情况报", "进度报")) for n in PAGES for e in _entities(n)
    )


# ---- invariants on every fixture record -----------------------------------------------------


def _node(sections: list[NoticeSection], path: list[int]) -> NoticeSection:
    node = sections[path[0]]
    for i in path[1:]:
        node = node.children[i]
    return node


@pytest.mark.parametrize("name", sorted(PAGES))
def test_offsets_slice_body_text(name: str) -> None:
    record = _record(name)
    ents = _entities(name)
    previous_end = 0
    for e in ents:
        assert record.body_text[e.start : e.end] == e.text
        assert e.start >= previous_end, "entities are in order and do not overlap"
        previous_end = e.end
        assert e.text == e.text.strip()
        if e.section_path:
            node = _node(record.sections, e.section_path)
            assert e.text in node.heading or e.text in node.text, (e, node.heading)
        else:
            assert not any(e.text in s.heading for s in record.sections if s.heading)
    if not record.sections:
        assert all(e.section_path == [] for e in ents)


def test_fixtures_cover_every_label() -> None:
    labels = {e.label for name in PAGES for e in _entities(name)}
    assert labels == {"DATE", "ORG", "DOC_NO", "LAW", "QUANTITY", "GPE"}


# ---- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "published", "text", "normalized"),
    [
        ("定于12月28日召开。", dt.date(2025, 1, 5), "12月28日", "2024-12-28"),
        ("请于1月3日前报送。", dt.date(2024, 12, 30), "1月3日", "2025-01-03"),
        ("9月20日，市农业农村局组织活动。", dt.date(2024, 9, 25), "9月20日", "2024-09-20"),
        ("活动于9月下旬举行。", dt.date(2024, 9, 25), "9月下旬", "2024-09-21/2024-09-30"),
        ("12月下旬完成。", dt.date(2025, 1, 5), "12月下旬", "2024-12-21/2024-12-31"),
        ("2月下旬完成。", dt.date(2024, 1, 5), "2月下旬", "2024-02-21/2024-02-29"),
        ("定于12月。", dt.date(2025, 1, 5), "12月", "2024-12"),
        ("于12月28日至1月3日举行。", dt.date(2024, 12, 20), "12月28日至1月3日", "2024-12-28/2025-01-03"),
        ("二〇二四年九月二十五日", None, "二〇二四年九月二十五日", "2024-09-25"),
        ("印发日期：2024-09-25。", None, "2024-09-25", "2024-09-25"),
        ("开始时间：2024-09-25 10:00。", None, "2024-09-25 10:00", "2024-09-25T10:00"),
        (
            "报名时间为6月11日9:00至6月20日18:00。",
            dt.date(2024, 6, 3),
            "6月11日9:00至6月20日18:00",
            "2024-06-11T09:00/2024-06-20T18:00",
        ),
        ("2024年9月25日", None, "2024年9月25日", "2024-09-25"),
        ("定于九月二十日。", dt.date(2024, 9, 25), "九月二十日", "2024-09-20"),
        ("9月20日", None, "9月20日", "--09-20"),
        ("每周一上午10:00前报送。", dt.date(2024, 9, 25), "上午10:00", "T10:00"),
        ("下午2点半开会。", None, "下午2点半", "T14:30"),
        ("9月20日上午10时30分在会议室。", dt.date(2024, 9, 25), "9月20日上午10时30分", "2024-09-20T10:30"),
        ("2月29日截止。", dt.date(2025, 1, 5), "2月29日", "2024-02-29"),
        ("2月30日截止。", dt.date(2025, 1, 5), "2月30日", None),
        ("2023年至2025年", None, "2023年至2025年", "2023/2025"),
        ("2024年度", None, "2024年度", "2024"),
    ],
)
def test_date_resolution(
    nlp: Language, body: str, published: dt.date | None, text: str, normalized: str | None
) -> None:
    ents = find_entities(nlp, _make(body, published))
    e = _one(ents, text, "DATE")
    assert e.normalized == normalized
    assert body[e.start : e.end] == text


def test_not_dates(nlp: Language) -> None:
    body = "联系电话：0572-2217306，共12点要求，比分68∶61，2024-13-45。"
    assert not [e for e in find_entities(nlp, _make(body, dt.date(2024, 1, 1))) if e.label == "DATE"]


# ---- doc numbers, laws, quantities ----------------------------------------------------------


@pytest.mark.parametrize(
    "printed",
    [
        "固政公开办发〔2024〕3号",
        "固政公开办发[2024]3号",
        "固政公开办发(2024)3号",
        "固政公开办发（2024）3号",
        "固政公开办发【2024】3号",
        "固政公开办发［2024］3号",
        "固政公开办发〔2024〕第3号",
        "固政公开办发〔2024〕03号",
        "固政公开办发〔 2024 〕3 号",
    ],
)
def test_doc_no_variants(nlp: Language, printed: str) -> None:
    body = f"根据{printed}要求，现将有关事项通知如下。"
    e = _one(find_entities(nlp, _make(body)), printed, "DOC_NO")
    assert e.normalized == "固政公开办发〔2024〕3号"
    assert e.start == 2  # 根据 is not part of the number


def test_order_number(nlp: Language) -> None:
    e = _one(
        find_entities(nlp, _make("南通市人民政府令第12号，现予公布。")), "南通市人民政府令第12号", "DOC_NO"
    )
    assert e.normalized == "南通市人民政府令第12号"


@pytest.mark.parametrize(
    ("title", "is_law"),
    [
        ("中华人民共和国森林法", True),
        ("森林防火条例", True),
        ("住宅专项维修资金管理办法", True),
        ("关于开展2024年“政府开放日”活动的通知", True),
        ("吴忠市国土绿化三年行动方案（2023—2025年）", True),
        ("鸠江区科技创新若干政策（试行）", True),
        ("银川市兴庆区2025年政务公开工作要点", True),
        ("致广大旅游经营者的一封信", False),
        ("游泳技能等级证书", False),
        ("人民日报", False),
    ],
)
def test_law_rule(nlp: Language, title: str, is_law: bool) -> None:
    body = f"根据《{title}》有关规定。"
    ents = find_entities(nlp, _make(body))
    laws = [e for e in ents if e.label == "LAW"]
    assert ([e.text for e in laws] == [title]) is is_law
    if is_law:
        assert laws[0].start == body.index(title)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("30余人", "30+ 人"),
        ("5个工作日", "5 个工作日"),
        ("2.3万亩", "23000 亩"),
        ("100%", "100 %"),
        ("85％", "85 %"),
        ("1200万元", "12000000 元"),
        ("3场次", "3 场次"),
        ("2.86亿元", "286000000 元"),
        ("18.6公里", "18.6 公里"),
        ("3年", "3 年"),
    ],
)
def test_quantity_forms(nlp: Language, text: str, normalized: str) -> None:
    ents = find_entities(nlp, _make(f"共计{text}，"))
    assert _one(ents, text, "QUANTITY").normalized == normalized


def test_not_quantities(nlp: Language) -> None:
    body = "全国第21个安全生产月，人民币3人民币，2023年，拨打12345热线，邮箱a163@163.com。"
    assert not [e.text for e in find_entities(nlp, _make(body)) if e.label == "QUANTITY"]


# ---- overlaps -------------------------------------------------------------------------------


def test_overlaps(nlp: Language) -> None:
    body = "固原市农业农村局将于2024年9月25日印发《固原市农业农村局关于2024年工作的通知》。"
    ents = find_entities(nlp, _make(body, dt.date(2024, 9, 25)))
    assert [(e.text, e.label) for e in ents] == [
        ("固原市农业农村局", "ORG"),  # ORG beats the GPE 固原市 inside it, and stops before 将
        ("2024年9月25日", "DATE"),  # longest date, not 2024年 / 9月25日
        ("固原市农业农村局关于2024年工作的通知", "LAW"),  # the title swallows what is inside it
    ]


def test_org_and_gpe(nlp: Language) -> None:
    body = "市人民政府办公室、成都市武侯区应急管理局办公室和浏阳市参加，在吴兴区内举办。"
    got = [(e.text, e.label) for e in find_entities(nlp, _make(body))]
    assert got == [
        ("市人民政府办公室", "ORG"),
        ("成都市武侯区应急管理局办公室", "ORG"),
        ("浏阳市", "GPE"),
        ("吴兴区", "GPE"),
    ]


# ---- sections -------------------------------------------------------------------------------


def test_section_path(nlp: Language) -> None:
    body = "前言2024年。\n一、总体要求\n（一）目标。到2025年完成。\n二、保障措施\n市财政局负责。\n湖州市人民政府\n"
    sections = [
        NoticeSection(heading="", level=1, kind="background", text="前言2024年。"),
        NoticeSection(
            heading="一、总体要求",
            level=1,
            kind="tasks",
            children=[NoticeSection(heading="（一）目标。", level=2, kind="tasks", text="到2025年完成。")],
        ),
        NoticeSection(heading="二、保障措施", level=1, kind="tasks", text="市财政局负责。"),
    ]
    ents = find_entities(nlp, _make(body, sections=sections))
    assert [(e.text, e.section_path) for e in ents] == [
        ("2024年", [0]),
        ("2025年", [1, 0]),
        ("市财政局", [2]),
        ("湖州市人民政府", []),  # after the last located paragraph
    ]


# ---- edge cases, hostile input, speed -------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   ", "\n\n\t"])
def test_empty_body(nlp: Language, body: str) -> None:
    assert find_entities(nlp, _make(body)) == []


HOSTILE = [
    "😀" * 1000 + "9月20日😀市农业农村局🎉",
    "".join(chr(c) for c in range(32)) * 50 + "2024年9月25日\x00\x07市委\x1b",
    "1" * 100_000 + "人",
    "2024" * 20_000 + "年",
    "9" * 50_000 + "月" + "9" * 50_000 + "日",
    "〔" * 10_000 + "2024〕3号" + "】" * 10_000,
    "《" * 20_000 + "条例》",
    "市" * 50_000 + "局",
    "区人民" * 20_000,
    "年月日时分" * 10_000,
    "上午" * 10_000 + "10:00",
    "\u200b\u202e\ufeff固政公开办发〔2024〕3号\ud800",
    "a" * 100_000,
    " \n" * 50_000,
    "第" * 10_000 + "１２３４５人",
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises(nlp: Language, body: str) -> None:
    t0 = time.perf_counter()
    ents = find_entities(nlp, _make(body, dt.date(2024, 2, 29)))
    assert time.perf_counter() - t0 < 2.0
    for e in ents:
        assert body[e.start : e.end] == e.text


def test_big_body_is_fast(nlp: Language) -> None:
    parts, size = [], 0
    names = [n for n in sorted(PAGES) if _record(n).body_text]
    while size < 200_000:
        text = _record(names[len(parts) % len(names)]).body_text
        parts.append(text)
        size += len(text.encode("utf-8")) + 1
    body = "\n".join(parts)
    record = _make(body, dt.date(2024, 9, 25))
    find_entities(nlp, _make(body[:1000]))  # warm caches
    t0 = time.perf_counter()
    ents = find_entities(nlp, record)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"{len(body):,} characters took {elapsed:.2f} s"
    assert len(ents) > 1000
    assert all(body[e.start : e.end] == e.text for e in ents)


def test_long_body_is_processed_in_blocks(nlp: Language) -> None:
    line = "9月20日，市农业农村局组织30余人参加。\n"
    body = line * 12_000  # > one block of 100,000 characters
    ents = find_entities(nlp, _make(body, dt.date(2024, 9, 25)))
    assert len(ents) == 3 * 12_000
    assert all(body[e.start : e.end] == e.text for e in ents)


# ---- the spaCy pipeline ---------------------------------------------------------------------


def test_pipeline_shape(nlp: Language) -> None:
    assert nlp.lang == "zh"
    assert nlp.pipe_names == [COMPONENT]
    assert isinstance(nlp.tokenizer, CharTokenizer)
    assert nlp.config["nlp"]["tokenizer"]["@tokenizers"] == TOKENIZER


@pytest.mark.parametrize(
    "text",
    [
        "市农业农村局将于9月20日",
        "a  b\n\n c\r\nd\x00e\u200b😀f\tg",
        "  lead",
        "trail  ",
        "x \u3000 y",
        "",
        " ",
        "\n",
        "a \n b  \u3000c \x1cd e",
        "\u3000 a",
    ],
)
def test_char_tokenizer_matches_spacy_char_segmenter(nlp: Language, text: str) -> None:
    reference = spacy.blank("zh")  # spaCy's own char segmenter
    ours = nlp.make_doc(text)
    theirs = reference.make_doc(text)
    assert [(t.text, t.whitespace_) for t in ours] == [(t.text, t.whitespace_) for t in theirs]
    assert ours.text == text


def test_char_tokenizer_cache_of_hashes_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tokenizer keeps each string's StringStore hash; whitespace runs vary without end, so
    the cache is emptied past a bound, and tokens and lexemes stay right across the emptying."""
    import pipeline.entities as ent

    monkeypatch.setattr(ent, "_MAX_CACHED_ORTHS", 8)
    nlp = ent.build_nlp()
    reference = spacy.blank("zh")
    for text in ["市农业农村局将于9月20日召开会议", "a  b   c    d     e", "县政府办公室 \n\n 通知"] * 3:
        ours = nlp.make_doc(text)
        assert [(t.text, t.whitespace_, t.orth_) for t in ours] == [
            (t.text, t.whitespace_, t.orth_) for t in reference.make_doc(text)
        ]
        assert len(nlp.tokenizer._orths) <= 8 + len(ours)


def test_component_serialization_round_trip(nlp: Language) -> None:
    component = nlp.get_pipe(COMPONENT)
    data = component.to_bytes()
    other = make_regex_entities(nlp, "copy", "entities").from_bytes(data)
    assert other.data == component.data
    assert json.loads(data)["priority"][0] == "DOC_NO"


def test_entity_model() -> None:
    e = Entity(text="9月20日", label="DATE", start=3, end=8, section_path=[1], normalized="2024-09-20")
    assert Entity.model_validate_json(e.model_dump_json()) == e
    with pytest.raises(ValidationError):
        Entity(text="9月20日", label="DATE", start=3, end=9)  # span does not fit text
    with pytest.raises(ValidationError):
        Entity(text="x", label="PERSON", start=0, end=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Entity.model_validate({"text": "x", "label": "ORG", "start": 0, "end": 1, "extra": 1})


# ---- packaging: spacy.load in a clean interpreter through entry points ------------------------

ENTRY_POINTS = f"""[spacy_factories]
{COMPONENT} = pipeline.entities:make_regex_entities

[spacy_tokenizers]
{TOKENIZER} = pipeline.entities:create_char_tokenizer
"""

LOAD_SCRIPT = """
import sys, spacy
assert "pipeline.entities" not in sys.modules
nlp = spacy.load(sys.argv[1])
doc = nlp.make_doc("9月20日,市农业农村局将于2024年9月25日印发固政公开办发[2024]3号")
doc._.notice_reference_date = "2024-09-25"
for _, proc in nlp.pipeline:
    doc = proc(doc)
print([(e.text, e.label_, e._.notice_normalized) for e in doc.ents])
"""

EXPECTED_LOAD = str(
    [
        ("9月20日", "DATE", "2024-09-20"),
        ("市农业农村局", "ORG", None),
        ("2024年9月25日", "DATE", "2024-09-25"),
        ("固政公开办发[2024]3号", "DOC_NO", "固政公开办发〔2024〕3号"),
    ]
)


def _load_in_clean_interpreter(pipeline_dir: Path, extra_path: Path | None, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    out = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(pipeline_dir)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_saved_pipeline_loads_through_entry_points(tmp_path: Path) -> None:
    """The entry points of the pyproject snippet, as a stand-in distribution on the path."""
    path = save_pipeline(tmp_path / "pipeline")
    assert (path / "config.cfg").is_file()
    assert (path / COMPONENT / "patterns.json").is_file()
    site = tmp_path / "site"
    dist = site / "gov_notices_entry_points-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gov-notices-entry-points\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    assert _load_in_clean_interpreter(path, site, tmp_path) == EXPECTED_LOAD


def test_installed_entry_points(tmp_path: Path) -> None:
    """The same through the project's own installed metadata (after `pip install -e .`)."""
    factories = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="spacy_factories")}
    tokenizers = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="spacy_tokenizers")}
    if factories.get(COMPONENT) != "pipeline.entities:make_regex_entities" or TOKENIZER not in tokenizers:
        pytest.skip(
            "spacy_factories / spacy_tokenizers entry points of gov-notices are not installed: add them to "
            "pyproject.toml ([project.entry-points.spacy_factories] and [project.entry-points.spacy_tokenizers]) "
            "and re-run `pip install -e .`"
        )
    path = save_pipeline(tmp_path / "pipeline")
    assert _load_in_clean_interpreter(path, None, tmp_path) == EXPECTED_LOAD


def test_full_width_digits_are_read_and_the_text_is_kept_as_printed() -> None:
    import datetime as dt

    from pipeline.entities import build_nlp, find_entities
    from tests.conftest import CORPUS

    body = "会议定于２０２４年９月２５日上午９：００召开。"
    record = (
        CORPUS[0]
        .record()
        .model_copy(update={"body_text": body, "sections": [], "published_date": dt.date(2024, 9, 1)})
    )
    (date,) = [e for e in find_entities(build_nlp(), record) if e.label == "DATE"]
    assert date.text == "２０２４年９月２５日上午９：００" == body[date.start : date.end]
    assert date.normalized == "2024-09-25T09:00"


def test_fast_scanners_find_exactly_what_the_patterns_find(nlp: Language) -> None:
    import random

    rules = nlp.get_pipe("notices_regex_entities").rules
    scanners = [*rules.date_rx, *rules.quantity_rx]
    assert sum(s.rest is not None for s in scanners) >= 6  # the lookbehind-led patterns use the fast path
    rng = random.Random(5)
    alphabet = "0123456789.年月日号份上中下旬初底末万亿余多元个人次件户项家所 -/第aA〇一二三十\n"
    texts = [c.record().body_text for c in [*CORPUS, *EXTRA]]
    texts += [
        "12024年3月5日",
        "2024年12月31日2024年1月1日",
        "1.5万元和第3项",
        "〇二〇二四年十月一日",
        "x2024-1-2y",
    ]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(3000)]
    for scanner in scanners:
        for text in texts:
            expected = [(m.start(), m.end(), m.groupdict()) for m in scanner.pattern.finditer(text)]
            assert [(m.start(), m.end(), m.groupdict()) for m in scanner.finditer(text)] == expected, text

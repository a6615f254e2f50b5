"""Stage metadata: every place a page puts its label/value pairs, and field_sources."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.metadata import extract_metadata, normalize_label, parse_date, parse_doc_no, parse_index_no
from tests.conftest import article, cleaned
from tests.test_clean import body_html


def meta_of(html: str):
    return extract_metadata(cleaned(html, "http://www.example.gov.cn/zwgk/202403/t20240312_9.html"))


def test_four_column_table() -> None:
    table = (
        "<table class='info'><tr><td>索 引 号：</td><td>640400017/2024-00208</td><td>发文时间</td>"
        "<td>2024-09-25</td></tr><tr><td>发布机构</td><td>固原市农业农村局</td><td>文\u3000\u3000号</td><td></td>"
        "</tr><tr><td>公开方式</td><td>主动公开</td><td>有效性</td><td>有效</td></tr>"
        "<tr><td>体裁分类</td><td>总结</td><td>主题分类</td><td>农业、林业、水利</td></tr></table>"
    )
    m = meta_of(article(table + "<h1>固原市农业农村局活动总结</h1>" + body_html()))
    assert m.index_no == "640400017/2024-00208" and m.published_date == dt.date(2024, 9, 25)
    assert m.publisher == "固原市农业农村局" and m.doc_no is None
    assert m.disclosure == "主动公开" and m.validity == "有效" and m.topic == "农业、林业、水利"
    assert m.field_sources["index_no"] == "table" and m.field_sources["title"] == "heading"
    assert m.extras == {"体裁分类": "总结"}
    assert m.index_no_parsed is not None and m.index_no_parsed.standard and m.index_no_parsed.year == 2024


def test_definition_list_and_chinese_dates() -> None:
    dl = (
        "<dl><dt>发文机关：</dt><dd>吴忠市人民政府办公室</dd><dt>成文日期：</dt><dd>2024年03月08日</dd>"
        "<dt>发布日期：</dt><dd>2024年3月12日</dd><dt>发文字号：</dt><dd>吴政办发〔2024〕15号</dd>"
        "<dt>有 效 性：</dt><dd>失效</dd></dl>"
    )
    m = meta_of(article(dl + "<h1>关于开展义务植树活动的<br/>通知</h1>" + body_html()))
    assert m.publisher == "吴忠市人民政府办公室"
    assert m.written_date == dt.date(2024, 3, 8) and m.published_date == dt.date(2024, 3, 12)
    assert m.doc_no == "吴政办发〔2024〕15号" and m.validity == "失效"
    assert m.title == "关于开展义务植树活动的通知"  # <br> joined with nothing
    assert m.field_sources["publisher"] == "dl"
    assert m.doc_no_parsed is not None and m.doc_no_parsed.number == 15 and m.doc_no_parsed.standard


def test_list_items_and_span_grid() -> None:
    ul = (
        "<ul class='info'><li><b>索 引 号：</b>11610302MB2907118X/2022-00004</li>"
        "<li><b>发布机构：</b>渭滨区农业农村局</li></ul>"
        "<div class='grid'><span class='k'>成文日期：</span><span class='v'>2021-12-30</span>"
        "<span class='k'>公开方式：</span><span class='v'>主动公开</span></div>"
    )
    m = meta_of(article(ul + body_html()))
    assert m.index_no == "11610302MB2907118X/2022-00004" and m.field_sources["index_no"] == "list"
    assert m.written_date == dt.date(2021, 12, 30) and m.field_sources["written_date"] == "grid"
    assert m.disclosure == "主动公开"


def test_inline_source_line_and_meta_tags() -> None:
    head = (
        '<meta name="ArticleTitle" content="夷陵区举办科技活动周启动仪式">'
        '<meta name="PubDate" content="2024-05-21 16:20"><meta name="ContentSource" content="夷陵区科技局">'
    )
    line = "<div class='info'>来源：夷陵区科学技术局\u00a0\u00a0发布时间：2024-05-22 16:20\u00a0\u00a0阅读次数：</div>"
    m = meta_of(article("<h1>夷陵区举办科技活动周启动仪式</h1>" + line + body_html(), head=head))
    # What the page shows outranks <meta> (issue 13: on real pages the <meta> date was the day
    # the page was regenerated, its source the template's default): table → inline → near the
    # title → meta → script → body → URL
    assert m.publisher == "夷陵区科学技术局" and m.field_sources["publisher"] == "inline"
    assert m.published_date == dt.date(2024, 5, 22)
    m2 = meta_of(article("<h1>夷陵区举办科技活动周启动仪式</h1>" + line + body_html()))
    assert m2.publisher == "夷陵区科学技术局" and m2.field_sources["publisher"] == "inline"
    assert m2.published_date == dt.date(2024, 5, 22)


def test_title_is_never_the_title_tag_suffix() -> None:
    m = meta_of(article(body_html()))  # no visible heading at all
    assert m.title == "测试通知" and m.field_sources["title"] == "title_tag"


def test_published_date_from_url_as_last_resort() -> None:
    m = meta_of(article(body_html()))
    assert m.published_date == dt.date(2024, 3, 12) and m.field_sources["published_date"] == "url"


def test_unparseable_date_is_a_warning_not_a_value() -> None:
    m = meta_of(article("<ul><li>发布日期：近日</li><li>发布机构：某局</li></ul>" + body_html()))
    assert m.published_date == dt.date(2024, 3, 12)  # falls through to the URL
    assert any("not a date" in w for w in m.warnings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-25", (2024, 9, 25)),
        ("2024年9月25日", (2024, 9, 25)),
        ("2024/9/5 10:30", (2024, 9, 5)),
        ("2024.09.25", (2024, 9, 25)),
        ("发布时间：2024-03-12 16:20", (2024, 3, 12)),
        ("20240925", (2024, 9, 25)),
        ("二〇二四年九月二十五日", (2024, 9, 25)),
        ("二〇二〇年十二月三十日", (2020, 12, 30)),
    ],
)
def test_dates(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_date(text) == dt.date(*expected)


@pytest.mark.parametrize("text", ["", "近日", "2024-13-45", "电话：0951-1234567"])
def test_not_dates(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("raw", "prefix", "year", "number", "standard"),
    [
        ("固政公开办发〔2024〕3号", "固政公开办发", 2024, 3, True),
        ("渭滨农发[2021]98号", "渭滨农发", 2021, 98, False),
        ("卫政办发（2020）3号", "卫政办发", 2020, 3, False),
        ("卫政办发(2020)第12号", "卫政办发", 2020, 12, False),
    ],
)
def test_doc_numbers(raw: str, prefix: str, year: int, number: int, standard: bool) -> None:
    d = parse_doc_no(raw)
    assert (d.prefix, d.year, d.number, d.standard) == (prefix, year, number, standard)


def test_index_numbers() -> None:
    assert parse_index_no("640400017/2024-00208").org_code == "640400017"
    assert not parse_index_no("XXGK-2024-001").standard


def test_label_normalisation() -> None:
    assert normalize_label("索 引 号：") == "索引号"
    assert normalize_label("文\u3000\u3000号:") == "文号"
    assert normalize_label("【发布机构】") == "发布机构"


# ----------------------------------------------------------------------------- real-page shapes
# Grids and info lines as real sites write them (issue 13), written here generically.


def test_grid_synonyms_of_real_disclosure_pages() -> None:
    grid = (
        "<table><tr><td>信息名称：</td><td colspan='5'>关于举办文化宣传教育活动的通知</td></tr>"
        "<tr><td>信息索引：</td><td>360A12-07-2024-0008-1</td><td>生成日期：</td><td>2024-06-04</td>"
        "<td>发文机构：</td><td>某某部办公厅</td></tr><tr><td>发文字号：</td><td>某办函〔2024〕10号</td>"
        "<td>信息类别：</td><td colspan='3'>高等教育</td></tr></table>"
    )
    m = meta_of(article(grid + "<h1>关于举办文化宣传教育活动的通知</h1>" + body_html()))
    assert (m.index_no, m.doc_no, m.topic, m.publisher) == (
        "360A12-07-2024-0008-1",
        "某办函〔2024〕10号",
        "高等教育",
        "某某部办公厅",
    )
    assert m.written_date == dt.date(2024, 6, 4) and m.field_sources["topic"] == "table"
    # 生成日期 is the written date: the URL's date, not it, is the publication date here
    assert m.published_date == dt.date(2024, 3, 12) and m.field_sources["published_date"] == "url"
    assert any("URL" in w for w in m.warnings)


def test_labels_split_by_spacers_and_empty_values() -> None:
    grid = (
        "<table><tr><th>索<span style='padding-right:.5em'></span>引<span></span>号：</th><td>K16185922-201704-00036</td>"
        "<th>有<span></span>效<span></span>性：</th><td>有效</td></tr>"
        "<tr><td>文件编号：</td><td>关键词：</td><td>发布机构: 某某省教育厅</td></tr></table>"
    )
    m = meta_of(article(grid + "<h1>某某省教育厅工作动态</h1>" + body_html()))
    assert m.index_no == "K16185922-201704-00036" and m.validity == "有效"
    assert m.doc_no is None and m.publisher == "某某省教育厅"


def test_a_disclosure_table_in_columns() -> None:
    table = (
        "<table><thead><tr><td>索取号</td><td>发布时间</td><td>发布机构</td><td>文件编号</td><td>备注</td></tr></thead>"
        "<tr><td>076478684Q/2024-00112</td><td>2024-05-11</td><td>某市卫生健康委员会</td><td>某卫基层〔2024〕5号</td>"
        "<td></td></tr></table>"
    )
    m = meta_of(article(table + "<h1>关于开展主题宣传活动的通知</h1>" + body_html()))
    assert m.index_no == "076478684Q/2024-00112" and m.doc_no == "某卫基层〔2024〕5号"
    assert m.publisher == "某市卫生健康委员会" and m.published_date == dt.date(2024, 5, 11)
    assert m.field_sources["doc_no"] == "columns"


def test_the_date_shown_under_the_title_outranks_meta() -> None:
    head = '<meta name="PubDate" content="2024-12-10 09:00"><meta name="ContentSource" content="四川日报社">'
    info = "<div class='info'><span>2024年12月07日 08时01分</span><span>来源: 四川日报</span></div>"
    m = meta_of(article("<h1>医药健康产业供需对接活动举行</h1>" + info + body_html(), head=head))
    assert m.published_date == dt.date(2024, 12, 7) and m.field_sources["published_date"] == "near_title"
    assert m.publisher == "四川日报" and m.field_sources["publisher"] != "meta"
    # with nothing visible, <meta> is the fallback
    m = meta_of(article("<h1>医药健康产业供需对接活动举行</h1>" + body_html(), head=head))
    assert m.published_date == dt.date(2024, 12, 10) and m.field_sources["published_date"] == "meta"


def test_info_lines_as_news_templates_write_them() -> None:
    head = '<meta name="ContentSource" content="综合自学习强国、川观新闻、某某医院订阅号">'
    for line, publisher in [
        ("<div>2022-05-07 00:00 来源：河北省文化和旅游厅机关党委</div>", "河北省文化和旅游厅机关党委"),
        ("<div>来源：广西日报 2024-10-17</div>", "广西日报"),
        ("<div>来源：洪湖市人民政府 |</div>", "洪湖市人民政府"),
        ("<div>来源：综合自学习强国、川观新闻…】</div>", "综合自学习强国、川观新闻、某某医院订阅号"),
    ]:
        m = meta_of(article("<h1>青年优秀美术作品展启幕</h1>" + line + body_html(), head=head))
        assert m.publisher == publisher, line


def test_a_doc_no_printed_atop_the_body_and_a_logo_h1() -> None:
    page = (
        "<h1>某某省人民政府门户网站</h1><div class='art'><h1>关于第14040218号建议的复函</h1>"
        "<p>川卫函〔2025〕46号</p><p>唐某某代表：</p>" + body_html() + "</div>"
    )
    m = meta_of(article(page, head="<title>某某省人民政府门户网站 - www.example.gov.cn</title>"
                        '<meta name="ArticleTitle" content="关于第14040218号建议的复函">'))  # fmt: skip
    assert m.title == "关于第14040218号建议的复函"
    assert m.doc_no == "川卫函〔2025〕46号" and m.field_sources["doc_no"] == "body"


def test_a_date_written_by_script_is_a_late_fallback() -> None:
    js = "<script>document.write('<span>发布时间：2024-05-21</span>');</script>"
    m = meta_of(article("<h1>关于开展安全检查的通知</h1><div class='info'>" + js + "</div>" + body_html()))
    assert m.published_date == dt.date(2024, 5, 21) and m.field_sources["published_date"] == "script"
    # <meta> outranks it; the URL's date ranks below it
    head = '<meta name="PubDate" content="2024-05-20">'
    m = meta_of(
        article("<h1>关于开展安全检查的通知</h1><div class='info'>" + js + "</div>" + body_html(), head=head)
    )
    assert m.published_date == dt.date(2024, 5, 20)


def test_a_doc_no_in_the_title_and_a_list_page_has_no_guessed_date() -> None:
    m = meta_of(article("<h1>某某监管局行政处罚信息公开表（浙金罚决字〔2024〕52号）</h1>" + body_html()))
    assert m.doc_no == "浙金罚决字〔2024〕52号" and m.field_sources["doc_no"] == "title_tag"
    items = "".join(
        f"<li><a href='/zwgk/2024{i:02d}/t2024{i:02d}01_{i}.html'>关于开展第{i}批专项检查工作的通知</a>"
        f"<span>2024-{i:02d}-01</span></li>"
        for i in range(1, 12)
    )
    js = "<script>var publish_time = '2025-07-29';</script>"
    m = meta_of(article(f"<h1>通知公告</h1><ul class='list'>{items}</ul>", head=js))
    assert m.published_date is None  # no notice on a list page: neither the script's date nor the URL's


def test_script_keys_are_read_without_underscores() -> None:
    js = '<script>var publish_time = "2018-04-06" || "";</script>'
    m = meta_of(article("<h2 class='rich_media_title'>新闻速览一分钟</h2>" + body_html(), head=js))
    assert m.published_date == dt.date(2018, 4, 6)

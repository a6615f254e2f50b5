"""Stage discover (parsing): list pages → notice links and pagination; sitemaps → URLs."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipeline.decode import decode_body
from pipeline.discover import ListPage, parse_list_page, parse_sitemap, trs_pagination
from pipeline.errors import DiscoveryError
from schemas.site import ListHints
from schemas.stages import DecodedPage, FetchResult
from tests.conftest import FIXTURES

LISTS = FIXTURES / "lists"
SITE = FIXTURES / "corpus" / "site"
MANIFEST = json.loads((SITE / "MANIFEST.json").read_text(encoding="utf-8"))
ORIGIN = MANIFEST["sitemap_base_url"]

GOLDS = sorted(LISTS.glob("*.gold.json"))


def page_of(body: bytes, url: str, ctype: str | None = "text/html; charset=utf-8") -> DecodedPage:
    return decode_body(FetchResult.from_file_bytes(body, url=url, content_type=ctype))


def parse(html: str, url: str = "http://www.example.gov.cn/zwgk/tzgg/index.html", **hints: Any) -> ListPage:
    return parse_list_page(page_of(html.encode("utf-8"), url), ListHints(**hints) if hints else None)


def site_page(path: str) -> ListPage:
    return parse_list_page(page_of((SITE / path.lstrip("/")).read_bytes(), ORIGIN + path))


def as_gold(result: ListPage) -> dict[str, Any]:
    return {
        "links": [
            {
                "url": link.url,
                "title": link.title,
                "date": link.date.isoformat() if link.date else None,
                "is_document": link.is_document,
            }
            for link in result.links
        ],
        "pagination": result.pagination,
        "page_count": result.page_count,
    }


FURNITURE = """
<div class="header"><a href="/" class="logo">某某市人民政府</a><a href="/wza/">无障碍</a><a href="/old/">长者模式</a></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/zwfw/">政务服务</a></li><li><a href="/hdjl/">互动交流</a></li><li><a href="/ztzl/">专题专栏</a></li></ul></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a></div>
<div class="left"><ul><li><a href="/zwgk/xxgkzn/">政府信息公开指南</a></li><li><a href="/zwgk/xxgknb/">政府信息公开年报</a></li>
<li><a href="/zwgk/zcwj/">政策文件</a></li></ul></div>
"""
FOOTER = """
<div class="footer"><p><a href="/wzdt/">网站地图</a> | <a href="/lxwm/">联系我们</a></p>
<p>主办单位：某某市人民政府办公室 网站标识码：1100000001 <a href="https://beian.miit.gov.cn/">京ICP备12345678号</a></p></div>
"""

TITLES = [
    "某某市人民政府关于开展2024年秋季森林防火工作的通知",
    "某某市教育局关于2024年秋季学期中小学招生工作的公告",
    "某某市财政局关于2024年度部门预算公开的说明",
    "某某市卫生健康委员会关于开展爱国卫生月活动的通知",
    "某某市交通运输局关于国庆期间道路交通安全的提示",
]


def ul_list(items: str, pager: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>通知公告</title></head><body>{FURNITURE}"
        f"<div class='main'><ul class='list'>{items}</ul>{pager}</div>{FOOTER}</body></html>"
    )


def li(i: int, date: str = "2024-09-25", href: str | None = None) -> str:
    href = href or f"./202409/t202409{25 - i:02d}_{4712000 + i}.html"
    return f'<li><a href="{href}" target="_blank">{TITLES[i % len(TITLES)]}</a><span>{date}</span></li>'


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("gold_path", GOLDS, ids=lambda p: p.name.removesuffix(".gold.json"))
def test_fixture_list_pages_match_their_gold(gold_path: Path) -> None:
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    html = gold_path.with_name(gold_path.name.removesuffix(".gold.json") + ".html")
    result = parse_list_page(page_of(html.read_bytes(), gold["url"], gold["content_type_header"]))
    got = as_gold(result)
    assert got["links"] == gold["links"]
    assert got["pagination"] == gold["pagination"]
    assert got["page_count"] == gold["page_count"]
    if "warning" in gold:
        assert any(gold["warning"] in w for w in result.warnings)
    else:
        assert result.warnings == []


def test_there_are_enough_fixtures_in_different_templates() -> None:
    templates = {json.loads(g.read_text(encoding="utf-8"))["template"].split(":")[0] for g in GOLDS}
    assert len(GOLDS) >= 6 and len(templates) == len(GOLDS)


@pytest.mark.parametrize("gold_path", GOLDS, ids=lambda p: p.name.removesuffix(".gold.json"))
def test_fixture_golds_are_consistent(gold_path: Path) -> None:
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    urls = [link["url"] for link in gold["links"]]
    assert len(urls) == len(set(urls))
    for url in urls + gold["pagination"]:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.netloc and not parts.fragment
    assert gold["url"] not in gold["pagination"]
    assert not set(urls) & set(gold["pagination"])


def test_gbk_fixture_is_really_gbk_encoded() -> None:
    raw = (LISTS / "gbk_asp_table.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    page = page_of(raw, "http://www.shichuan.gov.cn/news/list.asp?classid=12", "text/html")
    assert page.encoding == "gb18030" and "浉川区" in page.text


# --------------------------------------------------------------------------- the mini site


def test_mini_site_list_pages_give_the_manifest_notices_in_page_order() -> None:
    pages = [site_page(p) for p in MANIFEST["list_pages"]]
    links = [link for p in pages for link in p.links]
    paths = [urlsplit(link.url).path for link in links]
    notices = set(MANIFEST["notices"]) | set(MANIFEST["expected_404"])
    html_links = [p for p, link in zip(paths, links, strict=True) if not link.is_document]
    assert len(html_links) == len(set(html_links)) == 16
    assert set(html_links) == notices
    assert [p for p, link in zip(paths, links, strict=True) if link.is_document] == MANIFEST["linked_files"]
    # page order is newest first; the dates are those printed beside the links
    dates = [link.date for link in links]
    assert all(d is not None for d in dates)
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    for path, link in zip(paths, links, strict=True):
        entry = MANIFEST["notices"].get(path)
        if entry:
            assert link.date == dt.date.fromisoformat(entry["published_date"])
            gold = json.loads((FIXTURES / "corpus" / entry["gold"]).read_text(encoding="utf-8"))
            assert link.title == gold["title"]  # the title attribute, where the text is cut with "..."
    for p in pages:
        assert p.page_count == 3 and p.warnings == []


@pytest.mark.parametrize("index", [0, 1, 2])
def test_mini_site_pagination_is_every_other_list_page(index: int) -> None:
    expected = [ORIGIN + p for p in MANIFEST["list_pages"]]
    result = site_page(MANIFEST["list_pages"][index])
    assert result.pagination == [u for i, u in enumerate(expected) if i != index]


# --------------------------------------------------------------------------- structure


def test_list_found_among_navigation_sidebar_and_footer() -> None:
    result = parse(ul_list("".join(li(i) for i in range(5))))
    assert [link.title for link in result.links] == TITLES
    assert all(link.date == dt.date(2024, 9, 25) for link in result.links)
    assert not any(urlsplit(link.url).path in ("/", "/zwgk/", "/zwgk/xxgkzn/") for link in result.links)


def test_notice_url_shape_is_not_required() -> None:
    items = "".join(li(i, href=f"/news/show/{chr(97 + i)}") for i in range(5))
    result = parse(ul_list(items))
    assert [urlsplit(link.url).path for link in result.links] == [
        f"/news/show/{chr(97 + i)}" for i in range(5)
    ]


def test_each_url_once_with_the_full_title() -> None:
    items = (
        '<li><a href="t20240925_1.html"><img src="a.jpg"></a>'
        '<a href="t20240925_1.html" title="某某市关于开展2024年秋季森林防火检查工作的通知">某某市关于开展2024年秋季...</a>'
        "<span>2024-09-25</span></li>" + "".join(li(i) for i in range(1, 4))
    )
    result = parse(ul_list(items))
    first = result.links[0]
    assert first.title == "某某市关于开展2024年秋季森林防火检查工作的通知"
    assert [link.url for link in result.links].count(first.url) == 1


def test_title_attribute_not_used_when_it_is_another_text() -> None:
    items = '<li><a href="t20240925_1.html" title="点击查看">某某市关于开展秋季森林防火检查的通知...</a><span>2024-09-25</span></li>'
    result = parse(ul_list(items + "".join(li(i) for i in range(1, 4))))
    assert result.links[0].title == "某某市关于开展秋季森林防火检查的通知..."


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("2024-09-25", dt.date(2024, 9, 25)),
        ("2024/9/5", dt.date(2024, 9, 5)),
        ("2024.09.25", dt.date(2024, 9, 25)),
        ("2024年9月25日", dt.date(2024, 9, 25)),
        ("[2024-09-25 10:31]", dt.date(2024, 9, 25)),
        ("2024-02-30", None),  # not a day
    ],
)
def test_date_formats(shown: str, expected: dt.date | None) -> None:
    items = f'<li><a href="/a/1.html">{TITLES[0]}</a><span>{shown}</span></li>' + "".join(
        li(i) for i in range(1, 4)
    )
    assert parse(ul_list(items)).links[0].date == expected


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("./202409/t20240925_1.html", dt.date(2024, 9, 25)),
        ("/art/2023/9/25/art_12_34.html", dt.date(2023, 9, 25)),
        ("/zwgk/202309/abc.html", dt.date(2023, 9, 25)),  # the month of the folder matches
        ("/zwgk/202310/abc.html", None),  # another month: the year is not known
        ("/content/post_123.html", None),
    ],
)
def test_short_dates_take_the_year_from_the_url_or_stay_unknown(href: str, expected: dt.date | None) -> None:
    items = f'<li><a href="{href}">{TITLES[0]}</a><span>[09-25]</span></li>' + "".join(
        f'<li><a href="/content/post_{i}.html">{TITLES[i]}</a><span>[09-2{i}]</span></li>'
        for i in range(1, 4)
    )
    assert parse(ul_list(items)).links[0].date == expected


def test_a_date_inside_the_title_is_not_the_items_date() -> None:
    items = (
        '<li><a href="t20240925_1.html">关于2024年10月1日起调整公交线路的通告</a><span>2024-09-25</span></li>'
    )
    result = parse(ul_list(items + "".join(li(i) for i in range(1, 4))))
    assert result.links[0].date == dt.date(2024, 9, 25)


def test_date_inside_the_anchor_is_kept_out_of_the_title() -> None:
    items = "".join(
        f'<li><a href="/a/{i}.html"><span class="t">{TITLES[i]}</span><span class="d">2024-09-2{i}</span></a></li>'
        for i in range(4)
    )
    result = parse(ul_list(items))
    assert [(link.title, link.date) for link in result.links] == [
        (TITLES[i], dt.date(2024, 9, 20 + i)) for i in range(4)
    ]


def test_publication_date_column_is_chosen_by_its_header() -> None:
    rows = "".join(
        f'<tr><td>{i + 1}</td><td><a href="./t2024092{i}_{i}.html">{TITLES[i]}</a></td>'
        f"<td>2024-09-2{i}</td><td>2024-08-0{i + 1}</td></tr>"
        for i in range(4)
    )
    table = (
        "<table class='xxgk'><tr><th>序号</th><th>标题</th><th>发布日期</th><th>成文日期</th></tr>"
        f"{rows}</table>"
    )
    html = f"<html><body>{FURNITURE}<div class='main'>{table}</div>{FOOTER}</body></html>"
    assert [link.date for link in parse(html).links] == [dt.date(2024, 9, 20 + i) for i in range(4)]


def test_single_notice_list() -> None:
    result = parse(ul_list(li(0)))
    assert [link.title for link in result.links] == [TITLES[0]]


def test_list_inside_a_nav_named_block_is_used_with_a_warning() -> None:
    html = (
        "<html><body><div id='nav-content'><ul>"
        + "".join(li(i) for i in range(4))
        + "</ul></div></body></html>"
    )
    result = parse(html)
    assert len(result.links) == 4
    assert any("chrome" in w for w in result.warnings)


def test_page_without_list_warns() -> None:
    html = f"<html><body>{FURNITURE}<div class='main'><p>本栏目暂无信息。</p></div>{FOOTER}</body></html>"
    result = parse(html)
    assert result.links == [] and result.pagination == []
    assert any("no notice list" in w for w in result.warnings)


def test_previous_next_article_links_are_not_a_list() -> None:
    html = (
        "<html><body><div class='article'><h1>关于开展秋季森林防火工作的通知</h1><p>正文。</p></div>"
        "<div class='pn'><p>上一篇：<a href='t20240920_1.html'>某某市关于开展爱国卫生月活动的通知</a></p>"
        "<p>下一篇：<a href='t20240928_2.html'>某某市关于国庆期间道路交通安全的提示</a></p></div></body></html>"
    )
    assert parse(html).links == []


def test_document_link_with_a_short_text_joins_its_item() -> None:
    items = (
        '<li><a href="t20240925_1.html">某某市关于开展2024年秋季森林防火工作的通知</a>'
        '<a href="P020240925123.pdf">[PDF]</a><span>2024-09-25</span></li>'
        + "".join(li(i) for i in range(1, 4))
    )
    links = parse(ul_list(items)).links
    assert [link.is_document for link in links[:2]] == [False, True]
    assert links[1].url.endswith("P020240925123.pdf") and links[1].date == dt.date(2024, 9, 25)


def test_base_href_resolves_links() -> None:
    html = ul_list("".join(li(i) for i in range(3))).replace(
        "<title>", "<base href='http://cdn.example.gov.cn/zwgk/'><title>"
    )
    assert all(link.url.startswith("http://cdn.example.gov.cn/zwgk/202409/") for link in parse(html).links)


# --------------------------------------------------------------------------- hints


def test_link_xpath_overrides_the_heuristics() -> None:
    gold = json.loads((LISTS / "trs_split_ul.gold.json").read_text(encoding="utf-8"))
    body = (LISTS / "trs_split_ul.html").read_bytes()
    hints = ListHints(link_xpath="//div[@class='zxwj']//a")
    result = parse_list_page(page_of(body, gold["url"], "text/html"), hints)
    assert [link.url.rsplit("/", 1)[-1] for link in result.links] == [
        "t20240920_4709311.shtml",
        "t20240911_4701152.shtml",
        "t20240826_4688207.shtml",
    ]
    assert result.links[0].title == "云岭县人民政府关于印发云岭县2024年秋冬季大气污染防治攻坚方案的通知"
    assert result.links[0].date == dt.date(2024, 9, 20)  # [09-20] with the year of the URL
    assert result.pagination == gold["pagination"]  # pagination does not depend on the hints


def test_notice_url_pattern_filters_and_keeps_documents_of_the_list() -> None:
    result = site_page("/zwgk/bmdt/index.html")
    hinted = parse_list_page(
        page_of((SITE / "zwgk/bmdt/index.html").read_bytes(), ORIGIN + "/zwgk/bmdt/index.html"),
        ListHints(notice_url_pattern=r"/t2024\d{4}_\d+\.html$"),
    )
    expected = [link for link in result.links if "/t2024" in link.url or link.is_document]
    assert hinted.links == expected and len(expected) == 4


def test_notice_url_pattern_finds_links_the_heuristics_would_not() -> None:
    html = f"<html><body>{FURNITURE}<p><a href='/art/1.html'>公告</a> <a href='/art/2.html'>通知</a></p></body></html>"
    assert parse(html).links == []
    hinted = parse(html, notice_url_pattern=r"/art/\d+\.html$")
    assert [link.title for link in hinted.links] == ["公告", "通知"]


def test_list_url_pattern_marks_pagination() -> None:
    pager = "<div class='more'><a href='/zwgk/tzgg/older.html'>往期通知</a> <a href='/zwgk/tzgg/archive-2023.html'>2023年通知公告汇编目录</a></div>"
    html = ul_list("".join(li(i) for i in range(3)), pager)
    plain = parse(html)
    assert plain.pagination == []
    hinted = parse(html, list_url_pattern=r"/zwgk/tzgg/(?:older|archive-\d+)\.html$")
    assert hinted.pagination == [
        "http://www.example.gov.cn/zwgk/tzgg/older.html",
        "http://www.example.gov.cn/zwgk/tzgg/archive-2023.html",
    ]
    assert not any("archive" in link.url for link in hinted.links)


def test_bad_xpath_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError, match="link_xpath"):
        parse(ul_list(li(0)), link_xpath="//a[")


def test_xpath_selecting_nothing_warns() -> None:
    result = parse(ul_list(li(0)), link_xpath="//table//a")
    assert result.links == [] and any("link_xpath" in w for w in result.warnings)


# --------------------------------------------------------------------------- pagination


@pytest.mark.parametrize(
    "script",
    [
        'createPageHTML(5, 0, "index", "html");',
        "createPageHTML(5,0,'index','html')",
        'createPageHTML( 5 ,\n 0 , "index" , "html" ) ;',
        'var countPage = 5//共多少页\nvar currentPage = 0;\ncreatePageHTML(countPage, currentPage, "index", "html");',
        'var _nPageCount = 5;\ncreatePageHTML(_nPageCount, 0, "index", "html");',
        "createPageHTML('page_div', 5, 0, 'index', 'html', 73);",
        'createPageHTML("5", "0", "index", "html");',
    ],
)
def test_trs_pagination_variants(script: str) -> None:
    urls, count = trs_pagination(script, "http://www.example.gov.cn/zwgk/tzgg/index_2.html")
    base = "http://www.example.gov.cn/zwgk/tzgg/"
    assert count == 5
    assert urls == [base + "index.html"] + [f"{base}index_{i}.html" for i in range(1, 5)]


def test_trs_pagination_skips_the_function_definition() -> None:
    script = (
        "function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){ if(_nPageCount == null) return; }\n"
        'createPageHTML(2, 1, "list", "shtml");'
    )
    urls, count = trs_pagination(script, "https://a.gov.cn/x/list_1.shtml")
    assert (urls, count) == (["https://a.gov.cn/x/list.shtml", "https://a.gov.cn/x/list_1.shtml"], 2)


@pytest.mark.parametrize(
    "script",
    ["", "var a = 1;", "createPageHTML(count, 0, 'index', 'html')", "createPageHTML(3, 0, '../x', 'html')"],
)
def test_trs_pagination_without_a_usable_call(script: str) -> None:
    assert trs_pagination(script, "http://a.gov.cn/index.html") == ([], None)


def test_trs_pagination_folder_url_and_cap() -> None:
    urls, count = trs_pagination('createPageHTML(999999999, 0, "index", "html")', "http://a.gov.cn/zwgk/")
    assert count == 999999999 and len(urls) == 1000 and urls[0] == "http://a.gov.cn/zwgk/index.html"
    assert trs_pagination('createPageHTML(9, 0, "index", "html")', "http://a.gov.cn/", max_pages=3)[0][
        -1
    ] == ("http://a.gov.cn/index_2.html")


def test_trs_pagination_invalid_page_url() -> None:
    with pytest.raises(DiscoveryError, match="invalid page URL"):
        trs_pagination('createPageHTML(3, 0, "index", "html")', "http://[::1")


def test_thousands_of_pages_are_capped_with_a_warning() -> None:
    html = ul_list(
        li(0), '<div class="page"><script>createPageHTML(250000, 0, "index", "html");</script></div>'
    )
    result = parse(html)
    assert result.page_count == 250000 and len(result.pagination) == 999  # 1,000 pages without this one
    assert result.pagination[-1].endswith("/index_999.html")
    assert any("capped" in w for w in result.warnings)
    numbered = ul_list(
        li(0),
        '<div class="pages">共99999页 <a href="list_2.html">下一页</a><a href="list_99999.html">尾页</a></div>',
    )
    result = parse(numbered, url="http://www.example.gov.cn/zwgk/tzgg/list.html")
    assert result.page_count == 99999 and len(result.pagination) == 1000
    assert any("capped" in w for w in result.warnings)


def test_query_pagination_with_page_numbers() -> None:
    pager = (
        '<div class="pagination"><a href="?page=1">首页</a><span>1</span><a href="?page=2">2</a>'
        '<a href="?page=3">3</a><a href="?page=2">下一页</a><a href="?page=12">尾页</a><span>共12页</span></div>'
    )
    result = parse(ul_list(li(0), pager), url="http://www.example.gov.cn/news/list?page=1")
    assert result.page_count == 12
    assert result.pagination == [f"http://www.example.gov.cn/news/list?page={n}" for n in range(2, 13)]


@pytest.mark.parametrize(
    ("hrefs", "expected"),
    [
        (
            ["index_1.html", "index_2.html", "index_3.html"],
            [f"index_{n}.html" for n in range(1, 20)],
        ),  # "2" → _1
        (
            ["index_2.html", "index_3.html", "index_4.html"],
            [f"index_{n}.html" for n in range(2, 21)],
        ),  # "2" → _2
    ],
)
def test_numbering_base_read_from_the_page_number_texts(hrefs: list[str], expected: list[str]) -> None:
    # No 尾页 link: only the texts of the number links tell how the 20 pages are numbered.
    numbers = "".join(f'<a href="{h}">{i + 2}</a>' for i, h in enumerate(hrefs))
    pager = f'<div class="page_nav"><span>共20页</span><span>1</span>{numbers}<a href="{hrefs[0]}">下一页</a></div>'
    result = parse(ul_list(li(0), pager))
    assert result.page_count == 20
    assert result.pagination == ["http://www.example.gov.cn/zwgk/tzgg/" + e for e in expected]


def test_pagination_without_a_page_count_lists_the_known_pages() -> None:
    pager = '<p class="fy"><a href="list_2.html">[下一页]</a> <a href="list_5.html">[尾页]</a></p>'
    result = parse(ul_list(li(0), pager), url="http://www.example.gov.cn/a/list_1.html")
    assert result.page_count is None
    assert result.pagination == [f"http://www.example.gov.cn/a/list_{n}.html" for n in range(2, 6)]


def test_rel_next_and_prev_links() -> None:
    html = ul_list(li(0)).replace(
        "<title>",
        "<link rel='prev' href='/zwgk/tzgg/index_1.html'><link rel='next' href='index_3.html'><title>",
    )
    result = parse(html, url="http://www.example.gov.cn/zwgk/tzgg/index_2.html")
    assert set(result.pagination) == {
        "http://www.example.gov.cn/zwgk/tzgg/index_1.html",
        "http://www.example.gov.cn/zwgk/tzgg/index_3.html",
    }


def test_home_link_and_page_numbers_outside_a_pager_are_not_pagination() -> None:
    html = ul_list("".join(li(i) for i in range(3))).replace(
        "</ul></div>", '</ul><p class="note">见附表<a href="/fb/2.html">2</a></p></div>', 1
    )
    assert parse(html).pagination == []
    # "page-header" is a header although its "page" marks a zone where page numbers count
    header = '<div class="page-header"><a href="/">首页</a><a href="/zwgk/">2</a></div>'
    pager = '<div class="page"><a href="index_1.html">下一页</a></div>'
    result = parse(ul_list("".join(li(i) for i in range(3)), pager).replace("<body>", "<body>" + header))
    assert result.pagination == ["http://www.example.gov.cn/zwgk/tzgg/index_1.html"]


def test_pager_to_another_host_and_to_documents_is_ignored() -> None:
    pager = '<div class="page"><a href="http://evil.example.com/list_2.html">下一页</a><a href="x.pdf">尾页</a></div>'
    assert parse(ul_list(li(0), pager)).pagination == []


def test_page_itself_is_never_in_its_pagination() -> None:
    pager = '<div class="page"><a href="./">首页</a><a href="index.html">1</a><a href="index_1.html">2</a><a href="index_1.html">下一页</a></div>'
    result = parse(ul_list(li(0), pager), url="http://www.example.gov.cn/zwgk/tzgg/")
    assert result.pagination == ["http://www.example.gov.cn/zwgk/tzgg/index_1.html"]


# --------------------------------------------------------------------------- hostile input


def test_empty_page_gives_a_warning() -> None:
    page = DecodedPage(
        url="http://a.gov.cn/", text="  \n ", encoding="utf-8", encoding_source="http", sha256="0"
    )
    result = parse_list_page(page)
    assert result.links == [] and any("empty" in w for w in result.warnings)


@pytest.mark.parametrize("url", ["http://[::1", "http://a:99999/", "ftp://a.gov.cn/", "not a url"])
def test_invalid_page_url_is_a_discovery_error(url: str) -> None:
    page = DecodedPage(url=url, text="<p>x</p>", encoding="utf-8", encoding_source="http", sha256="0")
    with pytest.raises(DiscoveryError, match="invalid page URL"):
        parse_list_page(page)


def test_javascript_and_unparseable_links_are_skipped() -> None:
    bad = [
        "javascript:void(0)",
        "javascript:openWin('t20240925_1.html')",
        "http://[::1",
        "http://a:99999/x",
        "mailto:a@b.cn",
        "#top",
        "data:text/html,x",
    ]
    items = "".join(
        f'<li><a href="{href}">{TITLES[i % 5]}</a><span>2024-09-25</span></li>' for i, href in enumerate(bad)
    )
    result = parse(ul_list(items + "".join(li(i) for i in range(3))))
    assert len(result.links) == 3
    assert all(urlsplit(link.url).scheme == "http" for link in result.links)


def timed(fn: Any, *args: Any, limit: float = 10.0) -> Any:
    start = time.perf_counter()
    out = fn(*args)
    assert time.perf_counter() - start < limit
    return out


def test_deep_nesting_does_not_overflow_or_hang() -> None:
    deep = "<div>" * 10_000 + "".join(li(i) for i in range(3)) + "</div>" * 10_000
    result = timed(parse, ul_list(deep))
    assert isinstance(result, ListPage)
    anchors_everywhere = (
        "".join(f"<div><a href='/a/{i}.html'>{TITLES[i % 5]}</a>" for i in range(3000)) + "</div>" * 3000
    )
    assert isinstance(timed(parse, f"<html><body>{anchors_everywhere}</body></html>"), ListPage)


def test_huge_attribute_counts_are_cheap() -> None:
    tag = "<ul " + " ".join(f"a{i}" for i in range(100_000)) + ">"
    result = timed(parse, ul_list("".join(li(i) for i in range(3))).replace("<ul class='list'>", tag))
    assert len(result.links) == 3


def test_many_links_are_cheap_and_capped() -> None:
    items = "".join(li(i, href=f"/a/t20240925_{i}.html") for i in range(6000))
    result = timed(parse, ul_list(items))
    assert len(result.links) == 5000 and any("first 5000" in w for w in result.warnings)


def test_pathological_texts_do_not_hang() -> None:
    dots = "." * 200_000
    items = f'<li><a href="/a/1.html">关于{dots}的通知</a><span>{"1 " * 50_000}</span></li>' + "".join(
        li(i) for i in range(1, 3)
    )
    assert isinstance(timed(parse, ul_list(items, "共" + " " * 100_000 + "页")), ListPage)
    unclosed = (
        '<script type="text/xml"><datastore><recordset>' + "<record><![CDATA[<li>x" * 50_000 + "</script>"
    )
    assert isinstance(timed(parse, ul_list(li(0)) + unclosed), ListPage)


def test_binary_junk_never_raises_anything_but_discovery_error() -> None:
    junk = bytes(range(256)).decode("latin-1") * 200
    page = DecodedPage(
        url="http://a.gov.cn/", text=junk, encoding="utf-8", encoding_source="http", sha256="0"
    )
    try:
        result = parse_list_page(page)
    except DiscoveryError:
        return
    assert result.links == []


def test_hanweb_records_are_parsed_only_from_the_datastore() -> None:
    records = "".join(
        f"<record><![CDATA[<li><a href='/art/2024/9/2{i}/art_1_{i}.html'>{TITLES[i]}</a><span>2024-09-2{i}</span></li>]]></record>"
        for i in range(3)
    )
    html = (
        f"<html><body>{FURNITURE}<div id='123'><script type='text/xml'><datastore><recordset>{records}"
        "</recordset></datastore></script></div>"
        "<script>var tpl = \"<li><a href='/art/x.html'>某某市关于脚本模板里的假链接的通知</a></li>\";</script></body></html>"
    )
    result = parse(html)
    assert [link.title for link in result.links] == TITLES[:3]
    assert [link.date for link in result.links] == [dt.date(2024, 9, 20 + i) for i in range(3)]


# --------------------------------------------------------------------------- sitemaps

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <url><loc> http://a.gov.cn/zwgk/t20240925_1.html </loc><lastmod>2024-09-25T10:00:00+08:00</lastmod>
       <xhtml:link rel="alternate" hreflang="en" href="http://a.gov.cn/en/1.html"/></url>
  <url><loc>http://a.gov.cn/zwgk/t20240924_2.html</loc><lastmod>2024-09-24</lastmod><changefreq>daily</changefreq></url>
  <url><loc>http://a.gov.cn/zwgk/t20240923_3.html</loc><lastmod>2024-13-45</lastmod></url>
  <url><loc>http://a.gov.cn/zwgk/t20240922_4.html</loc><lastmod>2024-09</lastmod></url>
  <url><loc>/zwgk/t20240921_5.html</loc><lastmod>2024/09/21 08:00:00</lastmod></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><loc>http://a.gov.cn/zwgk/t20240924_2.html</loc></url>
  <url><lastmod>2024-09-20</lastmod></url>
</urlset>"""


def test_sitemap_urlset() -> None:
    sm = parse_sitemap(URLSET, "http://a.gov.cn/sitemap.xml")
    assert [(e.loc, e.lastmod) for e in sm.urls] == [
        (
            "http://a.gov.cn/zwgk/t20240925_1.html",
            dt.date(2024, 9, 25),
        ),  # the date as written, not shifted to UTC
        ("http://a.gov.cn/zwgk/t20240924_2.html", dt.date(2024, 9, 24)),
        ("http://a.gov.cn/zwgk/t20240923_3.html", None),
        ("http://a.gov.cn/zwgk/t20240922_4.html", None),
        ("http://a.gov.cn/zwgk/t20240921_5.html", dt.date(2024, 9, 21)),
    ]
    assert sm.sitemaps == []


def test_mini_site_sitemap() -> None:
    sm = parse_sitemap((SITE / "sitemap.xml").read_bytes(), ORIGIN + "/sitemap.xml")
    assert {urlsplit(e.loc).path: e.lastmod for e in sm.urls} == {
        path: dt.date.fromisoformat(entry["published_date"]) for path, entry in MANIFEST["notices"].items()
    }


@pytest.mark.parametrize("ns", [' xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"', ""])
def test_sitemap_index(ns: str) -> None:
    body = (
        f"<sitemapindex{ns}><sitemap><loc>http://a.gov.cn/sitemap_1.xml</loc><lastmod>2024-09-25</lastmod></sitemap>"
        "<sitemap><loc>sitemap_2.xml.gz</loc></sitemap></sitemapindex>"
    ).encode()
    sm = parse_sitemap(body, "http://a.gov.cn/sitemap.xml")
    assert sm.sitemaps == ["http://a.gov.cn/sitemap_1.xml", "http://a.gov.cn/sitemap_2.xml.gz"]
    assert sm.urls == []


def test_gzip_sitemap() -> None:
    sm = parse_sitemap(gzip.compress(URLSET), "http://a.gov.cn/sitemap.xml.gz")
    assert sm == parse_sitemap(URLSET, "http://a.gov.cn/sitemap.xml.gz")


def test_text_sitemap() -> None:
    body = "\ufeffhttp://a.gov.cn/1.html\r\n\r\n  https://a.gov.cn/2.html  \n# comment\nhttp://a.gov.cn/1.html\n".encode()
    sm = parse_sitemap(body, "http://a.gov.cn/sitemap.txt")
    assert [e.loc for e in sm.urls] == ["http://a.gov.cn/1.html", "https://a.gov.cn/2.html"]


def gzip_bomb(megabytes: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join([*(comp.compress(chunk) for _ in range(megabytes)), comp.flush()])


def test_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip_bomb(64)
    assert len(bomb) < 200_000
    with pytest.raises(DiscoveryError, match="beyond 1000000 bytes"):
        parse_sitemap(bomb, "http://a.gov.cn/sitemap.xml.gz", max_bytes=1_000_000)
    with pytest.raises(DiscoveryError, match="beyond"):
        timed(parse_sitemap, bomb, "http://a.gov.cn/sitemap.xml.gz")  # 64 MB > the default 50 MB


def test_oversized_plain_sitemap_is_refused() -> None:
    with pytest.raises(DiscoveryError, match="larger than"):
        parse_sitemap(URLSET, "http://a.gov.cn/sitemap.xml", max_bytes=100)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (gzip.compress(URLSET)[:-30], "truncated"),
        (b"\x1f\x8b\x08\x00garbage-garbage-garbage", "corrupt"),
        (b"", "empty"),
        (b"<urlset><url><loc>http://a/</loc></url>", "not well-formed"),
        (b"<html><body>404 Not Found</body></html>", "not a sitemap"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', "not a sitemap"),
        (b"\x00\x01\x02 binary stuff\nmore", "not a sitemap"),
    ],
)
def test_bad_sitemaps_are_discovery_errors(body: bytes, message: str) -> None:
    with pytest.raises(DiscoveryError, match=message):
        parse_sitemap(body, "http://a.gov.cn/sitemap.xml")


def test_billion_laughs_is_refused_without_expanding() -> None:
    decls = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    body = f'<?xml version="1.0"?><!DOCTYPE urlset [{decls}]><urlset><url><loc>http://a/&lol9;</loc></url></urlset>'
    with pytest.raises(DiscoveryError):
        timed(parse_sitemap, body.encode(), "http://a.gov.cn/sitemap.xml", limit=2.0)


def test_external_entities_are_not_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-TOKEN", encoding="utf-8")
    for doctype in (
        f'<!DOCTYPE urlset [<!ENTITY x SYSTEM "{secret.as_uri()}">]>',
        f'<!DOCTYPE urlset [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>',
    ):
        body = f'<?xml version="1.0"?>{doctype}<urlset><url><loc>http://a.gov.cn/&x;</loc></url></urlset>'
        with pytest.raises(DiscoveryError) as info:
            parse_sitemap(body.encode(), "http://a.gov.cn/sitemap.xml")
        assert "TOPSECRET" not in str(info.value)
    # an external DTD without entity declarations is not loaded either
    body = f'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "{secret.as_uri()}"><urlset><url><loc>http://a.gov.cn/1</loc></url></urlset>'
    sm = parse_sitemap(body.encode(), "http://a.gov.cn/sitemap.xml")
    assert [e.loc for e in sm.urls] == ["http://a.gov.cn/1"]
    assert "TOPSECRET" not in sm.model_dump_json()


def test_links_and_sitemap_entries_are_read_as_requests_will_read_them() -> None:
    """A backslash is a slash (WHATWG): the link's host is 127.0.0.1, the one requests would
    connect to, never pub.test; links with user info or escapes in the host are dropped."""
    from tests.conftest import decoded

    hostile = [
        "http://127.0.0.1\\@pub.test/zwgk/t20240101_1.html",
        "http://127.0.0.1%5C@pub.test/zwgk/t20240101_2.html",
        "http://x@pub.test/zwgk/t20240101_3.html",
        "\\\\127.0.0.1\\zwgk\\t20240101_4.html",
    ]
    items = "".join(
        f'<li><a href="{h}">关于开展第{i}批专项检查工作的通知</a><span>2024-01-0{i}</span></li>'
        for i, h in enumerate(hostile, 1)
    )
    page = parse_list_page(
        decoded(f"<html><body><ul>{items}</ul></body></html>", "http://pub.test/zwgk/index.html")
    )
    hosts = {ln.url.split("/")[2] for ln in page.links}
    assert "pub.test" not in hosts and hosts <= {"127.0.0.1"}, [ln.url for ln in page.links]
    xml = "".join(f"<url><loc>{h.replace('&', '&amp;')}</loc></url>" for h in hostile)
    sm = parse_sitemap(
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{xml}</urlset>'.encode(),
        "http://pub.test/sitemap.xml",
    )
    assert all(not e.loc.split("/")[2].endswith("pub.test") for e in sm.urls), [e.loc for e in sm.urls]


def test_frontier_urls_drop_tracking_and_session_parameters_and_sort_the_rest() -> None:
    from pipeline.discover import frontier_url

    assert (
        frontier_url("http://a.gov.cn/show.jsp?id=5&utm_source=wx&sid=9f&b=2#top")
        == "http://a.gov.cn/show.jsp?b=2&id=5"
    )
    assert frontier_url("http://a.gov.cn/x.jsp;jsessionid=ABC123?id=1") == "http://a.gov.cn/x.jsp?id=1"
    assert frontier_url("http://a.gov.cn/t20240101_1.html") == "http://a.gov.cn/t20240101_1.html"

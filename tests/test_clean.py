"""Stage clean: boilerplate away, main text kept, hidden content set aside."""

from __future__ import annotations

import json

import pytest

from pipeline.clean import strip_boilerplate
from tests.conftest import article, cleaned, decoded

PARAS = [
    "为进一步做好全市防汛工作，切实保障人民群众生命财产安全，经研究，决定开展汛前检查。现将有关事项通知如下：",
    "一、检查范围",
    "全市各县（区）水库、河道堤防、山洪灾害危险区，以及在建涉水工程，重点检查度汛方案落实情况。",
    "二、工作要求",
    "各单位要高度重视，明确责任人，于5月20日前将检查情况报市防汛办，联系电话：0951-1234567。",
]


def body_html() -> str:
    return "".join(f"<p>{p}</p>" for p in PARAS)


def test_main_text_found_and_furniture_removed() -> None:
    doc = cleaned(
        article(
            f'<h1>关于开展汛前检查的通知</h1><div class="tool">字体：[大 中 小]</div>'
            f'<div id="zoom">{body_html()}</div>'
        )
    )
    assert doc.body_text.split("\n") == PARAS
    for marker in ("当前位置", "分享到", "扫一扫", "主办", "ICP备", "字体"):
        assert marker not in doc.body_text
    assert doc.content_strategy == "density"


def test_scripts_styles_and_forms_never_reach_the_text() -> None:
    doc = cleaned(
        article(
            "<style>.x{color:red}</style><script>var a='不该出现的脚本文字，真的。';</script>"
            '<form><input name="q"><button>搜索</button></form>' + body_html()
        )
    )
    assert "脚本" not in doc.body_text and "color" not in doc.body_text and "搜索" not in doc.body_text
    assert any("不该出现" in s for s in doc.scripts)


def test_page_wide_form_wrapper_is_kept() -> None:
    html = (
        article(body_html())
        .replace("<body>", '<body><form id="form1" method="post">')
        .replace("</body>", "</form></body>")
    )
    assert cleaned(html).body_text.split("\n") == PARAS


def test_hidden_elements_are_removed_but_kept_aside() -> None:
    hidden = (
        '<div style="display:none"><a href="http://casino.example/">澳门新葡京</a></div>'
        '<div style="position:absolute;left:-9999px"><a href="http://bet.example/">百家乐</a></div>'
        '<span hidden>隐藏文字</span><div class="hh"><a href="http://x.example/">皇冠体育</a></div>'
    )
    doc = cleaned(article(body_html() + hidden, head="<style>.hh { display: none }</style>"))
    assert doc.body_text.split("\n") == PARAS
    texts = {b.text for b in doc.hidden}
    assert {"澳门新葡京", "百家乐", "隐藏文字", "皇冠体育"} <= texts
    reasons = " ".join(b.reason for b in doc.hidden)
    assert "display" in reasons and "left" in reasons and "hidden attribute" in reasons and ".hh" in reasons
    assert doc.hidden[0].links[0].href == "http://casino.example/"


def test_br_lines_and_ideographic_indentation() -> None:
    html = article("<div class='content'><p>\u3000\u3000" + "<br />\u3000\u3000".join(PARAS) + "</p></div>")
    assert cleaned(html).body_text.split("\n") == PARAS


def test_tables_inside_the_article_keep_rows_and_cells_in_order() -> None:
    table = (
        "<table><tr><td>序号</td><td>单位</td><td>人数</td></tr>"
        "<tr><td>1</td><td><p>市水利局</p></td><td>12</td></tr>"
        "<tr><td>2</td><td>市应急管理局</td><td>8</td></tr></table>"
    )
    doc = cleaned(article(f"<div id='zoom'>{body_html()}{table}</div>"))
    lines = doc.body_text.split("\n")
    assert lines[-3:] == [
        "序号 单位 人数",
        "1 市水利局 12",
        "2 市应急管理局 8",
    ]  # cells as a browser shows them


def test_related_list_and_pager_after_article_are_not_body() -> None:
    related = (
        "<div class='xgwz'><h3>相关文章</h3><ul>"
        + "".join(
            f"<li><a href='/a{i}.html'>某某市召开第{i}次防汛工作推进会议暨业务培训</a></li>" for i in range(6)
        )
        + "</ul></div><div class='page'>首页 上一页 下一页 尾页</div>"
    )
    doc = cleaned(article(f"<div id='zoom'>{body_html()}</div>{related}"))
    assert doc.body_text.split("\n") == PARAS


def test_article_rendered_from_inline_json_is_found() -> None:
    content = "".join(f"<p>{p}</p>" for p in PARAS)
    data = json.dumps(
        {
            "title": "关于开展汛前检查的通知",
            "pubDate": "2024-05-06 09:30:00",
            "source": "某某市水务局",
            "content": content,
        },
        ensure_ascii=False,
    )
    html = article(f'<div id="app"></div><script>var pageData = {data};</script>')
    doc = cleaned(html)
    assert doc.content_strategy == "script"
    assert doc.body_text.split("\n") == PARAS
    assert doc.script_fields["title"] == "关于开展汛前检查的通知"
    assert doc.script_fields["published_date"].startswith("2024-05-06")


def test_list_page_gives_a_warning_not_a_crash() -> None:
    items = "".join(
        f"<li><a href='./2024{i:02d}/t2024{i:02d}01_{i}.html'>某某区关于做好第{i}批农业项目资金公示工作的通知</a>"
        f"<span>2024-{i:02d}-01</span></li>"
        for i in range(1, 21)
    )
    doc = cleaned(article(f"<h2>通知公告</h2><ul class='list'>{items}</ul>"))
    assert doc.body_text == ""
    assert any("list page" in w for w in doc.warnings)


def test_page_without_main_text_warns() -> None:
    doc = cleaned(article("<div id='zoom'><img src='a.png'></div>"))
    assert doc.body_text == "" and any("no main text" in w for w in doc.warnings)


def test_deep_nesting_does_not_overflow() -> None:
    depth = 10_000
    html = article("<div>" * depth + body_html() + "</div>" * depth)
    doc = strip_boilerplate(decoded(html))
    assert isinstance(doc.body_text, str)  # libxml2 caps the depth; what survives is text, not a crash


# ----------------------------------------------------------------------------- real-page chrome
# Shapes met on real pages (issue 13), written here generically.

_PARAS = [
    "为深入贯彻落实有关部署，进一步做好本年度安全生产工作，经研究决定开展专项检查活动。",
    "各单位要高度重视，精心组织，结合实际制定具体工作方案，明确责任分工，确保取得实效。",
    "检查结束后，各单位要认真总结经验做法，查找存在问题，于规定时间前报送书面总结材料。",
    "联系人及电话另行通知，请各单位及时关注，遇到问题及时与我们沟通联系，确保工作顺利开展。",
]


def _copy(extra: str = "") -> str:
    return "".join(f"<p>{p}</p>" for p in _PARAS) + extra


def test_a_pc_and_a_mobile_copy_give_the_article_once() -> None:
    html = (
        "<html><head><style>@media (max-width:768px){.pc{display:none}} .m{display:block}</style></head><body>"
        f'<div class="pc"><div class="nav"><a href="/">首页</a></div><div class="con">{_copy("<p>关于专家组：某某某，客座教授。</p>")}</div></div>'
        f'<div class="m"><div class="con">{_copy()}</div></div>'
        "</body></html>"
    )
    doc = cleaned(html)
    for p in _PARAS:
        assert doc.body_text.count(p) == 1
    assert "关于专家组" in doc.body_text  # the stronger (first, longer) copy


def test_a_body_hidden_until_a_script_shows_it_is_read() -> None:
    html = f"<html><head><style>body{{display:none}}</style></head><body><div>{_copy()}</div><script>document.body.style.display='block'</script></body></html>"
    doc = cleaned(html)
    assert _PARAS[0] in doc.body_text and "document.body" not in doc.body_text


def test_a_wrapper_whose_class_looks_like_a_menu_still_holds_the_article() -> None:
    html = (
        '<html><body><div class="menu_con"><div class="nav"><a href="/">首页</a><a href="/a">机构</a></div>'
        f'<table><tr><td class="content">{_copy()}</td></tr></table>'
        '<div class="footer">地址：某某路8号 电话：0519-85127013</div></div></body></html>'
    )
    doc = cleaned(html)
    assert doc.body_text.startswith(_PARAS[0]) and "地址" not in doc.body_text


def test_font_size_zero_that_children_reset_is_not_hidden() -> None:
    html = (
        '<html><head><style>.big{font-size:16px}</style></head><body><div id="zoom">'
        f'<div style="font-size:0"><div class="big">{_copy()}</div></div>'
        '<div style="font-size:0">澳门新葡京</div></div></body></html>'
    )
    doc = cleaned(html)
    assert _PARAS[0] in doc.body_text
    assert [b.text for b in doc.hidden] == ["澳门新葡京"]


_MORE = "".join(
    f"<p>{p}</p>"
    for p in [
        "活动分为动员部署、组织实施、总结提升三个阶段，各阶段工作要求另行通知，请各单位认真对照落实。",
        "各单位要加强宣传引导，充分利用网站、微信公众号等平台，广泛宣传活动的重要意义和经验做法。",
        "活动期间，各单位要加强值班值守，严格执行信息报送制度，遇有重要情况及时报告，不得迟报漏报。",
        "各单位要把活动与日常工作结合起来，统筹安排，合理调配力量，做到两手抓、两不误、两促进。",
    ]
)


def test_furniture_inside_the_article_block_is_set_aside() -> None:
    html = (
        "<html><head><title>关于举办文化宣传教育活动的通知_某某部</title></head><body><div class='art'>"
        "<h1>关于举办文化宣传教育活动的通知</h1><table><tr><td>索取号</td><td>发布时间</td><td>发布机构</td><td>文件编号</td></tr>"
        "<tr><td>076478684Q/2024-00112</td><td>2024-05-11</td><td>某市卫生健康委员会</td><td>某卫〔2024〕5号</td></tr></table>"
        "<p>某办函〔2024〕10号</p><p>各有关单位：</p>"
        f"{_copy()}{_MORE}<p>主办单位：某某部思想政治工作司</p><p>承办单位：某某宣传教育中心</p>"
        "<p>来源：某某日报 记者：王某某</p><p>见习记者 王一凡</p><p>· 【打印页面】</p><p>打印|关闭</p>"
        "<p>相关附件</p><p>附件：</p></div></body></html>"
    )
    doc = cleaned(html)
    lines = doc.body_text.split("\n")
    assert lines[0] == "各有关单位：" and lines[-1] == "承办单位：某某宣传教育中心", lines
    assert "主办单位：某某部思想政治工作司" in lines  # an event notice's own lines, not a footer
    assert "某办函〔2024〕10号" in doc.set_aside and "索取号 发布时间 发布机构 文件编号" in doc.set_aside
    for furniture in ["076478684Q", "来源：", "见习记者", "打印", "相关附件", "附件："]:
        assert furniture not in doc.body_text, furniture


def test_table_cells_are_separated_as_a_browser_shows_them() -> None:
    rows = "".join(
        f"<tr><td>{i}</td><td>张某某</td><td>某某市博物馆</td><td>副研究馆员</td></tr>" for i in range(1, 4)
    )
    doc = cleaned(f"<html><body><div>{_copy()}<table>{rows}</table></div></body></html>")
    assert "1 张某某 某某市博物馆 副研究馆员" in doc.body_text.split("\n")


@pytest.mark.parametrize(
    "article_html",
    [
        "<p>现将2024年度拟入选人员名单予以公示。</p><p>附件：<a href='/files/md.pdf'>2024年度拟入选人员名单.pdf</a></p>",
        "<p><a href='/files/md.pdf'>附件：2024年度拟入选人员名单.pdf</a></p>",
    ],
    ids=["sentence-and-attachment", "attachment-only"],
)
def test_a_notice_too_short_for_the_density_score_is_found(article_html: str) -> None:
    html = (
        "<html><head><title>关于2024年度拟入选人员名单的公示_某某市人民政府</title></head><body>"
        "<div class='nav'><a href='/'>首页</a><a href='/zwgk/'>政务公开</a></div>"
        "<h1>关于2024年度拟入选人员名单的公示</h1><div class='info'>发布时间：2024-05-01</div>"
        f"<div id='zoom'>{article_html}</div><div class='footer'>网站标识码：1100000001</div></body></html>"
    )
    doc = cleaned(html)
    assert doc.body_text.endswith("附件：2024年度拟入选人员名单.pdf") and "网站标识码" not in doc.body_text
    assert [ln.href for ln in doc.links_near_content] == ["http://www.example.gov.cn/files/md.pdf"]


def test_a_login_popup_is_never_the_article() -> None:
    html = (
        "<html><head><title>关于开展安全检查的通知_某某省人民政府</title></head><body><h1>关于开展安全检查的通知</h1>"
        "<div id='zoom'><p>各单位：现将有关事项通知如下，请认真贯彻落实。</p></div>"
        "<div class='box' id='favor'><p>您还未登录，请登录后进行收藏！</p><p>是否“确认”跳转到登录页？</p><p>确认 取消</p></div>"
        "<div class='layui-layer'><p>您访问的链接即将离开“某某省人民政府”门户网站，是否继续？</p></div></body></html>"
    )
    doc = cleaned(html)
    assert doc.body_text == "各单位：现将有关事项通知如下，请认真贯彻落实。"


def test_stylesheet_hiding_follows_the_selector_and_the_inline_style() -> None:
    html = (
        "<html><head><style>.tabs .content{display:none} .content,.footer{display:none}"
        ".x{display:none}</style></head><body>"
        f"<div class='tabs'><div class='content'>标签页里的隐藏内容。</div></div>"
        f"<div class='content main' style='display: block;'>{_copy()}</div>"
        "<div class='x' style='color:red'>一段隐藏的文字，读者看不见。</div></body></html>"
    )
    doc = cleaned(html)
    assert _PARAS[0] in doc.body_text  # display:block inline wins over the stylesheet
    assert sorted(b.text for b in doc.hidden) == ["一段隐藏的文字，读者看不见。", "标签页里的隐藏内容。"]
    # a descendant rule hides only inside its context
    html2 = f"<html><head><style>.tabs .content{{display:none}}</style></head><body><div class='content'>{_copy()}</div></body></html>"
    assert _PARAS[0] in cleaned(html2).body_text


def test_news_portal_furniture_inside_the_article() -> None:
    html = (
        "<html><head><title>某地举办文化活动_某某网</title></head><body><div class='article'>"
        "<h1>某地举办文化活动</h1><p>2023-11-02 20:13 来源: 某某政务</p><p>发布于：北京市</p>"
        "<p>（原标题：某地举办文化活动 群众踊跃参与）</p>"
        f"{_copy()}{_MORE}{_MORE.replace('各单位', '各部门')}"
        "<p>延伸阅读</p><p><a href='/a/1.html'>某地文化活动综述</a></p><p><a href='/a/2.html'>文化惠民在行动</a></p>"
        "<p>（编辑：王某 李某）</p><p>(责编：宋某某、赵某某)</p><p>【纠错】 责任编辑： 焦某</p>"
        "<p>本文来源：某某客户端 责任编辑：某某_NBJ11143</p>"
        "<p>平台声明：该文观点仅代表作者本人，某某号系信息发布平台，仅提供信息存储空间服务。</p>"
        "<p>阅读 ()</p><p>打印 微博</p><p>用微信扫一扫，点击右上角分享按钮，将本文分享给您的好友或朋友圈。</p>"
        "</div><div class='banquanmianze'><p>版权与免责声明</p><p>1.凡本站注明“文章类型：原创”的所有作品，其版权属于本站所有。"
        "其他媒体转载时必须注明来源，违者依法追究责任。</p></div></body></html>"
    )
    doc = cleaned(html)
    lines = doc.body_text.split("\n")
    assert lines[0] == _PARAS[0] and lines[-1].startswith("各部门要把活动"), lines


def test_a_grid_that_opens_the_article_is_metadata_unless_it_is_the_article() -> None:
    grid = (
        "<p>公告概要：</p><table><tr><td colspan='2'>公告信息：</td></tr>"
        "<tr><td>采购项目名称</td><td>某某县安防工程十标</td></tr><tr><td>品目</td><td>货物/专用设备</td></tr>"
        "<tr><td>采购单位</td><td>某某县公路建设养护中心</td></tr><tr><td>行政区域</td><td>某某县</td>"
        "<td>公告时间</td><td>2021年06月10日</td></tr></table>"
    )
    doc = cleaned(f"<html><body><div class='detail'>{grid}{_copy()}</div></body></html>")
    assert doc.body_text.split("\n")[0] == _PARAS[0] and "品目" in " ".join(doc.set_aside)
    # a page whose whole article is such a grid (a 行政处罚信息公开表) keeps it
    penalty = (
        "<table><tr><td>决定书文号</td><td>某金罚决字〔2024〕36号</td></tr><tr><td>当事人</td><td>某某保险股份有限公司</td></tr>"
        "<tr><td>主要违法事实</td><td>一、委托未取得合法资格的个人从事保险销售活动；二、财务业务数据不真实，编制虚假的报告、报表。</td></tr>"
        "<tr><td>处罚依据</td><td>《保险公司管理规定》第五十四条、第六十九条，《中华人民共和国保险法》第八十六条等。</td></tr>"
        "<tr><td>处罚决定</td><td>对该公司罚款人民币二十万元；对相关责任人员给予警告并罚款。</td></tr></table>"
    )
    doc = cleaned(
        f"<html><body><div class='detail'>{penalty}</div><div class='footer'>网站标识码：1</div></body></html>"
    )
    assert doc.body_text.startswith("决定书文号 某金罚决字〔2024〕36号") and "网站标识码" not in doc.body_text


def test_a_more_link_glued_to_the_last_paragraph_is_cut() -> None:
    doc = cleaned(
        f"<html><body><div>{_copy()[:-4]}<a href='/'>返回某某，查看更多</a></p></div></body></html>"
    )
    assert doc.body_text.endswith("确保工作顺利开展。")

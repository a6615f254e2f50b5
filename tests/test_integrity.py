"""Stage integrity (lexicon and hidden links; the full detector comes with issue 5)."""

from __future__ import annotations

from pipeline.integrity import check_integrity
from pipeline.metadata import extract_metadata
from tests.conftest import article, cleaned
from tests.test_clean import body_html


def integrity(html: str):
    doc = cleaned(html, "http://www.example.gov.cn/a.html")
    return check_integrity(doc, extract_metadata(doc))


def test_injected_keyword_in_body_is_evidence() -> None:
    body = body_html().replace("全市防汛工作", "188篮球比分,188比分直播工作")
    res = integrity(article(f"<div id='zoom'>{body}</div>"))
    assert res.status == "suspect"
    f = res.findings[0]
    assert f.kind == "injected_keyword" and {"篮球比分", "比分直播"} <= set(f.evidence) and f.count == 2


def test_hidden_casino_links_are_evidence() -> None:
    hidden = (
        '<div style="display:none"><a href="http://a.example/">澳门新葡京</a>'
        '<a href="http://b.example/">太阳城集团</a></div>'
    )
    res = integrity(article(f"<div id='zoom'>{body_html()}</div>{hidden}"))
    assert res.status == "suspect"
    assert res.findings[0].kind == "hidden_links" and res.findings[0].evidence == ["澳门新葡京", "太阳城集团"]


def test_legitimate_lottery_and_sports_news_is_clean() -> None:
    body = (
        "<p>市民政局联合市福利彩票发行中心开展福利彩票销售站点规范化检查，督促体育彩票投注站依法经营。</p>"
        "<p>全民健身篮球比赛在市体育馆举行，共有32支代表队参赛，比赛结果将在体育局网站公布。</p>"
        "<p>公安机关持续开展打击赌博违法犯罪专项行动，严厉整治棋牌室违规经营问题。</p>"
    )
    assert integrity(article(f"<div id='zoom'>{body}</div>")).status == "clean"


def test_hidden_navigation_of_same_site_is_not_spam() -> None:
    hidden = (
        '<div style="display:none"><a href="/zwgk/">政务公开</a><a href="/zwfw/">政务服务</a>'
        '<a href="/hdjl/">互动交流</a></div>'
    )
    assert integrity(article(f"<div id='zoom'>{body_html()}</div>{hidden}")).status == "clean"

"""Stage integrity: hidden spam, injected phrases, title/meta spam and cloaking scripts.

The development set below is written for these tests (fictional pages, invented spam brands,
four templates, UTF-8 and GBK); the held-out set in fixtures/integrity is scored separately
(tests/test_integrity_heldout.py) and was not used to build the detector.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from pipeline.integrity import check_integrity
from pipeline.metadata import extract_metadata
from pipeline.record import extract_notice
from schemas.record import Integrity
from schemas.stages import FetchResult
from tests.conftest import CORPUS, CORPUS_PAGES, EXTRA, EXTRA_PAGES, FIXTURES, article, cleaned
from tests.test_clean import body_html

HELD_OUT = FIXTURES / "integrity" / "pages"

HOST = "www.qingshan.gov.cn.example"
URL = f"http://{HOST}/zwgk/tzgg/202405/t20240512_881234.html"


def integrity(html: str, url: str = "http://www.example.gov.cn/a.html") -> Integrity:
    doc = cleaned(html, url)
    return check_integrity(doc, extract_metadata(doc))


# ----------------------------------------------------------------------------- templates
# Four markup families, none of them the held-out templates: a div portal, an HTML5 page, a
# 2000s upper-case table page (sent as GBK) and a 信息公开 page with a metadata table.


def _paras(paras: list[str]) -> str:
    return "".join(f'<p style="text-indent:2em">{p}</p>' for p in paras)


def page_div(
    title: str,
    body: str,
    *,
    site: str = "青山县人民政府",
    head: str = "",
    top: str = "",
    side: str = "",
    foot: str = "",
    body_attrs: str = "",
    nav: tuple[str, ...] = ("政务公开", "政务服务", "互动交流", "走进青山"),
) -> str:
    links = "".join(f'<li><a href="/c{i}/">{n}</a></li>' for i, n in enumerate(nav))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}_{site}</title>"
        f"<meta name='keywords' content='{site},通知公告'>{head}</head><body{body_attrs}>{top}"
        f"<div class='header'><div class='logo'>{site}</div><ul class='nav'><li><a href='/'>首页</a></li>{links}</ul></div>"
        f"<div class='position'>当前位置：<a href='/'>首页</a> &gt; <a href='/c0/'>{nav[0]}</a> &gt; 通知公告</div>"
        f"<div class='container'><div class='left'><h1 class='title'>{title}</h1>"
        f"<div class='info'>发布时间：2024-05-12 10:20 来源：{site}办公室 浏览次数：</div>"
        f"<div class='article' id='zoom'>{body}</div>"
        f"<div class='tool'>【<a href='javascript:window.print()'>打印本页</a>】【<a href='javascript:window.close()'>关闭窗口</a>】</div></div>"
        f"<div class='right'><div class='tit'>热点信息</div><ul>{side}"
        f"<li><a href='/zwgk/tzgg/202405/t20240508_881100.html'>青山县召开2024年安全生产工作会议</a></li>"
        f"<li><a href='/zwgk/tzgg/202405/t20240506_881010.html'>县政府常务会议研究部署防汛工作</a></li></ul></div></div>"
        f"<div class='footer'><p>主办：{site}办公室 承办：青山县大数据中心</p>{foot}"
        f"<p>赣ICP备05001234号 赣公网安备36112302000123号 网站标识码：3611230001</p></div></body></html>"
    )


def page_html5(title: str, body: str, *, site: str = "白塔区体育局", head: str = "", aside: str = "") -> str:
    return (
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{title} - {site}</title>{head}</head>"
        f"<body><header class='site-head'><a class='brand' href='/'>{site}</a><nav><a href='/'>首页</a>"
        f"<a href='/news/'>体育新闻</a><a href='/gk/'>信息公开</a><a href='/bs/'>办事服务</a></nav></header>"
        f"<main><article><h1>{title}</h1><p class='meta'><time datetime='2024-06-02'>2024-06-02</time> 来源：{site}</p>"
        f"<section class='art-body'>{body}</section></article>"
        f"<aside><h3>相关新闻</h3><ul>{aside}<li><a href='/news/2024/0601/1201.html'>全民健身日活动报名启动</a></li></ul></aside></main>"
        f"<footer><p>版权所有：{site} 地址：白塔区体育路8号</p><p>辽ICP备12003456号</p></footer></body></html>"
    )


def page_table(title: str, body: str, *, site: str = "平川县人民政府", head: str = "", foot: str = "") -> str:
    return (
        f"<HTML><HEAD><META http-equiv=Content-Type content='text/html; charset=gbk'><TITLE>{title}--{site}</TITLE>{head}</HEAD>"
        f"<BODY bgColor=#ffffff leftMargin=0 topMargin=0>"
        f"<TABLE width=980 align=center bgColor=#1c5ea8 border=0><TR><TD height=36>"
        f"<A href='/'><FONT color=#ffffff>网站首页</FONT></A> | <A href='/zwgk/'><FONT color=#ffffff>政务公开</FONT></A> | "
        f"<A href='/bsfw/'><FONT color=#ffffff>办事服务</FONT></A> | <A href='/gzcy/'><FONT color=#ffffff>公众参与</FONT></A>"
        f"</TD></TR></TABLE><TABLE width=980 align=center border=0><TR><TD class=title align=center>{title}</TD></TR>"
        f"<TR><TD align=center>发布时间：2023-11-20 来源：{site}办公室 点击：</TD></TR>"
        f"<TR><TD class=content id=fontzoom>{body}</TD></TR></TABLE>"
        f"<TABLE width=980 align=center bgColor=#1c5ea8 border=0><TR><TD align=center style='color:#ffffff'>"
        f"主办：{site}办公室 技术支持：平川县信息中心<BR>{foot}冀ICP备06012345号 网站标识码：1301230004</TD></TR></TABLE>"
        f"</BODY></HTML>"
    )


def page_xxgk(
    title: str, body: str, *, site: str = "东林市民政局", head: str = "", after: str = "", org: str = ""
) -> str:
    org = org or site
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='ArticleTitle' content='{title}'><meta name='keywords' content='{title}'>{head}</head><body>"
        f"<div class='top'><a href='/'>{site}</a></div><div class='crumb'>您现在的位置：<a href='/'>首页</a> &gt; "
        f"<a href='/xxgk/'>信息公开</a></div><table class='xxgk_table'><tr><td>索引号：</td><td>11370100MB1234567X/2024-00123</td>"
        f"<td>发布机构：</td><td>{org}</td></tr><tr><td>成文日期：</td><td>2024-03-18</td><td>发布日期：</td><td>2024-03-20</td></tr>"
        f"<tr><td>名称：</td><td colspan='3'>{title}</td></tr></table><h1>{title}</h1>"
        f"<div id='zoom'><div class='TRS_Editor'>{body}</div></div>{after}"
        f"<div class='foot'>{site} 版权所有 鲁ICP备10001234号</div></body></html>"
    )


# ----------------------------------------------------------------------------- dev set

WORK = [
    "为进一步做好全县防汛工作，切实保障人民群众生命财产安全，经研究，决定开展汛前安全检查。",
    "检查范围包括全县水库、河道堤防、山洪灾害危险区以及在建涉水工程，重点检查度汛方案落实情况。",
    "各乡（镇）要高度重视，明确责任人，于5月20日前将检查情况报县防汛办，联系电话：0797-1234567。",
    "县水利局将会同县应急管理局组成督查组，对检查工作开展情况进行抽查，发现问题限期整改。",
]


@dataclass
class Case:
    name: str
    group: str  # clean | injected | borderline
    html: str
    kinds: set[str] = field(default_factory=set)  # expected finding kinds (empty: clean)
    evidence: list[str] = field(default_factory=list)  # strings some reported evidence must contain
    encoding: str = "utf-8"
    content_type: str = "text/html; charset=utf-8"
    url: str = URL
    replaced: str | None = None  # the term a note must name

    def fetch(self) -> FetchResult:
        return FetchResult.from_file_bytes(
            self.html.encode(self.encoding), url=self.url, content_type=self.content_type
        )


CLEAN = [
    Case(
        "clean_welfare_lottery",
        "clean",
        page_xxgk(
            "东林市2023年度福利彩票公益金使用情况公告",
            _paras(
                [
                    "根据《彩票管理条例》和《彩票公益金管理办法》，现将我市2023年度福利彩票公益金使用情况公告如下。",
                    "2023年，全市共销售福利彩票3.2亿元，其中即开型彩票（刮刮乐）销售4100万元，筹集公益金9600万元。",
                    "市民政局会同公安机关开展打击私彩和利用互联网非法销售彩票专项行动，取缔非法销售点12个。",
                    "各销售站点不得向未成年人销售彩票，不得以“六合彩”“时时彩”等名义开展任何形式的私彩活动。",
                ]
            )
            + "<table><tr><td>项目</td><td>金额（万元）</td></tr><tr><td>养老服务</td><td>4200</td></tr>"
            "<tr><td>儿童福利</td><td>1800</td></tr></table>",
        ),
    ),
    Case(
        "clean_basketball_scores",
        "clean",
        page_html5(
            "2024年白塔区“体彩杯”职工篮球比赛圆满落幕",
            _paras(
                [
                    "6月1日，2024年白塔区“体彩杯”职工篮球比赛在区体育馆落下帷幕，共有16支代表队参赛。",
                    "决赛中，区供电公司队以78比71战胜区教育系统队夺得冠军，本届比赛各场篮球比分及积分情况见下表。",
                    "本次比赛由区体育局主办，区体育彩票管理中心协办，比赛实况由区融媒体中心通过咪咕体育APP直播。",
                    "比赛期间，裁判组严格执行规则，坚决杜绝假球、赌球等违反体育道德的行为。",
                ]
            )
            + "<table><tr><td>场次</td><td>对阵</td><td>比分</td></tr><tr><td>1</td><td>供电公司—教育系统</td><td>78∶71</td></tr></table>",
        ),
    ),
    Case(
        "clean_police_gambling_case",
        "clean",
        page_xxgk(
            "东林市公安局关于依法打击跨境赌博违法犯罪活动的通告",
            _paras(
                [
                    "近年来，跨境赌博违法犯罪活动持续高发，严重危害人民群众财产安全和社会稳定。",
                    "今年以来，市公安局侦破网络赌博案件23起，关停“金沙娱乐城”“鸿发真人视讯”等赌博网站41个，涉案赌资1.2亿元。",
                    "犯罪嫌疑人以百家乐、六合彩等形式组织参赌，并以“首存返水”为诱饵吸引群众注册。",
                    "公安机关提醒广大群众，切勿参与网络赌博，发现相关线索请拨打110举报。",
                ]
            ),
            site="东林市公安局",
        ),
    ),
    Case(
        "clean_anti_porn_summary",
        "clean",
        page_table(
            "平川县2023年扫黄打非工作总结",
            "<P>&nbsp;&nbsp;2023年，县扫黄打非办公室深入开展“净网”“护苗”专项行动，查处利用网络平台组织色情直播案件3起。</P>"
            "<P>&nbsp;&nbsp;全年共检查文化市场经营单位216家次，收缴淫秽色情出版物1200余册，取缔无证游戏游艺场所2家。</P>"
            "<P>&nbsp;&nbsp;县文化市场综合执法大队对网络游戏防沉迷措施落实情况开展专项检查，督促整改问题6个。</P>",
        ),
        encoding="gbk",
        content_type="text/html",
    ),
    Case(
        "clean_anti_fraud",
        "clean",
        page_div(
            "警惕网络赌博诈骗陷阱",
            _paras(
                [
                    "近期，不法分子通过社交软件推广所谓“高额返水”“注册送彩金”的博彩网站，诱骗群众充值参赌。",
                    "此类网站多伪装成正规平台，前期让受害人小额获利，待大额充值后即以各种理由拒绝提现。",
                    "县反诈中心提醒：网络赌博没有稳赚不赔，凡是网上博彩都是诈骗，切勿下载来历不明的APP。",
                ]
            ),
        ),
    ),
    Case(
        "clean_drug_sampling",
        "clean",
        page_xxgk(
            "东林市市场监督管理局关于2024年第一期食品安全监督抽检情况的通告",
            _paras(["本期共抽检食品和保健食品210批次，检出不合格样品4批次，现将不合格样品信息通告如下。"])
            + "<table><tr><td>序号</td><td>样品名称</td><td>不合格项目</td></tr>"
            "<tr><td>1</td><td>某某牌玛咖片（标示“壮阳”）</td><td>西地那非</td></tr>"
            "<tr><td>2</td><td>某某牌人参胶囊</td><td>他达拉非</td></tr></table>"
            + _paras(
                ["对抽检中发现的不合格产品，市场监管部门已责令企业立即采取下架、召回等措施，并依法查处。"]
            ),
            site="东林市市场监督管理局",
        ),
    ),
    Case(
        "clean_tax_invoice",
        "clean",
        page_div(
            "关于优化代开发票服务的通知",
            _paras(
                [
                    "为方便纳税人办理涉税事项，县税务局在县政务服务中心设立代开发票专窗，纳税人可就近申请代开增值税发票。",
                    "自然人出租不动产的，可通过电子税务局在线申请代开发票，无需前往办税服务厅。",
                    "税务机关代开发票不收取任何费用，请纳税人通过官方渠道办理。",
                ]
            ),
            site="青山县税务局",
        ),
    ),
    Case(
        "clean_legit_hidden_markup",
        "clean",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK) + '<div style="display:none" id="docid">881234</div>',
            top='<div class="print-head" style="display:none">青山县人民政府门户网站 打印页面</div>'
            '<div class="sub" hidden><a href="/c0/a/">政府信息公开指南</a><a href="/c0/b/">政府信息公开制度</a>'
            '<a href="/c0/c/">法定主动公开内容</a><a href="/c0/d/">政府信息公开年报</a></div>'
            '<form action="/search"><input type="hidden" name="siteid" value="3"><input name="q"></form>'
            '<div class="ewm-pop" style="visibility:hidden"><img src="/ewm.png"><p>扫一扫在手机上打开</p></div>',
            foot='<div class="yqlj" style="display:none">友情链接：<a href="http://www.jx.gov.cn.example/">江西省人民政府</a>'
            '<a href="http://www.ganzhou.gov.cn.example/">赣州市人民政府</a><a href="http://www.ruijin.gov.cn.example/">瑞金市人民政府</a>'
            '<a href="http://www.xinhuanet.com/">新华网</a><a href="http://www.people.com.cn/">人民网</a></div>',
        ),
    ),
    Case(
        "clean_ordinary_scripts",
        "clean",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK)
            + "<script>document.write('<span>'+new Date().getFullYear()+'年</span>');</script>"
            + "<script>var c=document.referrer;new Image().src='/count/hit.jsp?id=881234&ref='+escape(c);</script>"
            + "<script>var _hmt=_hmt||[];(function(){var hm=document.createElement('script');"
            'hm.src="https://hm.baidu.com/hm.js?0123456789abcdef";var s=document.getElementsByTagName("script")[0];'
            "s.parentNode.insertBefore(hm,s);})();</script>"
            + '<script>window._bd_share_config={"common":{"bdText":""},"share":{}};</script>'
            + "<script>function createPageHTML(n,c,p,e){for(var i=0;i<n;i++){document.write('<a href=\"'+p+'_'+i+'.'+e+'\">'+(i+1)+'</a> ');}}"
            "createPageHTML(3,0,'index','html');</script>",
            head="<script>if(/iphone|android|mobile/i.test(navigator.userAgent)){"
            "window.location.href='http://m.qingshan.gov.cn.example/zwgk/tzgg/202405/t20240512_881234.html';}</script>",
        ),
    ),
    Case(
        "clean_white_on_blue_table",
        "clean",
        page_table(
            "平川县关于做好2023年冬季供暖工作的通知",
            "<P>&nbsp;&nbsp;为切实做好今冬明春供暖保障工作，确保群众温暖过冬，现就有关事项通知如下。</P>"
            "<P>&nbsp;&nbsp;各供热企业要于11月15日前完成管网检修和试运行，确保按时供暖，室温不低于18℃。</P>",
            foot="<A href='http://www.hebei.gov.cn.example/'><FONT color=#ffffff>河北省人民政府</FONT></A> "
            "<A href='http://www.sjz.gov.cn.example/'><FONT color=#ffffff>石家庄市人民政府</FONT></A><BR>",
        ),
        encoding="gbk",
        content_type="text/html",
    ),
    Case(
        "clean_government_platforms",
        "clean",
        page_div(
            "青山县深化政务服务改革推进“一件事一次办”",
            _paras(
                [
                    "今年以来，青山县依托江西政务服务平台和“赣服通”APP，推动高频事项网上可办、掌上可办。",
                    "县政务服务中心设置综合受理窗口，群众可通过“赣服通”APP、政务服务平台或12345热线预约办理。",
                    "全县5G基站已实现乡镇全覆盖，A级旅游景区实现5G信号连续覆盖，方便群众在线办事。",
                    "下一步，县行政审批局将持续推进政务服务标准化，让群众办事更便捷，让5G网络惠及更多群众。",
                ]
            ),
        ),
    ),
    Case(
        "clean_sports_events_schedule",
        "clean",
        page_html5(
            "白塔区2024年全民健身赛事活动安排",
            _paras(
                [
                    "为丰富群众体育文化生活，区体育局制定了2024年全民健身赛事活动安排，现公布如下。",
                    "3月举办全区象棋、围棋、桥牌比赛，由区棋牌运动协会承办；5月举办全区电子竞技邀请赛。",
                    "各项赛事不得设置带有赌博性质的竞猜活动，不得接受任何形式的网络博彩企业赞助。",
                    "赛事信息将通过白塔体育官方微信、区体育局网站同步发布，比赛实况通过“白塔发布”客户端直播。",
                    "中国体育彩票白塔区管理站将为部分赛事提供公益金支持，详情可登录中国体育彩票官网查询。",
                ]
            )
            + "<table><tr><td>月份</td><td>赛事</td></tr><tr><td>3月</td><td>象棋、桥牌比赛</td></tr>"
            "<tr><td>5月</td><td>电子竞技邀请赛</td></tr><tr><td>9月</td><td>篮球比赛</td></tr></table>",
        ),
    ),
    Case(
        "clean_entertainment_venues",
        "clean",
        page_div(
            "青山县开展文化娱乐场所安全检查",
            _paras(
                [
                    "为加强娱乐场所的安全管理，县文广新旅局对全县歌舞娱乐场所、游艺娱乐场所开展安全检查。",
                    "检查组共检查娱乐场所28家，重点检查消防通道、应急照明和未成年人保护制度落实情况。",
                    "下一步，县文广新旅局将持续推进娱乐场所规范化管理，推动休闲娱乐产业健康发展。",
                    "县商务局同步开展直播带货培训，组织电商企业学习抖音直播、快手直播等平台运营规则。",
                    "培训邀请了抖音直播运营讲师授课，参训企业表示将规范开展直播带货，依法合规经营。",
                ]
            ),
        ),
    ),
    Case(
        "clean_service_entrances",
        "clean",
        page_div(
            "青山县政务服务“掌上办”操作指南",
            _paras(
                [
                    "群众可下载“i青山”APP，或登录青山县人民政府官网，通过“我要办事”入口进入办事大厅。",
                    "在“i青山”APP首页点击“社保服务”入口，即可查询个人社保缴费记录。",
                    "企业可通过江西政务服务网入口办理开办企业、工程建设项目审批等事项。",
                    "关注“青山发布”官方微信，可随时获取政务服务最新资讯，也可下载“i青山”APP办理。",
                ]
            ),
        ),
    ),
    Case(
        "clean_lottery_outlet_inspection",
        "clean",
        page_div(
            "青山县开展体育彩票销售网点专项检查",
            _paras(
                [
                    "近日，县体育局联合县市场监督管理局对全县体育彩票销售网点开展专项检查。",
                    "检查组重点检查竞彩游戏销售、顶呱刮即开型彩票兑奖以及是否存在网络代购、销售私彩等违规行为。",
                    "对发现的2家网点未按规定张贴“不得向未成年人销售彩票”标识的问题，当场责令整改。",
                    "县体育局提醒广大购彩者，请通过实体网点或中国体育彩票APP官方渠道购彩，理性购彩。",
                ]
            ),
            site="青山县体育局",
        ),
    ),
    Case(
        "clean_drug_control",
        "clean",
        page_div(
            "青山县开展6·26国际禁毒日宣传活动",
            _paras(
                [
                    "6月26日，县禁毒委员会在县城中心广场开展国际禁毒日集中宣传活动。",
                    "活动现场展出了冰毒、海洛因、大麻、依托咪酯等毒品仿真样品，讲解笑气、“上头电子烟”等新型毒品的危害。",
                    "工作人员提醒群众，警惕不法分子以“聪明药”“减肥药”“春药”等名义兜售毒品。",
                ]
            ),
        ),
    ),
    Case(
        "clean_visible_partner_links",
        "clean",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK),
            foot="<p>相关链接：<a href='http://www.ccb.com/'>中国建设银行</a> <a href='http://www.10086.cn/'>中国移动</a> "
            "<a href='http://www.ctrip.com/'>携程旅行网</a></p>",
        ),
    ),
]

INJECTED = [
    Case(
        "injected_replace_everywhere",
        "injected",
        page_table(
            "平川县鸿运国际H8官方入口关于做好2023年冬季供暖工作的通知",
            "<P>&nbsp;&nbsp;各乡（镇）鸿运国际H8官方入口，县直各有关单位：</P>"
            "<P>&nbsp;&nbsp;为切实做好今冬明春供暖保障工作，确保群众温暖过冬，经县鸿运国际H8官方入口研究同意，现就有关事项通知如下。</P>"
            "<P>&nbsp;&nbsp;各供热企业要于11月15日前完成管网检修和试运行，确保按时供暖，室温不低于18℃。</P>"
            "<P>&nbsp;&nbsp;平川县鸿运国际H8官方入口办公室</P><P>&nbsp;&nbsp;2023年11月20日</P>",
            site="平川县鸿运国际H8官方入口",
        ),
        kinds={"injected_keyword"},
        evidence=["鸿运国际H8官方入口"],
        encoding="gbk",
        content_type="text/html",
        replaced="人民政府",
    ),
    Case(
        "injected_replace_partial",
        "injected",
        page_xxgk(
            "东林市民政局2023年政府信息公开工作年度报告",
            _paras(
                [
                    "根据《中华人民共和国政府信息公开条例》要求，现公布东林市民政局2023年政府信息公开工作年度报告。",
                    "2023年，市民政局坚持以公开为常态、不公开为例外，扎实推进政府金博宝体育官网工作。",
                    "全年通过门户网站主动公开政府信息326条，其中政策文件18件，政策解读12篇。",
                    "我局进一步健全政府金博宝体育官网工作机制，明确专人负责，规范依申请公开办理流程。",
                    "全年共收到政府信息公开申请15件，均在法定期限内答复，未发生行政复议和行政诉讼。",
                    "下一步，我局将继续加强政府金博宝体育官网平台建设，不断提升政府信息公开质量。",
                ]
            ),
        ),
        kinds={"injected_keyword"},
        evidence=["金博宝体育官网"],
        replaced="信息公开",
    ),
    Case(
        "injected_title_meta_only",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK),
            head="<meta name='description' content='星辉娱乐官网提供真人视讯、电子游艺，注册即送体验金'>",
        ).replace(
            "<title>关于开展汛前安全检查的通知_青山县人民政府</title><meta name='keywords' content='青山县人民政府,通知公告'>",
            "<title>星辉娱乐官网_星辉体育app下载_青山县人民政府</title>"
            "<meta name='keywords' content='星辉娱乐官网,星辉体育app下载,青山县'>",
        ),
        kinds={"title_injection"},
        evidence=["星辉娱乐官网", "星辉体育app下载"],
    ),
    Case(
        "injected_hidden_descendant_rule",
        "injected",
        page_html5(
            "全民健身日活动报名启动",
            _paras(
                ["8月8日全民健身日当天，区体育局将在体育公园举办健步走、广场舞、气排球等群众性体育活动。"] * 2
            ),
            # the rule's context matches where the block stands (a browser would show it otherwise)
            head="<style>aside .lk-x9 { display : none; }</style>",
            aside="<li class='lk-x9'><a href='http://www.kaifa-yl.example/'>凯发娱乐官网</a>"
            "<a href='http://www.yongying88.example/'>永盈会娱乐</a><a href='http://www.ag-qj.example/'>AG旗舰厅</a></li>",
        ),
        kinds={"hidden_links"},
        evidence=["凯发娱乐官网", "永盈会娱乐", "AG旗舰厅"],
    ),
    Case(
        "injected_hidden_visibility",
        "injected",
        page_xxgk(
            "东林市民政局关于开展养老机构安全检查的通知",
            _paras(WORK),
            after='<div style="visibility:hidden;position:absolute;z-index:-9"><a href="http://www.lh-88.example/">利来国际</a>'
            '<a href="http://www.dfcf9.example/">大发彩票网</a><a href="http://www.w88.example/">优德W88</a></div>',
        ),
        kinds={"hidden_links"},
        evidence=["利来国际", "大发彩票网", "优德W88"],
    ),
    Case(
        "injected_hidden_fontsize_text",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            "<p>为进一步做好全县防汛工作，切实保障人民群众生命财产安全<span style='font-size:0px'>新濠天地娱乐官网注册</span>，"
            "经研究，决定开展汛前安全检查。</p>"
            + _paras(WORK[1:])
            + "<p style='font-size:0'>澳门新濠天地赌场网址大全</p>",
        ),
        kinds={"hidden_text"},
        evidence=["新濠天地娱乐官网注册", "澳门新濠天地赌场网址大全"],
    ),
    Case(
        "injected_hidden_height_in_article",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK[:2])
            + '<div style="height:0px;overflow:hidden"><a href="http://www.hj-ty.example/">华纳体育平台</a> '
            '<a href="http://www.bbin-x.example/">BBIN电子</a></div>' + _paras(WORK[2:]),
        ),
        kinds={"hidden_links"},
        evidence=["华纳体育平台", "BBIN电子"],
    ),
    Case(
        "injected_white_on_white",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK),
            body_attrs=' style="background:#fff"',
            foot='<p><a href="http://www.3522vip.example/" style="color:#fff">金沙城中心线上娱乐</a> '
            '<a href="http://www.ls-hg.example/" style="color:#FFFFFF">皇冠现金网</a> '
            '<a href="http://www.yh-gj.example/" style="color:white">银河国际网址</a></p>',
        ),
        kinds={"hidden_links"},
        evidence=["金沙城中心线上娱乐", "皇冠现金网", "银河国际网址"],
    ),
    Case(
        "injected_tiny_marquee",
        "injected",
        page_table(
            "平川县关于做好2023年冬季供暖工作的通知",
            "<P>&nbsp;&nbsp;为切实做好今冬明春供暖保障工作，确保群众温暖过冬，现就有关事项通知如下。</P>"
            "<P>&nbsp;&nbsp;各供热企业要于11月15日前完成管网检修和试运行，确保按时供暖。</P>"
            "<MARQUEE width=1 height=1><A href='http://www.cp500.example/'>500彩票网</A> "
            "<A href='http://www.ssc-pt.example/'>重庆时时彩平台</A></MARQUEE>",
        ),
        kinds={"hidden_links"},
        evidence=["500彩票网", "重庆时时彩平台"],
        encoding="gbk",
        content_type="text/html",
    ),
    Case(
        "injected_document_write",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK)
            + "<script type='text/javascript'>document.write('<div style=\"position:absolute;left:-8000px\">"
            '<a href="http://www.tyc-55.example/">太阳城申博</a><a href="http://www.sbty.example/">沙巴体育</a>'
            '<a href="http://www.yabo-x.example/">亚博娱乐</a></div>\');</script>',
        ),
        kinds={"script_injection"},
        evidence=["太阳城申博", "沙巴体育", "亚博娱乐"],
    ),
    Case(
        "injected_referrer_redirect",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK),
            head="<script>(function(){var r=document.referrer;if(/baidu|sogou|so\\.com|bing/i.test(r)){"
            "setTimeout(function(){location.replace('https://www.hy-vip8.example/?from=qs');},10);}})();</script>",
        ),
        kinds={"script_redirect"},
        evidence=["https://www.hy-vip8.example/?from=qs"],
    ),
    Case(
        "injected_useragent_redirect",
        "injected",
        page_table(
            "平川县关于做好2023年冬季供暖工作的通知",
            "<P>&nbsp;&nbsp;为切实做好今冬明春供暖保障工作，确保群众温暖过冬，现就有关事项通知如下。</P>"
            "<P>&nbsp;&nbsp;各供热企业要于11月15日前完成管网检修和试运行，确保按时供暖。</P>",
            head="<SCRIPT language=javascript>var ua=navigator.userAgent.toLowerCase();"
            "if(ua.indexOf('spider')<0&&(ua.indexOf('android')>-1||ua.indexOf('iphone')>-1)){"
            "window.location='http://m.bet-hy.example/index.html';}</SCRIPT>",
        ),
        kinds={"script_redirect"},
        evidence=["http://m.bet-hy.example/index.html"],
        encoding="gbk",
        content_type="text/html",
    ),
    Case(
        "injected_obfuscated_redirect",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK),
            head="<script>var s=document['referrer'];if(s.indexOf('\\x62\\x61\\x69\\x64\\x75')>-1){"
            "top.location.href='ht'+'tp://www.'+'xpj-777.example/';}</script>",
        ),
        kinds={"script_redirect"},
        evidence=["top.location.href="],
    ),
    Case(
        "injected_pharmacy_adult",
        "injected",
        page_div(
            "关于优化代开发票服务的通知",
            _paras(
                [
                    "为方便纳税人办理涉税事项，县税务局在县政务服务中心设立专窗，纳税人可就近申请代开增值税发票。",
                    "税务机关代开发票不收取任何费用，请纳税人通过官方渠道办理。",
                    "青山县税务局",
                    "专业代开发票，各类发票均可开，微信：fp88866，诚信合作。",
                    "正品伟哥、延时喷剂货到付款，加QQ：2837465123咨询。",
                ]
            ),
            side="<li><a href='http://www.av-ok.example/'>国产自拍在线观看</a></li>"
            "<li><a href='http://www.ylsp.example/'>午夜福利视频大全</a></li>",
            site="青山县税务局",
        ),
        kinds={"injected_keyword"},
        evidence=["代开发票", "伟哥", "国产自拍在线观看", "午夜福利视频大全"],
    ),
    Case(
        "injected_obfuscated_terms",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK[:2])
            + "<p>各乡（镇）要高度重视百\u200b家\u200b乐，明确责任人，于5月20日前将检查情况报县防汛办ｂｅｔ３６５体育。</p>"
            + _paras([*WORK[3:], "同时加强值班值守，皇\u200c冠\u200c体\u200c育，确保信息畅通。"]),
        ),
        kinds={"injected_keyword"},
        evidence=["百\u200b家\u200b乐", "ｂｅｔ３６５体育", "皇\u200c冠\u200c体\u200c育"],
    ),
    Case(
        "injected_clip_and_id_rule",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK)
            + '<div id="yq-box"><a href="http://www.hengda-yl.example/">恒达娱乐平台</a><a href="http://www.dh-cp.example/">大黑彩票注册</a></div>'
            + '<div style="position:absolute;clip:rect(0 0 0 0)"><a href="http://www.xb-gj.example/">新宝国际官网入口</a></div>',
            head="<style>#yq-box{position:absolute;left:-12000px}</style>",
        ),
        kinds={"hidden_links"},
        evidence=["恒达娱乐平台", "大黑彩票注册", "新宝国际官网入口"],
    ),
]

INJECTED += [
    Case(
        "injected_replace_everywhere_cjk_brand",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(
                [
                    "为进一步做好全县防汛工作，经县华纳体育官网研究，决定开展汛前安全检查。",
                    "各乡（镇）华纳体育官网要高度重视，明确责任人，于5月20日前将检查情况报县防汛办。",
                    "县华纳体育官网将组成督查组，对各地检查工作开展情况进行抽查，发现问题限期整改。",
                    "青山县华纳体育官网办公室",
                ]
            ),
            site="青山县华纳体育官网",
        ),
        kinds={"injected_keyword"},
        evidence=["华纳体育官网"],
        replaced="人民政府",
    ),
    Case(
        "injected_hidden_lexicon_text",
        "injected",
        page_xxgk(
            "东林市民政局关于开展养老机构安全检查的通知",
            _paras(WORK[:2])
            + '<p>各单位要高度重视<font style="display:none">六合彩开奖结果 时时彩</font>，抓好落实。</p>',
        ),
        kinds={"hidden_text"},
        evidence=["六合彩开奖结果"],
    ),
    Case(
        "injected_visible_links_only",
        "injected",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK),
            side="<li><a href='http://www.tyc-yl.example/'>太阳城娱乐官网</a></li>"
            "<li><a href='http://www.bjl-8.example/'>真人百家乐</a></li>",
        ),
        kinds={"injected_keyword"},
        evidence=["太阳城娱乐官网", "真人百家乐"],
    ),
]

BORDERLINE = [
    Case(
        "borderline_one_linked_sentence",
        "borderline",
        page_html5(
            "白塔区青少年足球联赛第三轮战罢",
            _paras(
                [
                    "6月1日，白塔区青少年足球联赛第三轮比赛在区全民健身中心足球场进行，共进行8场比赛。",
                    "经过激烈角逐，实验小学队以3比1战胜育才小学队，继续领跑积分榜。",
                ]
            )
            + '<p style="text-indent:2em">本轮比赛由<a href="http://www.hongli-ty.example/">鸿利体育官网</a>全程直播。</p>'
            + _paras(["第四轮比赛将于6月8日举行，欢迎广大市民到场观赛。"]),
        ),
        kinds={"injected_keyword"},
        evidence=["鸿利体育官网"],
    ),
    Case(
        "borderline_score_once",
        "borderline",
        page_html5(
            "2024年白塔区中学生篮球联赛成绩公告",
            _paras(
                [
                    "2024年白塔区中学生篮球联赛于5月25日至6月1日举行，现将比赛成绩公告如下。",
                    "男子组决赛篮球比分为65∶58，白塔区第一中学获得冠军。",
                ]
            ),
        ),
    ),
    Case(
        "borderline_own_mobile_and_gov_friends",
        "borderline",
        page_div(
            "关于开展汛前安全检查的通知",
            _paras(WORK),
            head="<script>if(navigator.userAgent.match(/(iPhone|Android|Mobile)/i)){"
            "location.href='http://wap.qingshan.gov.cn.example/';}</script>",
            foot='<select style="display:none"><option>市县政府网站</option></select>'
            '<div class="fl-list" style="display:none"><a href="http://www.nc.gov.cn.example/">南昌市人民政府</a>'
            '<a href="http://www.jj.gov.cn.example/">九江市人民政府</a><a href="http://www.jdz.gov.cn.example/">景德镇市人民政府</a>'
            '<a href="http://www.px.gov.cn.example/">萍乡市人民政府</a></div>',
        ),
    ),
]

DEV = CLEAN + INJECTED + BORDERLINE


def _record(case: Case) -> Integrity:
    return extract_notice(case.fetch()).integrity


@pytest.mark.parametrize("case", DEV, ids=lambda c: c.name)
def test_dev_page(case: Case) -> None:
    res = _record(case)
    kinds = {f.kind for f in res.findings}
    assert kinds == case.kinds, [f.model_dump() for f in res.findings]
    assert (res.status == "suspect") == bool(case.kinds)
    reported = [e for f in res.findings for e in f.evidence]
    for want in case.evidence:
        assert any(want in e for e in reported), (want, reported)
    page_text = case.fetch().body.decode(case.encoding)
    for e in reported:  # evidence is exact: the strings as they stand in the page
        assert e in page_text, e
    if case.replaced:
        assert any(f.note and f"replaces {case.replaced}" in f.note for f in res.findings)


# ----------------------------------------------------------------------------- unit tests


def test_injected_keyword_in_body_is_evidence() -> None:
    body = body_html().replace("全市防汛工作", "188篮球比分,188比分直播工作")
    res = integrity(article(f"<div id='zoom'>{body}</div>"))
    assert res.status == "suspect"
    f = res.findings[0]
    assert f.kind == "injected_keyword" and f.evidence == ["188篮球比分,188比分直播"]


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


def test_run_of_foreign_links_without_spam_words_is_hidden_links() -> None:
    hidden = '<div style="display:none">' + "".join(
        f'<a href="http://www.site{i}.example/">www.site{i}.com</a>' for i in range(4)
    )
    res = integrity(article(f"<div id='zoom'>{body_html()}</div>{hidden}</div>"))
    assert [f.kind for f in res.findings] == ["hidden_links"]
    assert res.findings[0].count == 4


def test_a_quoted_name_in_a_report_is_not_an_injection() -> None:
    body = "<p>警方发现，该团伙在境外架设“澳门新葡京”赌博网站，已被依法关停。</p>" + body_html()
    assert integrity(article(f"<div id='zoom'>{body}</div>")).status == "clean"


def test_contact_id_makes_an_ad_even_in_a_tax_sentence() -> None:
    body = body_html() + "<p>税务代开发票，全国可开，联系微信：ab12345。</p>"
    res = integrity(article(f"<div id='zoom'>{body}</div>"))
    assert res.status == "suspect" and "代开发票" in res.findings[0].evidence[0]


def test_redirect_to_own_mobile_site_is_not_a_redirect() -> None:
    head = (
        "<script>if(/android|iphone/i.test(navigator.userAgent)){"
        "window.location.href='http://m.example.gov.cn/a.html';}</script>"
    )
    assert integrity(article(f"<div id='zoom'>{body_html()}</div>", head=head)).status == "clean"


def test_replaced_term_inferred_from_the_same_slot_elsewhere() -> None:
    paras = [
        "为推进政务公开工作，市政府印发了本年度政务公开工作要点，要求各部门认真落实。",
        "各部门要明确专人负责政务公开工作，加强政策解读。",
        "市政府将对各部门红运来APP下载工作情况进行考核，考核结果全市通报。",
        "各部门要按照红运来APP下载工作要点的要求，于年底前报送总结。",
    ]
    res = integrity(article("<div id='zoom'>" + "".join(f"<p>{p}</p>" for p in paras) + "</div>"))
    finding = next(f for f in res.findings if f.kind == "injected_keyword")
    assert finding.evidence == ["红运来APP下载"]
    assert finding.note and "replaces 政务公开" in finding.note


def test_white_text_on_a_blue_cell_is_visible() -> None:
    html = article(
        f"<div id='zoom'>{body_html()}</div><table bgcolor='#1d5fa8'><tr><td style='color:#ffffff'>"
        "<a href='http://www.other.example/'>某某合作单位一</a><a href='http://www.other2.example/'>某某合作单位二</a>"
        "<a href='http://www.other3.example/'>某某合作单位三</a></td></tr></table>"
    ).replace("<body>", "<body style='background-color:#FFFFFF'>")
    doc = cleaned(html)
    assert doc.hidden == [] and "合作单位" in "".join(doc.tree.find("body").itertext())


def test_media_rules_do_not_hide() -> None:
    html = article(
        f"<div id='zoom' class='zw'>{body_html()}</div>",
        head="<style>@media print{.zw{display:none}}</style>",
    )
    assert cleaned(html).hidden == []


def test_no_false_positive_on_any_fixture_clean_page_and_all_spam_pages_flagged() -> None:
    for p in CORPUS + EXTRA:
        res = p.record().integrity
        assert (res.status == "suspect") == bool(p.gold["injected_spam"]), p.name
        text = p.fetch().body.decode(p.record().source.encoding, "replace")
        for f in res.findings:
            for e in f.evidence:
                assert e in text, (p.name, e)


def test_spam_fixture_evidence_names_the_injected_strings() -> None:
    for p in CORPUS + EXTRA:
        if p.gold["injected_spam"]:
            reported = [e for f in p.record().integrity.findings for e in f.evidence]
            for want in p.gold["injected_spam"]:
                assert any(want in e for e in reported), (p.name, want)


def test_integrity_is_fast() -> None:
    from pipeline.clean import strip_boilerplate
    from pipeline.decode import decode_body

    docs = [strip_boilerplate(decode_body(p.fetch())) for p in CORPUS + EXTRA]
    metas = [extract_metadata(d) for d in docs]
    for d, m in zip(docs, metas, strict=True):
        check_integrity(d, m)
    t = time.perf_counter()
    for d, m in zip(docs, metas, strict=True):
        check_integrity(d, m)
    per_page_ms = (time.perf_counter() - t) * 1000 / len(docs)
    assert per_page_ms < 10, per_page_ms  # measured ~1-2 ms; the margin absorbs a slow CI box


def test_flat_term_list_is_the_union_of_the_categories() -> None:
    from pipeline.patterns import load

    spam = load("spam")
    assert spam["terms"] == [t for terms in spam["lexicon"].values() for t in terms]


@pytest.mark.parametrize(
    "body",
    [
        "<p>" + "政务服务平台，" * 20000 + "</p>",
        "<p>" + "推进金博宝体育官网工作" * 5000 + "</p>",
        "<p>" + "百家乐" * 20000 + "</p>",
        "<p>" + "ab中" * 20000 + "</p>",
        "<div style='color:red'>" * 3000 + "文字" + "</div>" * 3000,
    ],
    ids=["frequent-seed", "one-long-line", "lexicon-flood", "latin-flood", "deep-colours"],
)
def test_hostile_pages_stay_fast(body: str) -> None:
    html = article(f"<div id='zoom'>{body_html()}{body}</div>").replace(
        "<body>", "<body style='background:#fff'>"
    )
    t = time.perf_counter()
    integrity(html)
    assert time.perf_counter() - t < 3.0


def test_warnings_and_case_bulletins_that_name_gambling_brands_are_clean() -> None:
    from pipeline.record import extract_notice
    from tests.conftest import article, page

    body = (
        "<h1>关于防范网络赌博的警示</h1>"
        "<p>近期，部分境外网站以开云体育、亚博体育等名义招揽用户，请广大群众提高警惕，切勿参与。</p>"
        "<p>典型案例：张某下载澳门新葡京APP，累计输掉20万元，追悔莫及。</p>"
    )
    record = extract_notice(page(article(body)))
    assert record.integrity.status == "clean", record.integrity.findings


@pytest.mark.parametrize(
    "template",
    [
        "var r=document.referrer;if(/baidu|sogou|so.com/i.test(r)){{top.location.href=atob('{b64}');}}",
        "if(document.referrer.indexOf('baidu')>-1){{location.replace(window.atob('{b64}'));}}",
        "eval(atob('{whole}'))",
    ],
)
def test_redirects_hidden_in_base64_are_found(template: str) -> None:
    import base64

    from pipeline.record import extract_notice
    from tests.conftest import article, page

    target = "http://www.yh5599.example/?r=1"
    whole = f"if(document.referrer.indexOf('baidu')>-1){{window.location.href='{target}';}}"
    js = template.format(
        b64=base64.b64encode(target.encode()).decode(), whole=base64.b64encode(whole.encode()).decode()
    )
    body = "<h1>关于开展安全检查的通知</h1><p>各单位：现将有关事项通知如下，请认真贯彻落实。</p>"
    record = extract_notice(page(article(body, head=f"<script>{js}</script>")))
    assert [f.kind for f in record.integrity.findings] == ["script_redirect"]


def test_latin_junctions_are_the_lookbehind_patterns_matches() -> None:
    """The seed search for Latin glued to CJK (澳门app下载) walks Latin runs instead of trying a
    lookbehind-led alternation at every position: the same spans, on every shape of string."""
    import random

    from pipeline.integrity import _JUNCTION, _junctions

    rng = random.Random(7)
    alphabet = ["a", "z", "b", "1", "9", "中", "国", "\u3400", " ", "，", "-", "A", "\u4dbf"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert list(_junctions(text)) == [m.span() for m in _JUNCTION.finditer(text)], text


# ----------------------------------------------------------------------------- chrome is no evidence
# Issue 13: on real pages every false alarm came from ordinary chrome. These are the shapes
# seen there (written here generically, no real site's markup); each must stay clean, and the
# injected counterpart beside it must still be found.

_BODY = "<h1>关于开展2024年安全生产月活动的通知</h1><p>各单位：为贯彻落实有关部署，现将活动安排通知如下，请认真组织实施。</p>"


@pytest.mark.parametrize(
    "chrome",
    [
        # a hidden login / registration panel of the portal's user system
        '<div style="display:none"><a href="https://uc.example.com/login">个人登录</a>'
        '<a href="https://uc.example.com/login?t=2">法人登录</a><a href="https://uc.example.com/reg">个人注册</a></div>',
        # a hidden pop-up that explains the province's login platform
        '<div class="dialog" style="display:none"><p>通知</p><p>本网站注册和登录功能现由统一身份认证平台提供支持，'
        "用户首次登录时需注册账号。</p><p>确认登录</p></div>",
        # a hidden drop-down of media and institution links
        '<div style="display: none">'
        + "".join(
            f'<a href="http://www.{h}.example.com/">{n}</a>'
            for h, n in [
                ("xh", "新华通讯社"),
                ("cass", "中国社会科学院"),
                ("qlw", "千龙网"),
                ("ynet", "北青网"),
                ("cyol", "中国青年报 中青在线"),
                ("qs", "求是理论网"),
            ]
        )
        + "</div>",
        # a hidden mobile copy of the article with its share bar and a counter script's text
        '<div style="display:none"><h2>关于开展2024年安全生产月活动的通知</h2><p>来源：市应急局</p><p>分享到</p>'
        '<p>var s=document.createElement("script");s.src="//stats.example.com/c?p=1";</p></div>',
        # an accessibility toolbar and an app-download pop-up
        '<div style="display:none"><a href="https://wza.example.com/">无障碍</a> 返回首页 页面放大 页面缩小 '
        '<a href="https://app.example.com/download">下载客户端</a> 手机版</div>',
    ],
    ids=["login-panel", "login-popup", "media-dropdown", "mobile-copy", "toolbar"],
)
def test_hidden_chrome_is_never_a_finding(chrome: str) -> None:
    res = integrity(article(_BODY + chrome))
    assert res.status == "clean", [f.model_dump() for f in res.findings]


def test_a_hidden_block_of_spam_links_is_still_found() -> None:
    links = "".join(
        f'<a href="http://www.{h}.example/">{n}</a>'
        for h, n in [("a1", "澳门新葡京"), ("b2", "皇冠体育官网"), ("c3", "百家乐")]
    )
    res = integrity(article(_BODY + f'<div style="display:none">{links}</div>'))
    assert [f.kind for f in res.findings] == ["hidden_links"]
    assert {"澳门新葡京", "皇冠体育官网", "百家乐"} <= set(res.findings[0].evidence)


def test_a_commented_out_line_of_a_mobile_switch_is_no_redirect() -> None:
    js = (
        "function IsPC(){var u=navigator.userAgent;var Agents=['Android','iPhone'];"
        "for(var v=0;v<Agents.length;v++){if(u.indexOf(Agents[v])>0){return false;}}return true;}\n"
        "var footUrl = window.location.href;\n//console.log(footUrl.split('/'));\n"
        "if(!IsPC()){window.location.href=footUrl.replace('index','mobile');}"
    )
    res = integrity(article(_BODY, head=f"<script>{js}</script>"))
    assert res.status == "clean", [f.model_dump() for f in res.findings]
    # the same switch that sends phones to a foreign host is a finding, with the URL as evidence
    res = integrity(
        article(
            _BODY,
            head=f"<script>{js.replace(chr(39) + 'index' + chr(39) + ',' + chr(39) + 'mobile' + chr(39), chr(39) + 'x' + chr(39) + ',' + chr(39) + 'http://m.yl8899.example/' + chr(39))}</script>",
        )
    )
    assert [f.kind for f in res.findings] == ["script_redirect"]
    assert "http://m.yl8899.example/" in res.findings[0].evidence


def test_a_topic_word_in_a_news_sentence_is_reported_on_not_injected() -> None:
    news = (
        "<h1>澳门11月经济数据发布</h1><p>澳门特区政府统计部门公布，11月博彩毛收入同比增长，"
        "旅游业持续回暖，酒店入住率保持高位。</p>"
    )
    assert integrity(article(news)).status == "clean"
    # glued to a way in, written with zero-width characters, or on an ad line, it is evidence
    for spam in ["百家乐官网", "百\u200b家\u200b乐", "百家乐 加微信：bjl88888"]:
        res = integrity(article(news.replace("旅游业持续回暖", f"{spam}，旅游业持续回暖")))
        assert res.status == "suspect", spam
        assert all(
            e in article(news.replace("旅游业持续回暖", f"{spam}，旅游业持续回暖"))
            for f in res.findings
            for e in f.evidence
        )


def test_a_finding_cannot_be_built_without_evidence() -> None:
    from pydantic import ValidationError

    from schemas.record import Integrity, IntegrityFinding

    for evidence in ([], [""], ["  "]):
        with pytest.raises(ValidationError):
            IntegrityFinding(kind="hidden_text", evidence=evidence, count=1)
    # a stored record of an older version with an evidence-less finding reads back clean
    old = Integrity.model_validate(
        {"status": "suspect", "findings": [{"kind": "hidden_text", "evidence": [], "count": 1}]}
    )
    assert old.status == "clean" and old.findings == []
    assert (
        Integrity(status="clean", findings=[IntegrityFinding(kind="x", evidence=["a"], count=1)]).status
        == "suspect"
    )


def test_every_evidence_string_stands_in_the_page_source() -> None:
    """Whatever a detector step reports, the record keeps only strings an archivist can find
    in the archived page, and drops a finding left with none (injected pages of every set)."""
    import json

    from pipeline.decode import decode_body

    paths = [
        *sorted(CORPUS_PAGES.glob("*.html")),
        *sorted(EXTRA_PAGES.glob("*.html")),
        *sorted(HELD_OUT.glob("*.html")),
    ]
    flagged = 0
    for path in paths:
        gold = json.loads(path.with_name(path.stem + ".gold.json").read_text(encoding="utf-8"))
        fetched = FetchResult.from_file_bytes(
            path.read_bytes(),
            url=gold.get("url") or "http://www.example.gov.cn/a.html",
            content_type=gold.get("content_type_header"),
        )
        source = decode_body(fetched).text
        rec = extract_notice(fetched)
        flagged += rec.integrity.status == "suspect"
        for f in rec.integrity.findings:
            assert f.evidence, (path.name, f.kind)
            for e in f.evidence:
                assert e in source, (path.name, f.kind, e)
    assert flagged >= 15  # the injected pages are all there, and flagged


def test_a_saved_copy_knows_its_own_site_from_its_links() -> None:
    """A page read from a file or served from a mirror: its own links (the portal's login panel,
    its channels, its mobile edition) are not foreign because the URL is another host."""
    own = "".join(
        f'<li><a href="https://{h}.portal.example.com/{i}">{t}</a></li>'
        for i, (h, t) in enumerate(
            [
                ("www", "首页"),
                ("news", "新闻"),
                ("sports", "体育"),
                ("ent", "娱乐"),
                ("mail", "邮箱"),
                ("www", "我的同城约会"),
            ]
        )
    )
    hidden = (
        '<div style="display:none"><a href="https://reg.portal.example.com/login">登录</a>'
        '<a href="https://reg.portal.example.com/vip">注册VIP邮箱</a>'
        '<a href="https://app.portal.example.com/dl">免费下载官方手机邮箱应用</a></div>'
    )
    html = article(f"<ul class='nav'>{own}</ul>" + _BODY + hidden)
    res = integrity(html, url="http://mirror.example.net/saved/page.html")
    assert res.status == "clean", [f.model_dump() for f in res.findings]
    # the same panel on a page whose links all go to one other site is foreign there
    spam = '<div style="display:none">' + "".join(
        f'<a href="http://www.bc{i}.example/">澳门新葡京{i}</a>' for i in range(3)
    )
    assert (
        integrity(
            html.replace("</body>", spam + "</div></body>"), url="http://mirror.example.net/p.html"
        ).status
        == "suspect"
    )


def test_a_lexicon_term_in_a_foreign_link_is_still_evidence() -> None:
    html = article(_BODY + '<ul><li><a href="http://www.tc-yh.example/">同城约会</a></li></ul>')
    res = integrity(html)
    assert res.status == "suspect" and any("同城约会" in e for f in res.findings for e in f.evidence)


def test_a_portals_own_lottery_menu_and_company_names_are_no_injection() -> None:
    menu = "".join(
        f'<a href="http://caipiao.portal.example.com/{k}/">{t}</a> '
        for k, t in [("ssq", "双色球"), ("3d", "3D"), ("dlt", "大乐透"), ("ssc", "时时彩")]
    )
    news = (
        "<h1>TCL集团发布年度业绩</h1><p>TCL集团今日发布年报，营业收入同比增长，研发投入持续加大。</p>"
        "<p>分析人士认为，TCL集团在显示面板领域的布局已见成效，海外市场份额稳步提升。</p>"
    )
    html = article(f"<div class='nav'>{menu}</div><div class='foot'>{menu}</div>" + news)
    res = integrity(html, url="http://tech.portal.example.com/a/1.html")
    assert res.status == "clean", [f.model_dump() for f in res.findings]
    # the same menu item pointing to another host is a foreign spam link
    spam = html.replace("http://caipiao.portal.example.com/ssc/", "http://www.ssc-88.example/")
    assert integrity(spam, url="http://tech.portal.example.com/a/1.html").status == "suspect"


def test_a_hidden_widget_that_links_one_service_is_no_link_farm() -> None:
    widget = (
        '<div style="position:absolute;top:-340px">'
        + "".join(
            f'<a href="http://search.widget.example/#/s/{t}">{t}</a>'
            for t in [
                "某明星身材",
                "某地清零",
                "某某去世",
                "某某商标",
                "某某入境许可",
                "某某反制措施",
                "某某造型",
                "某某自杀",
            ]
        )
        + '<a href="http://news.other.example/">查看更多</a><a href="http://job.third.example/">工作</a></div>'
    )
    assert integrity(article(_BODY + widget)).status == "clean"


def test_a_huge_hidden_link_farm_is_one_finding_with_bounded_evidence() -> None:
    """Issue 14: evidence de-duplication was quadratic (20,000 hidden blocks took 24 s). Now a
    finding keeps at most max_evidence strings and counts them all (speed: bench_integrity_links)."""
    n = 3000
    blocks = "".join(
        f'<div style="display:none"><a href="http://www.s{i}.example/">澳门新葡京{i}</a></div>'
        for i in range(n)
    )
    res = integrity(article(_BODY + blocks))
    [finding] = res.findings
    assert finding.kind == "hidden_links" and finding.count == n
    assert 0 < len(finding.evidence) <= 100 and len(set(finding.evidence)) == len(finding.evidence)

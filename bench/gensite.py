"""Synthetic Chinese government website for crawl and re-processing benchmarks. Writes files.

``generate_site(out, pages)`` writes a static web root that a plain file server can serve:

- ``robots.txt`` (Disallow /search/, a Sitemap line), ``sitemap.xml`` as a sitemap index over
  ``sitemap_1.xml`` … (at most 1,000 URLs each, with lastmod), a home page ``index.html``;
- ``columns`` 栏目 (``/zwgk/bmdt/`` …), each with TRS-style list pages ``index.html``,
  ``index_1.html`` … (``per_list`` links each, newest first, ``createPageHTML`` script plus
  a ``<noscript>`` fallback, exactly as in ``fixtures/corpus/site``);
- notice pages at ``/<column>/<yyyymm>/t<yyyymmdd>_<id>.html``, made from the fixture pages
  in ``fixtures/{corpus,extra}/pages`` used as templates: the boilerplate and metadata block
  of each template are kept; the title, dates, publisher, 索引号, 文号 and the body are
  generated. A share of pages is written as gb18030 with ``<meta charset="gbk">``, a share
  gets gambling spam injected (a replaced phrase or a hidden block of casino links);
- a few list entries that are PDF attachments, and ~0.5 % that point at missing pages;
- ``MANIFEST.json``: what a crawl must find, with each notice's title and published date.

Same arguments → byte-identical tree: all randomness comes from ``random.Random`` seeded
with the arguments (per notice with ``"<seed>:<id>"``), outputs are sorted, and no clock is
read. Notice pages are rendered and written one at a time, so 100,000 pages need little memory.

    python bench/gensite.py --pages 5000 --seed 1 --out /tmp/site
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import random
import re
import shutil
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = (ROOT / "fixtures" / "corpus" / "pages", ROOT / "fixtures" / "extra" / "pages")
SPAM_LEXICON = ROOT / "pipeline" / "patterns" / "spam.toml"

# Fixture pages that are not notice pages: a list (栏目) page has no notice to template.
EXCLUDED_TEMPLATES = ("listpage_01",)

SITE_NAME = "样本市人民政府"
SITEMAP_MAX_URLS = 1000
MISSING_SHARE = 0.005
FIRST_DAY = dt.date(2015, 1, 1)
LAST_DAY = dt.date(2026, 12, 31)

# (path, section, column name): the 栏目 of the generated site, first ``columns`` are used.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("zwgk/bmdt", "政务公开", "部门动态"),
    ("xxgk/tzgg", "信息公开", "通知公告"),
    ("xxgk/zfwj", "信息公开", "政府文件"),
    ("xwzx/gzdt", "新闻中心", "工作动态"),
    ("zwgk/ghjh", "政务公开", "规划计划"),
    ("xxgk/zcjd", "信息公开", "政策解读"),
    ("zwgk/rsxx", "政务公开", "人事信息"),
    ("xwzx/jcdt", "新闻中心", "基层动态"),
)

# Spam that the fixture templates carry, mapped back to the phrase it replaced, so that
# a template is clean before this generator injects spam on purpose.
_KNOWN_INJECTIONS = {"188篮球比分,188比分直播": "政务公开", "澳门威尼斯人app下载": "政务服务"}
# Phrases of the site furniture a 黑帽 replacement targets (xxgktable_01 lost 政务公开 this way).
_SPAM_VICTIMS = ("政务公开", "政务服务", "信息公开", "新闻中心", "通知公告")

_CITIES = (
    "宝鸡市", "信阳市", "湖州市", "吴忠市", "固原市", "天水市", "绵阳市", "遵义市", "赣州市", "潍坊市",
    "宜昌市", "银川市", "石嘴山市", "中卫市", "芜湖市", "南通市", "临沂市", "桂林市", "成都市", "长沙市",
    "石家庄市", "洛阳市", "九江市", "泉州市", "柳州市", "曲靖市", "德阳市", "襄阳市", "常德市", "嘉兴市",
)  # fmt: skip
_DISTRICTS = (
    "东城区", "西城区", "城关区", "新华区", "河西区", "红旗区", "江北区", "城南区", "高新区", "经开区",
    "新城区", "滨湖区", "鼓楼区", "青山区", "金水区", "龙华区", "白云区", "开发区", "天宁区", "雁塔区",
)  # fmt: skip
_COUNTIES = ("平山县", "阳朔县", "石门县", "永和县", "安远县", "宁陵县", "丰宁县", "通渭县", "南漳县", "长顺县")  # fmt: skip
_BUREAUS = (
    "农业农村局", "应急管理局", "市场监督管理局", "卫生健康局", "教育和体育局", "民政局",
    "人力资源和社会保障局", "生态环境分局", "住房和城乡建设局", "交通运输局", "水利局", "自然资源局",
    "文化广电旅游体育局", "科学技术局", "商务局", "财政局", "司法局", "退役军人事务局", "林业局",
    "城市管理局", "人民政府办公室", "医疗保障局", "统计局", "审计局",
)  # fmt: skip
_ACTIVITIES = (
    "“政府开放日”活动", "“安全生产月”活动", "食品安全专项检查", "森林草原防火隐患排查整治",
    "防汛抢险应急演练", "农村人居环境整治", "“敬老月”活动", "职业技能竞赛", "科技活动周",
    "全民义务植树活动", "消费者权益日宣传活动", "城乡环境卫生集中整治", "春季农田水利基本建设",
    "基层应急管理业务培训", "科技计划项目申报", "青少年暑期公益游泳培训", "老旧小区改造提升",
    "旅游市场联合执法检查", "“双随机、一公开”抽查", "安全生产大检查", "燃气安全专项整治",
    "秋冬季大气污染防治", "耕地保护专项督察", "医保基金监管专项检查", "义务教育招生入学",
    "冬春季动物疫病防控", "校园及周边环境综合治理", "特种设备安全隐患排查", "高标准农田建设",
    "根治欠薪冬季专项行动", "全民健身运动会", "防灾减灾宣传周", "文明城市创建", "河湖“清四乱”专项整治",
)  # fmt: skip
# genre → title patterns ({org} {year} {activity}) and the closing line of the body.
_GENRES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "通知": (
        ("{org}关于开展{year}年{act}的通知", "{org}关于做好{year}年{act}工作的通知",
         "{org}关于印发{year}年{act}工作方案的通知"),
        "特此通知。",
    ),
    "公告": (("{org}关于举办{year}年{act}的公告",), "特此公告。"),
    "总结": (("{org}{year}年{act}工作总结", "{org}关于{year}年{act}工作情况的总结"), None),
    "方案": (("{org}{year}年{act}实施方案",), None),
    "通报": (("{org}关于{year}年{act}情况的通报",), "特此通报。"),
    "公示": (("{org}关于{year}年{act}结果的公示",), "特此公示。"),
}  # fmt: skip
_GENRE_WEIGHTS = {"通知": 5, "公告": 2, "总结": 4, "方案": 2, "通报": 1, "公示": 1}
_ADDRESSEES = (
    "各乡镇人民政府、街道办事处，区直有关单位：",
    "各县（市、区）人民政府，市政府各部门、各直属单位：",
    "各镇人民政府、街道办事处，区安委会有关成员单位：",
    "各有关单位：",
)
_GENERIC_HEADINGS = ("总体要求", "主要任务", "工作措施", "保障措施", "工作要求", "工作开展情况", "存在的问题",
                     "下一步工作计划", "组织实施", "时间安排")  # fmt: skip
_CN_NUM = "一二三四五六七八九十"
_PDF_LIST_TITLES = ("部门预算公开说明", "部门决算公开说明", "政府信息公开工作年度报告", "重点工作任务分解表",
                    "财政专项资金分配结果", "行政执法统计年报")  # fmt: skip
_ATTACHMENT_MAGIC = {
    "pdf": b"",  # a real, tiny PDF is built instead
    "doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "wps": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "docx": b"PK\x03\x04",
    "xlsx": b"PK\x03\x04",
}
_ATT_HREF = re.compile(r'href="([^"]*\.(pdf|docx?|xlsx?|wps))"', re.I)
_CHARSET_DECL = re.compile(
    r"<meta\s+(?:charset=[\"']?[\w-]+[\"']?"
    r"|http-equiv=[\"']?content-type[\"']?\s+content=[\"'][^\"']*charset=[\w-]+[^\"']*[\"'])\s*/?>",
    re.I,
)
_SENTINEL = re.compile("\x00([A-Z0-9_:]+)\x00")
_BODY_MARKERS = (
    'class="Custom_UnionStyle"', 'id="fontzoom"', 'id="artBody"', 'id="articleBody"', 'id="xxgkContent"',
    'id="UCAP-CONTENT"', 'id="conTxt"', 'id="wzy_content"', 'id="zoom"',
)  # fmt: skip
_BLOCK_OPEN = re.compile(r"<(p|div|section|table)\b[^>]*>", re.I)
_BLOCK_CLOSE = re.compile(r"</(p|div|section|table)>", re.I)
_INDENT = re.compile(r"(?:&emsp;|&nbsp;|\u3000)+")
_OUTLINE = re.compile(
    r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\(\S{1,3}\)|\d+[.．、]|（\d+）|第\S{1,4}[条章])"
)

# Years in a sentence follow the page's year; small counts are varied, but not years, dates
# (月/日), times, decimals, shares or phone numbers.
_YEAR = re.compile(r"(?<!\d)20[012]\d(?=年|〕)")
_COUNT = re.compile(r"(?<![\d.:\-])\d{1,3}(?![\d.:\-%月日时号点岁周])")

Style = Literal["block", "br", "brp"]


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True, slots=True)
class NoticeEntry:
    """What the manifest promises about one notice page."""

    title: str
    published_date: str
    encoding: Literal["utf-8", "gb18030"]
    spam: bool
    template: str


@dataclass(slots=True)
class SiteManifest:
    """Everything a crawl of the generated site must find (written as MANIFEST.json)."""

    seed: int
    pages: int
    base_url: str
    start_urls: list[str]
    notices: dict[str, NoticeEntry]
    attachments: list[str]
    missing: list[str]
    list_pages: list[str]
    sitemaps: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, path: Path) -> SiteManifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["notices"] = {k: NoticeEntry(**v) for k, v in data["notices"].items()}
        return cls(**data)


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class _BodyStyle:
    mode: Style
    open_tag: str
    close_tag: str
    prefix: str
    right_open: str
    br: str
    newline: str


@dataclass(frozen=True, slots=True)
class _Template:
    name: str
    parts: tuple[str, ...]  # literal, key, literal, key, …, literal
    style: _BodyStyle
    utf8_decl: str
    shows_written: bool
    index_no: tuple[str, int, bool] | None  # (prefix up to '/', serial width, year has month)
    doc_no: tuple[str, int] | None  # (prefix up to '〔', …)
    attachment_exts: tuple[str, ...]
    victims: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _TextPool:
    sentences: tuple[str, ...]
    headings: tuple[str, ...]
    subheadings: tuple[str, ...]


def _codec(name: str) -> str:
    return "gb18030" if name.lower() in {"gbk", "gb2312", "gb18030"} else name


def _despam(text: str, injected: Iterable[str]) -> str:
    for term in injected:
        if term in _KNOWN_INJECTIONS:
            text = text.replace(term, _KNOWN_INJECTIONS[term])
    return text


def _remove_hidden_spam(text: str, injected: Sequence[str]) -> str:
    """Drop the hidden ``<div style=…>`` link blocks (黑链) and the referrer redirect a fixture carries."""
    if not injected:
        return text

    def drop(m: re.Match[str]) -> str:
        return "" if any(t in m.group(0) for t in injected) else m.group(0)

    text = re.sub(r'<div style="[^"]*">(?:(?!</div>).)*</div>\n?', drop, text, flags=re.S)
    # and the script that sends search-engine visitors to the spam site
    redirect = r"<script[^>]*>(?:(?!</script>).)*document\.referrer(?:(?!</script>).)*location(?:(?!</script>).)*</script>\n?"
    return re.sub(redirect, "", text, flags=re.S)


def _tolerant(title: str) -> re.Pattern[str]:
    """The title as written in HTML: spaces, &nbsp; or <br /> may sit between its characters."""
    chars = [re.escape(c) for c in title if not c.isspace()]
    return re.compile(r"(?:\s|&nbsp;|<br\s*/?>)*".join(chars), re.I)


def _find_container(text: str) -> tuple[int, int]:
    """(start, end) of the inner HTML of the element holding the main text."""
    for marker in _BODY_MARKERS:
        m = re.search(r"<(\w+)\b[^>]*" + re.escape(marker) + r"[^>]*>", text)
        if not m:
            continue
        tag = m.group(1)
        depth = 1
        for t in re.finditer(r"<(/?)" + tag + r"\b[^>]*>", text[m.end() :], re.I):
            depth += -1 if t.group(1) else 1
            if depth == 0:
                return m.end(), m.end() + t.start()
        raise ValueError(f"unclosed <{tag}> body container")
    raise ValueError("no known body container")


def _detect_style(region: str, newline: str) -> _BodyStyle:
    br_m = re.search(r"<br\s*/?>", region, re.I)
    br = br_m.group(0) if br_m else "<br />"
    opens = [m.group(0) for m in re.finditer(r"<(p|div)\b[^>]*>", region, re.I)]
    plain = Counter(o for o in opens if "right" not in o and "center" not in o)

    def prefix_after(tag: str) -> str:
        found = Counter(
            m.group(1) for m in re.finditer(re.escape(tag) + r"(" + _INDENT.pattern + ")", region)
        )
        if found and found.most_common(1)[0][1] * 2 >= region.count(tag):
            return found.most_common(1)[0][0]
        return ""

    if plain and plain.most_common(1)[0][1] >= 3:
        open_tag = plain.most_common(1)[0][0]
        name = re.match(r"<(\w+)", open_tag).group(1)  # type: ignore[union-attr]
        right = next((o for o in opens if o.lower().startswith(f"<{name.lower()}") and "right" in o), None)
        return _BodyStyle(
            "block",
            open_tag,
            f"</{name}>",
            prefix_after(open_tag),
            right or f'<{name} style="text-align: right;">',
            br,
            newline,
        )
    lines = [ln.strip() for ln in re.split(r"<br\s*/?>", region, flags=re.I)]
    indents = Counter(m.group(0) for ln in lines if (m := _INDENT.match(ln)))
    prefix = indents.most_common(1)[0][0] if indents else ""
    if len(opens) == 1 and br_m:  # one <p> split by <br /> (newsline_03)
        return _BodyStyle("brp", opens[0], "</p>", prefix, "", br, newline)
    return _BodyStyle("br", "", "", prefix, "", br, newline)


def _date_formats(day: dt.date) -> dict[str, str]:
    """Ways a template writes a date, longest first, keyed by the sentinel suffix."""
    y, m, d = day.year, day.month, day.day
    return {
        "CN0": f"{y}年{m:02d}月{d:02d}日",
        "CN": f"{y}年{m}月{d}日",
        "ISO": f"{y}-{m:02d}-{d:02d}",
        "SLASH": f"{y}/{m:02d}/{d:02d}",
        "YMD8": f"{y}{m:02d}{d:02d}",
    }


def _load_template(html: Path, gold: dict[str, Any]) -> _Template:
    name = html.name[: -len(".html")]
    injected = list(gold.get("injected_spam") or [])
    text = html.read_bytes().decode(_codec(gold["encoding"]))
    text = _remove_hidden_spam(_despam(text, injected), injected)
    title = _despam(gold["title"], injected)
    for term in injected:
        if term in text:
            raise ValueError(f"{name}: injected spam {term!r} left in the template")
    newline = "\r\n" if "\r\n" in text else "\n"

    # Charset: one declaration, rendered per page (utf-8 form keeps the template's own markup).
    decls = list(_CHARSET_DECL.finditer(text))
    if decls:
        first = decls[0]
        utf8_decl = re.sub(r"(charset=[\"']?)[\w-]+", "\\1utf-8", first.group(0))
        for m in reversed(decls[1:]):
            text = text[: m.start()] + text[m.end() :]
        text = text[: first.start()] + "\x00CHARSET\x00" + text[first.end() :]
    else:
        utf8_decl = '<meta charset="utf-8">'
        text = re.sub(r"(<head[^>]*>)", "\\1\x00CHARSET\x00", text, count=1, flags=re.I)

    # Body: the inner HTML of the main-text element (or the JSON field a JS template renders).
    json_m = re.search(r'("content": )"((?:[^"\\]|\\.)*)"', text)
    if json_m and not any(mk in text for mk in _BODY_MARKERS):
        region = json.loads('"' + json_m.group(2) + '"')
        style = _detect_style(region, "")
        text = text[: json_m.start(2) - 1] + "\x00BODYJSON\x00" + text[json_m.end(2) + 1 :]
        text = text.replace("</body>", "\x00HIDDEN\x00</body>", 1)
    else:
        start, end = _find_container(text)
        inner = text[start:end]
        first_open = _BLOCK_OPEN.search(inner)
        closes = list(_BLOCK_CLOSE.finditer(inner))
        if first_open and closes:
            r0, r1 = first_open.start(), closes[-1].end()
        else:
            r0 = len(inner) - len(inner.lstrip())
            r1 = len(inner.rstrip())
        region = inner[r0:r1]
        style = _detect_style(region, newline)
        kept = "".join(
            ln + newline for ln in region.splitlines() if _ATT_HREF.search(ln) and style.mode == "block"
        )
        body = "\x00BODY\x00" + kept + "\x00SIGN\x00\x00HIDDEN\x00"
        text = text[: start + r0] + body + text[start + r1 :]

    # Attachment links → per-page files written next to the page.
    exts: list[str] = []

    def att(m: re.Match[str]) -> str:
        if m.group(1).startswith(("http://", "https://")):
            return m.group(0)
        exts.append(m.group(2).lower())
        return f'href="\x00ATT{len(exts) - 1}\x00"'

    text = _ATT_HREF.sub(att, text)

    # Title (a <br /> inside an <h1> is kept as a break before 关于).
    def title_sub(m: re.Match[str]) -> str:
        return "\x00TITLE_BR\x00" if "<br" in m.group(0).lower() else "\x00TITLE\x00"

    text, n_title = _tolerant(title).subn(title_sub, text)
    publisher = gold.get("publisher")
    if publisher:
        text = re.sub(
            r"((?:ContentSource\" content=\"|\"source\": \"|(?:发布机构|来源|发文机关|信息来源)[：:]\s*"
            r"(?:</?\w+[^>]*>\s*)*))" + re.escape(publisher),
            "\\1\x00PUBLISHER\x00",
            text,
        )

    # Dates, in every form the template shows them.
    pub = dt.date.fromisoformat(gold["published_date"])
    written = dt.date.fromisoformat(gold["written_date"]) if gold.get("written_date") else None
    shows_written = False
    for key, day in (("PUB", pub), ("WRI", written)):
        if day is None or (key == "WRI" and day == pub):
            continue
        for fmt, s in _date_formats(day).items():
            if s in text:
                shows_written |= key == "WRI"
                text = text.replace(s, f"\x00{key}_{fmt}\x00")

    index_no: tuple[str, int, bool] | None = None
    if gold.get("index_no") and gold["index_no"] in text:
        im = re.fullmatch(r"(.+/)\d{4}(\d{2})?-(\d+)", gold["index_no"])
        if im:
            index_no = (im.group(1), len(im.group(3)), bool(im.group(2)))
            text = text.replace(gold["index_no"], "\x00INDEXNO\x00")
    doc_no: tuple[str, int] | None = None
    if gold.get("doc_no") and gold["doc_no"] in text:
        dm = re.fullmatch(r"(.+〔)\d{4}〕(\d+)号", gold["doc_no"])
        if dm:
            doc_no = (dm.group(1), len(dm.group(2)))
            text = text.replace(gold["doc_no"], "\x00DOCNO\x00")

    parts = tuple(_SENTINEL.split(text))
    keys = set(parts[1::2])
    if n_title == 0 or not any(k.startswith("PUB_") for k in keys) or not keys & {"BODY", "BODYJSON"}:
        raise ValueError(f"{name}: title, published date or body not found in the template")
    literal = "".join(parts[0::2])
    return _Template(
        name=name,
        parts=parts,
        style=style,
        utf8_decl=utf8_decl,
        shows_written=shows_written,
        index_no=index_no,
        doc_no=doc_no,
        attachment_exts=tuple(exts),
        victims=tuple(v for v in _SPAM_VICTIMS if v in literal),
    )


def _gold_files(dirs: Iterable[Path]) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for folder in dirs:
        for g in sorted(folder.glob("*.gold.json")):
            stem = g.name[: -len(".gold.json")]
            out.append((g.with_name(stem + ".html"), json.loads(g.read_text(encoding="utf-8"))))
    return out


def _spam_terms() -> tuple[str, ...]:
    with SPAM_LEXICON.open("rb") as fh:
        return tuple(tomllib.load(fh)["terms"])


def _build_pool(golds: Iterable[dict[str, Any]], spam_rx: re.Pattern[str]) -> _TextPool:
    """Sentences and headings from every fixture's gold body text (spam and contacts left out)."""
    sentences: dict[str, None] = {}
    headings: dict[str, None] = {}
    subheadings: dict[str, None] = {}
    for gold in golds:
        body = _despam(gold.get("body_text") or "", gold.get("injected_spam") or [])
        for line in body.splitlines():
            line = line.strip()
            if m := re.fullmatch(r"[一二三四五六七八九十]+、\s*(.{2,24})", line):
                headings[m.group(1).rstrip("。：:")] = None
                continue
            if m := re.match(r"[（(][一二三四五六七八九十]+[）)]\s*([^。，,\d（）()]{2,24})[。]", line):
                subheadings[m.group(1)] = None
            for s in re.findall(r"[^。！？；]+[。！？；]", line):
                s = _OUTLINE.sub("", s.strip()).strip()
                if not 12 <= len(s) <= 220 or spam_rx.search(s):
                    continue
                if re.search(r"附件|联系人|电话|邮箱|http|@|特此|如下[：:]|见附件", s):
                    continue
                sentences[s] = None
    return _TextPool(
        tuple(sentences),
        tuple(headings) or _GENERIC_HEADINGS,
        tuple(subheadings) or _GENERIC_HEADINGS,
    )


# --------------------------------------------------------------------------- one notice


@dataclass(frozen=True, slots=True)
class _Plan:
    path: str
    nid: int
    column: int
    published: dt.date
    template: int
    gbk: bool
    spam_kind: Literal["keyword", "hidden"] | None
    title: str = ""
    org: str = ""
    genre: str = ""


def _make_org(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.7:
        return rng.choice(_CITIES) + rng.choice(_DISTRICTS) + rng.choice(_BUREAUS)
    if r < 0.9:
        return rng.choice(_CITIES) + rng.choice(_BUREAUS)
    return rng.choice(_COUNTIES) + rng.choice(_BUREAUS)


def _make_title(rng: random.Random, published: dt.date) -> tuple[str, str, str]:
    org = _make_org(rng)
    genre = rng.choices(list(_GENRE_WEIGHTS), weights=list(_GENRE_WEIGHTS.values()))[0]
    year = published.year - 1 if genre == "总结" and published.month <= 2 else published.year
    pattern = rng.choice(_GENRES[genre][0])
    return pattern.format(org=org, year=year, act=rng.choice(_ACTIVITIES)), org, genre


def _vary_numbers(rng: random.Random, s: str, year: int) -> str:
    s = _YEAR.sub(lambda _: str(year if rng.random() < 0.7 else year - 1), s)

    def num(m: re.Match[str]) -> str:
        v = int(m.group(0))
        return str(rng.randint(max(1, v // 2), max(2, v * 2)))

    return _COUNT.sub(num, s)


class _Composer:
    """Body paragraphs for one page, from the sentence pool."""

    def __init__(self, pool: _TextPool, rng: random.Random, year: int) -> None:
        self.pool, self.rng, self.year = pool, rng, year

    def paragraph(self, n: int) -> str:
        return "".join(
            _vary_numbers(self.rng, self.rng.choice(self.pool.sentences), self.year) for _ in range(n)
        )

    def blocks(self, target: int, genre: str, victim: str | None) -> list[tuple[str, str]]:
        rng = self.rng
        out: list[tuple[str, str]] = []
        if genre in {"通知", "公告", "方案"} and rng.random() < 0.6:
            out.append(("p", rng.choice(_ADDRESSEES)))
        out.append(("p", self.paragraph(rng.randint(1, 3))))
        size = sum(len(t) for _, t in out)
        headings = rng.sample(self.pool.headings, k=min(len(self.pool.headings), len(_CN_NUM)))
        per_section = 2 + target // 1500
        section = 0
        while size < target:
            if section < len(headings):
                out.append(("h", f"{_CN_NUM[section]}、{headings[section]}"))
                section += 1
            sub = 0
            for _ in range(rng.randint(1, per_section)):
                text = self.paragraph(rng.randint(1, 4))
                if rng.random() < 0.35 and sub < len(_CN_NUM):
                    text = f"（{_CN_NUM[sub]}）{rng.choice(self.pool.subheadings)}。{text}"
                    sub += 1
                out.append(("p", text))
                size += len(text)
                if size >= target:
                    break
        if victim:  # the replaced phrase must reach the main text, as in xxgktable_01
            at = rng.randint(1, len(out))
            out.insert(at, ("p", f"按照上级关于{victim}工作的部署要求，{self.paragraph(1)}"))
        closing = _GENRES[genre][1]
        if closing:
            out.append(("p", closing))
        return out


def _render_body(style: _BodyStyle, blocks: list[tuple[str, str]], sign: list[str]) -> tuple[str, str]:
    """(main text HTML, signature HTML) in the template's own paragraph markup."""
    nl = style.newline
    if style.mode == "block":
        body = "".join(
            f"{style.open_tag}{style.prefix}<strong>{t}</strong>{style.close_tag}{nl}"
            if kind == "h"
            else f"{style.open_tag}{style.prefix}{t}{style.close_tag}{nl}"
            for kind, t in blocks
        )
        return body, "".join(f"{style.right_open}{s}{style.close_tag}{nl}" for s in sign)
    lines = [f"{style.prefix}<b>{t}</b>" if kind == "h" else f"{style.prefix}{t}" for kind, t in blocks]
    lines += ["\u3000" * 20 + s for s in sign]
    if style.mode == "brp":
        return style.open_tag + f"{style.br}{nl}".join(lines) + style.close_tag, ""
    return "".join(f"{ln}{style.br}{nl}" for ln in lines), ""


def _hidden_links(rng: random.Random, terms: Sequence[str]) -> str:
    links = []
    for _ in range(rng.randint(4, 8)):
        host = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(rng.randint(3, 6)))
        host += str(rng.randint(8, 9999))
        text = rng.choice(terms) + rng.choice(("", "官网", "app下载", "娱乐场", "在线", "网址"))
        links.append(f'<a href="http://www.{host}.example/" target="_blank">{text}</a>')
    style = rng.choice(
        ("display:none", "position:absolute;left:-9999px;top:-9999px;overflow:hidden;", "visibility:hidden")
    )
    return f'<div style="{style}">{"".join(links)}</div>'


def _fake_pdf(label: str) -> bytes:
    """A tiny valid PDF (one page, one line of ASCII text)."""
    content = f"BT /F1 12 Tf 72 720 Td (gensite {label}) Tj ET".encode("ascii")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _fake_attachment(ext: str, label: str) -> bytes:
    if ext == "pdf":
        return _fake_pdf(label)
    return _ATTACHMENT_MAGIC.get(ext, b"") + f" fake .{ext} attachment {label}\n".encode("ascii")


class _Renderer:
    def __init__(
        self, templates: Sequence[_Template], pool: _TextPool, terms: Sequence[str], seed: int
    ) -> None:
        self.templates, self.pool, self.terms, self.seed = templates, pool, terms, seed

    def render(self, plan: _Plan) -> tuple[bytes, dict[str, bytes]]:
        """Page bytes and {file name: bytes} of the attachments it links."""
        tpl = self.templates[plan.template]
        rng = random.Random(f"{self.seed}:{plan.nid}:body")
        pub = plan.published
        written = pub - dt.timedelta(days=rng.randint(1, 12)) if tpl.shows_written else pub
        spam_kind = plan.spam_kind
        if spam_kind == "keyword" and not tpl.victims:
            spam_kind = "hidden"
        victim = rng.choice(tpl.victims) if spam_kind == "keyword" else None

        target = int(min(6000.0, max(300.0, rng.lognormvariate(7.0, 0.65))))
        blocks = _Composer(self.pool, rng, pub.year).blocks(target, plan.genre, victim)
        sign = [plan.org, f"{written.year}年{written.month}月{written.day}日"]
        body, sign_html = _render_body(tpl.style, blocks, sign)

        values: dict[str, str] = {
            "CHARSET": '<meta charset="gbk">' if plan.gbk else tpl.utf8_decl,
            "TITLE": plan.title,
            "TITLE_BR": plan.title.replace("关于", "<br />关于", 1) if "关于" in plan.title else plan.title,
            "PUBLISHER": plan.org,
            "BODY": body,
            "SIGN": sign_html,
            "HIDDEN": _hidden_links(rng, self.terms) if spam_kind == "hidden" else "",
        }
        if "BODYJSON" in tpl.parts:
            values["BODYJSON"] = json.dumps(body, ensure_ascii=False).replace("</", "<\\/")
        for key, day in (("PUB", pub), ("WRI", written)):
            for fmt, s in _date_formats(day).items():
                values[f"{key}_{fmt}"] = s
        if tpl.index_no:
            prefix, width, with_month = tpl.index_no
            period = f"{pub.year}{pub.month:02d}" if with_month else str(pub.year)
            values["INDEXNO"] = f"{prefix}{period}-{rng.randint(1, 10**width - 1):0{width}d}"
        if tpl.doc_no:
            values["DOCNO"] = f"{tpl.doc_no[0]}{pub.year}〕{rng.randint(1, 10 ** tpl.doc_no[1] * 3)}号"
        files: dict[str, bytes] = {}
        for i, ext in enumerate(tpl.attachment_exts):
            fname = f"P0{pub:%Y%m%d}{plan.nid:07d}{i}{rng.randint(0, 9999):04d}.{ext}"
            values[f"ATT{i}"] = f"./{fname}"
            files[fname] = _fake_attachment(ext, f"{plan.nid}-{i}")

        parts = tpl.parts
        html = "".join(parts[i] if i % 2 == 0 else values[parts[i]] for i in range(len(parts)))
        if victim:
            html = html.replace(victim, self._spam_phrase(rng))
        return html.encode("gb18030" if plan.gbk else "utf-8"), files

    def _spam_phrase(self, rng: random.Random) -> str:
        a, b = rng.sample(self.terms, 2)
        return rng.choice((f"{a},{b}", f"{a}app下载", f"188{a}", f"{a}官网"))


# --------------------------------------------------------------------------- site furniture


_PAGER_JS = """<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
	if(_nPageCount == null || _nPageCount<=1){
		return;
	}
	var nCurrIndex = _nCurrIndex || 0;
	document.write("共" + _nPageCount + "页&nbsp;&nbsp;");
	if(nCurrIndex == 0){
		document.write("首页&nbsp;上一页&nbsp;");
	}else{
		document.write("<a href=\\"" + _sPageName + "." + _sPageExt + "\\">首页</a>&nbsp;");
		if(nCurrIndex == 1){
			document.write("<a href=\\"" + _sPageName + "." + _sPageExt + "\\">上一页</a>&nbsp;");
		}else{
			document.write("<a href=\\"" + _sPageName + "_" + (nCurrIndex-1) + "." + _sPageExt + "\\">上一页</a>&nbsp;");
		}
	}
	if(nCurrIndex == (_nPageCount-1)){
		document.write("下一页&nbsp;尾页");
	}else{
		document.write("<a href=\\"" + _sPageName + "_" + (nCurrIndex+1) + "." + _sPageExt + "\\">下一页</a>&nbsp;");
		document.write("<a href=\\"" + _sPageName + "_" + (_nPageCount-1) + "." + _sPageExt + "\\">尾页</a>");
	}
}
</script>"""

_FOOTER = '<div class="footer"><p>主办：样本市人民政府办公室&nbsp;&nbsp;承办：样本市大数据中心</p><p>样本站点，仅用于本地抓取测试</p></div>'


def _list_name(i: int) -> str:
    return "index.html" if i == 0 else f"index_{i}.html"


def _noscript(total: int, cur: int) -> str:
    out = f"共{total}页&nbsp;"
    if cur == 0:
        out += "首页&nbsp;上一页&nbsp;"
    else:
        out += f'<a href="index.html">首页</a>&nbsp;<a href="{_list_name(cur - 1)}">上一页</a>&nbsp;'
    if cur >= total - 1:
        out += "下一页&nbsp;尾页"
    else:
        out += f'<a href="{_list_name(cur + 1)}">下一页</a>&nbsp;<a href="{_list_name(total - 1)}">尾页</a>'
    return out


def _nav(columns: Sequence[tuple[str, str, str]], current: str | None) -> str:
    items = ['<li><a href="/index.html">首页</a></li>']
    seen: dict[str, str] = {}
    for path, section, _ in columns:
        seen.setdefault(section, path)
    for section, path in seen.items():
        on = ' class="on"' if section == current else ""
        items.append(f'<li{on}><a href="/{path}/index.html">{section}</a></li>')
    return f'<div class="nav"><ul class="w1200">{"".join(items)}</ul></div>'


def _header() -> str:
    return (
        f'<div class="header"><div class="w1200"><a href="/index.html" class="logo">{SITE_NAME}</a>\n'
        '<div class="search"><form action="/search/search.html" method="get"><input type="text" '
        'name="searchword" placeholder="请输入关键字" /><input type="submit" value="搜索" /></form></div></div></div>'
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    """One line of a list page: a notice, an attachment or a missing page."""

    path: str
    title: str
    day: dt.date
    nid: int


def _short(title: str) -> str:
    return title if len(title) <= 29 else title[:29] + "..."


def _list_page(
    columns: Sequence[tuple[str, str, str]],
    col: int,
    entries: Sequence[_Entry],
    cur: int,
    total: int,
    rng: random.Random,
) -> str:
    path, section, name = columns[col]
    lis = []
    for e in entries:
        href = "./" + e.path[len(path) + 2 :] if rng.random() < 0.7 else e.path
        lis.append(
            f'<li><a href="{href}" title="{e.title}" target="_blank">{_short(e.title)}</a>'
            f"<span>{e.day.isoformat()}</span></li>"
        )
    on = ' class="on"'
    side = "".join(
        f'<li{on if p == path else ""}><a href="/{p}/index.html">{n}</a></li>'
        for p, s, n in columns
        if s == section
    )
    return "\n".join(
        [
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8" />',
            f"<title>{name}_{section}_{SITE_NAME}</title>",
            f'<meta name="SiteName" content="{SITE_NAME}" />',
            f'<meta name="ColumnName" content="{name}" />\n<meta name="ColumnType" content="{name}" />',
            '<link rel="stylesheet" href="/css/list.css" />',
            _PAGER_JS,
            "</head>\n<body>",
            _header(),
            _nav(columns, section),
            '<div class="w1200 main">',
            f'<div class="position">当前位置：<a href="/index.html">首页</a> &gt; <a href="/{path}/index.html">'
            f'{section}</a> &gt; <a href="/{path}/index.html">{name}</a></div>',
            f'<div class="left-col"><div class="side-tit">{section}</div><ul>{side}</ul></div>',
            '<div class="right-col">',
            f'<div class="list-tit">{name}</div>',
            '<ul class="list">',
            *lis,
            "</ul>",
            '<div class="page">',
            f'<script type="text/javascript">createPageHTML({total}, {cur}, "index", "html");</script>',
            f"<noscript>{_noscript(total, cur)}</noscript>",
            "</div>\n</div>\n</div>",
            _FOOTER,
            "</body>\n</html>\n",
        ]
    )


def _home_page(columns: Sequence[tuple[str, str, str]], latest: Sequence[Sequence[_Entry]]) -> str:
    boxes = []
    for (path, _, name), entries in zip(columns, latest, strict=True):
        lis = "".join(
            f'<li><a href="{e.path}" title="{e.title}">{_short(e.title)}</a><span>{e.day:%m-%d}</span></li>'
            for e in entries
        )
        boxes.append(
            f'<div class="box"><div class="box-tit">{name}<a href="/{path}/index.html" class="more">更多&gt;&gt;</a>'
            f"</div><ul>{lis}</ul></div>"
        )
    return "\n".join(
        [
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8" />',
            f"<title>{SITE_NAME}</title>\n</head>\n<body>",
            _header(),
            _nav(columns, None),
            *boxes,
            _FOOTER,
            "</body>\n</html>\n",
        ]
    )


_SEARCH_PAGE = (
    '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8" />\n<title>站内搜索</title>\n</head>\n'
    "<body><p>搜索服务（robots.txt 禁止抓取）</p></body>\n</html>\n"
)


def _sitemap(urls: Sequence[tuple[str, dt.date]], base_url: str) -> str:
    items = "".join(
        f"  <url>\n    <loc>{base_url}{p}</loc>\n    <lastmod>{d.isoformat()}</lastmod>\n  </url>\n"
        for p, d in urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{items}</urlset>\n'
    )


def _sitemap_index(names: Sequence[tuple[str, dt.date]], base_url: str) -> str:
    items = "".join(
        f"  <sitemap>\n    <loc>{base_url}/{n}</loc>\n    <lastmod>{d.isoformat()}</lastmod>\n  </sitemap>\n"
        for n, d in names
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{items}</sitemapindex>\n'
    )


# --------------------------------------------------------------------------- entry point


def load_templates(dirs: Sequence[Path] = TEMPLATE_DIRS) -> list[_Template]:
    """Every fixture notice page, turned into a template (raises if one cannot be)."""
    return [
        _load_template(html, gold) for html, gold in _gold_files(dirs) if html.stem not in EXCLUDED_TEMPLATES
    ]


def _write(path: Path, data: bytes | str, made: set[Path]) -> None:
    parent = path.parent
    if parent not in made:
        parent.mkdir(parents=True, exist_ok=True)
        made.add(parent)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def generate_site(
    out: Path,
    pages: int,
    *,
    seed: int = 1,
    gbk_share: float = 0.1,
    spam_share: float = 0.03,
    per_list: int = 20,
    columns: int = 3,
    base_url: str = "http://127.0.0.1:8000",
) -> SiteManifest:
    """Write a synthetic site of ``pages`` notice pages under ``out`` (which must be empty)."""
    if pages < 1:
        raise ValueError("pages must be at least 1")
    if not 1 <= columns <= len(COLUMNS):
        raise ValueError(f"columns must be between 1 and {len(COLUMNS)}")
    if per_list < 1:
        raise ValueError("per_list must be at least 1")
    if not (0 <= gbk_share <= 1 and 0 <= spam_share <= 1):
        raise ValueError("gbk_share and spam_share must be between 0 and 1")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    base_url = base_url.rstrip("/")
    cols = COLUMNS[:columns]

    golds = _gold_files(TEMPLATE_DIRS)
    templates = load_templates()
    terms = _spam_terms()
    spam_rx = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    pool = _build_pool((g for _, g in golds), spam_rx)
    rng = random.Random(f"gensite:{seed}:{pages}:{columns}")

    n_att = 1 + pages // 200
    n_missing = max(1, round(pages * MISSING_SHARE))
    ids = rng.sample(range(1_000_000, 10_000_000), pages + n_att + n_missing)
    span = (LAST_DAY - FIRST_DAY).days + 1
    gbk_set = set(rng.sample(range(pages), round(pages * gbk_share)))
    # Spam pages alternate between a replaced phrase and a hidden link block.
    spam_kinds: dict[int, Literal["keyword", "hidden"]] = {
        i: "keyword" if n % 2 == 0 else "hidden"
        for n, i in enumerate(sorted(rng.sample(range(pages), round(pages * spam_share))))
    }

    plans: list[_Plan] = []
    for i in range(pages):
        nid = ids[i]
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(span))
        col = rng.randrange(columns)
        prng = random.Random(f"{seed}:{nid}:title")
        title, org, genre = _make_title(prng, day)
        path = f"/{cols[col][0]}/{day:%Y%m}/t{day:%Y%m%d}_{nid}.html"
        tpl = i % len(templates) if i < len(templates) else rng.randrange(len(templates))
        plans.append(_Plan(path, nid, col, day, tpl, i in gbk_set, spam_kinds.get(i), title, org, genre))

    extra_entries: list[tuple[int, _Entry]] = []
    attachments: list[str] = []
    missing: list[str] = []
    made: set[Path] = set()
    for k in range(n_att + n_missing):
        nid = ids[pages + k]
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(span))
        col = rng.randrange(columns)
        if k < n_att:
            path = f"/{cols[col][0]}/{day:%Y%m}/P0{day:%Y%m%d}{nid:07d}{k % 100000:05d}.pdf"
            title = f"{day.year}年{rng.choice(_PDF_LIST_TITLES)}"
            attachments.append(path)
            _write(out / path.lstrip("/"), _fake_pdf(str(nid)), made)
        else:
            path = f"/{cols[col][0]}/{day:%Y%m}/t{day:%Y%m%d}_{nid}.html"
            title = _make_title(random.Random(f"{seed}:{nid}:title"), day)[0]
            missing.append(path)
        extra_entries.append((col, _Entry(path, title, day, nid)))

    # Notice pages, one at a time.
    renderer = _Renderer(templates, pool, terms, seed)
    notices: dict[str, NoticeEntry] = {}
    for plan in plans:
        body, files = renderer.render(plan)
        target = out / plan.path.lstrip("/")
        _write(target, body, made)
        for fname, data in files.items():
            _write(target.parent / fname, data, made)
            attachments.append(f"{plan.path.rsplit('/', 1)[0]}/{fname}")
        notices[plan.path] = NoticeEntry(
            title=plan.title,
            published_date=plan.published.isoformat(),
            encoding="gb18030" if plan.gbk else "utf-8",
            spam=plan.spam_kind is not None,
            template=templates[plan.template].name,
        )

    # List pages per column, newest first.
    per_col: list[list[_Entry]] = [[] for _ in cols]
    for plan in plans:
        per_col[plan.column].append(_Entry(plan.path, plan.title, plan.published, plan.nid))
    for col, entry in extra_entries:
        per_col[col].append(entry)
    list_pages: list[str] = []
    lrng = random.Random(f"gensite:{seed}:lists")
    for col, entries in enumerate(per_col):
        entries.sort(key=lambda e: (e.day, e.nid), reverse=True)
        total = max(1, -(-len(entries) // per_list))
        for cur in range(total):
            chunk = entries[cur * per_list : (cur + 1) * per_list]
            lpath = f"/{cols[col][0]}/{_list_name(cur)}"
            _write(out / lpath.lstrip("/"), _list_page(cols, col, chunk, cur, total, lrng), made)
            list_pages.append(lpath)

    latest = [[e for e in entries if e.path in notices][:6] for entries in per_col]
    _write(out / "index.html", _home_page(cols, latest), made)
    _write(out / "search" / "search.html", _SEARCH_PAGE, made)

    urls = sorted(((p.path, p.published) for p in plans), key=lambda u: (u[1], u[0]), reverse=True)
    sitemaps: list[tuple[str, dt.date]] = []
    for n, start in enumerate(range(0, len(urls), SITEMAP_MAX_URLS), 1):
        block = urls[start : start + SITEMAP_MAX_URLS]
        _write(out / f"sitemap_{n}.xml", _sitemap(block, base_url), made)
        sitemaps.append((f"sitemap_{n}.xml", max(d for _, d in block)))
    _write(out / "sitemap.xml", _sitemap_index(sitemaps, base_url), made)
    _write(
        out / "robots.txt", f"User-agent: *\nDisallow: /search/\n\nSitemap: {base_url}/sitemap.xml\n", made
    )

    manifest = SiteManifest(
        seed=seed,
        pages=pages,
        base_url=base_url,
        start_urls=[f"/{c[0]}/index.html" for c in cols],
        notices=dict(sorted(notices.items())),
        attachments=sorted(attachments),
        missing=sorted(missing),
        list_pages=sorted(list_pages),
        sitemaps=[f"/{n}" for n, _ in sitemaps],
    )
    text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1, sort_keys=True)
    _write(out / "MANIFEST.json", text + "\n", made)
    log.info("wrote %d notice pages to %s", pages, out)
    return manifest


def write_warc(site_dir: Path, archive_dir: Path, *, prefix: str = "gen", max_bytes: int = 1024**3) -> int:
    """Archive every notice page of a generated site as if crawled: WARC response + request records
    (with the site's Content-Type, fetch times spread deterministically), indexed. Returns pages."""
    import datetime as dt

    from pipeline.archive import Archive, Exchange

    manifest = SiteManifest.load(site_dir / "MANIFEST.json")
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    n = 0
    with Archive.open(archive_dir, prefix=prefix, max_bytes=max_bytes) as archive:
        for i, (path, entry) in enumerate(sorted(manifest.notices.items())):
            body = (site_dir / path.lstrip("/")).read_bytes()
            charset = "gbk" if entry.encoding == "gb18030" else "utf-8"
            archive.write(
                Exchange(
                    url=manifest.base_url + path,
                    kind="notice",
                    request_headers=[("Host", manifest.base_url.split("//", 1)[1])],
                    status=200,
                    reason="OK",
                    response_headers=[("Content-Type", f"text/html; charset={charset}")],
                    body=body,
                    fetched_at=base + dt.timedelta(seconds=i),
                )
            )
            n += 1
    return n


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--pages", type=int, default=5000, help="number of notice pages")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True, help="web root to write (must be empty)")
    ap.add_argument("--gbk-share", type=float, default=0.1)
    ap.add_argument("--spam-share", type=float, default=0.03)
    ap.add_argument("--per-list", type=int, default=20)
    ap.add_argument("--columns", type=int, default=3)
    ap.add_argument("--base-url", default="http://127.0.0.1:8000")
    ap.add_argument(
        "--force", action="store_true", help="replace --out if it holds an earlier generated site"
    )
    args = ap.parse_args(argv)
    if args.force and (args.out / "MANIFEST.json").is_file():
        shutil.rmtree(args.out)
    t0 = time.perf_counter()
    try:
        m = generate_site(
            args.out,
            args.pages,
            seed=args.seed,
            gbk_share=args.gbk_share,
            spam_share=args.spam_share,
            per_list=args.per_list,
            columns=args.columns,
            base_url=args.base_url,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    took = time.perf_counter() - t0
    gbk = sum(n.encoding != "utf-8" for n in m.notices.values())
    spam = sum(n.spam for n in m.notices.values())
    print(
        f"{len(m.notices):,} notices ({gbk:,} gb18030, {spam:,} spam), {len(m.list_pages):,} list pages, "
        f"{len(m.attachments):,} attachments, {len(m.missing):,} missing links → {args.out} in {took:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

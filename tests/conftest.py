"""Shared test helpers: the project's own fixtures (never ../shared)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.record import extract_notice
from pipeline.settings import Settings
from schemas.record import NoticeRecord
from schemas.stages import CleanDocument, DecodedPage, FetchResult

# Prefect (imported by the flow tests) gets a home of its own per test session, and never
# calls out; these must be set before anything imports prefect.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="notices-prefect-home-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CORPUS_PAGES = FIXTURES / "corpus" / "pages"
EXTRA_PAGES = FIXTURES / "extra" / "pages"


@dataclass
class GoldPage:
    name: str
    html: Path
    gold: dict[str, Any]

    def fetch(self) -> FetchResult:
        return FetchResult.from_file_bytes(
            self.html.read_bytes(), url=self.gold["url"], content_type=self.gold.get("content_type_header")
        )

    def record(self) -> NoticeRecord:
        return extract_notice(self.fetch(), Settings())


def gold_pages(folder: Path) -> list[GoldPage]:
    out = []
    for g in sorted(folder.glob("*.gold.json")):
        stem = g.name[: -len(".gold.json")]
        out.append(GoldPage(stem, g.with_name(stem + ".html"), json.loads(g.read_text(encoding="utf-8"))))
    return out


CORPUS = gold_pages(CORPUS_PAGES)
EXTRA = gold_pages(EXTRA_PAGES) if EXTRA_PAGES.is_dir() else []


def page(html: str, url: str = "http://www.example.gov.cn/zwgk/202401/t20240105_1.html") -> FetchResult:
    """A page written in a test, sent as UTF-8."""
    return FetchResult.from_file_bytes(html.encode("utf-8"), url=url, content_type="text/html; charset=utf-8")


def decoded(html: str, url: str = "http://www.example.gov.cn/a.html") -> DecodedPage:
    from pipeline.decode import decode_body

    return decode_body(page(html, url))


def cleaned(html: str, url: str = "http://www.example.gov.cn/a.html") -> CleanDocument:
    from pipeline.clean import strip_boilerplate

    return strip_boilerplate(decoded(html, url))


def article(body: str, *, head: str = "", around: bool = True) -> str:
    """A notice page template: furniture around ``body`` (which goes in the article block)."""
    nav = (
        '<div class="nav"><a href="/">首页</a><a href="/zwgk/">政务公开</a><a href="/zwfw/">政务服务</a>'
        '<a href="/hdjl/">互动交流</a></div><div class="position">当前位置：<a href="/">首页</a> &gt; '
        '<a href="/zwgk/">政务公开</a></div>'
        if around
        else ""
    )
    foot = (
        '<div class="share">分享到：</div><div class="ewm"><p>扫一扫在手机上查看当前页面</p></div>'
        '<div class="footer"><p>主办：某某市人民政府办公室 承办：某某市大数据中心</p>'
        "<p>京ICP备12345678号 京公网安备11010502000001号 网站标识码：1100000001</p></div>"
        if around
        else ""
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>测试通知_某某市人民政府</title>{head}</head>"
        f"<body>{nav}<div class='main'><div class='article'>{body}</div></div>{foot}</body></html>"
    )


@pytest.fixture
def settings() -> Settings:
    return Settings()


def artifact_run(key: str) -> tuple[str, Any, list[Any]]:
    """From the Prefect API in use: the data of the artifact ``key``, the flow run that made it
    and that run's task runs (flow tests check what the server recorded)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
        assert artifacts, f"no artifact {key!r}"
        runs = FlowRunFilter(id=FlowRunFilterId(any_=[artifacts[0].flow_run_id]))
        flow_runs = client.read_flow_runs(flow_run_filter=runs)
        tasks = client.read_task_runs(flow_run_filter=runs)
    return str(artifacts[0].data), flow_runs[0], tasks

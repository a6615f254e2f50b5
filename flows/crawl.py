"""Prefect flow ``crawl-site``: wiring only; the steps live in ``pipeline.crawl.Crawler``.

Task granularity follows ../shared/PREFECT.md: one task for recovery, one for discovery, and
one per batch of ``batch_size`` pages (default 200) for fetching and for extraction, never
one per page. ``Crawler.steps()`` plans the run; each step becomes a task run named after
it. A step is a bound method of the run's Crawler (its session, host gates, archive writer
and store), so ``NO_CACHE``: nothing is hashed, nothing is persisted. Per-page
failures are data in the store and the summary; no task fails because a page did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import get_args

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipeline.crawl import Crawler, ProgressHook, StepName
from pipeline.settings import Settings
from schemas.crawl import CrawlSummary
from schemas.site import SiteConfig

__all__ = ["crawl_site", "progress_to"]

_progress: ProgressHook | None = None


@contextmanager
def progress_to(hook: ProgressHook | None) -> Iterator[None]:
    """Send the crawl's progress events to ``hook`` while the block runs (the CLI's bar)."""
    global _progress
    previous, _progress = _progress, hook
    try:
        yield
    finally:
        _progress = previous


def _step_task(name: StepName) -> Task[[Callable[[], object]], object]:
    def run_step(step: Callable[[], object]) -> object:
        return step()

    return task(name=name, cache_policy=NO_CACHE)(run_step)


TASKS: dict[StepName, Task[[Callable[[], object]], object]] = {
    name: _step_task(name) for name in get_args(StepName)
}


@flow(name="crawl-site", log_prints=False)
def crawl_site(
    site: SiteConfig,
    db: str = "data/notices.sqlite",
    archive: str = "data/warc",
    delay: float | None = None,
    refresh: bool = False,
    max_pages: int | None = None,
) -> CrawlSummary:
    """Discover, fetch, archive, extract and store one site's notices; returns the run summary."""
    settings = Settings()
    logger = get_run_logger()
    with Crawler(
        site,
        settings,
        db=Path(db),
        archive_dir=Path(archive),
        delay=delay,
        refresh=refresh,
        max_pages=max_pages,
        progress=_progress,
    ) as crawler:
        for name, step in crawler.steps():
            TASKS[name](step)
        summary = crawler.finish()
    logger.info(
        "crawl of %s: %d found, %d fetched, %d unchanged, %d failed, %d new records, %d new versions",
        site.name, summary.found, summary.fetched, summary.unchanged, summary.failed_total,
        summary.new_records, summary.new_versions,
    )  # fmt: skip
    create_markdown_artifact(
        summary.markdown(), key=f"crawl-{_slug(site.name)}", description="Crawl run summary"
    )
    return summary


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "site"

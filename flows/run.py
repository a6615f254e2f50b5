"""Running the crawl flow from the command line: with a Prefect server when ``PREFECT_API_URL``
is set, else in Prefect's local ephemeral mode (no server needed)."""

from __future__ import annotations

from pathlib import Path

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.crawl import crawl_site, progress_to
from pipeline.crawl import ProgressHook
from schemas.crawl import CrawlSummary
from schemas.site import SiteConfig

__all__ = ["run_crawl"]


def run_crawl(
    site: SiteConfig,
    *,
    db: Path,
    archive: Path,
    delay: float | None = None,
    refresh: bool = False,
    max_pages: int | None = None,
    progress: ProgressHook | None = None,
) -> CrawlSummary:
    """One crawl-site flow run in this process.

    The flow-run heartbeat is switched off here: it costs ~1.1 s per flow call and only
    serves to detect crashed runs of deployments, which ``serve-schedules`` runs keep.
    """
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), progress_to(progress):
        return crawl_site(
            site, db=str(db), archive=str(archive), delay=delay, refresh=refresh, max_pages=max_pages
        )

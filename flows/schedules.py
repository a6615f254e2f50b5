"""Scheduled crawls: one Prefect deployment per configured site (``sites/*.yaml`` with a
``schedule``), served by this process against a Prefect server.

Schedules need a server (``prefect server start``; Prefect's ephemeral mode refuses them), so
``serve_schedules`` insists on ``PREFECT_API_URL``. ``prefect.serve`` pauses its deployments
when the process stops.
"""

from __future__ import annotations

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.settings import PREFECT_API_URL

from flows.crawl import crawl_site
from pipeline.errors import PipelineError
from schemas.site import SiteConfig

__all__ = ["deployments", "serve_schedules"]


def deployments(sites: list[SiteConfig], *, db: str, archive: str) -> list[RunnerDeployment]:
    """A deployment of ``crawl-site`` per site that has a schedule (cron, in the site's time zone)."""
    out: list[RunnerDeployment] = []
    for site in sites:
        if not site.schedule:
            continue
        deployment = crawl_site.to_deployment(
            name=site.name,
            schedules=[Cron(site.schedule, timezone=site.timezone)],
            parameters={"site": site.model_dump(mode="json"), "db": db, "archive": archive},
            description=f"Crawl {', '.join(site.start_urls)}",
            tags=["crawl", site.name],
        )
        assert isinstance(deployment, RunnerDeployment)  # sync context: not a coroutine
        out.append(deployment)
    return out


def serve_schedules(sites: list[SiteConfig], *, db: str, archive: str) -> None:
    """Register the schedules with the Prefect server and run their flow runs until stopped."""
    if not PREFECT_API_URL.value():  # from the environment or the active Prefect profile
        raise PipelineError(
            "schedules need a Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api",
            stage="schedule",
        )
    found = deployments(sites, db=db, archive=archive)
    if not found:
        raise PipelineError("no site configuration has a `schedule`", stage="schedule")
    serve(*found)

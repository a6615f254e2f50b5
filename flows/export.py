"""Prefect flow ``export-feed``: wiring only; the export lives in ``pipeline.export``.

One coarse task (the whole export: reading the store and writing every file is one atomic
unit, so splitting it would only add task runs and a way to half-finish), ``NO_CACHE``
because its result depends on the database, not on its arguments. The flow publishes the
summary as a Markdown artifact (``export-feed``). Schedule it after each crawl; a rerun is
safe because an export with nothing new writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from pipeline.export import FORMATS, ExportFormat, ExportSummary, export_feed

__all__ = ["export_feed_flow", "run_export"]


@task(name="export", cache_policy=NO_CACHE)
def export_task(
    db: str, out: str, formats: list[ExportFormat], since: int | None, include_suspect: bool
) -> ExportSummary:
    return export_feed(db, out, formats=formats, since=since, include_suspect=include_suspect)


@flow(name="export-feed", log_prints=False)
def export_feed_flow(
    db: str = "data/notices.sqlite",
    out: str = "data/export",
    formats: list[ExportFormat] | None = None,
    since: int | None = None,
    include_suspect: bool = False,
) -> ExportSummary:
    """Export what changed since the previous export (or ``since``) as open-data files."""
    logger = get_run_logger()
    summary = export_task(db, out, formats or list(FORMATS), since, include_suspect)
    logger.info(
        "export %d → %d: %d notices, %d section rows, %d suspect held out, %d rejected, folder %s",
        summary.cursor_from, summary.cursor_to, summary.notices, summary.sections, summary.held_suspect,
        len(summary.rejected), summary.folder or "(nothing new)",
    )  # fmt: skip
    create_markdown_artifact(summary.markdown(), key="export-feed", description="Export summary")
    return summary


def run_export(
    *,
    db: Path,
    out: Path,
    formats: list[ExportFormat] | None = None,
    since: int | None = None,
    include_suspect: bool = False,
) -> ExportSummary:
    """One export-feed flow run in this process, with the flow-run heartbeat off (as ``run_crawl``)."""
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return export_feed_flow(
            db=str(db), out=str(out), formats=formats, since=since, include_suspect=include_suspect
        )

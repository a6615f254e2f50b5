"""Prefect flow ``reprocess-archive``: one task per chunk of archived pages, the store written by
the flow alone. With ``dask_address`` the chunks run on an existing Dask cluster through
prefect-dask's DaskTaskRunner (workers need the project installed, read access to the archive
and ``PREFECT_API_URL`` of a real Prefect server: Dask with Prefect's ephemeral mode is
broken, ../shared/PREFECT.md); without it the local process pool of
``pipeline.reprocess.reprocess`` does the work.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed

from pipeline.archive import Archive
from pipeline.crawl import extractor_version
from pipeline.reprocess import Job, Outcome, ReprocessSummary, archived_notices, chunks, process_chunk
from pipeline.store import SqliteStore

__all__ = ["reprocess_archive", "run_on_dask"]


@task(name="extract-chunk", cache_policy=NO_CACHE)
def extract_chunk(archive: str, jobs: list[Job]) -> list[Outcome]:
    return process_chunk(archive, jobs)


@flow(name="reprocess-archive")
def reprocess_archive(archive: str, db: str, chunk_size: int = 200) -> ReprocessSummary:
    """Re-extract every archived notice, one task per chunk; store what changed."""
    from pipeline.reprocess import store_results

    jobs = archived_notices(Archive(archive))
    summary = ReprocessSummary(extractor_version=extractor_version(), pages=len(jobs))
    futures: list[PrefectFuture[list[Outcome]]] = [
        extract_chunk.submit(archive, chunk) for chunk in chunks(jobs, chunk_size)
    ]
    with SqliteStore(db) as store:
        store_results(store, (f.result() for f in as_completed(futures)), summary)
    return summary


def run_on_dask(archive: str, db: str, address: str, chunk_size: int = 200) -> ReprocessSummary:
    """The flow with its chunks on the Dask cluster at ``address`` (tcp://host:8786)."""
    from prefect_dask.task_runners import DaskTaskRunner

    runner = DaskTaskRunner(address=address)
    return reprocess_archive.with_options(task_runner=runner)(archive, db, chunk_size)  # type: ignore[arg-type]

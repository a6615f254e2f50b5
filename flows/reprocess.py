"""Prefect flow ``reprocess-archive``: one task per chunk of archived pages, the store written by
the flow alone. With ``dask_address`` the chunks run on an existing Dask cluster through
prefect-dask's DaskTaskRunner (workers need the project installed, read access to the archive
and ``PREFECT_API_URL`` of a real Prefect server: Dask with Prefect's ephemeral mode is
broken, ../shared/PREFECT.md); without it the local process pool of
``pipeline.reprocess.reprocess`` does the work.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import Future

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipeline.crawl import extractor_version
from pipeline.reprocess import (
    Job,
    Outcome,
    ReprocessSummary,
    archived_notices,
    bounded,
    chunk_size_for,
    chunks,
    process_chunk,
    store_results,
    warm_worker,
)
from pipeline.store import SqliteStore

__all__ = ["PROFILER_WARNING", "reprocess_archive", "run_on_dask", "workers_profiling"]

log = logging.getLogger(__name__)

PROFILER_WARNING = (
    "%d of %d Dask workers run Dask's statistical profiler: each keeps up to 1,000 one-second "
    "profiles (~100 MiB more per worker over a 17-minute run, measured); start the workers with "
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False for flat memory"
)


def workers_profiling(client: object) -> tuple[int, int]:
    """(workers with Dask's profiler on, workers) of the cluster behind a distributed Client.
    Asks with ``dask.config.get`` itself: a function of this module would make every worker
    import Prefect before answering (~1.7 s, measured)."""
    import dask.config

    answers = client.run(dask.config.get, "distributed.worker.profile.enabled")  # type: ignore[attr-defined]
    return sum(1 for on in answers.values() if on), len(answers)


@task(name="extract-chunk", cache_policy=NO_CACHE)
def extract_chunk(archive: str, jobs: list[Job]) -> list[Outcome]:
    return process_chunk(archive, jobs)


@flow(name="reprocess-archive")
def reprocess_archive(
    archive: str,
    db: str,
    chunk_size: int | None = None,
    since: dt.datetime | None = None,
    window: int = 8,
) -> ReprocessSummary:
    """Re-extract every archived notice, one task per chunk, at most ``window`` chunks in flight;
    the flow itself is the store's single writer. ``archive`` is a folder or an fsspec URL that
    every worker can read."""
    started = time.perf_counter()
    jobs = archived_notices(archive, since)
    summary = ReprocessSummary(extractor_version=extractor_version(), pages=len(jobs))
    chunk_size = chunk_size or chunk_size_for(len(jobs), window // 2)

    def submit(chunk: list[Job]) -> Future[list[Outcome]]:
        return extract_chunk.submit(archive, chunk)  # type: ignore[return-value]  # PrefectFuture.result()

    with SqliteStore(db) as store:
        store_results(store, bounded(submit, chunks(jobs, chunk_size), window), summary)
    summary.seconds = round(time.perf_counter() - started, 2)
    create_markdown_artifact(summary.markdown(), key="reprocess-summary", description="Re-processing summary")
    return summary


def run_on_dask(
    archive: str, db: str, address: str, chunk_size: int | None = None, since: dt.datetime | None = None
) -> ReprocessSummary:
    """The flow with its chunks on the Dask cluster at ``address`` (tcp://host:8786): twice as
    many chunks in flight as the cluster has worker threads."""
    from distributed import Client
    from prefect_dask.task_runners import DaskTaskRunner

    with Client(address, timeout=30) as client:  # type: ignore[no-untyped-call]
        slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()) or 1
        profiling, workers = workers_profiling(client)
        # workers import Prefect and build their spaCy pipeline while the flow run starts here
        client.run(warm_worker, (__name__,), wait=False)
    if profiling:
        log.warning(PROFILER_WARNING, profiling, workers)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    runner = DaskTaskRunner(address=address)
    # no flow-run heartbeat (~1.1 s per call, flows/run.py): this run is not a deployment's
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return reprocess_archive.with_options(task_runner=runner)(  # type: ignore[arg-type]
            archive, db, chunk_size, since, 2 * slots
        )

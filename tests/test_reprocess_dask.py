"""Re-processing on a real Dask cluster (distributed.LocalCluster, 2 worker processes on
127.0.0.1) with a real Prefect server (the test harness's, on 127.0.0.1): the same records as
the local process pool."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.reprocess import reprocess
from pipeline.settings import Settings
from pipeline.store import SqliteStore
from tests.conftest import artifact_run
from tests.test_reprocess import crawled  # noqa: F401 - the module-scoped crawl fixture


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = str(PREFECT_API_URL.value())
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url  # Dask worker processes inherit it
        try:
            yield url
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous


def _local_cluster(workers: int, *, profiler: bool = True) -> Any:
    """A real Dask cluster on 127.0.0.1: worker processes of one thread, dashboard on a free port,
    Dask's worker profiler on (its default) or off; the workers take the setting as they start."""
    from dask import config as dask_config
    from distributed import LocalCluster

    with dask_config.set({"distributed.worker.profile.enabled": profiler}):
        return LocalCluster(
            n_workers=workers,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )


def test_dask_cluster_gives_the_same_records_as_the_local_pool(
    crawled: Path,  # noqa: F811
    prefect_api: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flows.reprocess import run_on_dask

    local, dask = tmp_path / "local", tmp_path / "dask"
    shutil.copytree(crawled, local)
    shutil.copytree(crawled, dask)
    with SqliteStore(local / "db.sqlite") as store:
        expected = reprocess(local / "warc", store, Settings(), workers=2, chunk_size=4)
        local_records = {r.id: r for r in store.records()}
    with _local_cluster(2, profiler=False) as cluster:  # as the README advises
        summary = run_on_dask(
            str(dask / "warc"), str(dask / "db.sqlite"), cluster.scheduler_address, chunk_size=4
        )
    assert "profiler" not in caplog.text  # the workers got the setting: no warning
    with SqliteStore(dask / "db.sqlite") as store:
        dask_records = {r.id: r for r in store.records()}
    assert summary.pages == expected.pages > 0
    assert (summary.unchanged, summary.new_versions, summary.failed) == (expected.pages, 0, {})
    assert dask_records == local_records
    # the run is recorded by the Prefect server: one task run per chunk, and the summary artifact
    data, _, tasks = artifact_run("reprocess-summary")
    assert "archived notices" in data
    assert len(tasks) == -(-summary.pages // 4)  # chunks of 4 pages
    assert all(t.state is not None and t.state.is_completed() for t in tasks)


def test_workers_running_the_dask_profiler_are_reported() -> None:
    """Dask's profiler keeps up to 1,000 one-second profiles per worker (memory that grows with
    the run's length): run_on_dask warns when the cluster's workers have it on (the default)."""
    from distributed import Client

    from flows.reprocess import workers_profiling

    with _local_cluster(1) as cluster, Client(cluster) as client:
        assert workers_profiling(client) == (1, 1)


def test_workers_warm_up_in_the_background() -> None:
    """Asking the workers whether they profile does not make them import Prefect (that took
    ~1.7 s before the answer); warm_worker then imports what it is given and builds the spaCy
    pipeline in a thread of each worker, the client's call returning at once."""
    from distributed import Client

    from flows.reprocess import workers_profiling
    from pipeline.reprocess import warm_worker

    def state() -> tuple[list[str], bool]:  # in the worker (a local function: pickled by value)
        import sys

        from pipeline import reprocess

        return sorted(reprocess._worker), "prefect" in sys.modules

    with _local_cluster(1, profiler=False) as cluster, Client(cluster) as client:
        assert workers_profiling(client) == (0, 1)
        assert list(client.run(state).values()) == [([], False)]
        client.run(warm_worker, ("flows.reprocess",), wait=False)
        deadline = time.monotonic() + 120
        while (answer := next(iter(client.run(state).values()))) != (["nlp", "settings"], True):
            assert time.monotonic() < deadline, answer
            time.sleep(0.2)

"""The Prefect flow for real: one session-scoped Prefect test server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.sites import load_site
from pipeline.siteserver import SiteServer, serve_site
from schemas.site import SiteConfig
from tests.conftest import FIXTURES, artifact_run

SITE = FIXTURES / "corpus" / "site"
MANIFEST = json.loads((SITE / "MANIFEST.json").read_text(encoding="utf-8"))
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def server() -> Iterator[SiteServer]:
    with serve_site(SITE, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        yield srv


def test_crawl_site_flow_runs_batches_as_tasks_and_publishes_a_summary(
    prefect_server: None, server: SiteServer, tmp_path: Path
) -> None:
    from flows.run import run_crawl

    site = SiteConfig(name="flow-mini", start_urls=[server.base_url + MANIFEST["start_url"]],
                      allow_private_addresses=True)  # fmt: skip
    events: list[tuple[str, int]] = []
    summary = run_crawl(
        site,
        db=tmp_path / "db.sqlite",
        archive=tmp_path / "warc",
        delay=0.0,
        progress=lambda e, n: events.append((e, n)),
    )
    assert summary.new_records == len(MANIFEST["notices"])
    assert summary.failed == {"not_found": len(MANIFEST["expected_404"])}
    assert sum(n for e, n in events if e == "extracted") == len(MANIFEST["notices"])
    data, flow_run, tasks = artifact_run("crawl-flow-mini")
    assert "new records" in data
    assert flow_run.state is not None and flow_run.state.is_completed()
    names = sorted(t.name.rsplit("-", 1)[0] for t in tasks)
    # one task per step and per batch, never one per page
    assert names.count("recover") == 1 and names.count("discover") == 1
    assert 1 <= names.count("fetch-batch") <= 2 and names.count("extract-batch") >= 1
    assert len(tasks) < len(MANIFEST["notices"])


def test_site_schedules_become_deployments_on_the_server(prefect_server: None, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    from flows.schedules import deployments

    site = load_site(ROOT / "sites" / "mini-site.yaml")
    unscheduled = site.model_copy(update={"name": "no-schedule", "schedule": None})
    made = deployments([site, unscheduled], db=str(tmp_path / "db.sqlite"), archive=str(tmp_path / "warc"))
    assert [d.name for d in made] == ["mini-site"]
    deployment_id = made[0].apply()
    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
    assert stored.parameters["site"]["start_urls"] == site.start_urls
    assert len(stored.schedules) == 1
    schedule = stored.schedules[0].schedule
    assert getattr(schedule, "cron", None) == site.schedule
    assert getattr(schedule, "timezone", None) == "Asia/Shanghai"


def test_serve_schedules_refuses_to_run_without_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.schedules import serve_schedules
    from pipeline.errors import PipelineError

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with (
        temporary_settings(restore_defaults={PREFECT_API_URL}),
        pytest.raises(PipelineError, match="server start"),
    ):
        serve_schedules([load_site(ROOT / "sites" / "mini-site.yaml")], db="x", archive="y")


def test_bare_loopback_url_without_permission_is_refused_and_recorded(
    prefect_server: None, server: SiteServer, tmp_path: Path
) -> None:
    from flows.run import run_crawl
    from pipeline.sites import site_for_urls

    site = site_for_urls([server.base_url + MANIFEST["start_url"]])  # no --allow-private-addresses
    summary = run_crawl(site, db=tmp_path / "db.sqlite", archive=tmp_path / "warc")
    assert summary.failed == {"blocked_address": 1}
    assert server.requests == []

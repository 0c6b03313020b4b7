"""New files for days a queued run already covers are left to that run: live telemetry landing
every few seconds must not queue one run per sensor tick."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from ingestion.landing import LandingZone
from ingestion.simulator import PlantConfig, simulate
from orchestration.pipeline import RANGE_END_TAG, RANGE_START_TAG
from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 1, 5)
DAYS = 3


@pytest.fixture
def landed(tmp_path):
    configure(home=tmp_path, timezone="Asia/Taipei", partition_start="2025-01-01")
    sim = simulate(PlantConfig(seed=3, start_date=START, days=DAYS))
    zone = LandingZone(tmp_path)
    for kind in ("sites", "meters", "equipment", "readings", "production", "factors"):
        zone.write(kind, getattr(sim, kind))


# Where a queued run would be launched from (Dagster insists a queued run has one).
_ORIGIN = RemoteJobOrigin(
    RemoteRepositoryOrigin(
        InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="orchestration.definitions")),
        "__repository__",
    ),
    "wattprint_pipeline",
)


def _tick_with_run(status: dg.DagsterRunStatus | None, first: str, last: str):
    from orchestration.defs.landing.sensors import landing_sensor

    with dg.instance_for_test() as instance:
        if status is not None:
            # stored as the daemon's queue would hold it (no code location needed to read it)
            instance.add_run(
                DagsterRun(
                    job_name="wattprint_pipeline",
                    status=status,
                    tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
                    remote_job_origin=_ORIGIN,
                )
            )
        return landing_sensor(dg.build_sensor_context(instance=instance, cursor=None))


def _ranges(result) -> list[tuple[str, str]]:
    return [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests]


@pytest.mark.parametrize(
    "status",
    [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING],
)
def test_files_for_days_a_waiting_run_covers_request_nothing(landed, status):
    result = _tick_with_run(status, "2026-01-01", "2026-01-07")
    assert _ranges(result) == []
    assert result.cursor is not None and int(result.cursor) > 0  # the files are consumed


@pytest.mark.parametrize(
    "status",
    [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
)
def test_a_run_already_executing_or_done_does_not_cover_new_files(landed, status):
    # it may have read the landing zone before these files arrived
    result = _tick_with_run(status, "2026-01-05", "2026-01-07")
    assert _ranges(result) == [("2026-01-05", "2026-01-07")]


def test_a_waiting_run_for_fewer_days_does_not_cover_the_request(landed):
    result = _tick_with_run(dg.DagsterRunStatus.QUEUED, "2026-01-06", "2026-01-07")
    assert _ranges(result) == [("2026-01-05", "2026-01-07")]


def test_without_a_waiting_run_the_days_are_requested(landed):
    assert _ranges(_tick_with_run(None, "", "")) == [("2026-01-05", "2026-01-07")]

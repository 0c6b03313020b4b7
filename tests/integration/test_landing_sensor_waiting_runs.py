"""New files for days a queued run already covers are left to that run: live telemetry landing
every few seconds must not queue one run per sensor tick. And the lane: readings while a full
pipeline run is recent get the live job; anything else, or an old full run, the full one."""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
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


PIPELINE, LIVE = "wattprint_pipeline", "wattprint_live"


@pytest.fixture
def landed(tmp_path):
    configure(home=tmp_path, timezone="Asia/Taipei", partition_start="2025-01-01")
    sim = simulate(PlantConfig(seed=3, start_date=START, days=DAYS))
    zone = LandingZone(tmp_path)
    for kind in ("sites", "meters", "equipment", "readings", "production", "factors"):
        zone.write(kind, getattr(sim, kind))
    return sim, zone


# Where a queued run would be launched from (Dagster insists a queued run has one).
_ORIGIN = RemoteJobOrigin(
    RemoteRepositoryOrigin(
        InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="orchestration.definitions")),
        "__repository__",
    ),
    "wattprint_pipeline",
)


def _add_run(instance, job: str, status: dg.DagsterRunStatus, first: str, last: str) -> None:
    # stored as the daemon's queue would hold it (no code location needed to read it)
    instance.add_run(
        DagsterRun(
            job_name=job,
            status=status,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
            remote_job_origin=_ORIGIN,
        )
    )


def _tick_with_run(status: dg.DagsterRunStatus | None, first: str, last: str, job: str = PIPELINE):
    from orchestration.defs.landing.sensors import landing_sensor

    with dg.instance_for_test() as instance:
        if status is not None:
            _add_run(instance, job, status, first, last)
        return landing_sensor(dg.build_sensor_context(instance=instance, cursor=None))


def _tick_on_new_readings(zone, sim, runs: list[tuple[str, dg.DagsterRunStatus, str, str]]):
    """A first tick consumes the landed files; then one day's readings land again (a gateway
    re-sending them) and a second tick sees only readings, with `runs` in the instance."""
    from orchestration.defs.landing.sensors import landing_sensor

    with dg.instance_for_test() as instance:
        cursor = landing_sensor(dg.build_sensor_context(instance=instance, cursor=None)).cursor
        for run in runs:
            _add_run(instance, *run)
        day = sim.readings.filter(pl.col("ts").dt.date() == date(2026, 1, 6))
        zone.write("readings", day.with_columns(pl.col("raw_id") + "|again"))
        return landing_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


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


def _jobs(result) -> list[str]:
    return [r.job_name for r in result.run_requests]


def test_readings_after_a_recent_full_run_get_the_live_job(landed):
    sim, zone = landed
    result = _tick_on_new_readings(
        zone, sim, [(PIPELINE, dg.DagsterRunStatus.SUCCESS, "2026-01-05", "2026-01-07")]
    )
    assert _jobs(result) == [LIVE]
    assert _ranges(result) == [("2026-01-06", "2026-01-07")]  # the day, and the one it closes


def test_without_a_full_run_readings_get_the_full_pipeline(landed):
    sim, zone = landed
    assert _jobs(_tick_on_new_readings(zone, sim, [])) == [PIPELINE]


def test_readings_after_an_old_full_run_get_the_full_pipeline(landed, monkeypatch):
    from orchestration.defs.landing import sensors

    monkeypatch.setattr(sensors, "FULL_RUN_EVERY_SECONDS", 0)
    sim, zone = landed
    result = _tick_on_new_readings(
        zone, sim, [(PIPELINE, dg.DagsterRunStatus.SUCCESS, "2026-01-05", "2026-01-07")]
    )
    assert _jobs(result) == [PIPELINE]


def test_production_data_gets_the_full_pipeline_even_after_a_recent_full_run(landed):
    sim, zone = landed
    with dg.instance_for_test() as instance:
        from orchestration.defs.landing.sensors import landing_sensor

        cursor = landing_sensor(dg.build_sensor_context(instance=instance, cursor=None)).cursor
        _add_run(instance, PIPELINE, dg.DagsterRunStatus.SUCCESS, "2026-01-05", "2026-01-07")
        zone.write("production", sim.production.head(1))
        result = landing_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
    assert set(_jobs(result)) == {PIPELINE}


def test_a_waiting_live_run_covers_live_requests(landed):
    sim, zone = landed
    result = _tick_on_new_readings(
        zone,
        sim,
        [
            (PIPELINE, dg.DagsterRunStatus.SUCCESS, "2026-01-05", "2026-01-07"),
            (LIVE, dg.DagsterRunStatus.QUEUED, "2026-01-05", "2026-01-07"),
        ],
    )
    assert _ranges(result) == []


def test_a_waiting_live_run_does_not_cover_a_full_request(landed):
    # no recent full run: the new readings need the full pipeline, which a live run lacks
    result = _tick_with_run(dg.DagsterRunStatus.QUEUED, "2026-01-01", "2026-01-07", job=LIVE)
    assert _ranges(result) == [("2026-01-05", "2026-01-07")]
    assert _jobs(result) == [PIPELINE]

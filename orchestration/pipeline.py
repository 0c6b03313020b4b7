"""Run the Dagster pipeline for a range of site-local days, on the persistent instance, so the
runs the command line starts are the same runs the Dagster UI shows afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from orchestration.settings import Settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class PipelineOutcome:
    run_id: str
    success: bool
    first_day: date
    last_day: date
    failed_checks: tuple[str, ...]
    error: str | None


def local_days_with_readings(settings: Settings) -> tuple[date, date] | None:
    """The first and last site-local day that has any landed reading.

    A counter reading at local midnight closes the previous day's last interval, so the last
    day is taken one second before the newest timestamp.
    """
    readings = settings.home / "landing" / "readings"
    if not any(readings.rglob("*.parquet")):
        return None
    glob = readings / "**" / "*.parquet"
    with duckdb.connect() as con:
        row = con.execute(
            f"select min(ts), max(ts) from read_parquet('{glob}', union_by_name=true)"
        ).fetchone()
    if row is None or row[0] is None:
        return None
    zone = ZoneInfo(settings.timezone)
    return row[0].astimezone(zone).date(), (row[1] - timedelta(seconds=1)).astimezone(zone).date()


def run_pipeline(settings: Settings, first_day: date, last_day: date) -> PipelineOutcome:
    """Materialize every asset for the days [first_day, last_day] in one run (the daily dbt
    models take the whole range as one window: their backfill policy is single-run)."""
    from orchestration.definitions import defs  # after settings: definitions read them at import

    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    # An explicit (empty) instance config: SQLite storage under DAGSTER_HOME, and no warning
    # about a missing dagster.yaml on every command.
    (settings.dagster_home / "dagster.yaml").touch(exist_ok=True)
    job = defs.resolve_job_def("wattprint_pipeline")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={RANGE_START_TAG: first_day.isoformat(), RANGE_END_TAG: last_day.isoformat()},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        failed = tuple(
            f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            for evaluation in _check_evaluations(result)
            if not evaluation.passed
        )
        error = None
        if not result.success:
            failures = [e for e in result.all_events if e.is_step_failure]
            if failures:
                error = failures[0].event_specific_data.error.message.strip()
        return PipelineOutcome(
            run_id=result.run_id,
            success=result.success,
            first_day=first_day,
            last_day=last_day,
            failed_checks=failed,
            error=error,
        )


def _check_evaluations(result: dg.ExecuteInProcessResult) -> list:
    return [
        event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]

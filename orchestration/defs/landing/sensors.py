"""New landing files → runs for exactly the site-local days they touch.

The cursor is the newest file's ctime seen, so a tick never looks at the same file twice; each
run request carries a run key naming its day range and the files behind it, so even a replayed
tick cannot request the same work twice. Late data re-runs the day it belongs to and nothing
else (plus the rest of its bill period, whose reconciliation it changes).

Live telemetry lands a file every few seconds, faster than a run finishes, and runs go one at a
time (one DuckDB writer). A run that has not started executing yet reads the landing zone when
it does, so new files for days such a run already covers are left to it instead of queueing
one more run per tick — without that, the queue and the age of the figures grow without bound.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import dagster as dg
import duckdb

from ingestion.landing.changes import (
    contiguous_ranges,
    days_touched,
    expand_to_bill_periods,
    new_files,
)
from orchestration.defs.warehouse.jobs import pipeline_job
from orchestration.pipeline import RANGE_END_TAG, RANGE_START_TAG, local_days_with_readings
from orchestration.settings import load_settings


def plan_runs(after_ctime_ns: int) -> tuple[list[dg.RunRequest], int, int]:
    """Run requests for files landed after the cursor: (requests, new cursor, files seen)."""
    settings = load_settings()
    landing = settings.home / "landing"
    files = new_files(landing, after_ctime_ns)
    if not files:
        return [], after_ctime_ns, 0
    with duckdb.connect() as con:
        days = days_touched(files, settings.timezone, con)
    days = expand_to_bill_periods(days, landing)
    # Only days that have readings and exist as partitions: a factor valid for a whole year
    # must not ask for the months the plant has no data for.
    span = local_days_with_readings(settings)
    first_partition = date.fromisoformat(settings.partition_start)
    if span is None:
        return [], files[-1].ctime_ns, len(files)
    days = {d for d in days if max(span[0], first_partition) <= d <= span[1]}
    digest = hashlib.sha1("".join(str(f.path) for f in files).encode()).hexdigest()[:12]
    requests = [
        dg.RunRequest(
            run_key=f"{first}..{last}:{digest}",
            tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
        )
        for first, last in contiguous_ranges(days)
    ]
    return requests, files[-1].ctime_ns, len(files)


# Runs that have not begun executing steps: whatever has landed before now, they will read.
NOT_YET_EXECUTING = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
]


def waiting_ranges(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    """Day ranges (ISO dates) of pipeline runs requested but not yet executing."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=pipeline_job.name, statuses=NOT_YET_EXECUTING)
    )
    return [
        (run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG])
        for run in runs
        if RANGE_START_TAG in run.tags and RANGE_END_TAG in run.tags
    ]


def _waiting_ranges_of(context: dg.SensorEvaluationContext) -> list[tuple[str, str]]:
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance (tests)
        return []
    return waiting_ranges(instance)


def left_to_waiting_runs(
    requests: list[dg.RunRequest], waiting: list[tuple[str, str]]
) -> tuple[list[dg.RunRequest], list[dg.RunRequest]]:
    """Split requests into (still needed, covered by a waiting run's day range)."""
    needed, covered = [], []
    for request in requests:
        first, last = request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]
        inside = any(start <= first and last <= end for start, end in waiting)
        (covered if inside else needed).append(request)
    return needed, covered


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the landing zone; requests one pipeline run per contiguous range of "
    "site-local days that new readings, batches, bills or factors touch.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    cursor = int(context.cursor or 0)
    requests, new_cursor, seen = plan_runs(cursor)
    if not seen:
        return dg.SkipReason("no new landing files")
    # Listed the files first, then looked at the queue: a run seen waiting now starts executing
    # after these files had landed, so it reads them.
    requests, covered = left_to_waiting_runs(requests, _waiting_ranges_of(context))
    context.log.info(
        f"{seen} new landing file(s) up to {datetime.fromtimestamp(new_cursor / 1e9)}: "
        + (", ".join(r.run_key.split(":")[0] for r in requests) or "no day to recompute")
        + (
            f"; left to the waiting run(s): {', '.join(r.run_key.split(':')[0] for r in covered)}"
            if covered
            else ""
        )
    )
    return dg.SensorResult(run_requests=requests, cursor=str(new_cursor))

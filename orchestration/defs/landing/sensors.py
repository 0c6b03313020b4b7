"""New landing files → runs for exactly the site-local days they touch.

The cursor is the newest file's ctime seen, so a tick never looks at the same file twice; each
run request carries a run key naming its day range and the files behind it, so even a replayed
tick cannot request the same work twice. Late data re-runs the day it belongs to and nothing
else (plus the rest of its bill period, whose reconciliation it changes).

Live telemetry lands a file every few seconds, faster than a run finishes, and runs go one at a
time (one DuckDB writer). A run that has not started executing yet reads the landing zone when
it does, so new files for days such a run already covers are left to it instead of queueing
one more run per tick — without that, the queue and the age of the figures grow without bound.

Two lanes share the one writer. When only readings landed and a full pipeline run was requested
less than FULL_RUN_EVERY ago, the run is the live job (the daily models, their checks and the
publication: about a third of a full run); otherwise it is the full pipeline, which also
rebuilds the foundation (registry, factor versions), the whole-history reports and the quality
rules with their alerts. So emissions are current within a minute and reports, anomalies and
alerts within FULL_RUN_EVERY plus a run, and any other kind of file gets a full run at once.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date, datetime

import dagster as dg
import duckdb

from ingestion.landing.changes import (
    contiguous_ranges,
    days_touched,
    expand_to_bill_periods,
    new_files,
)
from orchestration.defs.warehouse.jobs import live_job, pipeline_job
from orchestration.pipeline import RANGE_END_TAG, RANGE_START_TAG, local_days_with_readings
from orchestration.settings import load_settings

# The reference system refreshes every 5 minutes: reports and alerts are never staler than that.
FULL_RUN_EVERY_SECONDS = 300


@dataclass(frozen=True)
class Plan:
    ranges: list[tuple[date, date]]  # contiguous ranges of site-local days to recompute
    digest: str  # of the files behind them, so a run key names exactly this work
    cursor: int
    files_seen: int
    readings_only: bool

    def requests(self, job: str) -> list[dg.RunRequest]:
        return [
            dg.RunRequest(
                run_key=f"{job}:{first}..{last}:{self.digest}",
                job_name=job,
                tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
            )
            for first, last in self.ranges
        ]


def plan_landing(after_ctime_ns: int) -> Plan:
    """What the files landed after the cursor ask for."""
    settings = load_settings()
    landing = settings.home / "landing"
    files = new_files(landing, after_ctime_ns)
    if not files:
        return Plan([], "", after_ctime_ns, 0, readings_only=True)
    readings_only = all(f.kind == "readings" for f in files)
    with duckdb.connect() as con:
        days = days_touched(files, settings.timezone, con)
    days = expand_to_bill_periods(days, landing)
    # Only days that have readings and exist as partitions: a factor valid for a whole year
    # must not ask for the months the plant has no data for.
    span = local_days_with_readings(settings)
    first_partition = date.fromisoformat(settings.partition_start)
    days = {d for d in days if max(span[0], first_partition) <= d <= span[1]} if span else set()
    digest = hashlib.sha1("".join(str(f.path) for f in files).encode()).hexdigest()[:12]
    return Plan(contiguous_ranges(days), digest, files[-1].ctime_ns, len(files), readings_only)


def seconds_since_full_run(instance: dg.DagsterInstance) -> float | None:
    """Age of the newest full pipeline run (requested by anyone: this sensor, the command line,
    the UI), None when there was none."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=pipeline_job.name), limit=1)
    if not runs:
        return None
    record = instance.get_run_record_by_id(runs[0].run_id)
    created = record.create_timestamp.timestamp() if record else None
    return None if created is None else time.time() - created


def choose_job(readings_only: bool, since_full_run: float | None) -> str:
    """The live job for readings while the last full run is recent; else the full pipeline."""
    recent = since_full_run is not None and since_full_run < FULL_RUN_EVERY_SECONDS
    return live_job.name if readings_only and recent else pipeline_job.name


# Runs that have not begun executing steps: whatever has landed before now, they will read.
NOT_YET_EXECUTING = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
]


def waiting_ranges(instance: dg.DagsterInstance) -> list[tuple[str, str, str]]:
    """(job, first day, last day) of pipeline and live runs requested but not yet executing."""
    return [
        (run.job_name, run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG])
        for job in (pipeline_job, live_job)
        for run in instance.get_runs(
            filters=dg.RunsFilter(job_name=job.name, statuses=NOT_YET_EXECUTING)
        )
        if RANGE_START_TAG in run.tags and RANGE_END_TAG in run.tags
    ]


def left_to_waiting_runs(
    requests: list[dg.RunRequest], waiting: list[tuple[str, str, str]]
) -> tuple[list[dg.RunRequest], list[dg.RunRequest]]:
    """Split requests into (still needed, covered by a waiting run's day range). A waiting full
    run covers either kind of request; a waiting live run covers live requests only."""
    needed, covered = [], []
    for request in requests:
        first, last = request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]
        inside = any(
            start <= first and last <= end and (job == pipeline_job.name or job == request.job_name)
            for job, start, end in waiting
        )
        (covered if inside else needed).append(request)
    return needed, covered


def _instance_of(context: dg.SensorEvaluationContext) -> dg.DagsterInstance | None:
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance (tests)
        return None


@dg.sensor(
    jobs=[pipeline_job, live_job],
    # live readings land every few seconds: a short tick keeps the wait before a run small
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the landing zone; requests one run per contiguous range of site-local "
    "days that new readings, batches or bills touch: the live job (daily models and the "
    "publication) for readings while the last full pipeline run is under 5 minutes old, the "
    "full pipeline otherwise.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    cursor = int(context.cursor or 0)
    plan = plan_landing(cursor)
    if not plan.files_seen:
        return dg.SkipReason("no new landing files")
    instance = _instance_of(context)
    since_full = seconds_since_full_run(instance) if instance else None
    requests = plan.requests(choose_job(plan.readings_only, since_full))
    # Listed the files first, then looked at the queue: a run seen waiting now starts executing
    # after these files had landed, so it reads them.
    requests, covered = left_to_waiting_runs(requests, waiting_ranges(instance) if instance else [])
    context.log.info(
        f"{plan.files_seen} new landing file(s) up to {datetime.fromtimestamp(plan.cursor / 1e9)}: "
        + (", ".join(_label(r) for r in requests) or "no day to recompute")
        + (
            f"; left to the waiting run(s): {', '.join(_label(r) for r in covered)}"
            if covered
            else ""
        )
    )
    return dg.SensorResult(run_requests=requests, cursor=str(plan.cursor))


def _label(request: dg.RunRequest) -> str:
    return f"{request.job_name} {request.tags[RANGE_START_TAG]}..{request.tags[RANGE_END_TAG]}"

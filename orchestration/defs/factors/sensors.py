"""New factor versions and instruments → runs that restate exactly what they change.

A factor file that lands is compared with the factors already landed (`changed_windows`): only
the windows where the factor *in effect* changes value matter. Their site-local days that have
readings become one `factor_restatement` run per contiguous range — the emission models of those
days and everything downstream, nothing else. A market-side change alone (new instruments, a
residual-mix version) runs `scope2_market`, which rebuilds the market-based models whole.

Only days whose emissions have been computed are restated: a day without figures yet gets the
new factor from the pipeline run that computes its energy (the landing sensor's), so a plant
whose readings and factors land together is not computed twice.

The cursor is the newest landed file's ctime seen; each run key names the files and the day
range, so a replayed tick never requests the same work twice. While a run holds the warehouse's
write lock the tick is skipped and the cursor kept: the files are looked at again next tick.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import duckdb
import polars as pl

from ingestion.factors.impact import changed_windows, days_changed, market_side_changes
from ingestion.landing import LandingZone
from ingestion.landing.changes import FACTOR_KINDS, contiguous_ranges, new_files
from orchestration.defs.factors.jobs import factor_restatement_job, scope2_market_job
from orchestration.pipeline import RANGE_END_TAG, RANGE_START_TAG
from orchestration.settings import load_settings

TRIGGER_TAG = "wattprint/trigger"
CHANGES_TAG = "wattprint/factor_changes"


@dataclass
class FactorPlan:
    """What the sensor decided for the files landed since the cursor."""

    requests: list[dg.RunRequest]
    cursor: int
    files_seen: int
    changes: pl.DataFrame | None = None
    days: list[date] = field(default_factory=list)


class WarehouseBusy(Exception):
    """Another process holds the warehouse's write lock."""


def computed_days(settings) -> set[date]:
    """Site-local days that have emission figures in the warehouse (none before the first run)."""
    if not settings.warehouse_path.exists():
        return set()
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    except duckdb.IOException as error:  # the write lock of a running pipeline
        raise WarehouseBusy(str(error)) from error
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_emissions_daily'"
        ).fetchall()[0][0]
        if not exists:
            return set()
        rows = con.execute("select distinct site_local_date from marts.fct_emissions_daily")
        return {row[0] for row in rows.fetchall()}
    finally:
        con.close()


def latest_sites(zone: LandingZone) -> pl.DataFrame:
    sites = zone.read("sites")
    return sites.sort("landed_at").unique("site_id", keep="last")


def describe_changes(changes: pl.DataFrame, limit: int = 3) -> str:
    parts = [
        f"{r['new_factor_id']} {r['old_version'] or '—'}→{r['new_version']} "
        f"{r['window_start']:%Y-%m-%d}..{r['window_end']:%Y-%m-%d}"
        for r in changes.head(limit).iter_rows(named=True)
    ]
    more = f" (+{changes.height - limit} more)" if changes.height > limit else ""
    return "; ".join(parts) + more


def plan_factor_runs(after_ctime_ns: int) -> FactorPlan:
    settings = load_settings()
    zone = LandingZone(settings.home)
    files = new_files(zone.root, after_ctime_ns, kinds=FACTOR_KINDS)
    if not files:
        return FactorPlan([], after_ctime_ns, 0)
    cursor = files[-1].ctime_ns
    new_batches = {f.path.stem for f in files if f.kind == "factors"}
    factors = zone.read("factors")
    is_new = pl.col("landing_batch_id").is_in(sorted(new_batches))
    changes = changed_windows(factors.filter(~is_new), factors.filter(is_new))
    # Only days that already have figures and exist as partitions: a factor valid for a whole
    # year must not ask for the months the plant has no data for.
    first_partition = date.fromisoformat(settings.partition_start)
    computed = computed_days(settings)
    days = sorted(
        d
        for d in days_changed(changes, latest_sites(zone), settings.timezone)
        if d in computed and d >= first_partition
    )
    digest = hashlib.sha1("".join(str(f.path) for f in files).encode()).hexdigest()[:12]
    summary = describe_changes(changes) if changes.height else "instruments"
    requests = [
        dg.RunRequest(
            run_key=f"factors:{digest}:{first}..{last}",
            job_name=factor_restatement_job.name,
            tags={
                RANGE_START_TAG: first.isoformat(),
                RANGE_END_TAG: last.isoformat(),
                TRIGGER_TAG: "factor update",
                CHANGES_TAG: summary,
            },
        )
        for first, last in contiguous_ranges(set(days))
    ]
    market_side = any(f.kind == "instruments" for f in files) or market_side_changes(changes).height
    if not requests and market_side and computed:
        requests.append(
            dg.RunRequest(
                run_key=f"scope2:{digest}",
                job_name=scope2_market_job.name,
                tags={TRIGGER_TAG: "instruments or market factors", CHANGES_TAG: summary},
            )
        )
    return FactorPlan(requests, cursor, len(files), changes, days)


@dg.sensor(
    jobs=[factor_restatement_job, scope2_market_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches landed factor and instrument files; re-runs the emission models of "
    "exactly the site-local days inside the windows where the factor in effect changed (and "
    "the market-based models for new instruments or residual-mix versions).",
)
def factor_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    try:
        plan = plan_factor_runs(int(context.cursor or 0))
    except WarehouseBusy:
        return dg.SkipReason(
            "the warehouse is being written; new factor files are kept for the next tick"
        )
    if not plan.files_seen:
        return dg.SkipReason("no new factor or instrument files")
    context.log.info(
        f"{plan.files_seen} new factor/instrument file(s); "
        + (
            f"changed: {describe_changes(plan.changes)}; "
            if plan.changes is not None and plan.changes.height
            else "no factor in effect changed; "
        )
        + (", ".join(r.run_key for r in plan.requests) or "nothing to re-run")
    )
    return dg.SensorResult(run_requests=plan.requests, cursor=str(plan.cursor))

"""The anomaly-correction rules as an asset: anomalies, the correction overlay and alerts with
their probable cause, stored in the warehouse's `quality` schema, with one check per rule.

The rules themselves live in `quality/` (Great Expectations suites + pure Polars functions);
this asset only reads the warehouse, calls `quality.evaluation.run_quality` in the order that
module documents, and writes the three tables. Raw readings are never modified: corrections are
overlay rows (rule, action, original value, corrected value, reason).
"""

import dagster as dg
import duckdb
import polars as pl

from ingestion.landing import LandingZone
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import load_settings

ANOMALIES = dg.AssetKey(["quality", "anomalies"])
OVERLAY = dg.AssetKey(["quality", "correction_overlay"])
ALERTS = dg.AssetKey(["quality", "alerts"])

# Rule → severity of its check when it finds something. Metering faults the overlay corrects
# are warnings; what makes a reported figure wrong until a person acts is an error.
RULE_SEVERITY = {
    "gaps": dg.AssetCheckSeverity.WARN,
    "range_spike": dg.AssetCheckSeverity.WARN,
    "counter_rollover": dg.AssetCheckSeverity.WARN,
    "meter_replacement": dg.AssetCheckSeverity.WARN,
    "stuck_meter": dg.AssetCheckSeverity.WARN,
    "energy_per_unit": dg.AssetCheckSeverity.WARN,
    "clock": dg.AssetCheckSeverity.WARN,
    "drift": dg.AssetCheckSeverity.WARN,
    "bill_gap": dg.AssetCheckSeverity.ERROR,
    "production_data": dg.AssetCheckSeverity.ERROR,
    "factor_file": dg.AssetCheckSeverity.ERROR,
}
# Bad production or factor data must not flow on: these checks block everything downstream of
# the quality layer in the run (alert delivery, forecasts, plans, the published warehouse) until
# the rows are fixed; the dbt tests on the same staging models stop the marts.
BLOCKING_RULES = {"production_data", "factor_file"}
# A rollover is normal counter behaviour: it is recorded (so an auditor sees it was handled)
# but does not fail its check.
EXPECTED_FINDINGS = {"counter_rollover"}

_INPUTS = {
    "readings": "select * from staging.stg_landing__readings",
    "meters": "select * from staging.stg_landing__meters",
    "equipment": "select * from staging.stg_landing__equipment",
    "production": "select * from staging.stg_landing__production",
    "bills": "select * from staging.stg_landing__bills",
    "factors": "select * from staging.stg_landing__factors",
    "sites": "select * from staging.stg_landing__sites",
    "intervals": "select * from intermediate.int_meter_interval_energy",
}


# Interval decisions that change energy, in the quality overlay vs the one the marts applied.
_OVERLAY_VS_MARTS = """
with quality_side as (
    select overlay_id, corrected_value from quality.correction_overlay
    where target = 'interval' and action in ('estimate', 'correct', 'quarantine')
),
marts_side as (
    select overlay_id, corrected_kwh from intermediate.int_meter_interval_corrections
    where action in ('estimate', 'correct', 'quarantine')
)
select
    count(*) filter (where marts_side.overlay_id is null),
    count(*) filter (where quality_side.overlay_id is null),
    count(*) filter (
        where abs(quality_side.corrected_value - marts_side.corrected_kwh) > 1e-6
    )
from quality_side full join marts_side using (overlay_id)
"""


def _annual_factor(con: duckdb.DuckDBPyConnection) -> float:
    row = con.execute(
        """
        select f.factor_kg_per_kwh
        from intermediate.int_factor_versions as f
        join staging.stg_landing__sites as s
            on f.region = s.grid_region and f.granularity = s.location_factor_granularity
        where f.method = 'location' and f.energy_carrier = 'electricity'
        order by f.valid_from_utc desc, f.published_at_utc desc
        limit 1
        """
    ).fetchone()
    return float(row[0]) if row else 0.0


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ANOMALIES,
            description="Every finding of every anomaly rule and Great Expectations suite: rule, "
            "check, severity, meter/equipment, window, observed vs expected, message.",
            deps=[
                ["staging", "stg_landing__readings"],
                ["intermediate", "int_meter_interval_energy"],
                ["marts", "fct_batch_energy"],
            ],
            kinds={"polars", "duckdb"},
            group_name="quality",
        ),
        dg.AssetSpec(
            OVERLAY,
            description="The correction overlay: per reading or interval, the rule, action "
            "(flag / correct / estimate / quarantine / alert), method, original and corrected "
            "value and the reason. Raw readings are never changed.",
            deps=[ANOMALIES, ["intermediate", "int_meter_interval_corrections"]],
            kinds={"polars", "duckdb"},
            group_name="quality",
        ),
        dg.AssetSpec(
            ALERTS,
            description="Alerts with the probable cause: site, equipment (the one explaining most "
            "of the deviation), rule, interval, excess kWh and kgCO2e.",
            deps=[ANOMALIES, OVERLAY],
            kinds={"polars", "duckdb"},
            group_name="quality",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            f"rule_{rule}",
            asset=ANOMALIES,
            description=f"No {rule} findings.",
            blocking=rule in BLOCKING_RULES,
        )
        for rule in RULE_SEVERITY
    ]
    + [
        dg.AssetCheckSpec(
            "overlay_matches_marts",
            asset=OVERLAY,
            description="The interval corrections in this overlay are exactly the ones the marts "
            "applied (intermediate.int_meter_interval_corrections, computed window by window "
            "by the same code): same decisions, same corrected kWh.",
        )
    ],
)
def quality_rules(context: dg.AssetExecutionContext, warehouse: Warehouse):
    from quality.evaluation import run_quality

    settings = load_settings()
    with warehouse.connect() as con:
        frames = {name: con.sql(sql).pl() for name, sql in _INPUTS.items()}
        factor = _annual_factor(con)
    readings_all = LandingZone(settings.home).read("readings")  # every copy, for duplicates
    timezone = frames["sites"]["timezone"][0] if frames["sites"].height else "UTC"
    readings = frames["readings"]
    if readings.height == 0:
        raise dg.Failure("no readings in the warehouse: nothing to check")
    run = run_quality(
        readings=readings,
        readings_all=readings_all,
        meters=frames["meters"],
        equipment=frames["equipment"],
        production=frames["production"],
        bills=frames["bills"],
        factors=frames["factors"],
        sites=frames["sites"],
        window_start=readings["ts_utc"].min(),
        window_end=readings["ts_utc"].max(),
        factor=factor,
        timezone=timezone,
        intervals=frames["intervals"],
    )
    # One short write transaction after every read is closed: the single DuckDB writer is held
    # for the time of three table swaps, not for the rules.
    with duckdb.connect(warehouse.resolved_path()) as con:
        con.execute("create schema if not exists quality")
        for name, frame in (
            ("anomalies", run.anomalies),
            ("correction_overlay", run.overlay),
            ("alerts", run.alerts),
        ):
            con.register("frame", frame.to_arrow())
            con.execute(f"create or replace table quality.{name} as select * from frame")
            con.unregister("frame")

        only_quality, only_marts, differ = con.execute(_OVERLAY_VS_MARTS).fetchall()[0]

    by_rule = run.anomalies.group_by("rule").len().sort("rule") if run.anomalies.height else None
    counts = dict(by_rule.iter_rows()) if by_rule is not None else {}
    yield dg.MaterializeResult(
        asset_key=ANOMALIES,
        metadata={"rows": run.anomalies.height, "by_rule": dg.MetadataValue.json(counts)},
    )
    yield dg.MaterializeResult(asset_key=OVERLAY, metadata={"rows": run.overlay.height})
    yield dg.MaterializeResult(
        asset_key=ALERTS,
        metadata={
            "rows": run.alerts.height,
            "alerts": dg.MetadataValue.md(_alerts_markdown(run.alerts)),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=OVERLAY,
        check_name="overlay_matches_marts",
        passed=only_quality == only_marts == differ == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "only_in_quality_overlay": only_quality,
            "only_in_marts_overlay": only_marts,
            "different_corrected_kwh": differ,
        },
    )
    for rule, severity in RULE_SEVERITY.items():
        found = counts.get(rule, 0)
        yield dg.AssetCheckResult(
            asset_key=ANOMALIES,
            check_name=f"rule_{rule}",
            passed=found == 0 or rule in EXPECTED_FINDINGS,
            severity=severity,
            metadata={"findings": found},
        )


def _alerts_markdown(alerts: pl.DataFrame, limit: int = 15) -> str:
    if alerts.height == 0:
        return "No alerts."
    columns = [
        "rule",
        "equipment_id",
        "window_start_utc",
        "excess_kwh",
        "excess_kg_co2e",
        "probable_cause",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in alerts.select(columns).head(limit).iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)

"""Step energy labels as an asset: the benchmark energy per unit of every (product, step), each
batch's energy above those benchmarks (non-value-adding) ranked by kgCO2e, and a label per
product summing its steps' benchmarks — models/labels/steps.py on the warehouse's location-based
emissions, written to the `forecasting` schema so BI tools and the published warehouse see it.

Its own daily job and schedule, like the forecasts: a label compares every batch ever made, which
does not belong in each live run."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from models.labels.steps import (
    actual_vs_label,
    batch_excess,
    batch_step_energy,
    energy_labels,
    step_benchmarks,
)
from orchestration.defs.forecasting.assets import markdown_table
from orchestration.defs.forecasting.store import replace_table, writer
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import load_settings

GROUP = "labels"
STEP_BENCHMARKS = dg.AssetKey(["forecasting", "step_benchmarks"])
BATCH_EXCESS = dg.AssetKey(["forecasting", "batch_excess_energy"])
ENERGY_LABELS = dg.AssetKey(["forecasting", "energy_labels"])

_READS = [
    dg.AssetKey(["marts", "fct_emissions_interval"]),
    dg.AssetKey(["marts", "dim_equipment"]),
    dg.AssetKey(["staging", "stg_landing__production"]),
]
_INTERVALS = """
select equipment_id, interval_start_utc, kwh, kg_co2e
from marts.fct_emissions_interval
where method = 'location'
"""
_EQUIPMENT = "select equipment_id, line_id, process_step from marts.dim_equipment"
_PRODUCTION = """
select batch_id, line_id, sku, start_utc, end_utc, good_units
from staging.stg_landing__production
"""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            STEP_BENCHMARKS,
            description="Per product, line group and process step: the best energy (kWh) and "
            "kgCO2e per good unit any batch of at least an hour achieved, and the batch that "
            "set it.",
            deps=_READS,
            kinds={"polars", "duckdb"},
        ),
        dg.AssetSpec(
            BATCH_EXCESS,
            description="Per batch: energy, energy above its steps' benchmarks for its good "
            "units (non-value-adding kWh and kgCO2e), its share, the worst step, ranked by "
            "excess kgCO2e (rank 1 = most to chase).",
            deps=[STEP_BENCHMARKS],
            kinds={"polars", "duckdb"},
        ),
        dg.AssetSpec(
            ENERGY_LABELS,
            description="Per product: the energy label (Σ of its steps' benchmark kWh and kgCO2e "
            "per unit), the steps and line groups it covers, and the share of its batches' "
            "energy that was above the benchmarks.",
            deps=[STEP_BENCHMARKS, BATCH_EXCESS],
            kinds={"polars", "duckdb"},
        ),
    ],
    group_name=GROUP,
)
def step_energy_labels(context: dg.AssetExecutionContext, warehouse: Warehouse):
    with warehouse.connect() as con:
        intervals = con.sql(_INTERVALS).pl()
        equipment = con.sql(_EQUIPMENT).pl()
        production = con.sql(_PRODUCTION).pl()
    steps = batch_step_energy(intervals, equipment, production)
    if steps.height == 0:
        raise dg.Failure(
            description="no batch with good units overlaps equipment energy on its line: "
            "land production data (wattprint import production FILE) and run the pipeline"
        )
    benchmarks = step_benchmarks(steps)
    ranked = batch_excess(steps, benchmarks)
    labels = actual_vs_label(ranked, energy_labels(benchmarks))
    now = pl.lit(datetime.now(UTC).replace(tzinfo=None)).alias("computed_at_utc")
    tables = {
        "step_benchmarks": benchmarks.with_columns(now),
        "batch_excess_energy": ranked.with_columns(now),
        "energy_labels": labels.with_columns(now),
    }
    with writer(warehouse.resolved_path()) as con:
        for name, frame in tables.items():
            replace_table(con, name, frame)
    top = ranked.head(5).select("rank", "batch_id", "sku", "excess_kwh", "excess_kg_co2e")
    yield dg.MaterializeResult(
        asset_key=STEP_BENCHMARKS, metadata={"dagster/row_count": benchmarks.height}
    )
    yield dg.MaterializeResult(
        asset_key=BATCH_EXCESS,
        metadata={
            "dagster/row_count": ranked.height,
            "top_batches": dg.MetadataValue.md(markdown_table(top, float_format=".4g")),
        },
    )
    yield dg.MaterializeResult(
        asset_key=ENERGY_LABELS,
        metadata={
            "dagster/row_count": labels.height,
            "labels": dg.MetadataValue.md(
                markdown_table(
                    labels.select("sku", "label_kwh_per_unit", "label_kg_co2e_per_unit"),
                    float_format=".4g",
                )
            ),
        },
    )


labels_job = dg.define_asset_job(
    name="energy_labels",
    description="Step benchmarks, batch excess energy and product energy labels.",
    selection=dg.AssetSelection.groups(GROUP),
)

labels_schedule = dg.ScheduleDefinition(
    name="energy_labels_daily",
    job=labels_job,
    cron_schedule="45 1 * * *",  # after the daily forecast (01:30), before the morning shift
    execution_timezone=load_settings().timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Recompute the step energy labels once a day over every batch so far.",
)

"""Step-based energy labels (reference study 5): separate value-adding from non-value-adding
energy by product, batch and production step.

- Step energy of a batch: the energy of the line's equipment with that `process_step` during the
  batch's window [start, end) (idle energy between batches belongs to no batch and is left out);
  per good unit.
- Benchmark of a (product, step): the best energy per unit any batch achieved — the minimum, as in
  the study (`quantile` > 0 takes a low quantile instead, if a single lucky batch should not set
  the bar); batches shorter than `min_hours` do not set benchmarks (a few quarter-hours of noise).
- Excess of a batch: Σ over its steps of (energy − benchmark x good units), ≥ 0 — the
  non-value-adding energy to chase, ranked by its kgCO2e.
- Label of a product: Σ of its steps' benchmarks, per unit.

Steps are pooled across lines with the same set of process steps (identical lines, e.g. two SMT
lines: the study shares benchmarks across plants making the same product), so a step is
identified by (line group, process_step); `line_groups` says which lines pool. A product made on
several line groups (an SMT board that then goes through test) gets the sum over its groups —
this assumes each unit passes once through every group it was seen on.
"""

from __future__ import annotations

import polars as pl


def _utc_naive(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = frame.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return frame.with_columns(expr.cast(pl.Datetime("us")).alias(column))


def line_groups(equipment: pl.DataFrame) -> dict[str, str]:
    """line_id → group name: lines with the same set of process steps pool their benchmarks;
    the group is named after its lines ("L1-SMT+L2-SMT")."""
    sig = (equipment.drop_nulls("line_id").group_by("line_id")
           .agg(pl.col("process_step").unique().sort().str.join(",").alias("sig")))
    groups = sig.group_by("sig").agg(pl.col("line_id").sort())
    out = {}
    for lines in groups["line_id"].to_list():
        for line in lines:
            out[line] = "+".join(lines)
    return out


def batch_step_energy(intervals: pl.DataFrame, equipment: pl.DataFrame,
                      production: pl.DataFrame, *, interval_minutes: int = 15) -> pl.DataFrame:
    """Per (batch, process_step): kwh, kg_co2e (null when `intervals` has none), good_units,
    hours and per-unit figures. `intervals`: equipment_id, interval_start_utc, kwh[, kg_co2e]
    (fct_energy_interval / fct_emissions_interval); `production`: batch_id, line_id, sku,
    start_utc, end_utc, good_units (stg_landing__production or fct_batch_energy)."""
    iv = _utc_naive(intervals, "interval_start_utc")
    if "kg_co2e" not in iv.columns:
        iv = iv.with_columns(pl.lit(None, pl.Float64).alias("kg_co2e"))
    groups = line_groups(equipment)
    eq = equipment.drop_nulls("line_id").select("equipment_id", "line_id", "process_step")
    iv = iv.select("equipment_id", "interval_start_utc", pl.col("kwh").cast(pl.Float64),
                   pl.col("kg_co2e").cast(pl.Float64)).join(eq, on="equipment_id")
    prod = production
    for col in ("start_utc", "end_utc"):
        prod = _utc_naive(prod, col)
    step = f"{interval_minutes}m"
    slots = prod.select("batch_id", "line_id", "sku", "good_units", "start_utc", "end_utc")
    slots = slots.with_columns(
        pl.datetime_ranges("start_utc", "end_utc", step, closed="left").alias("interval_start_utc")
    ).explode("interval_start_utc").drop_nulls("interval_start_utc")
    joined = slots.join(iv, on=["line_id", "interval_start_utc"])
    out = joined.group_by("batch_id", "line_id", "sku", "process_step").agg(
        pl.col("good_units").first(),
        ((pl.col("end_utc").first() - pl.col("start_utc").first()).dt.total_minutes() / 60)
        .alias("hours"),
        pl.col("kwh").sum(),
        pl.col("kg_co2e").sum(),
        pl.col("kg_co2e").null_count().alias("_kg_nulls"),  # any null: no kg for the step
    )
    return out.with_columns(
        pl.col("line_id").replace_strict(groups, default=pl.col("line_id")).alias("line_group"),
        pl.when(pl.col("_kg_nulls") > 0).then(None).otherwise(pl.col("kg_co2e"))
        .alias("kg_co2e"),
    ).drop("_kg_nulls").with_columns(
        (pl.col("kwh") / pl.col("good_units")).alias("kwh_per_unit"),
        (pl.col("kg_co2e") / pl.col("good_units")).alias("kg_co2e_per_unit"),
    ).filter(pl.col("good_units") > 0).sort("batch_id", "process_step")


def step_benchmarks(steps: pl.DataFrame, *, quantile: float = 0.0, min_hours: float = 1.0
                    ) -> pl.DataFrame:
    """Per (sku, line_group, process_step): the benchmark kWh and kgCO2e per unit, how many
    batches it was chosen from and which batch set the energy benchmark."""
    eligible = steps.filter(pl.col("hours") >= min_hours)
    keys = ["sku", "line_group", "process_step"]

    def best(col: str) -> pl.Expr:
        return (pl.col(col).min() if quantile == 0 else
                pl.col(col).quantile(quantile, interpolation="linear"))

    return eligible.group_by(keys).agg(
        best("kwh_per_unit").alias("benchmark_kwh_per_unit"),
        best("kg_co2e_per_unit").alias("benchmark_kg_per_unit"),
        pl.len().alias("batches"),
        pl.col("batch_id").sort_by("kwh_per_unit").first().alias("best_batch_id"),
    ).sort(keys)


def batch_excess(steps: pl.DataFrame, benchmarks: pl.DataFrame) -> pl.DataFrame:
    """Per batch: energy, the benchmark energy for its units, the excess (non-value-adding)
    kWh and kgCO2e summed over its steps (each step's excess ≥ 0), its share of the batch,
    and the rank by excess kgCO2e (1 = most wasteful). Steps without a benchmark count 0."""
    keys = ["sku", "line_group", "process_step"]
    per_step = steps.join(benchmarks.select(*keys, "benchmark_kwh_per_unit",
                                            "benchmark_kg_per_unit"), on=keys, how="left")
    per_step = per_step.with_columns(
        (pl.col("kwh") - pl.col("benchmark_kwh_per_unit") * pl.col("good_units")).clip(0)
        .fill_null(0.0).alias("excess_kwh"),
        (pl.col("kg_co2e") - pl.col("benchmark_kg_per_unit") * pl.col("good_units")).clip(0)
        .fill_null(0.0).alias("excess_kg_co2e"),
    )
    worst = per_step.sort("excess_kg_co2e", "excess_kwh", descending=True).group_by(
        "batch_id", maintain_order=True).agg(pl.col("process_step").first().alias("worst_step"))
    out = per_step.group_by("batch_id", "line_id", "sku").agg(
        pl.col("good_units").first(), pl.col("hours").first(),
        pl.col("kwh").sum(), pl.col("kg_co2e").sum(),
        pl.col("excess_kwh").sum(), pl.col("excess_kg_co2e").sum(),
    ).join(worst, on="batch_id").with_columns(
        (pl.col("excess_kwh") / pl.col("kwh")).alias("excess_share"))
    rank_by = "excess_kg_co2e" if out["kg_co2e"].sum() > 0 else "excess_kwh"
    return out.sort([rank_by, "batch_id"], descending=[True, False]).with_row_index(
        "rank", offset=1)


def energy_labels(benchmarks: pl.DataFrame) -> pl.DataFrame:
    """Per sku: label kWh and kgCO2e per unit = Σ of its steps' benchmarks, with the steps and
    line groups it covers."""
    return benchmarks.group_by("sku").agg(
        pl.col("benchmark_kwh_per_unit").sum().alias("label_kwh_per_unit"),
        pl.col("benchmark_kg_per_unit").sum().alias("label_kg_co2e_per_unit"),
        pl.col("line_group").unique().sort().str.join(" → ").alias("line_groups"),
        pl.len().alias("steps"),
    ).sort("sku")


def actual_vs_label(excess: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Per sku: batch energy, its excess over the benchmarks and the non-value-adding share."""
    actual = excess.group_by("sku").agg(pl.col("kwh").sum(), pl.col("excess_kwh").sum(),
                                        pl.col("excess_kg_co2e").sum())
    return labels.join(actual, on="sku").with_columns(
        (pl.col("excess_kwh") / pl.col("kwh")).alias("non_value_adding_share")).sort("sku")

"""Alerts with their probable cause, for the plant operator.

Findings a person must see (corrections.ALERT_RULES: energy per unit, bill gap, batches with
missing data, drift, stuck meters, impossible readings, conflicting re-sends, reported vs
recomputed emissions) are grouped into episodes — the same site and rule (and meter, for
metering findings), windows no more than `merge_gap` apart — and each episode becomes one alert:

- where: site, line, equipment, process step, meter, the interval [window_start, window_end);
- how much: excess kWh and kgCO2e (at the factor valid at the episode's start);
- why: the probable cause by attribution — for energy per unit, the equipment (and its step)
  carrying the largest share of the episode's excess kWh, with that share; for metering
  findings the meter and what it measures (a data problem, not a process one: its excess is
  energy that was measured but not used — a spike, a drifting meter's over-reading).
"""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl

from quality.corrections import ALERT_RULES
from quality.rules.common import meter_line, normalize
from quality.rules.energy_per_unit import factor_at

ALERT_SCHEMA: dict[str, pl.DataType] = {
    "alert_id": pl.String(),  # rule:site:cause:window start
    "site_id": pl.String(),
    "rule": pl.String(),
    "severity": pl.String(),
    "line_id": pl.String(),
    "equipment_id": pl.String(),  # the probable cause
    "process_step": pl.String(),
    "meter_id": pl.String(),
    "window_start_utc": pl.Datetime("us"),
    "window_end_utc": pl.Datetime("us"),
    "detected_at_utc": pl.Datetime("us"),  # first finding's detection
    "excess_kwh": pl.Float64(),
    "excess_kg_co2e": pl.Float64(),
    "cause_share": pl.Float64(),  # share of the excess the cause explains (0..1)
    "anomaly_count": pl.Int64(),
    "anomaly_ids": pl.String(),  # comma-separated, for the audit trail
    "probable_cause": pl.String(),
    "message": pl.String(),
}
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


def empty_alerts() -> pl.DataFrame:
    return pl.DataFrame(schema=ALERT_SCHEMA)


def _is_alert(rule: str, check: str) -> bool:
    return (rule, None) in ALERT_RULES or (rule, check) in ALERT_RULES


def _detail(text: str | None, key: str):
    try:
        return json.loads(text).get(key) if text else None
    except (TypeError, ValueError):
        return None


def episodes(found: pl.DataFrame, keys: list[str], merge_gap: timedelta) -> pl.DataFrame:
    """Number findings into episodes: same keys, each window starting no later than
    `merge_gap` after the latest end seen so far."""
    f = found.sort([*keys, "window_start_utc"])
    return f.with_columns(
        (pl.col("window_start_utc")
         > pl.col("window_end_utc").cum_max().shift(1).over(keys) + merge_gap)
        .fill_null(True).cum_sum().over(keys).alias("episode")
    )


def build_alerts(found: pl.DataFrame, *, equipment: pl.DataFrame, meters: pl.DataFrame,
                 decisions: pl.DataFrame | None = None, factor: float | pl.DataFrame = 0.0,
                 merge_gap: timedelta = timedelta(hours=8)) -> pl.DataFrame:
    """Alerts (ALERT_SCHEMA) from findings (ANOMALY_SCHEMA); `decisions` (the overlay) gives
    the excess of metering findings (original − corrected of their interval rows)."""
    f = normalize(found)
    f = f.filter(pl.struct("rule", "check").map_elements(
        lambda r: _is_alert(r["rule"], r["check"]), return_dtype=pl.Boolean))
    if f.height == 0:
        return empty_alerts()
    eq = normalize(equipment).select("equipment_id", "line_id", "process_step")
    lines = meter_line(meters, equipment)
    parts = []
    epu = f.filter(pl.col("rule") == "energy_per_unit")
    if epu.height:
        parts.append(_energy_alerts(epu, eq, merge_gap))
    other = f.filter(pl.col("rule") != "energy_per_unit")
    if other.height:
        parts.append(_metering_alerts(other, eq, lines, decisions, merge_gap))
    alerts = pl.concat(parts, how="diagonal_relaxed")
    alerts = factor_at(alerts, "window_start_utc", factor).with_columns(
        (pl.col("excess_kwh") * pl.col("factor_kg_per_kwh")).alias("excess_kg_co2e"))
    alerts = alerts.with_columns(
        pl.format("{}:{}:{}:{}", "rule", "site_id",
                  pl.coalesce("equipment_id", "meter_id", pl.lit("-")),
                  pl.col("window_start_utc").dt.strftime("%Y%m%dT%H%MZ")).alias("alert_id"),
        pl.format("{} on {}: {} — {}", "rule", pl.coalesce("equipment_id", "meter_id",
                                                           "site_id"),
                  pl.col("probable_cause"),
                  pl.when(pl.col("excess_kwh").is_not_null())
                  .then(pl.format("excess {} kWh, {} kgCO2e", pl.col("excess_kwh").round(1),
                                  pl.col("excess_kg_co2e").round(1)))
                  .otherwise(pl.lit("no energy excess"))).alias("message"),
    )
    return alerts.select([pl.col(c).cast(t) if c in alerts.columns else pl.lit(None, t).alias(c)
                          for c, t in ALERT_SCHEMA.items()]).sort("window_start_utc", "rule")


def _energy_alerts(found: pl.DataFrame, eq: pl.DataFrame, merge_gap: timedelta) -> pl.DataFrame:
    f = found.with_columns(
        pl.col("details").map_elements(lambda d: _detail(d, "excess_kwh"),
                                       return_dtype=pl.Float64).alias("excess"),
        pl.col("details").map_elements(lambda d: _detail(d, "batch_id"),
                                       return_dtype=pl.String).alias("batch_id"),
    )
    f = episodes(f, ["site_id"], merge_gap)
    # equipment-level excess explains the episode; batch totals only where no equipment
    # finding covers the batch
    eq_level = f.filter(pl.col("check") == "equipment")
    covered = eq_level.select("batch_id").unique()
    batch_only = f.filter(pl.col("check") == "batch_total").join(covered, on="batch_id",
                                                                how="anti")
    per_cause = (
        pl.concat([eq_level, batch_only])
        .group_by("site_id", "episode", "equipment_id")
        .agg(pl.sum("excess"), pl.col("batch_id").n_unique().alias("batches"))
    )
    top = per_cause.sort("excess", descending=True).group_by(
        "site_id", "episode", maintain_order=True).agg(
        pl.first("equipment_id"), pl.first("excess").alias("top_excess"),
        pl.first("batches"), pl.sum("excess").alias("excess_kwh"))
    meta = f.group_by("site_id", "episode").agg(
        pl.col("window_start_utc").min(), pl.col("window_end_utc").max(),
        pl.col("detected_at_utc").min(), pl.len().alias("anomaly_count"),
        pl.col("anomaly_id").sort().str.join(",").alias("anomaly_ids"),
        pl.col("severity").max().alias("severity"),
    )
    out = top.join(meta, on=["site_id", "episode"]).join(eq, on="equipment_id", how="left")
    return out.with_columns(
        pl.lit("energy_per_unit").alias("rule"),
        (pl.col("top_excess") / pl.col("excess_kwh")).alias("cause_share"),
        pl.format("{} ({}) explains {}% of the excess: {} kWh above its per-unit history "
                  "over {} batch(es)", pl.coalesce("equipment_id", pl.lit("the batch")),
                  pl.coalesce("process_step", pl.lit("line")),
                  ((pl.col("top_excess") / pl.col("excess_kwh")) * 100).round(0)
                  .cast(pl.Int64),
                  pl.col("top_excess").round(1), "batches").alias("probable_cause"),
        pl.lit(None, pl.String).alias("meter_id"),
    )


def _metering_alerts(found: pl.DataFrame, eq: pl.DataFrame, lines: pl.DataFrame,
                     decisions: pl.DataFrame | None, merge_gap: timedelta) -> pl.DataFrame:
    f = found.with_columns(pl.col("meter_id").fill_null("-"))
    f = episodes(f, ["site_id", "rule", "meter_id"], merge_gap)
    excess = None
    if decisions is not None and decisions.height:
        d = normalize(decisions).filter((pl.col("target") == "interval")
                                        & pl.col("action").is_in(["estimate", "quarantine"]))
        excess = d.group_by("anomaly_id").agg(
            (pl.col("original_value").fill_null(0) - pl.col("corrected_value").fill_null(0))
            .sum().alias("overlay_excess"))
    if excess is not None:
        f = f.join(excess, on="anomaly_id", how="left")
    else:
        f = f.with_columns(pl.lit(None, pl.Float64).alias("overlay_excess"))
    # a metering finding's excess is energy measured but not used: spikes and drift (the
    # overlay's original − corrected) and a bill gap; a gap or a stuck run loses no energy
    f = f.with_columns(
        pl.when(~pl.col("rule").is_in(["range_spike", "drift", "bill_gap"]))
        .then(pl.lit(None, pl.Float64))
        .when(pl.col("rule") == "bill_gap")
        .then(pl.col("details").map_elements(
            lambda d: (_detail(d, "kwh") or 0.0) - (_detail(d, "metered_kwh") or 0.0),
            return_dtype=pl.Float64))
        .otherwise(pl.col("overlay_excess")).alias("excess"))
    out = f.group_by("site_id", "rule", "meter_id", "episode").agg(
        pl.col("window_start_utc").min(), pl.col("window_end_utc").max(),
        pl.col("detected_at_utc").min(), pl.len().alias("anomaly_count"),
        pl.col("anomaly_id").sort().str.join(",").alias("anomaly_ids"),
        pl.col("severity").sort_by(pl.col("severity").replace_strict(
            SEVERITY_ORDER, default=0, return_dtype=pl.Int32)).last(),
        pl.col("excess").sum().alias("excess_kwh"),
        pl.col("excess").is_not_null().any().alias("_has_excess"),
        pl.col("equipment_id").drop_nulls().first(),
        pl.col("check").unique().sort().str.join(", ").alias("checks"),
        pl.col("message").first().alias("first_message"),
    ).with_columns(
        pl.when(pl.col("_has_excess")).then(pl.col("excess_kwh")).alias("excess_kwh"),
        pl.when(pl.col("meter_id") == "-").then(None).otherwise(pl.col("meter_id"))
        .alias("meter_id"),
    )
    out = out.join(lines.select("meter_id", pl.col("line_id").alias("meter_line"),
                                pl.col("equipment_id").alias("meter_equipment")),
                   on="meter_id", how="left").with_columns(
        pl.coalesce("equipment_id", "meter_equipment").alias("equipment_id")
    ).drop("meter_equipment").join(eq, on="equipment_id", how="left")
    return out.with_columns(
        pl.coalesce("line_id", "meter_line").alias("line_id"),
        pl.when(pl.col("equipment_id").is_not_null()).then(pl.lit(1.0)).alias("cause_share"),
        pl.format("{} ({}): {}", pl.coalesce("meter_id", "site_id"), "checks",
                  "first_message").alias("probable_cause"),
    ).drop("meter_line", "checks", "first_message", "_has_excess", "episode")

"""Stuck meter: a register that stops moving while what it measures is running.

- flat_while_running: a counter's reading repeats (delta exactly 0) over a span during which
  a production batch runs on the meter's line (equipment meters: their equipment's line; line
  meters: the line). One flat interval is enough: a running machine always moves a counter, so
  the finding comes one interval after the freeze (target: within 2 intervals).
- flat_counter: a counter of a meter without a line (utilities) flat for at least
  `min_flat_intervals` consecutive intervals while what it supplies has a non-zero idle draw.
- repeated_value: an interval or power register repeating the same non-zero value for at least
  `min_repeated_intervals` intervals (a frozen gateway register). Two hours by default: a
  rounded register repeats a value three or four times by chance now and then.
A stuck counter resumes at its true position, so its next delta carries the energy of the whole
frozen run (`catch_up_kwh` in details); corrections.correct_stuck spreads that known total back
over the run. The range rule judges that catch-up over the whole run, so it is not a spike.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from quality.rules.common import (
    anomalies,
    concat_anomalies,
    counter_steps,
    empty_anomalies,
    in_service,
    line_running,
    meter_line,
    normalize,
)

RULE = "stuck_meter"


def detect_stuck(readings: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame,
                 production: pl.DataFrame, *, min_flat_intervals: int = 4,
                 min_repeated_intervals: int = 8,
                 max_gap: timedelta = timedelta(hours=72)) -> pl.DataFrame:
    return concat_anomalies([
        _flat_counters(readings, meters, equipment, production, min_flat_intervals, max_gap),
        _repeated_values(readings, meters, equipment, min_repeated_intervals),
    ])


def _idle_kw(meters: pl.DataFrame, equipment: pl.DataFrame) -> pl.DataFrame:
    """Idle draw (kW) of the equipment each meter measures or supplies directly."""
    eq = normalize(equipment)
    direct = eq.select(pl.col("supply_meter_id").alias("meter_id"),
                       (pl.col("nameplate_kw") * pl.col("idle_load_fraction")).alias("kw"))
    measured = normalize(meters).filter(pl.col("measures_kind") == "equipment").join(
        eq, left_on="measures_id", right_on="equipment_id").select(
        "meter_id", (pl.col("nameplate_kw") * pl.col("idle_load_fraction")).alias("kw"))
    return pl.concat([direct, measured]).unique().group_by("meter_id").agg(
        pl.sum("kw").alias("idle_kw"))


def _flat_counters(readings, meters, equipment, production, min_flat, max_gap) -> pl.DataFrame:
    steps = counter_steps(readings, meters, equipment, max_gap=max_gap)
    if steps.height == 0:
        return empty_anomalies()
    steps = steps.sort("meter_id", "span_start_utc").with_columns(
        pl.col("span_kwh").shift(-1).over("meter_id").alias("next_kwh"),
        pl.col("span_end_utc").shift(-1).over("meter_id").alias("next_end_utc"),
        pl.col("span_start_utc").shift(-1).over("meter_id").alias("next_start_utc"),
    )
    flat = steps.filter(pl.col("delta_kwh") == 0)
    if flat.height == 0:
        return empty_anomalies()
    lines = meter_line(meters, equipment)
    batches = line_running(production)
    flat = flat.join(lines, on="meter_id", how="left")
    running = (
        flat.join(batches.select("line_id", "batch_id", "start_utc", "end_utc"), on="line_id")
        .filter((pl.col("start_utc") <= pl.col("span_start_utc"))
                & (pl.col("end_utc") >= pl.col("span_end_utc")))
        .group_by("meter_id", "span_start_utc")
        .agg(pl.first("batch_id"))
    )
    flat = (
        flat.join(running, on=["meter_id", "span_start_utc"], how="left")
        .join(_idle_kw(meters, equipment), on="meter_id", how="left")
        .with_columns(pl.col("batch_id").is_not_null().alias("is_running"))
    )
    flat = flat.sort("meter_id", "span_start_utc").with_columns(
        (pl.col("span_start_utc") != pl.col("span_end_utc").shift(1).over("meter_id"))
        .fill_null(True).cum_sum().over("meter_id").alias("run_id")
    )
    grouped = flat.group_by("meter_id", "run_id").agg(
        pl.first("site_id"), pl.first("equipment_id"), pl.first("line_id"),
        pl.col("span_start_utc").min().alias("run_start"),
        pl.col("span_end_utc").max().alias("run_end"),
        pl.col("intervals").sum().alias("flat_intervals"),
        pl.col("is_running").any().alias("any_running"),
        pl.col("batch_id").drop_nulls().first().alias("batch_id"),
        # the finding is complete when the first flat reading inside a batch arrives, or
        # (no production) when the min_flat-th flat reading arrives
        pl.col("received_at_utc").filter(pl.col("is_running")).min().alias("running_seen"),
        pl.col("received_at_utc").sort().get(min_flat - 1, null_on_oob=True)
        .alias("nth_seen"),
        pl.first("idle_kw"),
        pl.col("value").first().alias("frozen_value"),
        pl.col("next_kwh").last().alias("catch_up_kwh"),
        pl.col("next_start_utc").last().alias("catch_up_start"),
        pl.col("next_end_utc").last().alias("catch_up_end"),
    )
    found = grouped.filter(
        pl.col("any_running")
        | (pl.col("line_id").is_null() & (pl.col("flat_intervals") >= min_flat)
           & (pl.col("idle_kw").fill_null(0) > 0))
    ).with_columns(
        pl.when(pl.col("any_running")).then(pl.lit("flat_while_running"))
        .otherwise(pl.lit("flat_counter")).alias("check"),
    )
    return anomalies(found.select(
        pl.lit(RULE).alias("rule"), "check", pl.lit("warning").alias("severity"),
        "site_id", "meter_id", "equipment_id",
        pl.lit("meter").alias("subject_kind"), pl.col("meter_id").alias("subject_id"),
        pl.col("run_start").alias("window_start_utc"),
        pl.col("run_end").alias("window_end_utc"),
        pl.coalesce("running_seen", "nth_seen").alias("detected_at_utc"),
        pl.lit(0.0).alias("observed"),
        pl.lit(None, pl.Float64).alias("expected"),
        pl.lit("kWh").alias("unit"),
        pl.format("counter frozen at {} for {} interval(s){}", pl.col("frozen_value").round(4),
                  "flat_intervals",
                  pl.when(pl.col("batch_id").is_not_null())
                  .then(pl.format(" while batch {} runs on {}", "batch_id", "line_id"))
                  .otherwise(pl.lit(""))).alias("message"),
        pl.struct("flat_intervals", "frozen_value", "batch_id", "line_id", "catch_up_kwh",
                  "catch_up_start", "catch_up_end").struct.json_encode().alias("details"),
    ))


def _repeated_values(readings, meters, equipment, min_flat) -> pl.DataFrame:
    r = in_service(readings, meters).filter(
        pl.col("register").is_in(["interval_kwh", "power_kw"]) & (pl.col("value") != 0))
    if r.height == 0:
        return empty_anomalies()
    r = r.sort("meter_id", "ts_utc").with_columns(
        ((pl.col("value") != pl.col("value").shift(1).over("meter_id"))
         | (pl.col("ts_utc") - pl.col("ts_utc").shift(1).over("meter_id")
            != pl.duration(minutes=pl.col("interval_minutes"))))
        .fill_null(True).cum_sum().over("meter_id").alias("run_id")
    )
    grouped = r.group_by("meter_id", "run_id").agg(
        pl.first("site_id"), pl.first("value"), pl.first("interval_minutes"),
        pl.col("ts_utc").min().alias("run_start"), pl.col("ts_utc").max().alias("run_last"),
        pl.len().alias("n"),
        pl.col("received_at_utc").sort().get(min_flat - 1, null_on_oob=True).alias("nth_seen"),
    ).filter(pl.col("n") >= min_flat).join(
        meter_line(meters, equipment).select("meter_id", "equipment_id"), on="meter_id",
        how="left")
    return anomalies(grouped.select(
        pl.lit(RULE).alias("rule"), pl.lit("repeated_value").alias("check"),
        pl.lit("warning").alias("severity"),
        "site_id", "meter_id", "equipment_id",
        pl.lit("meter").alias("subject_kind"), pl.col("meter_id").alias("subject_id"),
        pl.col("run_start").alias("window_start_utc"),
        (pl.col("run_last") + pl.duration(minutes=pl.col("interval_minutes")))
        .alias("window_end_utc"),
        pl.col("nth_seen").alias("detected_at_utc"),
        pl.col("value").alias("observed"),
        pl.lit("kWh").alias("unit"),
        pl.format("register repeats {} for {} intervals", "value", "n").alias("message"),
        pl.struct("n").struct.json_encode().alias("details"),
    ))




"""Counter rollover: a register that wraps to 0 at its rollover value.

A fall of the counter is a rollover when adding the meter's rollover value (in kWh: raw
rollover × the conversion factor) gives an energy the meter can carry over the span (between 0
and its capacity × span × headroom). That energy is exact arithmetic, not an estimate:
int_meter_interval_energy applies it, corrections.correct_rollovers documents it as a `correct`
overlay. Any other fall is a `negative_delta` of the range rule, never a spike of a rollover.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from quality.rules.common import anomalies, counter_steps, meter_line

RULE = "counter_rollover"


def detect_rollovers(readings: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame, *,
                     headroom: float = 1.1,
                     max_gap: timedelta = timedelta(hours=72)) -> pl.DataFrame:
    steps = counter_steps(readings, meters, equipment, max_gap=max_gap, headroom=headroom)
    wraps = steps.filter(pl.col("kind") == "rollover").join(
        meter_line(meters, equipment).select("meter_id", "equipment_id"), on="meter_id",
        how="left")
    return anomalies(wraps.select(
        pl.lit(RULE).alias("rule"),
        pl.lit("rollover").alias("check"),
        pl.lit("info").alias("severity"),
        "site_id", "meter_id", "equipment_id", "raw_id",
        pl.lit("reading").alias("subject_kind"),
        pl.col("raw_id").alias("subject_id"),
        pl.col("span_start_utc").alias("window_start_utc"),
        pl.col("span_end_utc").alias("window_end_utc"),
        pl.col("received_at_utc").alias("detected_at_utc"),
        pl.col("delta_kwh").alias("observed"),
        pl.col("span_kwh").alias("expected"),
        pl.lit("kWh").alias("unit"),
        pl.format("counter wrapped at {} kWh: {} → {}, energy {} kWh", "rollover_kwh",
                  "prev_value", "value", pl.col("span_kwh").round(3)).alias("message"),
        pl.struct("prev_value", "value", "rollover_kwh", "span_kwh", "prev_raw_id")
        .struct.json_encode().alias("details"),
    ))

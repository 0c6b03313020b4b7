"""Range and spikes: energy a meter cannot physically have measured.

The ceiling of a meter is the nameplate of everything it supplies (`meter_capacity_kw`: its
equipment and all equipment below it) × the span × `headroom`; readings are compared after
the CT/VT multiplier and unit conversion, i.e. on staging's `value`.

Checks:
- counter_outlier: a counter reading above its rollover value, or one that breaks the counter's
  order while its neighbours agree (99 → 5000 → 101). int_meter_interval_energy already skips
  such a reading and spreads its span; the finding documents it.
- negative_delta: a counter that falls and is not a plausible rollover (a reset, or a wrap
  that would imply more energy than the meter can carry).
- above_capacity: an interval or power reading, or a counter span, above the ceiling. A counter
  span that ends a run of flat readings (a stuck register catching up) is judged over the whole
  run, so the catch-up of a stuck meter is not a spike (the stuck rule reports it).
Rollovers and meter replacements are not spikes (rules/rollover.py, rules/replacement.py): a
span never crosses two meter ids, and readings outside a meter's service window are ignored.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from quality.rules.common import (
    anomalies,
    concat_anomalies,
    counter_steps,
    flag_counter_outliers,
    in_service,
    meter_capacity_kw,
    meter_line,
)

RULE = "range_spike"
HEADROOM = 1.1


def detect_range_spikes(readings: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame,
                        *, headroom: float = HEADROOM,
                        max_gap: timedelta = timedelta(hours=72)) -> pl.DataFrame:
    lines = meter_line(meters, equipment).select("meter_id", "equipment_id")
    found = [
        _counter_outliers(readings, meters, max_gap),
        _counter_spans(readings, meters, equipment, headroom, max_gap),
        _register_values(readings, meters, equipment, headroom),
    ]
    return concat_anomalies(
        f.drop("equipment_id").join(lines, on="meter_id", how="left") for f in found
    )


def _common(check: str, severity: str) -> list[pl.Expr]:
    return [pl.lit(RULE).alias("rule"), pl.lit(check).alias("check"),
            pl.lit(severity).alias("severity")]


def _counter_outliers(readings, meters, max_gap) -> pl.DataFrame:
    r = in_service(readings, meters).filter(pl.col("register") == "counter_kwh")
    flagged = flag_counter_outliers(r, max_gap).filter(pl.col("is_outlier"))
    interval = pl.duration(minutes=pl.col("interval_minutes"))
    return anomalies(flagged.select(
        *_common("counter_outlier", "warning"),
        "site_id", "meter_id", "raw_id",
        pl.lit("reading").alias("subject_kind"),
        pl.col("raw_id").alias("subject_id"),
        (pl.col("ts_utc") - interval).alias("window_start_utc"),
        (pl.col("ts_utc") + interval).alias("window_end_utc"),
        # above the rollover value is impossible on sight; an order break needs the next reading
        pl.when(pl.col("above_rollover")).then(pl.col("received_at_utc"))
        .otherwise(pl.max_horizontal("received_at_utc", "next_received_at_utc"))
        .alias("detected_at_utc"),
        pl.col("value").alias("observed"),
        ((pl.col("prev_value") + pl.col("next_value")) / 2).alias("expected"),
        pl.lit("kWh").alias("unit"),
        pl.format("counter reading {} out of order (neighbours {} and {})", "value",
                  "prev_value", "next_value").alias("message"),
        pl.struct("raw_value", "prev_value", "next_value", "above_rollover").struct.json_encode()
        .alias("details"),
    ))


def _counter_spans(readings, meters, equipment, headroom, max_gap) -> pl.DataFrame:
    steps = counter_steps(readings, meters, equipment, max_gap=max_gap, headroom=headroom)
    if steps.height == 0:
        return anomalies(pl.DataFrame())
    # A run of flat spans followed by a jump is a stuck register catching up: judge the jump
    # against the capacity over the whole run.
    by = ["meter_id"]
    steps = steps.sort("meter_id", "span_start_utc").with_columns(
        (pl.col("delta_kwh") != 0).cum_sum().over(by).alias("_grp")
    ).with_columns(
        # the group of a moving span is the flat run before it plus itself
        pl.when(pl.col("delta_kwh") != 0).then(pl.col("_grp") - 1).otherwise(pl.col("_grp"))
        .alias("_run")
    ).with_columns(
        pl.col("span_start_utc").min().over("meter_id", "_run").alias("run_start_utc")
    ).with_columns(
        (pl.col("capacity_kw").fill_null(float("inf"))
         * (pl.col("span_end_utc") - pl.col("run_start_utc")).dt.total_seconds() / 3600.0
         * headroom).alias("run_capacity_kwh")
    )
    negative = steps.filter(pl.col("kind") == "negative").select(
        *_common("negative_delta", "critical"),
        "site_id", "meter_id", "raw_id",
        pl.lit("reading").alias("subject_kind"), pl.col("raw_id").alias("subject_id"),
        pl.col("span_start_utc").alias("window_start_utc"),
        pl.col("span_end_utc").alias("window_end_utc"),
        pl.col("received_at_utc").alias("detected_at_utc"),
        pl.col("delta_kwh").alias("observed"), pl.lit(0.0).alias("expected"),
        pl.lit("kWh").alias("unit"),
        pl.format("counter fell by {} kWh and it is not a rollover", -pl.col("delta_kwh"))
        .alias("message"),
        pl.struct("prev_value", "value", "rollover_kwh").struct.json_encode().alias("details"),
    )
    above = steps.filter(
        (pl.col("kind") != "negative") & (pl.col("span_kwh") > pl.col("run_capacity_kwh"))
    ).select(
        *_common("above_capacity", "critical"),
        "site_id", "meter_id", "raw_id",
        pl.lit("reading").alias("subject_kind"), pl.col("raw_id").alias("subject_id"),
        pl.col("span_start_utc").alias("window_start_utc"),
        pl.col("span_end_utc").alias("window_end_utc"),
        pl.col("received_at_utc").alias("detected_at_utc"),
        pl.col("span_kwh").alias("observed"), pl.col("run_capacity_kwh").alias("expected"),
        pl.lit("kWh").alias("unit"),
        pl.format("counter span of {} kWh above the meter's capacity of {} kWh", "span_kwh",
                  pl.col("run_capacity_kwh").round(3)).alias("message"),
        pl.struct("prev_value", "value", "capacity_kw", "kind").struct.json_encode()
        .alias("details"),
    )
    return concat_anomalies([anomalies(negative), anomalies(above)])


def _register_values(readings, meters, equipment, headroom) -> pl.DataFrame:
    r = in_service(readings, meters).filter(pl.col("register").is_in(["interval_kwh",
                                                                       "power_kw"]))
    cap = meter_capacity_kw(meters, equipment)
    hours = pl.col("interval_minutes") / 60.0
    kwh = pl.when(pl.col("register") == "power_kw").then(pl.col("value") * hours) \
        .otherwise(pl.col("value"))
    r = r.join(cap, on="meter_id", how="left").with_columns(
        kwh.alias("kwh"),
        (pl.col("capacity_kw").fill_null(float("inf")) * hours * headroom).alias("cap_kwh"),
    ).filter(pl.col("kwh") > pl.col("cap_kwh"))
    return anomalies(r.select(
        *_common("above_capacity", "critical"),
        "site_id", "meter_id", "raw_id",
        pl.lit("reading").alias("subject_kind"), pl.col("raw_id").alias("subject_id"),
        pl.col("ts_utc").alias("window_start_utc"),
        (pl.col("ts_utc") + pl.duration(minutes=pl.col("interval_minutes")))
        .alias("window_end_utc"),
        pl.col("received_at_utc").alias("detected_at_utc"),
        pl.col("kwh").alias("observed"), pl.col("cap_kwh").alias("expected"),
        pl.lit("kWh").alias("unit"),
        pl.format("{} reading of {} kWh above the meter's capacity of {} kWh", "register",
                  pl.col("kwh").round(3), pl.col("cap_kwh").round(3)).alias("message"),
        pl.struct("register", "raw_value", "capacity_kw").struct.json_encode().alias("details"),
    ))

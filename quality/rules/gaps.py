"""Gaps: readings a meter should have sent and did not.

A meter in service owes one reading per interval (counters one per boundary, interval and
power registers one per interval start). Missing runs are reported per meter: a run of at most
`short_max_intervals` is a short gap (interpolated by corrections.estimate_gaps), a longer one a
long gap (estimated from the parent meter's balance or a profile). Per production batch, when
more than `batch_threshold` (10 %) of the readings owed by the line's meters during the batch
are missing, the batch's energy is not trustworthy: an alert (study 2, rule R4).

Detection time: a reading is known missing once its expected arrival (instant + one interval +
`grace`) has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from quality.rules.common import (
    anomalies,
    empty_anomalies,
    in_service,
    line_running,
    meter_line,
    normalize,
    runs,
    to_naive_utc,
)

RULE = "gaps"
GRACE = timedelta(minutes=5)


def expected_readings(meters: pl.DataFrame, window_start: datetime,
                      window_end: datetime) -> pl.DataFrame:
    """meter_id, site_id, register, interval_minutes, ts_utc: every reading each meter owes in
    [window_start, window_end) while in service (a removed counter's final reading included)."""
    m = normalize(meters)
    start, end = to_naive_utc(window_start), to_naive_utc(window_end)
    step = pl.duration(minutes=pl.col("interval_minutes"))
    last = (
        pl.when(pl.col("removed_at_utc").is_null()).then(pl.lit(end))
        .when(pl.col("register") == "counter_kwh")
        .then(pl.min_horizontal(pl.col("removed_at_utc") + pl.duration(microseconds=1),
                                pl.lit(end)))
        .otherwise(pl.min_horizontal(pl.col("removed_at_utc") - step
                                     + pl.duration(microseconds=1), pl.lit(end)))
    )
    first = pl.max_horizontal(pl.col("installed_at_utc").dt.truncate("15m"), pl.lit(start))
    return (
        m.with_columns(first.alias("_from"), last.alias("_to"))
        .filter(pl.col("_to") > pl.col("_from"))
        .with_columns(
            pl.datetime_ranges("_from", "_to", interval="15m", closed="left", time_unit="us")
            .alias("ts_utc")
        )
        .explode("ts_utc")
        .filter(pl.col("ts_utc").is_not_null())
        # meters on a coarser grid owe a reading only on their own grid
        .filter((pl.col("ts_utc") - pl.col("ts_utc").dt.truncate("1d")).dt.total_minutes()
                % pl.col("interval_minutes") == 0)
        .select("meter_id", "site_id", "register", "interval_minutes", "ts_utc")
    )


def detect_gaps(readings: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame,
                window_start: datetime, window_end: datetime, *, short_max_intervals: int = 4,
                grace: timedelta = GRACE) -> pl.DataFrame:
    """One anomaly per run of missing readings per meter (check short_gap / long_gap)."""
    owed = expected_readings(meters, window_start, window_end)
    present = in_service(readings, meters).select("meter_id", "ts_utc")
    missing = owed.join(present, on=["meter_id", "ts_utc"], how="anti")
    if missing.height == 0:
        return empty_anomalies()
    step = timedelta(minutes=15)
    gap_runs = (
        runs(missing, ["meter_id"], "ts_utc", step)
        .group_by("meter_id", "run_id")
        .agg(
            pl.first("site_id"), pl.first("register"), pl.first("interval_minutes"),
            pl.col("ts_utc").min().alias("first_missing"),
            pl.col("ts_utc").max().alias("last_missing"),
            pl.len().alias("missing"),
        )
        .join(meter_line(meters, equipment), on="meter_id", how="left")
    )
    interval = pl.duration(minutes=pl.col("interval_minutes"))
    return anomalies(gap_runs.select(
        pl.lit(RULE).alias("rule"),
        pl.when(pl.col("missing") <= short_max_intervals).then(pl.lit("short_gap"))
        .otherwise(pl.lit("long_gap")).alias("check"),
        pl.when(pl.col("missing") <= short_max_intervals).then(pl.lit("info"))
        .otherwise(pl.lit("warning")).alias("severity"),
        "site_id", "meter_id", "equipment_id",
        pl.lit("meter").alias("subject_kind"),
        pl.col("meter_id").alias("subject_id"),
        pl.col("first_missing").alias("window_start_utc"),
        (pl.col("last_missing") + interval).alias("window_end_utc"),
        (pl.col("first_missing") + interval + pl.lit(grace)).alias("detected_at_utc"),
        pl.col("missing").cast(pl.Float64).alias("observed"),
        pl.lit(0.0).alias("expected"),
        pl.lit("readings").alias("unit"),
        pl.format("{} missing reading(s) from {} ({})", "missing", "first_missing", "register")
        .alias("message"),
        pl.struct("register", "missing", "first_missing", "last_missing").struct.json_encode()
        .alias("details"),
    ))


def detect_batch_gaps(readings: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame,
                      production: pl.DataFrame, *, threshold: float = 0.10,
                      grace: timedelta = GRACE) -> pl.DataFrame:
    """Batches for which more than `threshold` of the readings owed by the line's meters (the
    line meter and its equipment meters in service) during [start, end) are missing."""
    batches = line_running(production)
    if batches.height == 0:
        return empty_anomalies()
    lines = meter_line(meters, equipment).filter(pl.col("line_id").is_not_null())
    m = normalize(meters).join(lines.select("meter_id", "line_id"), on="meter_id")
    owed = (
        batches.join(m.select("meter_id", "line_id", "register", "interval_minutes",
                              "installed_at_utc", "removed_at_utc"), on="line_id")
        .with_columns(
            pl.datetime_ranges("start_utc", pl.col("end_utc") - pl.duration(microseconds=1),
                               interval="15m", time_unit="us").alias("ts_utc")
        )
        .explode("ts_utc")
        .filter(
            (pl.col("ts_utc") >= pl.col("installed_at_utc"))
            & (pl.col("removed_at_utc").is_null() | (pl.col("ts_utc") < pl.col("removed_at_utc")))
        )
    )
    present = in_service(readings, meters).select("meter_id", "ts_utc",
                                                  pl.lit(True).alias("present"))
    per_meter = (
        owed.join(present, on=["meter_id", "ts_utc"], how="left")
        .group_by("batch_id", "site_id", "line_id", "start_utc", "end_utc", "meter_id")
        .agg(pl.len().alias("owed"), pl.col("present").is_null().sum().alias("missing"))
    )
    worst = (
        per_meter.sort("missing", "meter_id", descending=[True, False])
        .group_by("batch_id", maintain_order=True)
        .agg(pl.first("meter_id").alias("worst_meter"))
    )
    per_batch = (
        per_meter.group_by("batch_id", "site_id", "line_id", "start_utc", "end_utc")
        .agg(pl.sum("owed"), pl.sum("missing"))
        .with_columns((pl.col("missing") / pl.col("owed")).alias("share"))
        .filter(pl.col("share") > threshold)
        .join(worst, on="batch_id")
    )
    return anomalies(per_batch.select(
        pl.lit(RULE).alias("rule"),
        pl.lit("batch_data_missing").alias("check"),
        pl.lit("warning").alias("severity"),
        "site_id",
        pl.col("worst_meter").alias("meter_id"),
        pl.lit("batch").alias("subject_kind"),
        pl.col("batch_id").alias("subject_id"),
        pl.col("start_utc").alias("window_start_utc"),
        pl.col("end_utc").alias("window_end_utc"),
        (pl.col("end_utc") + pl.duration(minutes=15) + pl.lit(grace)).alias("detected_at_utc"),
        pl.col("share").alias("observed"),
        pl.lit(threshold).alias("expected"),
        pl.lit("share").alias("unit"),
        pl.format("batch {} on {}: {} of {} readings missing (worst meter {})", "batch_id",
                  "line_id", "missing", "owed", "worst_meter").alias("message"),
        pl.struct("line_id", "owed", "missing", "worst_meter").struct.json_encode()
        .alias("details"),
    ))

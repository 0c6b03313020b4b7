"""Clock and duplicates: readings whose time or identity cannot be trusted as sent.

The row-level clock checks — a timestamp in the future of its own receipt, a reading received
far behind its timestamp — are Great Expectations expectations on the readings suite
(quality/suites/readings.py, check `future_timestamp` and `late_arrival` of rule `clock`);
`add_receipt_lag` prepares the column they test. What GX cannot express is here:

- duplicate_identical: the same raw_id received more than once with the same value (an
  at-least-once re-send; harmless — staging keeps the first copy);
- duplicate_conflicting: the same raw_id received again with a different value. Staging keeps
  the first received copy; the finding names both values (corrections flag it);
- conflicting_instant: two different raw_ids for one meter and instant with different values
  (int_meter_interval_energy keeps the first received).
Run these on the readings BEFORE deduplication (the landing source, or
`common.stage_readings(..., dedup=False)`): staging has already dropped the copies.
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import anomalies, concat_anomalies, empty_anomalies, normalize

RULE = "clock"


def add_receipt_lag(readings: pl.DataFrame) -> pl.DataFrame:
    """receipt_lag_s = received_at − ts in seconds (negative: a timestamp in the future)."""
    r = normalize(readings)
    return r.with_columns(
        (pl.col("received_at_utc") - pl.col("ts_utc")).dt.total_seconds().cast(pl.Float64)
        .alias("receipt_lag_s"))


def detect_duplicates(readings_all: pl.DataFrame, *, tolerance: float = 1e-9) -> pl.DataFrame:
    r = normalize(readings_all)
    value = "raw_value" if "raw_value" in r.columns else "value"
    r = r.sort("raw_id", "received_at_utc", maintain_order=True).with_columns(
        pl.col(value).first().over("raw_id").alias("first_value"),
        pl.len().over("raw_id").alias("copies"),
        pl.int_range(pl.len()).over("raw_id").alias("copy_no"),
    )
    later = r.filter(pl.col("copy_no") > 0).with_columns(
        ((pl.col(value) - pl.col("first_value")).abs() > tolerance).alias("differs"))
    if later.height == 0:
        by_id = empty_anomalies()
    else:
        per_id = later.group_by("raw_id").agg(
            pl.first("meter_id"), pl.first("site_id"), pl.first("ts_utc"),
            pl.first("first_value"), pl.col("differs").any(),
            pl.col(value).filter(pl.col("differs")).first().alias("other_value"),
            pl.col("received_at_utc").min().alias("second_received"),
            pl.col("received_at_utc").filter(pl.col("differs")).min().alias("differ_received"),
            (pl.col("copies").first() - 1).alias("extra_copies"),
        )
        by_id = anomalies(per_id.select(
            pl.lit(RULE).alias("rule"),
            pl.when(pl.col("differs")).then(pl.lit("duplicate_conflicting"))
            .otherwise(pl.lit("duplicate_identical")).alias("check"),
            pl.when(pl.col("differs")).then(pl.lit("warning")).otherwise(pl.lit("info"))
            .alias("severity"),
            "site_id", "meter_id", "raw_id",
            pl.lit("reading").alias("subject_kind"), pl.col("raw_id").alias("subject_id"),
            pl.col("ts_utc").alias("window_start_utc"),
            (pl.col("ts_utc") + pl.duration(minutes=15)).alias("window_end_utc"),
            pl.coalesce("differ_received", "second_received").alias("detected_at_utc"),
            pl.coalesce("other_value", "first_value").alias("observed"),
            pl.col("first_value").alias("expected"),
            pl.lit("raw").alias("unit"),
            pl.when(pl.col("differs"))
            .then(pl.format("raw_id {} re-sent with {} instead of {}; the first received is kept",
                            "raw_id", "other_value", "first_value"))
            .otherwise(pl.format("raw_id {} received {} extra time(s), identical", "raw_id",
                                 "extra_copies")).alias("message"),
            pl.struct("first_value", "other_value", "extra_copies").struct.json_encode()
            .alias("details"),
        ))
    firsts = r.filter(pl.col("copy_no") == 0)
    inst = firsts.sort("meter_id", "ts_utc", "received_at_utc").with_columns(
        pl.col(value).first().over("meter_id", "ts_utc").alias("kept_value"),
        pl.col("raw_id").first().over("meter_id", "ts_utc").alias("kept_raw_id"),
    ).filter((pl.col("raw_id") != pl.col("kept_raw_id"))
             & ((pl.col(value) - pl.col("kept_value")).abs() > tolerance))
    by_instant = anomalies(inst.select(
        pl.lit(RULE).alias("rule"), pl.lit("conflicting_instant").alias("check"),
        pl.lit("warning").alias("severity"), "site_id", "meter_id", "raw_id",
        pl.lit("reading").alias("subject_kind"), pl.col("raw_id").alias("subject_id"),
        pl.col("ts_utc").alias("window_start_utc"),
        (pl.col("ts_utc") + pl.duration(minutes=15)).alias("window_end_utc"),
        pl.col("received_at_utc").alias("detected_at_utc"),
        pl.col(value).alias("observed"), pl.col("kept_value").alias("expected"),
        pl.lit("raw").alias("unit"),
        pl.format("{} and {} give the same meter and instant different values; {} is kept",
                  "raw_id", "kept_raw_id", "kept_raw_id").alias("message"),
        pl.struct("kept_raw_id", "kept_value").struct.json_encode().alias("details"),
    ))
    return concat_anomalies([by_id, by_instant])

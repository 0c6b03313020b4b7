"""Meter replacement: a device removed and a new one (new meter id) installed in its place.

The registry says it: the old meter has removed_at, and a meter of the same site measuring the
same thing (measures_kind, measures_id) is installed at that instant (within one interval).
Each meter's counter is read only inside its own service window, so no delta is ever taken
between the old and the new device (no false spike); the finding records the swap, the old
meter's final reading and the new meter's first reading. Readings of a meter outside its
service window are reported as `outside_service` (they are not used).
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import anomalies, concat_anomalies, meter_line, normalize

RULE = "meter_replacement"


def detect_replacements(readings: pl.DataFrame, meters: pl.DataFrame,
                        equipment: pl.DataFrame) -> pl.DataFrame:
    m = normalize(meters)
    r = normalize(readings)
    removed = m.filter(pl.col("removed_at_utc").is_not_null()).select(
        "meter_id", "site_id", "measures_kind", "measures_id", "removed_at_utc",
        "interval_minutes")
    successors = m.select(
        pl.col("meter_id").alias("new_meter_id"), "site_id", "measures_kind", "measures_id",
        "installed_at_utc")
    swaps = removed.join(successors, on=["site_id", "measures_kind", "measures_id"]).filter(
        (pl.col("new_meter_id") != pl.col("meter_id"))
        & ((pl.col("installed_at_utc") - pl.col("removed_at_utc")).abs()
           <= pl.duration(minutes=pl.col("interval_minutes")))
    )
    first_new = (
        r.join(swaps.select("new_meter_id", "installed_at_utc"), left_on="meter_id",
               right_on="new_meter_id")
        .filter(pl.col("ts_utc") >= pl.col("installed_at_utc"))
        .sort("ts_utc", "received_at_utc")
        .group_by("meter_id")
        .agg(pl.first("raw_value" if "raw_value" in r.columns else "value")
             .alias("new_first_value"),
             pl.first("received_at_utc").alias("new_first_received"))
        .rename({"meter_id": "new_meter_id"})
    )
    last_old = (
        r.join(swaps.select("meter_id", "removed_at_utc"), on="meter_id")
        .filter(pl.col("ts_utc") <= pl.col("removed_at_utc"))
        .sort("ts_utc", "received_at_utc")
        .group_by("meter_id")
        .agg(pl.last("raw_value" if "raw_value" in r.columns else "value")
             .alias("old_last_value"))
    )
    swaps = (
        swaps.join(first_new, on="new_meter_id", how="left")
        .join(last_old, on="meter_id", how="left")
        .join(meter_line(meters, equipment).select("meter_id", "equipment_id"), on="meter_id",
              how="left")
    )
    found = anomalies(swaps.select(
        pl.lit(RULE).alias("rule"),
        pl.lit("replacement").alias("check"),
        pl.lit("info").alias("severity"),
        "site_id", "meter_id", "equipment_id",
        pl.lit("meter").alias("subject_kind"),
        pl.col("meter_id").alias("subject_id"),
        pl.col("removed_at_utc").alias("window_start_utc"),
        (pl.col("removed_at_utc") + pl.duration(minutes=pl.col("interval_minutes")))
        .alias("window_end_utc"),
        pl.coalesce("new_first_received", pl.col("removed_at_utc")
                    + pl.duration(minutes=pl.col("interval_minutes"))).alias("detected_at_utc"),
        pl.col("new_first_value").alias("observed"),
        pl.col("old_last_value").alias("expected"),
        pl.lit("raw").alias("unit"),
        pl.format("{} replaced by {} at {}; no delta is taken across the two devices",
                  "meter_id", "new_meter_id", "removed_at_utc").alias("message"),
        pl.struct("new_meter_id", "old_last_value", "new_first_value").struct.json_encode()
        .alias("details"),
    ))
    return concat_anomalies([found, _outside_service(r, m)])


def _outside_service(readings: pl.DataFrame, meters: pl.DataFrame) -> pl.DataFrame:
    step = pl.duration(minutes=pl.col("interval_minutes"))
    j = readings.join(
        meters.select("meter_id", pl.col("register").alias("_register"), "interval_minutes",
                      "installed_at_utc", "removed_at_utc"), on="meter_id")
    outside = j.filter(
        (pl.col("ts_utc") < pl.col("installed_at_utc"))
        | (pl.col("removed_at_utc").is_not_null()
           & pl.when(pl.col("_register") == "counter_kwh")
           .then(pl.col("ts_utc") > pl.col("removed_at_utc"))
           .otherwise(pl.col("ts_utc") + step > pl.col("removed_at_utc")))
    )
    return anomalies(outside.select(
        pl.lit(RULE).alias("rule"),
        pl.lit("outside_service").alias("check"),
        pl.lit("warning").alias("severity"),
        "site_id", "meter_id", "raw_id",
        pl.lit("reading").alias("subject_kind"),
        pl.col("raw_id").alias("subject_id"),
        pl.col("ts_utc").alias("window_start_utc"),
        (pl.col("ts_utc") + step).alias("window_end_utc"),
        pl.col("received_at_utc").alias("detected_at_utc"),
        pl.col("value").alias("observed"),
        pl.lit("kWh").alias("unit"),
        pl.format("reading at {} outside the meter's service window", "ts_utc").alias("message"),
        pl.struct("installed_at_utc", "removed_at_utc").struct.json_encode().alias("details"),
    ))


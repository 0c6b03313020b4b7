"""Reported vs recomputed: a source that prints its own emissions, checked row by row.

Some exports carry the emissions their system computed (the UCI steel file's CO2(tCO2), =
round(kWh × 0.4585 / 1000, 2)). Recompute kWh × factor and flag a row when the printed value
is not a rounding of the recomputed one: |recomputed − reported| > half a unit of the printed
last decimal (+1e-9 for float noise). A value on a rounding tie matches whichever way it went.
On the steel file this flags exactly the 47 rows of 2 January 08:15–20:30 (as printed) that
report 0.00 while the plant used energy, and nothing else.
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import anomalies

RULE = "reported_vs_recomputed"


def detect_reported_mismatch(rows: pl.DataFrame, *, factor_t_per_mwh: float,
                             decimals: int = 2, site_id: str | None = None,
                             meter_id: str | None = None) -> pl.DataFrame:
    """rows: source_row, interval_start_utc, kwh, reported_tco2 (optionally printed_ts) —
    e.g. `ingestion.files.cases.steel.read_reported(csv)`."""
    tolerance = 0.5 * 10 ** (-decimals) + 1e-9
    r = rows.with_columns(
        (pl.col("kwh") * factor_t_per_mwh / 1000.0).alias("recomputed_tco2"))
    bad = r.filter((pl.col("recomputed_tco2") - pl.col("reported_tco2")).abs() > tolerance)
    printed = pl.col("printed_ts") if "printed_ts" in r.columns else pl.lit(None, pl.String)
    return anomalies(bad.select(
        pl.lit(RULE).alias("rule"), pl.lit("reported_emissions").alias("check"),
        pl.lit("warning").alias("severity"),
        pl.lit(site_id, pl.String).alias("site_id"), pl.lit(meter_id, pl.String)
        .alias("meter_id"),
        pl.lit("row").alias("subject_kind"),
        pl.col("source_row").cast(pl.String).alias("subject_id"),
        pl.col("interval_start_utc").alias("window_start_utc"),
        (pl.col("interval_start_utc") + pl.duration(minutes=15)).alias("window_end_utc"),
        pl.col("reported_tco2").alias("observed"),
        pl.col("recomputed_tco2").alias("expected"),
        pl.lit("tCO2").alias("unit"),
        pl.format("row {} ({}): reported {} tCO2, recomputed {} × {} / 1000 = {} tCO2",
                  "source_row", printed, "reported_tco2", "kwh", pl.lit(factor_t_per_mwh),
                  pl.col("recomputed_tco2").round(6)).alias("message"),
        pl.struct(printed.alias("printed_ts"), "kwh", "reported_tco2", "recomputed_tco2")
        .struct.json_encode().alias("details"),
    ))

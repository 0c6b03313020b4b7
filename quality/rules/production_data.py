"""Production data: what the production suite's row checks cannot see.

The row-level checks (end before start, negative units, unknown SKU or line, duplicate batch
ids) are Great Expectations expectations (quality/suites/production.py). Here:
- overlapping_batches: two batches of the same line whose [start, end) overlap — a line runs
  one batch at a time, so the batch energy would be split between them (marts.fct_batch_energy
  does split it by overlap, which hides the error). Both batches are named.
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import anomalies, normalize

RULE = "production_data"


def detect_overlapping_batches(production: pl.DataFrame) -> pl.DataFrame:
    """Every batch that overlaps another batch of its line (both sides are named)."""
    p = normalize(production).filter(pl.col("end_utc") > pl.col("start_utc"))
    other = p.select("site_id", "line_id", pl.col("batch_id").alias("other_batch"),
                     pl.col("start_utc").alias("o_start"), pl.col("end_utc").alias("o_end"))
    pairs = (
        p.join(other, on=["site_id", "line_id"])
        .filter((pl.col("batch_id") != pl.col("other_batch"))
                & (pl.col("start_utc") < pl.col("o_end"))
                & (pl.col("o_start") < pl.col("end_utc")))
        .group_by("batch_id", "site_id", "line_id", "start_utc", "end_utc")
        .agg(pl.col("other_batch").sort().str.join(", ").alias("overlaps"),
             pl.col("o_end").min().alias("o_end"), pl.col("o_start").max().alias("o_start"))
    )
    return anomalies(pairs.select(
        pl.lit(RULE).alias("rule"), pl.lit("overlapping_batches").alias("check"),
        pl.lit("warning").alias("severity"), "site_id",
        pl.lit("batch").alias("subject_kind"), pl.col("batch_id").alias("subject_id"),
        pl.max_horizontal("start_utc", "o_start").alias("window_start_utc"),
        pl.min_horizontal("end_utc", "o_end").alias("window_end_utc"),
        pl.col("end_utc").alias("detected_at_utc"),
        pl.lit("batch").alias("unit"),
        pl.format("batch {} on {} overlaps {}", "batch_id", "line_id", "overlaps")
        .alias("message"),
        pl.struct("line_id", "overlaps").struct.json_encode().alias("details"),
    ))

"""Factor files: validity windows that overlap or leave coverage gaps.

Factors are data with validity windows [valid_from, valid_to); a new version never overwrites
an old one, so two versions of one factor may cover the same time (that is a restatement). What
must not happen:
- overlap: two rows of the same factor, version and gas whose windows overlap (which value
  holds?) — both rows are named;
- coverage_gap: a hole between consecutive windows of a factor (all its versions together):
  emissions in the hole would have no factor — the rows on either side are named.
Row-level problems (an inverted window, a value outside the plausible bounds of its unit, an
unknown unit) are the factors suite's expectations (quality/suites/factors.py). Rows whose window
is inverted are left out here. `factor_key` = factor_id|version|valid_from names a row.
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import anomalies, concat_anomalies, normalize

RULE = "factor_file"


def factor_key() -> pl.Expr:
    return pl.format("{}|{}|{}", "factor_id", "version",
                     pl.col("valid_from_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).alias(
        "factor_key")


def detect_factor_windows(factors: pl.DataFrame) -> pl.DataFrame:
    f = normalize(factors).filter(pl.col("valid_to_utc") > pl.col("valid_from_utc"))
    f = f.with_columns(factor_key(), pl.col("gas").fill_null("-").alias("_gas"))
    common = [pl.lit(RULE).alias("rule"), pl.lit("factor").alias("subject_kind"),
              pl.lit("critical").alias("severity")]
    # overlap: a row starting before the latest end of the earlier rows of its group
    grp = ["factor_id", "version", "_gas"]
    o = f.sort(*grp, "valid_from_utc", "valid_to_utc").with_columns(
        pl.col("valid_to_utc").cum_max().shift(1).over(grp).alias("_prev_end"),
        pl.col("factor_key").shift(1).over(grp).alias("_prev_key"),
    )
    overlaps = o.filter(pl.col("valid_from_utc") < pl.col("_prev_end"))
    overlap_rows = anomalies(overlaps.select(
        *common, pl.lit("overlap").alias("check"),
        pl.col("factor_key").alias("subject_id"),
        pl.col("valid_from_utc").alias("window_start_utc"),
        pl.min_horizontal("valid_to_utc", "_prev_end").alias("window_end_utc"),
        pl.col("published_at_utc").alias("detected_at_utc") if "published_at_utc" in f.columns
        else pl.lit(None).alias("detected_at_utc"),
        pl.col("value").alias("observed"), pl.lit("factor").alias("unit"),
        pl.format("factor row {} overlaps row {} (same factor, version and gas)", "factor_key",
                  "_prev_key").alias("message"),
        pl.struct(pl.col("_prev_key").alias("overlaps_row")).struct.json_encode()
        .alias("details"),
    ))
    # coverage gaps over all versions of a factor
    g = f.sort("factor_id", "valid_from_utc", "valid_to_utc").with_columns(
        pl.col("valid_to_utc").cum_max().shift(1).over("factor_id").alias("_covered_to"),
        pl.col("factor_key").shift(1).over("factor_id").alias("_prev_key"),
    )
    gaps = g.filter(pl.col("valid_from_utc") > pl.col("_covered_to"))
    gap_rows = anomalies(gaps.select(
        *common, pl.lit("coverage_gap").alias("check"),
        pl.col("factor_key").alias("subject_id"),
        pl.col("_covered_to").alias("window_start_utc"),
        pl.col("valid_from_utc").alias("window_end_utc"),
        pl.col("published_at_utc").alias("detected_at_utc") if "published_at_utc" in f.columns
        else pl.lit(None).alias("detected_at_utc"),
        pl.lit(None, pl.Float64).alias("observed"), pl.lit("factor").alias("unit"),
        pl.format("no {} factor from {} to {}: between rows {} and {}", "factor_id",
                  "_covered_to", "valid_from_utc", "_prev_key", "factor_key").alias("message"),
        pl.struct(pl.col("_prev_key").alias("previous_row")).struct.json_encode()
        .alias("details"),
    ))
    return concat_anomalies([overlap_rows, gap_rows])

"""The production suite: row-level checks on production batches (staging.stg_landing__production).

- production_data / end_before_start: end_utc must be after start_utc;
- production_data / negative_units: good_units and scrap_units ≥ 0;
- production_data / unknown_line, unknown_sku: against the known lines (the equipment registry's
  line_id) and products (the product master, or the SKUs seen so far) when given;
- production_data / unknown_shift: against the site's shift names when given;
- production_data / duplicate_batch: batch_id unique; contract not-nulls.
Failing rows name the batch. Overlapping batches on a line: rules/production_data.py.
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import normalize
from quality.validation import ValidationOutcome, context, run_suite

FIELDS = {"subject_id": "batch_id", "site_id": "site_id", "window_start_utc": "start_utc",
          "window_end_utc": "end_utc"}


def build_suite(*, known_lines: list[str] | None = None, known_skus: list[str] | None = None,
                known_shifts: list[str] | None = None):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context()  # suites live in the process's ephemeral context
    suite = gx.ExpectationSuite(name="production")

    def meta(check, severity, message, rule="production_data"):
        return {"rule": rule, "check": check, "severity": severity, "subject_kind": "batch",
                "message": message}

    for col in ("batch_id", "site_id", "line_id", "sku", "start_utc", "end_utc", "good_units"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
            column=col, meta=meta(f"not_null_{col}", "critical", f"{col} is missing",
                                  rule="contract")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(
        column="batch_id", meta=meta("duplicate_batch", "critical", "batch_id not unique")))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="end_utc", column_B="start_utc", or_equal=False,
        meta=meta("end_before_start", "critical", "batch ends before (or when) it starts")))
    for col in ("good_units", "scrap_units"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column=col, min_value=0,
            meta=meta("negative_units", "critical", f"negative {col}")))
    if known_lines is not None:
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column="line_id", value_set=sorted(known_lines),
            meta=meta("unknown_line", "critical", "line not in the equipment registry")))
    if known_skus is not None:
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column="sku", value_set=sorted(known_skus),
            meta=meta("unknown_sku", "warning", "SKU not in the product list")))
    if known_shifts is not None:
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column="shift", value_set=sorted(known_shifts),
            meta=meta("unknown_shift", "warning", "shift name not known")))
    return suite


def prepare(production: pl.DataFrame) -> pl.DataFrame:
    p = normalize(production)
    if "scrap_units" not in p.columns:
        p = p.with_columns(pl.lit(None, pl.Int64).alias("scrap_units"))
    return p


def validate(production: pl.DataFrame, *, known_lines: list[str] | None = None,
             known_skus: list[str] | None = None,
             known_shifts: list[str] | None = None) -> ValidationOutcome:
    return run_suite(build_suite(known_lines=known_lines, known_skus=known_skus,
                                 known_shifts=known_shifts), prepare(production), fields=FIELDS)

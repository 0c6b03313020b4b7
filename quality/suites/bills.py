"""The bills suite: row-level checks on utility bills (staging.stg_landing__bills).

- bill_gap / non_positive_kwh: billed kWh > 0; bill_gap / negative_cost: cost ≥ 0;
- bill_gap / end_before_start: period_end ≥ period_start (local dates, both inclusive);
- contract: not-nulls, bill_id unique.
The bill against the meters (residual outside the site's band): rules/bill_gap.py.
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import normalize
from quality.validation import ValidationOutcome, context, run_suite

FIELDS = {"subject_id": "bill_id", "site_id": "site_id"}


def build_suite():
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context()  # suites live in the process's ephemeral context
    suite = gx.ExpectationSuite(name="bills")

    def meta(check, severity, message, rule="bill_gap"):
        return {"rule": rule, "check": check, "severity": severity, "subject_kind": "bill",
                "message": message}

    for col in ("bill_id", "site_id", "period_start", "period_end", "kwh"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
            column=col, meta=meta(f"not_null_{col}", "critical", f"{col} is missing",
                                  rule="contract")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(
        column="bill_id", meta=meta("duplicate_bill", "critical", "bill_id not unique",
                                    rule="contract")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="kwh", min_value=0, strict_min=True,
        meta=meta("non_positive_kwh", "critical", "billed kWh not positive")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="cost", min_value=0, meta=meta("negative_cost", "warning", "negative cost")))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="period_end", column_B="period_start", or_equal=True,
        meta=meta("end_before_start", "critical", "bill period ends before it starts")))
    return suite


def prepare(bills: pl.DataFrame) -> pl.DataFrame:
    b = normalize(bills)
    if "cost" not in b.columns:
        b = b.with_columns(pl.lit(None, pl.Float64).alias("cost"))
    return b


def validate(bills: pl.DataFrame) -> ValidationOutcome:
    return run_suite(build_suite(), prepare(bills), fields=FIELDS)

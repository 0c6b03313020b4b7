"""The readings suite: row-level contract and clock checks on staged readings.

On `staging.stg_landing__readings` (or landing-shaped readings; `prepare` normalises), plus the
derived `receipt_lag_s` (received_at − ts, seconds):
- contract: raw_id, meter_id, ts_utc, value, received_at_utc not null; meter known (when the
  registry is given); unit and quality in their vocabularies;
- range_spike / negative_value: a reading below zero (no register reports negative energy or
  power on a consuming site);
- clock / future_timestamp: a timestamp more than `future_tolerance` after its own receipt (the
  gateway clock is ahead): quarantined;
- clock / late_arrival: received more than `late_after` after its timestamp: flagged, and the
  day it belongs to must be re-run.
Neighbour- and history-based checks (spikes, gaps, stuck, rollover, duplicates) are the Polars
rules in quality/rules/.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from quality.rules.clock import add_receipt_lag
from quality.validation import ValidationOutcome, context, run_suite

UNITS = ["kWh", "Wh", "MWh", "GWh", "kW", "W", "MW"]
QUALITIES = ["good", "estimated", "suspect"]
FIELDS = {"subject_id": "raw_id", "raw_id": "raw_id", "site_id": "site_id",
          "meter_id": "meter_id", "window_start_utc": "ts_utc",
          "detected_at_utc": "received_at_utc"}


def build_suite(*, known_meters: list[str] | None = None,
                future_tolerance: timedelta = timedelta(minutes=5),
                late_after: timedelta = timedelta(days=1)):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context()  # suites live in the process's ephemeral context
    suite = gx.ExpectationSuite(name="readings")

    def meta(rule, check, severity, message):
        return {"rule": rule, "check": check, "severity": severity,
                "subject_kind": "reading", "message": message}

    for col in ("raw_id", "meter_id", "ts_utc", "value", "received_at_utc"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
            column=col, meta=meta("contract", f"not_null_{col}", "critical",
                                  f"{col} is missing")))
    if known_meters is not None:
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column="meter_id", value_set=sorted(known_meters),
            meta=meta("contract", "unknown_meter", "critical", "meter not in the registry")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="unit", value_set=UNITS,
        meta=meta("contract", "unknown_unit", "critical", "unit not convertible")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="quality", value_set=QUALITIES, mostly=1.0,
        meta=meta("contract", "unknown_quality", "warning", "quality flag not known")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="value", min_value=0,
        meta={**meta("range_spike", "negative_value", "critical", "negative reading"),
              "unit": "kWh"}))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="receipt_lag_s", min_value=-future_tolerance.total_seconds(),
        meta={**meta("clock", "future_timestamp", "critical",
                     "timestamp after its own receipt (clock ahead)"), "unit": "s"}))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="receipt_lag_s", max_value=late_after.total_seconds(),
        meta={**meta("clock", "late_arrival", "info",
                     f"received more than {late_after} after its timestamp"), "unit": "s"}))
    return suite


def prepare(readings: pl.DataFrame) -> pl.DataFrame:
    r = add_receipt_lag(readings)
    if "quality" not in r.columns:
        r = r.with_columns(pl.lit(None, pl.String).alias("quality"))
    return r


def validate(readings: pl.DataFrame, *, known_meters: list[str] | None = None,
             future_tolerance: timedelta = timedelta(minutes=5),
             late_after: timedelta = timedelta(days=1)) -> ValidationOutcome:
    out = run_suite(build_suite(known_meters=known_meters, future_tolerance=future_tolerance,
                                late_after=late_after), prepare(readings), fields=FIELDS)
    # the window of a reading is its interval; detection of a late reading = its arrival
    a = out.anomalies.with_columns(
        pl.coalesce("window_end_utc", pl.col("window_start_utc") + pl.duration(minutes=15))
        .alias("window_end_utc"))
    return ValidationOutcome(a, out.summary)

"""The Great Expectations suites through the thin runner: failing rows become named anomalies.

GX takes seconds to import, so this module builds each outcome once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from test_quality_plant import SITE, STEP, frame, meters, production, reading, readings, t

from quality.rules.common import ANOMALY_SCHEMA
from quality.suites import bills as s_bills
from quality.suites import factors as s_factors
from quality.suites import production as s_production
from quality.suites import readings as s_readings
from quality.validation import run_suite

pytest.importorskip("great_expectations")


def by_check(found: pl.DataFrame) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in found.group_by("check").agg(pl.col("subject_id"))
            .iter_rows()}


@pytest.fixture(scope="module")
def readings_outcome():
    bad = [
        reading("M-B", 200, 0.5, "interval_kwh", raw_id="future",
                received=t(200) - timedelta(hours=2)),
        reading("M-B", 201, 0.5, "interval_kwh", raw_id="late",
                received=t(201) + timedelta(days=2)),
        reading("M-B", 202, -0.5, "interval_kwh", raw_id="negative"),
        reading("M-Z", 203, 0.5, "interval_kwh", raw_id="ghost"),
        {**reading("M-B", 204, 0.5, "interval_kwh", raw_id="btu"), "unit": "BTU"},
    ]
    r = pl.concat([readings(n=8), frame(bad)])
    return s_readings.validate(r, known_meters=meters()["meter_id"].to_list())


def test_readings_suite_names_each_failing_reading(readings_outcome) -> None:
    found = readings_outcome.anomalies
    assert found.schema == pl.Schema(ANOMALY_SCHEMA)
    assert by_check(found) == {
        "future_timestamp": ["future"], "late_arrival": ["late"],
        "negative_value": ["negative"], "unknown_meter": ["ghost"], "unknown_unit": ["btu"]}
    future = found.filter(pl.col("check") == "future_timestamp").row(0, named=True)
    assert (future["rule"], future["severity"], future["raw_id"], future["meter_id"],
            future["window_start_utc"], future["window_end_utc"], future["observed"]) == (
        "clock", "critical", "future", "M-B", t(200), t(200) + STEP, -7200.0)
    late = found.filter(pl.col("check") == "late_arrival").row(0, named=True)
    assert late["detected_at_utc"] == t(201) + timedelta(days=2)


def test_readings_suite_summary_is_an_asset_check(readings_outcome) -> None:
    s = readings_outcome.summary
    assert not readings_outcome.success
    assert set(s.columns) == {"expectation", "rule", "check", "column", "success",
                              "element_count", "unexpected_count"}
    assert s.filter(~pl.col("success"))["check"].sort().to_list() == [
        "future_timestamp", "late_arrival", "negative_value", "unknown_meter", "unknown_unit"]
    assert s.filter(pl.col("check") == "not_null_raw_id")["element_count"][0] == 8 * 4 + 9 + 5


def test_production_suite() -> None:
    p = production([("OK", 8, 24, 400), ("END", 30, 30, 10), ("NEG", 40, 44, -5),
                    ("SKU", 50, 54, 10), ("LINE", 60, 64, 10), ("OK", 70, 74, 10)])
    p = p.with_columns(
        pl.when(pl.col("batch_id") == "SKU").then(pl.lit("Z9")).otherwise(pl.col("sku"))
        .alias("sku"),
        pl.when(pl.col("batch_id") == "LINE").then(pl.lit("L9")).otherwise(pl.col("line_id"))
        .alias("line_id"))
    out = s_production.validate(p, known_lines=["L1"], known_skus=["X"])
    assert by_check(out.anomalies) == {
        "duplicate_batch": ["OK", "OK"], "end_before_start": ["END"],
        "negative_units": ["NEG"], "unknown_sku": ["SKU"], "unknown_line": ["LINE"]}
    assert set(out.anomalies["rule"]) == {"production_data"}


def test_bills_suite() -> None:
    b = pl.DataFrame({"bill_id": ["ok", "zero", "back"], "site_id": [SITE] * 3,
                      "period_start": [date(2026, 3, 1)] * 3,
                      "period_end": [date(2026, 3, 31), date(2026, 3, 31), date(2026, 2, 1)],
                      "kwh": [100.0, 0.0, 50.0], "cost": [10.0, 0.0, 5.0]})
    out = s_bills.validate(b)
    assert by_check(out.anomalies) == {"non_positive_kwh": ["zero"],
                                       "end_before_start": ["back"]}


def _factor(version: str, value: float, unit: str, start: datetime, end: datetime) -> dict:
    return {"factor_id": "F", "version": version, "method": "location", "region": "TW",
            "energy_carrier": "electricity", "granularity": "annual", "valid_from": start,
            "valid_to": end, "value": value, "unit": unit, "gas": "CO2e", "gwp_set": None,
            "source_document": "doc", "published_at": start}


def test_factors_suite_bounds_per_unit_and_windows() -> None:
    y25, y26, y27 = datetime(2025, 1, 1), datetime(2026, 1, 1), datetime(2027, 1, 1)
    f = pl.DataFrame([
        _factor("1", 0.494, "kgCO2e/kWh", y25, y26),
        _factor("2", 494.0, "gCO2e/kWh", y26, y27),  # fine in grams
        _factor("3", 494.0, "kgCO2e/kWh", y26, y27),  # a unit error
        _factor("4", 0.5, "kgCO2e/bbl", y26, y27),  # no bounds known (per m3 is a fuel unit)
        _factor("5", 0.4585, "tCO2/MWh", y27, y26),  # inverted window
    ])
    out = s_factors.validate(f)
    assert by_check(out.anomalies) == {
        "implausible_value": ["F|3|2026-01-01T00:00:00Z"],
        "unknown_unit": ["F|4|2026-01-01T00:00:00Z"],
        "invalid_window": ["F|5|2027-01-01T00:00:00Z"]}
    assert out.anomalies.filter(pl.col("check") == "implausible_value")["observed"][0] == 494.0


def test_runner_needs_a_subject_column() -> None:
    with pytest.raises(ValueError, match="subject_id"):
        run_suite(s_bills.build_suite(), pl.DataFrame({"bill_id": ["b"]}), fields={})

"""The ground-truth comparison: hand-made frames with known errors."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from quality.accuracy import compare_with_truth, truth_per_local_day


def _frames(metered_kwh: float, unmetered_kwh: float):
    day = date(2026, 1, 5)
    truth = pl.DataFrame(
        {
            "site_id": ["S", "S"],
            "equipment_id": ["M1", "U1"],
            "local_date": [day, day],
            "kwh_true": [100.0, 50.0],
            "kgco2e_true": [49.4, 24.7],
        }
    )
    estimated = pl.DataFrame(
        {
            "site_id": ["S", "S"],
            "equipment_id": ["M1", "U1"],
            "local_date": [day, day],
            "kwh": [metered_kwh, unmetered_kwh],
            "kg_co2e": [metered_kwh * 0.494, unmetered_kwh * 0.494],
        }
    )
    equipment = pl.DataFrame({"equipment_id": ["M1", "U1"], "is_metered": [True, False]})
    return estimated, truth, equipment


def test_within_tolerances_passes():
    report = compare_with_truth(*_frames(100.4, 52.0))
    assert report.metered.passed and report.unmetered.passed
    assert report.metered.max_abs_error == pytest.approx(0.004)
    assert report.unmetered.max_abs_error == pytest.approx(0.04)
    # 152.4 vs 150 kWh at the same factor: +1.6 %, beyond the 0.1 % site target
    assert report.site_emissions_error == pytest.approx(2.4 / 150)
    assert not report.passed


@pytest.mark.parametrize(("metered", "unmetered"), [(100.6, 50.0), (100.0, 47.4)])
def test_beyond_tolerance_fails(metered, unmetered):
    report = compare_with_truth(*_frames(metered, unmetered))
    assert not (report.metered.passed and report.unmetered.passed)


def test_missing_day_counts_as_error_not_omission():
    estimated, truth, equipment = _frames(100.0, 50.0)
    report = compare_with_truth(estimated.filter(pl.col("equipment_id") == "M1"), truth, equipment)
    assert report.unmetered.max_abs_error == pytest.approx(1.0)


def test_truth_summed_to_local_days_across_utc_midnight():
    # Asia/Taipei is UTC+8: 15:45 UTC is 23:45 local, 16:00 UTC is the next local day.
    truth = pl.DataFrame(
        {
            "site_id": ["S"] * 2,
            "equipment_id": ["M1"] * 2,
            "interval_start": [
                datetime(2026, 1, 5, 15, 45, tzinfo=UTC),
                datetime(2026, 1, 5, 16, tzinfo=UTC),
            ],
            "kwh_true": [1.0, 2.0],
            "kgco2e_true": [0.5, 1.0],
        }
    )
    daily = truth_per_local_day(truth, "Asia/Taipei").sort("local_date")
    assert daily["local_date"].to_list() == [date(2026, 1, 5), date(2026, 1, 6)]
    assert daily["kwh_true"].to_list() == [1.0, 2.0]

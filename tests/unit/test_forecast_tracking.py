"""Target tracking from the stored forecasts: the re-plan trigger on hand-computed figures, the
re-plan request contract with planning, the targets file, the backtest shrunk to a short
history and the month/quarter/year totals — no Prophet, no Dagster."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.forecasting.config import default_daily, default_hourly, fit_to_history
from models.forecasting.forecast import Forecast, Window, calendar_windows, window_totals
from models.forecasting.target_config import (
    TargetEntry,
    default_targets,
    ensure_targets,
    load_targets,
)
from models.forecasting.targets import Baseline
from models.forecasting.tracking import (
    REPLAN_SCHEMA,
    progress_frame,
    progress_row,
    replan_alerts,
    replan_requests,
)
from quality.alerts import ALERT_SCHEMA

AS_OF = date(2026, 1, 30)  # day 30 of Q1 2026 (90 days)
NOW = datetime(2026, 1, 31, 2, 0)


def _entry(basis: str = "absolute", reduction: float = 10.0) -> TargetEntry:
    # Q1 baseline 1,000 kg, 100 units → absolute target 900 kg; per unit 9 kg/unit
    return TargetEntry(site_id="S", year=2026, reduction_pct=reduction, basis=basis,
                       baseline_year=2025,
                       baseline={"kg_co2e": (1000.0, 1000.0, 1000.0, 1000.0),
                                 "units": (100.0, 100.0, 100.0, 100.0)})


def _quarter(projected: float, upper: float | None = None, actual: float = 300.0) -> dict:
    return {"horizon": "quarter", "period_label": "2026-Q1", "ts": datetime(2026, 1, 1),
            "period_end": datetime(2026, 4, 1), "yhat": projected,
            "yhat_lower": projected - 10.0,
            "yhat_upper": projected + 10.0 if upper is None else upper,
            "actual_to_date": actual, "missing_estimate": 0.0, "days_actual": 30,
            "days_missing": 0, "days_forecast": 60, "model_version": "v1"}


def _row(entry: TargetEntry, period: dict, units: float | None = 30.0) -> dict:
    baseline: Baseline = entry.given_baseline()
    return progress_row(entry, entry.reduction_target(baseline), period, as_of=AS_OF,
                        units_to_date=units, computed_at=NOW)


@pytest.mark.parametrize(("projected", "upper", "status"), [
    (945.0, None, "at_risk"),  # exactly 5% over 900: not MORE than 5%
    (945.01, None, "replan"),
    (1200.0, None, "replan"),
    (900.5, None, "at_risk"),  # over the target, under the trigger
    (890.0, 899.0, "on_track"),
    (890.0, 905.0, "at_risk"),  # the interval's upper end crosses the target
])
def test_replan_fires_exactly_when_projected_exceeds_target_by_more_than_5pct(
        projected, upper, status):
    row = _row(_entry(), _quarter(projected, upper))
    assert row["target_kg_co2e"] == pytest.approx(900.0)
    assert row["budget_kg_co2e"] == pytest.approx(900.0)
    assert row["status"] == status
    assert row["excess_fraction"] == pytest.approx(projected / 900.0 - 1)
    requests = replan_requests(progress_frame([row]), NOW)
    assert requests.height == (1 if status == "replan" else 0)


def test_progress_row_budget_to_date_and_days():
    row = _row(_entry(), _quarter(880.0, actual=330.0))
    # 900 kg over 90 days, 30 elapsed → 300 kg budget to date; 330 actual is 10% over it
    assert row["budget_to_date_kg_co2e"] == pytest.approx(300.0)
    assert row["vs_budget_to_date"] == pytest.approx(0.10)
    assert (row["days_elapsed"], row["days_remaining"]) == (30, 60)
    assert row["period"] == "2026-Q1" and row["period_end"] == date(2026, 3, 31)


@pytest.mark.parametrize(("projected", "status"), [(850.5, "at_risk"), (850.6, "replan"),
                                                    (800.0, "on_track")])
def test_per_unit_target_is_held_at_the_projected_units(projected, status):
    # 9 kg/unit target; 30 units in 30 days → 90 units in the quarter → 810 kg allowed
    row = _row(_entry("per_unit"), _quarter(projected, upper=projected + 1))
    assert row["target_kg_co2e_per_unit"] == pytest.approx(9.0)
    assert row["projected_units"] == pytest.approx(90.0)
    assert row["budget_kg_co2e"] == pytest.approx(810.0)
    assert row["projected_kg_co2e_per_unit"] == pytest.approx(projected / 90)
    assert row["status"] == status


def test_per_unit_without_units_is_a_clear_error():
    with pytest.raises(ValueError, match="per-unit target needs"):
        _row(_entry("per_unit"), _quarter(800.0), units=None)


def test_one_request_per_site_quarter_day_with_the_worst_target_and_exact_columns():
    absolute = _row(_entry("absolute"), _quarter(1000.0))  # 1000 / 900 → +11.1%
    per_unit = _row(_entry("per_unit"), _quarter(1000.0))  # 1000 / 810 → +23.5%
    year = _row(_entry("absolute"), {**_quarter(5000.0), "horizon": "year",
                                     "period_end": datetime(2027, 1, 1)})
    assert year["status"] == "replan" and year["period"] == "2026"
    requests = replan_requests(progress_frame([absolute, per_unit, year]), NOW)
    assert requests.schema == pl.Schema(REPLAN_SCHEMA)
    assert requests.columns == ["request_id", "site_id", "quarter", "as_of_date",
                                "requested_at_utc", "forecast_kg_co2e", "target_kg_co2e",
                                "excess_fraction", "reason"]
    assert requests.height == 1  # the year row asks nothing: re-plans are per quarter
    r = requests.row(0, named=True)
    assert r["request_id"] == "S:2026-Q1:2026-01-30"
    assert (r["quarter"], r["as_of_date"]) == ("2026-Q1", AS_OF)
    assert r["target_kg_co2e"] == pytest.approx(810.0)  # the per-unit target fired worst
    assert r["excess_fraction"] == pytest.approx(1000 / 810 - 1)
    assert "per_unit" in r["reason"] and "absolute +11.1%" in r["reason"]


def test_alerts_follow_the_quality_alert_schema():
    progress = progress_frame([_row(_entry(), _quarter(1000.0))])
    requests = replan_requests(progress, NOW)
    alerts = replan_alerts(requests, progress, ALERT_SCHEMA, timezone={"S": "Asia/Taipei"},
                           causes={"S": "largest emitters this quarter: E1 40%"})
    assert alerts.schema == pl.Schema(ALERT_SCHEMA)
    a = alerts.row(0, named=True)
    assert a["severity"] == "critical" and a["rule"] == "quarter_target"
    assert a["window_start_utc"] == datetime(2025, 12, 31, 16)  # 2026-01-01 00:00 +08:00
    assert a["window_end_utc"] == datetime(2026, 3, 31, 16)
    assert a["excess_kg_co2e"] == pytest.approx(100.0)
    assert a["probable_cause"].startswith("largest emitters")


# ------------------------------------------------------------------------------------------
# the targets file


def test_default_targets_round_trip_and_are_written_once(tmp_path):
    targets, path, written = ensure_targets(tmp_path)
    assert written and path == tmp_path / "targets.json"
    assert targets == default_targets()
    assert {(t.year, t.basis, t.reduction_pct) for t in targets.targets} == {
        (2026, "absolute", 4.2), (2026, "per_unit", 4.2),
        (2027, "absolute", 8.4), (2027, "per_unit", 8.4)}
    path.write_text(path.read_text().replace('"reduction_pct": 4.2', '"reduction_pct": 5.0'))
    again, _, written = ensure_targets(tmp_path)
    assert not written and again.for_site("TW-HSINCHU-01", 2026)[0].reduction_pct == 5.0


@pytest.mark.parametrize(("text", "says"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"targets": [{"site_id": "S", "year": 2026, "reduction_pct": 140,
                              "baseline_year": 2025}]}), "targets.0.reduction_pct"),
    (json.dumps({"targets": [{"site_id": "S", "year": 2026, "reduction_pct": 4,
                              "baseline_year": 2025, "basis": "relative"}]}), "basis"),
])
def test_a_bad_targets_file_is_named_with_what_is_wrong(tmp_path, text, says):
    path = tmp_path / "targets.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=says) as info:
        load_targets(path)
    assert str(path) in str(info.value)


# ------------------------------------------------------------------------------------------
# a backtest a short history allows


def test_backtest_unchanged_with_enough_history():
    cfg = default_daily()
    same, note = fit_to_history(cfg, 42 + 30)
    assert same is cfg and note is None


@pytest.mark.parametrize(("make", "periods", "horizon", "min_train"), [
    (default_daily, 14, 7, 7),  # the 14-day demo: one 7-day fold
    (default_daily, 60, 30, 30),
    (default_hourly, 336, 48, 168),
    (default_hourly, 120, 48, 60),
])
def test_backtest_shrinks_to_a_short_history(make, periods, horizon, min_train):
    cfg, note = fit_to_history(make(), periods)
    assert (cfg.horizon, cfg.backtest.min_train) == (horizon, min_train)
    assert cfg.backtest.min_train + cfg.horizon <= periods
    assert "short history" in note


@pytest.mark.parametrize(("make", "periods"), [(default_daily, 13), (default_hourly, 47)])
def test_no_backtest_below_two_seasons(make, periods):
    cfg, note = fit_to_history(make(), periods)
    assert cfg is None and note.startswith("no backtest")


# ------------------------------------------------------------------------------------------
# totals of calendar periods


def test_calendar_windows_run_to_the_end_of_the_year():
    w = calendar_windows(date(2026, 11, 20))
    assert [x.label for x in w] == ["2026-11", "2026-12", "2026-Q4", "2026"]
    assert w[2].start == date(2026, 10, 1) and w[2].end == date(2026, 12, 31)


def test_window_totals_add_actual_estimate_for_missing_days_and_forecast():
    # Actuals 2026-03-03..03-05 (10, 20, 30 kg); 03-01 and 03-02 have no data; the forecast
    # covers 03-06..03-31 at 5 kg a day with two sample paths at 4 and 6.
    actual = pl.DataFrame({"ds": [datetime(2026, 3, d) for d in (3, 4, 5)],
                           "y": [10.0, 20.0, 30.0]})
    days = [datetime(2026, 3, 6) + timedelta(days=k) for k in range(26)]
    frame = pl.DataFrame({"ds": days, "yhat": 5.0, "yhat_lower": 4.0, "yhat_upper": 6.0})
    samples = np.tile([4.0, 6.0], (26, 1))
    fc = Forecast(scope="site:S", target="emissions", freq="daily", unit="kgCO2e", horizon=26,
                  frame=frame, backtest=None, regressors=(), projected_regressors=(),
                  samples=samples)
    out = window_totals(fc, actual, [Window("month", "2026-03", date(2026, 3, 1),
                                            date(2026, 3, 31))], width=1.0)
    row = out.row(0, named=True)
    assert row["actual"] == 60.0
    assert row["days_missing"] == 2 and row["missing_estimate"] == pytest.approx(40.0)
    assert row["forecast"] == pytest.approx(130.0)
    assert row["total"] == pytest.approx(230.0)
    assert (row["total_lower"], row["total_upper"]) == pytest.approx((204.0, 256.0))
    with pytest.raises(ValueError, match="before the end of 2026-04"):
        window_totals(fc, actual, [Window("month", "2026-04", date(2026, 4, 1),
                                          date(2026, 4, 30))])

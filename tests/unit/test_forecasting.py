"""Forecasting: series building, regressor projection, seasonal-naive, the backtest's
bookkeeping (with a stub model: no Prophet), targets and the re-plan trigger — and a few small
real Prophet fits (fit → predict with intervals → save/load, a rolling-origin forecast, monthly
totals)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.forecasting.backtest import cutoffs, mape, rolling_origin
from models.forecasting.baseline import seasonal_naive
from models.forecasting.config import BacktestConfig, ForecastConfig, HorizonConfig
from models.forecasting.projection import climate_normal, deviation_paths, project
from models.forecasting.series import (
    Scope,
    aggregate_target,
    bare_series,
    build_series,
    hourly_intensity,
    interval_frame,
    largest_equipment,
    production_regressors,
    read_steel_hourly,
    shift_regressors,
)
from models.forecasting.targets import (
    Baseline,
    ReductionTarget,
    check_quarter,
    quarter_bounds,
    quarterly_targets,
)

TZ = "Asia/Taipei"


# ------------------------------------------------------------------------------------------
# seasonal naive


@pytest.mark.parametrize(("horizon", "season", "expected"), [
    (3, 3, [4, 5, 6]),
    (5, 3, [4, 5, 6, 4, 5]),
    (2, 1, [6, 6]),
])
def test_seasonal_naive_repeats_the_last_season(horizon, season, expected):
    yhat, lo, hi = seasonal_naive(np.array([1, 2, 3, 4, 5, 6.0]), horizon, season)
    assert yhat.tolist() == expected
    assert np.all(lo <= yhat) and np.all(hi >= yhat)


def test_seasonal_naive_interval_widens_by_seasons_ahead():
    y = np.tile([10.0, 20.0], 10) + np.arange(20) % 3
    _, lo, hi = seasonal_naive(y, 4, 2)
    width = hi - lo
    assert width[2] == pytest.approx(width[0] * np.sqrt(2))


# ------------------------------------------------------------------------------------------
# series


def _intervals(days: int = 3) -> pl.DataFrame:
    start = datetime(2026, 1, 4, 16)  # 2026-01-05 00:00 Asia/Taipei
    ts = pl.datetime_range(start, start + timedelta(days=days), "15m", closed="left",
                           eager=True)
    n = len(ts)
    return pl.concat([
        pl.DataFrame({"site_id": "S", "equipment_id": "E1", "line_id": "L1",
                      "interval_start_utc": ts, "kwh": np.full(n, 1.0)}),
        pl.DataFrame({"site_id": "S", "equipment_id": "E2", "line_id": None,
                      "interval_start_utc": ts, "kwh": np.full(n, 2.0)},
                     schema_overrides={"line_id": pl.String}),
    ])


def test_aggregate_target_sums_local_days_and_drops_partial_periods():
    iv = _intervals(3).filter(pl.col("interval_start_utc") >= datetime(2026, 1, 4, 17))
    daily = aggregate_target(iv, "kwh", TZ, "daily")
    # the first local day lost an hour: dropped; the other two are complete (96 x 3 kWh)
    assert daily["ds"].to_list() == [datetime(2026, 1, 6), datetime(2026, 1, 7)]
    assert daily["y"].to_list() == [288.0, 288.0]
    hourly = aggregate_target(iv, "kwh", TZ, "hourly")
    assert hourly["y"].unique().to_list() == [12.0]
    assert hourly["ds"][0] == datetime(2026, 1, 5, 1)


def test_largest_equipment():
    assert largest_equipment(_intervals(1)) == "E2"


def test_production_regressors_running_hours_units_and_plan_span():
    prod = pl.DataFrame({
        "line_id": ["L1", "L1"], "sku": ["A", "A"], "shift": ["A", "A"],
        "start_utc": [datetime(2026, 1, 4, 22, 15), datetime(2026, 1, 4, 23, 0)],
        "end_utc": [datetime(2026, 1, 4, 22, 45), datetime(2026, 1, 5, 1, 0)],
        "good_units": [20, 80], "scrap_units": [0, 0],
    })
    grid = pl.datetime_range(datetime(2026, 1, 5, 5), datetime(2026, 1, 5, 11), "1h",
                             closed="left", eager=True).alias("ds")
    out = production_regressors(prod, ["L1"], TZ, "hourly", grid)
    # local 06:15-06:45 (0.5 h, 20 units), 07:00-09:00 (2 h, 80 units); plan ends 09:00 local
    assert out["run_L1"].to_list() == [None, 0.5, 1.0, 1.0, None, None]
    assert out["planned_units"].to_list() == [None, 20.0, 40.0, 40.0, None, None]


def test_shift_regressors_follow_the_local_calendar():
    grid = pl.datetime_range(datetime(2026, 1, 5, 0), datetime(2026, 1, 6, 0), "1h",
                             closed="left", eager=True).alias("ds")
    out = shift_regressors(grid, {"A": 6, "B": 14, "C": 22})
    assert out["shift_A"].sum() == 8 and out["shift_B"].sum() == 8
    assert out.filter(pl.col("ds").dt.hour() == 6)["shift_A"][0] == 1.0
    assert out.filter(pl.col("ds").dt.hour() == 23)[["shift_A", "shift_B"]].sum_horizontal()[0] == 0


@pytest.mark.parametrize(("unit", "value", "g"), [("gCO2e/kWh", 500.0, 500.0),
                                                  ("kgCO2e/kWh", 0.5, 500.0)])
def test_hourly_intensity_units(unit, value, g):
    f = pl.DataFrame({"factor_id": ["H"], "valid_from": [datetime(2026, 1, 1, 3)],
                      "value": [value], "unit": [unit]})
    assert hourly_intensity(f, "H")["grid_intensity"][0] == pytest.approx(g)


def test_interval_frame_hourly_intensity_basis():
    iv = _intervals(1).filter(pl.col("equipment_id") == "E1").drop("line_id")
    hours = pl.datetime_range(datetime(2026, 1, 4, 16), datetime(2026, 1, 5, 16), "1h",
                              closed="left", eager=True)
    f = pl.DataFrame({"factor_id": "H", "valid_from_utc": hours,
                      "value_kg_per_kwh": np.linspace(0.4, 0.6, 24)})
    out = interval_frame(iv, factors=f, basis="hourly_intensity", factor_id="H")
    first = out.filter(pl.col("interval_start_utc") < datetime(2026, 1, 4, 17))
    assert first["kg_co2e"].to_list() == pytest.approx([0.4] * 4)


def test_read_steel_hourly_end_labels_and_midnight(tmp_path):
    rows = ["date,Usage_kWh"]
    day = [f"1/1/2018 {h}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)][1:]
    rows += [f"{t},1" for t in day] + ["1/1/2018 0:00,5"]  # the day's last interval (24:00)
    rows += ["2/1/2018 0:15,7"]
    path = tmp_path / "steel.csv"
    path.write_text("\n".join(rows) + "\n")
    out = read_steel_hourly(path)
    assert out.height == 24  # 2 January 00:xx has one quarter only: dropped
    assert out["ds"][0] == datetime(2018, 1, 1, 0) and out["y"][0] == 4.0
    assert out["ds"][-1] == datetime(2018, 1, 1, 23) and out["y"][-1] == 8.0  # 3 x 1 + 5


# ------------------------------------------------------------------------------------------
# projection of unknown regressors


def test_climate_normal_hits_mid_month_values_and_wraps():
    normals = tuple(float(i) for i in range(12))
    assert climate_normal(np.array([15.0]), normals)[0] == pytest.approx(0.0)
    mid_jun = 15.0 + 30.44 * 5
    assert climate_normal(np.array([mid_jun]), normals)[0] == pytest.approx(5.0)
    assert 0.0 < climate_normal(np.array([1.0]), normals)[0] < 11.0  # between Dec and Jan


def test_project_fills_nulls_with_base_plus_decaying_anomaly():
    ds = pl.datetime_range(datetime(2026, 1, 1), datetime(2026, 3, 1), "1d", closed="left",
                           eager=True).alias("ds")
    rng = np.random.default_rng(0)
    x = 10 + rng.normal(0, 1, len(ds))
    frame = pl.DataFrame({"ds": ds, "x": x})
    cutoff = datetime(2026, 2, 15)
    out, proj = project(frame, ["x"], cutoff, "daily", 14, mask=["x"])
    past = out.filter(pl.col("ds") < cutoff)
    assert past["x"].to_list() == pytest.approx(x[: past.height].tolist())
    fut = out.filter(pl.col("ds") >= cutoff)["x"].to_numpy()
    assert np.all(np.isfinite(fut)) and abs(fut[-1] - x[past.height - 14: past.height].mean()) < 1
    p = proj["x"]
    assert 0 <= p.phi <= 0.95 and p.sigma_day > 0
    dev = deviation_paths(proj, len(fut), 200, seed=1)["x"]
    assert dev.shape == (len(fut), 200)
    assert 0.5 < dev.std() < 2.0


def test_project_keeps_known_future_values():
    ds = pl.datetime_range(datetime(2026, 1, 1), datetime(2026, 1, 31), "1d", closed="left",
                           eager=True).alias("ds")
    frame = pl.DataFrame({"ds": ds, "x": np.arange(30.0)})
    cutoff = datetime(2026, 1, 21)
    out, proj = project(frame, ["x"], cutoff, "daily", 7)
    assert out["x"].to_list() == list(np.arange(30.0)) and proj == {}


# ------------------------------------------------------------------------------------------
# backtest bookkeeping with a stub model (no Prophet)


class _Perfect:
    """Knows the truth (closure), records what regressor values it was shown."""

    def __init__(self, truth: pl.DataFrame, seen: list):
        self.truth, self.seen, self.interval_scale = truth, seen, 1.0

    def fit(self, history):
        self.train_end = history["ds"].max()
        return self

    def sample(self, future, deviations=None, seed=0):
        self.seen.append(future)
        y = self.truth.join(future.select("ds"), on="ds", how="right")["y"].to_numpy()
        paths = y[:, None] + np.random.default_rng(seed).normal(0, 1, (len(y), 100))
        return y, paths


def _daily_bundle(days=80):
    ds = pl.datetime_range(datetime(2026, 1, 1), datetime(2026, 1, 1) + timedelta(days=days),
                           "1d", closed="left", eager=True).alias("ds")
    rng = np.random.default_rng(3)
    y = 100 + 10 * np.sin(np.arange(days)) + rng.normal(0, 1, days)
    frame = pl.DataFrame({"ds": ds, "y": y, "temp_c": rng.normal(20, 3, days),
                          "run_L1": rng.uniform(15, 20, days)})
    bundle = bare_series(frame.select("ds", "y"), Scope("site", "S"), "energy", "daily", 7)
    return replace(bundle, frame=bundle.frame.join(frame.drop("y"), on="ds", how="left"),
                   regressors=("temp_c", "run_L1"), known_future=("run_L1",)), frame


def test_cutoffs_leave_the_horizon_and_respect_min_train():
    cfg = HorizonConfig(freq="daily", horizon=7, season_length=7,
                        backtest=BacktestConfig(folds=3, step=5, min_train=50,
                                                calibration_folds=2))
    cal, scored = cutoffs(80, 7, cfg)
    assert scored == [63, 68, 73] and cal == [53, 58]
    cal, scored = cutoffs(64, 7, cfg)
    assert cal == [] and scored == [52, 57]


def test_rolling_origin_scores_and_hides_unknown_regressors():
    bundle, truth = _daily_bundle()
    cfg = HorizonConfig(freq="daily", horizon=7, season_length=7,
                        backtest=BacktestConfig(folds=2, step=7, min_train=40,
                                                calibration_folds=1))
    seen: list = []
    score = rolling_origin(bundle, cfg, lambda: _Perfect(truth, seen))
    assert len(score.folds) == 2 and score.mape == 0.0 and score.skill == 1.0
    assert 0.0 <= score.coverage <= 1.0
    for fut in seen:  # the plan is shown as it is, the weather is not
        actual = truth.join(fut.select("ds"), on="ds", how="right")
        assert fut["run_L1"].to_list() == actual["run_L1"].to_list()
        assert fut["temp_c"].to_list() != actual["temp_c"].to_list()


def test_mape():
    assert mape(np.array([100.0, 200.0]), np.array([110.0, 180.0])) == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------
# targets and the re-plan trigger


def _baseline() -> Baseline:
    return Baseline(site_id="S", year=2025, kg_co2e=(90_000.0, 91_000.0, 92_000.0, 92_000.0),
                    kwh=(1.0, 1.0, 1.0, 1.0), units=(900.0, 910.0, 920.0, 920.0))


def test_quarter_bounds_and_targets():
    assert quarter_bounds(2026, 1) == (date(2026, 1, 1), date(2026, 3, 31))
    assert quarter_bounds(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    t = quarterly_targets(ReductionTarget(baseline=_baseline(), year=2026, reduction_pct=5))
    assert t["target_kg"][1] == pytest.approx(91_000 * 0.95)
    assert t["target_kg_per_unit"][1] == pytest.approx(100 * 0.95)
    assert t["quarter"][-1] == "2026" and t["target_kg"][-1] == pytest.approx(365_000 * 0.95)


def _actual_and_forecast(daily_kg: float, forecast_kg: float):
    days = pl.date_range(date(2026, 4, 1), date(2026, 4, 30), eager=True)
    actual = pl.DataFrame({"site_local_date": days, "kg_co2e": daily_kg, "kwh": 1.0,
                           "good_units": 10})
    fdays = pl.datetime_range(datetime(2026, 5, 1), datetime(2026, 7, 1), "1d", closed="left",
                              eager=True)
    fc = pl.DataFrame({"ds": fdays, "yhat": forecast_kg, "yhat_lower": forecast_kg * 0.99,
                       "yhat_upper": forecast_kg * 1.01})
    samples = forecast_kg + np.random.default_rng(0).normal(0, 5, (len(fdays), 300))
    return actual, fc, samples


@pytest.mark.parametrize(("daily", "expected"), [(900.0, "on_track"), (960.0, "at_risk"),
                                                 (1100.0, "replan")])
def test_check_quarter_status(daily, expected):
    # Q2 target = 91,000 x 0.95 = 86,450 kg over 91 days ≈ 950 kg/day
    target = ReductionTarget(baseline=_baseline(), year=2026, reduction_pct=5)
    actual, fc, samples = _actual_and_forecast(daily, daily)
    status = check_quarter(target, actual, fc, samples, now=datetime(2026, 5, 1))
    assert status.status == expected
    assert status.projected_kg == pytest.approx(91 * daily)
    assert status.projected_lower_kg < status.projected_kg < status.projected_upper_kg
    assert (status.replan is not None) == (expected == "replan")


def test_replan_request_carries_what_planning_needs():
    target = ReductionTarget(baseline=_baseline(), year=2026, reduction_pct=5)
    actual, fc, samples = _actual_and_forecast(1100.0, 1100.0)
    r = check_quarter(target, actual, fc, samples, now=datetime(2026, 5, 1)).replan
    assert r.quarter == "2026-Q2" and r.as_of == date(2026, 4, 30) and r.remaining_days == 61
    assert r.actual_to_date_kg == pytest.approx(33_000)
    assert r.remaining_budget_kg == pytest.approx(86_450 - 33_000)
    assert r.required_reduction_kg == pytest.approx(91 * 1100 - 86_450)
    assert r.excess_pct == pytest.approx(100 * (91 * 1100 / 86_450 - 1))
    assert r.as_dict()["quarter_start"] == "2026-04-01"


def test_per_unit_basis_uses_the_units():
    target = ReductionTarget(baseline=_baseline(), year=2026, reduction_pct=5, basis="per_unit")
    actual, fc, samples = _actual_and_forecast(900.0, 900.0)
    # 900 kg/day for 10 units/day = 90 kg/unit vs the target 100 x 0.95 = 95: on track
    status = check_quarter(target, actual, fc, samples)
    assert status.projected_kg_per_unit == pytest.approx(90.0)
    assert status.status == "on_track"
    status = check_quarter(target, actual, fc, samples, planned_units=300.0)
    assert status.status == "replan"  # 81,900 kg / 600 units = 136.5 kg/unit


# ------------------------------------------------------------------------------------------
# real Prophet: a handful of small fits


@pytest.fixture(scope="module")
def sim_intervals():
    from models.forecasting.simdata import simulated_marts

    m = simulated_marts(days=63, seed=5)
    iv = interval_frame(m.energy, equipment=m.equipment, factors=m.factors,
                        basis="hourly_intensity")
    return m, iv


def _small_config() -> ForecastConfig:
    return ForecastConfig(
        daily=HorizonConfig(freq="daily", horizon=14, season_length=7,
                            backtest=BacktestConfig(folds=1, step=7, min_train=35,
                                                    calibration_folds=1)),
        monthly_months=2,
    )


def test_build_series_site_daily_regressors(sim_intervals):
    m, iv = sim_intervals
    b = build_series(iv, Scope("site", m.site_id), "emissions", "daily", _small_config(),
                     production=m.production, factors=m.factors, weather=m.weather)
    assert {"run_L1_SMT", "run_L4_TEST", "planned_units", "temp_c", "grid_intensity"} <= set(
        b.regressors)
    assert "line_shifts" not in b.regressors  # constant 12 a day: dropped, noted
    assert set(b.known_future) == {"run_L1_SMT", "run_L2_SMT", "run_L3_THT", "run_L4_TEST",
                                   "planned_units"}
    assert b.history().height == 63 and b.future().height == 14
    assert b.history()["y"].null_count() == 0
    line = build_series(iv, Scope("line", "L3-THT"), "energy", "daily", _small_config(),
                        production=m.production, weather=m.weather)
    assert "temp_c" not in line.regressors and line.regressors[0] == "run_L3_THT"


def test_prophet_forecast_backtest_save_load_and_monthly(sim_intervals, tmp_path):
    from models.forecasting.forecast import forecast_monthly, forecast_series
    from models.forecasting.provider import ProphetForecaster

    m, iv = sim_intervals
    cfg = _small_config()
    b = build_series(iv, Scope("site", m.site_id), "emissions", "daily", cfg,
                     production=m.production, factors=m.factors, weather=m.weather)
    fc = forecast_series(b, cfg)
    assert fc.frame.height == 14 and len(fc.backtest.folds) == 1
    f = fc.frame
    assert (f["yhat_lower"] <= f["yhat"]).all() and (f["yhat"] <= f["yhat_upper"]).all()
    assert fc.backtest.mape < 0.06  # 14 days ahead, weather and grid intensity projected
    assert fc.samples.shape == (14, cfg.prophet.uncertainty_samples)
    assert set(fc.projected_regressors) >= {"temp_c", "grid_intensity"}

    model = ProphetForecaster.from_json(fc.model_json)
    path = model.save(tmp_path / "m.json")
    again = ProphetForecaster.load(path)
    future = b.frame.filter(pl.col("ds") < b.history_end).tail(5)
    assert again.predict(future)["yhat"].to_list() == pytest.approx(
        model.predict(future)["yhat"].to_list())

    monthly = forecast_monthly(b, cfg, backtest=fc.backtest)
    rows = monthly.frame
    assert rows.height == 2 and rows["month"][0] == date(2026, 3, 1)
    assert rows["days_actual"][0] == 8 and rows["days_forecast"][0] == 23
    assert (rows["total_lower"] < rows["total"]).all()
    assert (rows["total"] < rows["total_upper"]).all()
    assert monthly.daily.backtest is fc.backtest


def test_short_history_keeps_few_regressors_and_no_weekly_seasonality():
    from models.forecasting.provider import ProphetForecaster

    ds = pl.datetime_range(datetime(2026, 1, 1), datetime(2026, 1, 13), "1d", closed="left",
                           eager=True)
    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(6)]
    frame = pl.DataFrame({"ds": ds, "y": 100 + rng.normal(0, 1, 12),
                          **{n: rng.normal(0, 1, 12) for n in names}})
    model = ProphetForecaster(regressors=names).fit(frame)
    assert model.used_regressors == ("x0", "x1")  # 12 rows // 5 rows per regressor
    assert "weekly" not in model.model.seasonalities


def test_level_error_widens_totals_not_the_point():
    from models.forecasting.calibration import level_sd
    from models.forecasting.forecast import with_level_error

    assert level_sd([(0.02, 0.01), (-0.02, 0.01)]) == pytest.approx(np.sqrt(0.0004 - 0.0001))
    assert level_sd([(0.001, 0.01)]) == 0.0  # paths already explain it
    point = np.full(30, 100.0)
    paths = point[:, None] + np.random.default_rng(0).normal(0, 5, (30, 2000))
    wide = with_level_error(paths, point, 0.02)
    assert wide.sum(axis=0).mean() == pytest.approx(3000, rel=0.005)
    assert wide.sum(axis=0).std() > 2 * paths.sum(axis=0).std()

"""Interval calibration (models/forecasting/calibration.py and its use in the rolling-origin
backtest): the conformal quantile, that a forecast is only ever calibrated on actuals observed
before its origin, and that on a series of known noise the calibrated 80% interval covers about
80% of held-out actuals. A stub model (no Prophet): each test runs in well under a second."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.forecasting.backtest import cutoffs, rolling_origin
from models.forecasting.calibration import (
    IntervalCalibration,
    conformal_quantile,
    ratio_scores,
)
from models.forecasting.config import BacktestConfig, HorizonConfig
from models.forecasting.series import Scope, bare_series

NOISE_SD = 2.0
STUB_SD = 0.5  # the stub's sample paths: 4x too narrow, for the calibration to fix
Z80 = 1.2815515655446004  # the standard normal's 90th percentile


# ------------------------------------------------------------------------------------------
# the pieces


def test_conformal_quantile_takes_the_rank_that_guarantees_the_level():
    scores = np.arange(1.0, 11.0)[::-1]  # 10 scores, unsorted
    assert conformal_quantile(scores, 0.8) == 9.0  # ⌈11 x 0.8⌉ = 9th smallest
    assert conformal_quantile(np.arange(1.0, 100.0), 0.8) == 80.0  # ⌈100 x 0.8⌉ = 80th
    assert conformal_quantile(np.array([3.0, 1.0, 2.0]), 0.8) == 3.0  # too few: the largest
    with pytest.raises(ValueError, match="no scores"):
        conformal_quantile(np.empty(0), 0.8)


def test_ratio_scores_divide_by_the_half_width_on_the_errors_side():
    yhat, lo, hi = np.full(3, 10.0), np.full(3, 8.0), np.full(3, 14.0)
    y = np.array([12.0, 9.0, 10.0])
    assert ratio_scores(y, yhat, lo, hi).tolist() == pytest.approx([0.5, 0.5, 0.0])


def test_calibration_at_an_origin_uses_only_actuals_observed_before_it():
    cal = IntervalCalibration(0.8)
    yhat, lo, hi = np.full(10, 100.0), np.full(10, 99.0), np.full(10, 101.0)
    y = 100.0 + np.arange(1.0, 11.0)  # scores 1..10 at positions 20..29
    cal.add(20, y, yhat, lo, hi)
    at25 = cal.at(25)
    assert at25.points == 5 and at25.scale == 5.0  # scores 1..5, too few for rank 5 of 5: max
    # a forecast from origin 25 with wild errors: all its actuals are at 25 or later, so the
    # answer at 25 cannot move; one from 23 has two actuals (23, 24) observed before 25
    cal.add(25, np.full(10, 1000.0), yhat, lo, hi)
    assert cal.at(25) == at25
    cal.add(23, np.full(10, 1000.0), yhat, lo, hi)
    assert cal.at(25).points == 7 and cal.at(25).scale == 900.0
    assert cal.at().points == 30 and cal.at().scale == 900.0


def test_level_error_counts_only_whole_horizons_observed_before_the_origin():
    cal = IntervalCalibration(0.8)
    yhat = np.full(5, 100.0)
    paths = yhat[:, None] + np.random.default_rng(0).normal(0, 1, (5, 500))
    cal.add(10, np.full(5, 104.0), yhat, yhat - 1, yhat + 1, paths.sum(axis=0))
    assert cal.at(14).horizons == 0 and cal.at(14).level_sd == 0.0
    after = cal.at(15)  # positions 10..14 all observed
    assert after.horizons == 1
    rel_sd = np.std(paths.sum(axis=0)) / 500
    assert after.level_sd == pytest.approx(np.sqrt(0.04**2 - rel_sd**2))


def test_calibration_origins_precede_the_scored_ones_at_their_own_step():
    cfg = HorizonConfig(freq="daily", horizon=10, season_length=7,
                        backtest=BacktestConfig(folds=3, step=5, min_train=40,
                                                calibration_folds=20, calibration_step=4))
    cal, scored = cutoffs(100, 10, cfg)
    assert scored == [80, 85, 90]
    assert cal == [40, 44, 48, 52, 56, 60, 64, 68, 72, 76]  # stops at min_train
    off = cfg.model_copy(update={"backtest": cfg.backtest.model_copy(
        update={"calibrate_intervals": False})})
    assert cutoffs(100, 10, off) == ([], [80, 85, 90])


# ------------------------------------------------------------------------------------------
# the backtest on a series of known noise, with a stub model


class _MeanModel:
    """Forecasts the training mean (plus the weekly pattern, which it knows), with sample paths
    of sd STUB_SD — far narrower than the series' noise. Records what it forecast."""

    def __init__(self, log: dict):
        self.log = log

    def fit(self, history):
        self.level = float((history["y"] - _pattern(history["ds"])).mean())
        return self

    def sample(self, future, deviations=None, seed=0):
        point = self.level + _pattern(future["ds"]).to_numpy()
        paths = point[:, None] + np.random.default_rng(seed).normal(
            0.0, STUB_SD, (len(point), 200))
        self.log[future["ds"][0]] = (point, paths)
        return point, paths


def _pattern(ds: pl.Series) -> pl.Series:
    return 5.0 * (ds.dt.weekday() >= 6).cast(pl.Float64)


def _series(days: int, seed: int = 11) -> pl.DataFrame:
    ds = pl.datetime_range(datetime(2025, 1, 1), datetime(2025, 1, 1) + timedelta(days=days),
                           "1d", closed="left", eager=True).alias("ds")
    noise = np.random.default_rng(seed).normal(0.0, NOISE_SD, days)
    return pl.DataFrame({"ds": ds, "y": 100.0 + _pattern(ds).to_numpy() + noise})


def _backtest(y: pl.DataFrame, cfg: HorizonConfig, log: dict | None = None):
    bundle = bare_series(y, Scope("site", "S"), "energy", "daily", cfg.horizon)
    log = {} if log is None else log
    return rolling_origin(bundle, cfg, lambda: _MeanModel(log), samples=200)


def _cfg(calibrate: bool = True) -> HorizonConfig:
    return HorizonConfig(freq="daily", horizon=10, season_length=7,
                         backtest=BacktestConfig(folds=40, step=10, min_train=40,
                                                 calibration_folds=10, calibration_step=5,
                                                 calibrate_intervals=calibrate))


def test_calibrated_interval_covers_about_80_percent_of_held_out_actuals():
    y = _series(500)
    raw = _backtest(y, _cfg(calibrate=False))
    score = _backtest(y, _cfg())
    # the stub's own interval: ±1.28 x 0.5 against noise of sd 2 → P(|N(0,2)| < 0.64) ≈ 25%
    assert raw.coverage < 0.35 and raw.interval_scale == 1.0
    # calibrated: 400 held-out actuals, each fold calibrated on earlier actuals only
    assert len(score.folds) == 40 and score.calibration_origins == 10
    assert 0.75 <= score.coverage <= 0.85
    # the scale that turns the stub's half-width into the noise's: 2 x 1.28 / (0.5 x 1.28)
    # = 4, a little more for the error of the estimated mean
    assert 3.4 < score.interval_scale < 4.8
    assert score.folds[0].calibration_points > 0  # the calibration origins fed the first fold
    assert score.folds[-1].calibration_points > score.folds[0].calibration_points


def test_a_folds_interval_never_depends_on_its_own_actuals():
    cfg = _cfg().model_copy(update={"backtest": _cfg().backtest.model_copy(
        update={"folds": 6, "step": 4})})  # step < horizon: the folds overlap
    y = _series(150)
    n = y.height
    _, scored = cutoffs(n, cfg.horizon, cfg)
    for c in (scored[-1], scored[2]):
        base_log, moved_log = {}, {}
        base = _backtest(y, cfg, base_log)
        # the scored fold's own actuals (and everything after them) changed by a lot
        moved_y = y.with_columns(pl.when(pl.int_range(pl.len()) >= c)
                                 .then(pl.col("y") * 1.5).otherwise(pl.col("y")).alias("y"))
        moved = _backtest(moved_y, cfg, moved_log)
        k = scored.index(c)
        fold, again = base.folds[k], moved.folds[k]
        # same interval: the same forecast (fitted before c) and the same calibration
        point, paths = base_log[fold.cutoff]
        assert np.array_equal(point, moved_log[fold.cutoff][0])
        assert np.array_equal(paths, moved_log[fold.cutoff][1])
        # neither this fold's calibration nor any earlier fold's (whose horizons overlap the
        # changed actuals: they are scored against them, never calibrated on them)
        for a, b in zip(base.folds[:k + 1], moved.folds[:k + 1], strict=True):
            assert (a.interval_scale, a.level_sd, a.calibration_points) == (
                b.interval_scale, b.level_sd, b.calibration_points)
        # ... while what is scored against those actuals did change, and so does the final
        # calibration, which may use every actual
        assert again.mape != fold.mape
        assert moved.interval_scale != base.interval_scale


# ------------------------------------------------------------------------------------------
# real Prophet, end to end: the final forecast carries the calibrated interval


def test_prophet_forecast_interval_is_the_calibrated_one_and_fits_known_noise():
    from models.forecasting.config import ForecastConfig
    from models.forecasting.forecast import forecast_series
    from models.forecasting.provider import ProphetForecaster

    days = 120
    ds = pl.datetime_range(datetime(2025, 3, 1), datetime(2025, 3, 1) + timedelta(days=days),
                           "1d", closed="left", eager=True).alias("ds")
    weekend = 10.0 * (ds.dt.weekday() >= 6).cast(pl.Float64).to_numpy()
    y = 100.0 + weekend + np.random.default_rng(1).normal(0.0, NOISE_SD, days)
    config = ForecastConfig(country=None, daily=HorizonConfig(
        freq="daily", horizon=7, season_length=7,
        backtest=BacktestConfig(folds=12, step=5, min_train=42, calibration_folds=4)))
    bundle = bare_series(pl.DataFrame({"ds": ds, "y": y}), Scope("site", "S"), "energy",
                         "daily", 7)
    fc = forecast_series(bundle, config)
    bt = fc.backtest
    assert bt.calibration_origins == 3  # 53, 48, 43; 38 would train on less than 42 days
    assert bt.calibration_points == 15 * 7  # every actual the backtest forecast
    assert 0.70 <= bt.coverage <= 0.90  # 84 held-out actuals (binomial sd ≈ 4.4%)
    # the final interval is Prophet's own scaled by the calibration, on both sides
    own = ProphetForecaster.from_json(fc.model_json)
    assert own.interval_scale == pytest.approx(bt.interval_scale)
    own.interval_scale = 1.0
    raw = own.predict(bundle.future())
    f = fc.frame
    assert ((f["yhat_upper"] - f["yhat"]) / (raw["yhat_upper"] - raw["yhat"])).to_numpy() == (
        pytest.approx(bt.interval_scale))
    assert ((f["yhat"] - f["yhat_lower"]) / (raw["yhat"] - raw["yhat_lower"])).to_numpy() == (
        pytest.approx(bt.interval_scale))
    # ... and about as wide as the noise's 80% interval: ±1.28 x 2
    half = float(((f["yhat_upper"] - f["yhat_lower"]) / 2).mean())
    assert 0.8 * Z80 * NOISE_SD < half < 1.4 * Z80 * NOISE_SD

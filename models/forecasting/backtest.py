"""Rolling-origin evaluation: MAPE and 80%-interval coverage, against seasonal-naive.

For each origin (cutoff) the model is fitted on the periods before it only and forecasts the
next `horizon` periods. Regressors the forecaster would know at the cutoff (the production plan,
the calendar) keep their actual values; every other regressor (weather, grid intensity) is
hidden after the cutoff and projected as in production (projection.py), its uncertainty in the
interval — so the score is not flattered by perfect foresight of the weather.

MAPE is the mean over the horizon's periods of |y − ŷ| / y, averaged over folds; WAPE is
Σ|y − ŷ| / Σy (robust to near-idle periods); `total_ape` is the error of the horizon's total
(what a monthly or quarterly figure sees) and `total_coverage` the share of folds whose total
fell inside its 80% interval; coverage is the share of all scored folds' periods inside the
interval. `skill` = 1 − MAPE / seasonal-naive MAPE (> 0.25 means at least 25% lower).

The interval is calibrated (calibration.py) on the errors of the forecasts from earlier origins
— the unscored calibration origins before the scored ones, then the earlier scored folds —
using only actuals observed before the fold's own origin: a fold's score never depends on its
own actuals. The final forecast is calibrated on every error the backtest saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
import polars as pl

from models.forecasting.baseline import seasonal_naive
from models.forecasting.calibration import IntervalCalibration
from models.forecasting.config import HorizonConfig
from models.forecasting.projection import deviation_paths, project
from models.forecasting.series import SeriesBundle


@dataclass(frozen=True)
class FoldScore:
    cutoff: datetime
    train_periods: int
    horizon: int
    mape: float
    coverage: float
    total_ape: float
    wape: float
    naive_mape: float
    naive_coverage: float
    naive_total_ape: float
    naive_wape: float
    interval_scale: float  # calibration factor of this fold (from earlier actuals only)
    total_covered: bool  # the horizon's actual total inside the 80% interval of the total
    calibration_points: int = 0  # past actuals the fold's scale rests on (0: uncalibrated)
    level_sd: float = 0.0  # level error of this fold's total (from earlier whole horizons)


@dataclass(frozen=True)
class BacktestScore:
    freq: str
    horizon: int
    folds: tuple[FoldScore, ...]
    mape: float
    coverage: float
    total_ape: float
    wape: float
    naive_mape: float
    naive_coverage: float
    naive_total_ape: float
    naive_wape: float
    interval_scale: float  # calibration factor carried to the final forecast (1 = none)
    # Relative sd of a level error common to the whole horizon, beyond what the sample paths
    # hold (they treat periods' errors as independent); carried to the final forecast's
    # sample paths, so monthly and quarterly totals get honest intervals.
    level_sd: float = 0.0
    calibration_points: int = 0  # past actuals the final scale rests on
    calibration_origins: int = 0  # unscored origins forecast for the calibration only

    @property
    def total_coverage(self) -> float:
        """Share of folds whose horizon total fell inside its 80% interval (few folds: coarse)."""
        return float(np.mean([f.total_covered for f in self.folds]))

    @property
    def skill(self) -> float:
        """1 − MAPE / seasonal-naive MAPE."""
        return 1.0 - self.mape / self.naive_mape if self.naive_mape > 0 else float("nan")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["skill"] = self.skill
        out["total_coverage"] = self.total_coverage
        out["folds"] = [{**asdict(f), "cutoff": f.cutoff.isoformat()} for f in self.folds]
        return out

    def summary(self) -> str:
        return (f"MAPE {self.mape:.2%} (seasonal-naive {self.naive_mape:.2%}, "
                f"{self.skill:+.0%} lower), 80% coverage {self.coverage:.0%} "
                f"(naive {self.naive_coverage:.0%}), {len(self.folds)} folds")


def mape(y: np.ndarray, yhat: np.ndarray) -> float:
    ok = np.abs(y) > 0
    return float(np.mean(np.abs(y[ok] - yhat[ok]) / np.abs(y[ok])))


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    return float(np.mean((y >= lo) & (y <= hi)))


def wape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Σ|error| / Σy: unlike MAPE, not blown up by periods with near-zero load."""
    return float(np.abs(y - yhat).sum() / np.abs(y).sum())


def total_ape(y: np.ndarray, yhat: np.ndarray) -> float:
    return float(abs(y.sum() - yhat.sum()) / abs(y.sum()))


def cutoffs(n: int, horizon: int, cfg: HorizonConfig) -> tuple[list[int], list[int]]:
    """Row positions of the (calibration, scored) origins, oldest first. The scored ones are
    `step` apart, the last leaving exactly `horizon` rows; up to `calibration_folds` more
    precede the first scored one, `calibration_step` apart. Origins without `min_train` rows
    before them are skipped, calibration ones first."""
    b = cfg.backtest
    scored = sorted(c for c in (n - horizon - k * b.step for k in range(b.folds))
                    if c >= b.min_train)
    if not scored or not b.calibrate_intervals:
        return [], scored
    step = b.calibration_step or b.step
    calibration = sorted(c for c in (scored[0] - k * step
                                     for k in range(1, b.calibration_folds + 1))
                         if c >= b.min_train)
    return calibration, scored


def gap_free_history(bundle: SeriesBundle) -> pl.DataFrame:
    """The observed history's tail without gaps: the backtest needs a regular grid for its
    positions and the seasonal-naive lags."""
    hist = bundle.history().drop_nulls("y")
    if hist.height < 2:
        return hist
    ds = hist["ds"]
    step = ds.diff().drop_nulls().mode().min()
    gaps = np.flatnonzero((ds.diff() != step).fill_null(False).to_numpy())
    return hist.slice(int(gaps[-1])) if gaps.size else hist


@dataclass(frozen=True)
class _OriginForecast:
    """One origin's forecast: the training slice, the actuals, the point and the sample paths
    (shape (periods, samples)) with their uncalibrated interval."""

    train: pl.DataFrame
    y: np.ndarray
    point: np.ndarray
    paths: np.ndarray
    yhat: np.ndarray  # point clipped at 0
    lo: np.ndarray
    hi: np.ndarray


def _forecast_at(c: int, hist: pl.DataFrame, bundle: SeriesBundle, cfg: HorizonConfig,
                 make_model: Callable[[], object], projected: list[str], *,
                 projection_days: int, projection_fit_days: int, interval_width: float,
                 temperature_normals: tuple[float, ...] | None, regressor_uncertainty: bool,
                 samples: int) -> _OriginForecast:
    """Fit on the rows before position `c` (at most `train_periods`), forecast the `horizon`
    rows from it with the unknown regressors projected from what was known at `c`."""
    horizon = cfg.horizon
    train_lo = 0 if cfg.backtest.train_periods is None else max(
        0, c - cfg.backtest.train_periods)
    train = hist.slice(train_lo, c - train_lo)
    cutoff = hist["ds"][c]
    frame, projections = project(
        # Known regressors keep their values; where even they are null (the plan ends
        # before the history does) they are projected, as in the final forecast.
        hist.slice(train_lo, c - train_lo + horizon), list(bundle.regressors), cutoff,
        bundle.freq, projection_days, mask=projected, normals=temperature_normals,
        fit_days=projection_fit_days)
    future = frame.filter(pl.col("ds") >= cutoff)
    deviations = (deviation_paths(projections, future.height, samples, seed=c)
                  if regressor_uncertainty else None)
    model = make_model()
    model.fit(train)
    point, paths = model.sample(future, deviations, seed=c)
    yhat = np.clip(point, 0, None)
    a = (1 - interval_width) / 2
    lo, hi = np.quantile(paths, [a, 1 - a], axis=1)
    return _OriginForecast(train=train, y=hist.slice(c, horizon)["y"].to_numpy(),
                           point=point, paths=paths, yhat=yhat,
                           lo=np.minimum(lo, yhat), hi=np.maximum(hi, yhat))


def rolling_origin(
    bundle: SeriesBundle,
    cfg: HorizonConfig,
    make_model: Callable[[], object],
    *,
    projection_days: int = 14,
    projection_fit_days: int = 42,
    interval_width: float = 0.8,
    temperature_normals: tuple[float, ...] | None = None,
    regressor_uncertainty: bool = True,
    samples: int = 400,
) -> BacktestScore:
    """Backtest the bundle's history. `make_model()` returns an unfitted forecaster with
    fit(frame) / sample(future, deviations, seed) (see provider.ProphetForecaster)."""
    hist = gap_free_history(bundle)
    n, horizon = hist.height, cfg.horizon
    calibration, scored = cutoffs(n, horizon, cfg)
    if not scored:
        raise ValueError(f"history of {n} periods too short for a {horizon}-period backtest "
                         f"with min_train {cfg.backtest.min_train}")
    projected = [r for r in bundle.regressors if r not in bundle.known_future]
    calibrate = cfg.backtest.calibrate_intervals
    errors = IntervalCalibration(interval_width)
    a = (1 - interval_width) / 2
    folds: list[FoldScore] = []
    for c in [*calibration, *scored]:
        f = _forecast_at(c, hist, bundle, cfg, make_model, projected,
                         projection_days=projection_days,
                         projection_fit_days=projection_fit_days,
                         interval_width=interval_width,
                         temperature_normals=temperature_normals,
                         regressor_uncertainty=regressor_uncertainty, samples=samples)
        path_totals = f.paths.sum(axis=0)
        if c in calibration:
            errors.add(c, f.y, f.yhat, f.lo, f.hi, path_totals)
            continue
        # Only what was observed before this origin: never the fold's own actuals.
        cal = errors.at(c)
        scale, level = (cal.scale, cal.level_sd) if calibrate else (1.0, 0.0)
        lo, hi = f.yhat - scale * (f.yhat - f.lo), f.yhat + scale * (f.hi - f.yhat)
        shifts = np.random.default_rng(c).normal(0.0, level, f.paths.shape[1])
        total = f.point.sum()
        totals = total * (1 + shifts) + scale * (path_totals - total)
        t_lo, t_hi = np.quantile(totals, [a, 1 - a])
        y = f.y
        nv, nlo, nhi = seasonal_naive(f.train["y"].to_numpy(), horizon, cfg.season_length,
                                      interval_width)
        folds.append(FoldScore(
            cutoff=hist["ds"][c], train_periods=f.train.height, horizon=horizon,
            mape=mape(y, f.yhat), coverage=coverage(y, lo, hi), total_ape=total_ape(y, f.yhat),
            wape=wape(y, f.yhat), naive_mape=mape(y, nv), naive_coverage=coverage(y, nlo, nhi),
            naive_total_ape=total_ape(y, nv), naive_wape=wape(y, nv), interval_scale=scale,
            total_covered=bool(t_lo <= y.sum() <= t_hi),
            calibration_points=cal.points if calibrate else 0, level_sd=level,
        ))
        errors.add(c, y, f.yhat, f.lo, f.hi, path_totals)
    final = errors.at()
    return BacktestScore(
        freq=bundle.freq, horizon=horizon, folds=tuple(folds),
        mape=float(np.mean([f.mape for f in folds])),
        coverage=float(np.mean([f.coverage for f in folds])),
        total_ape=float(np.mean([f.total_ape for f in folds])),
        wape=float(np.mean([f.wape for f in folds])),
        naive_mape=float(np.mean([f.naive_mape for f in folds])),
        naive_coverage=float(np.mean([f.naive_coverage for f in folds])),
        naive_total_ape=float(np.mean([f.naive_total_ape for f in folds])),
        naive_wape=float(np.mean([f.naive_wape for f in folds])),
        interval_scale=final.scale if calibrate else 1.0,
        level_sd=final.level_sd if calibrate else 0.0,
        calibration_points=final.points if calibrate else 0,
        calibration_origins=len(calibration),
    )


def naive_scores(bundle: SeriesBundle, cfg: HorizonConfig, score: BacktestScore, season: int,
                 interval_width: float = 0.8) -> dict[str, float]:
    """Another seasonal-naive baseline (period `season`) on the same origins as `score`."""
    hist = bundle.history().drop_nulls("y")
    rows = []
    for f in score.folds:
        train = hist.filter(pl.col("ds") < f.cutoff).tail(f.train_periods)
        y = hist.filter(pl.col("ds") >= f.cutoff).head(f.horizon)["y"].to_numpy()
        nv, lo, hi = seasonal_naive(train["y"].to_numpy(), f.horizon, season, interval_width)
        rows.append((mape(y, nv), wape(y, nv), coverage(y, lo, hi), total_ape(y, nv)))
    m = np.mean(np.array(rows), axis=0)
    return {"season": season, "mape": float(m[0]), "wape": float(m[1]), "coverage": float(m[2]),
            "total_ape": float(m[3])}

"""Projecting the regressors nobody knows for the forecast horizon, with their uncertainty.

The production plan and the calendar are known ahead; the outdoor temperature and the grid
intensity are not (and neither is the plan beyond its span). A forecast that used their actual
future values would be flattered; one that used a flat guess without saying how uncertain it is
would have intervals far too narrow (Prophet's interval only knows its in-sample noise). So each
unknown regressor x gets, from what was known before the cutoff:

- a base: for `temp_c`, the climate normal of the day (12 monthly means, interpolated) plus the
  recent diurnal shape; for anything else, the mean by local hour of day over the last
  `lookback_days` (hourly series) or the plain mean over them (daily);
- an AR(1) model of its daily anomaly from the base (φ and innovation σ estimated on the recent
  history; hourly series also get the hour-to-hour residual σ);
- a point projection base + a₀·φᵏ (today's anomaly decaying k days ahead), and sample paths of
  the deviation from it, which the provider turns into forecast uncertainty through the fitted
  model's sensitivity to the regressor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from models.forecasting.config import Freq

MID_MONTH_DOY = np.array([15.0 + 30.44 * i for i in range(12)])


def climate_normal(doy: np.ndarray, normals: tuple[float, ...]) -> np.ndarray:
    """Daily normal temperature: monthly means placed mid-month, interpolated cyclically."""
    x = np.concatenate([MID_MONTH_DOY - 365.25, MID_MONTH_DOY, MID_MONTH_DOY + 365.25])
    v = np.tile(np.asarray(normals, dtype=float), 3)
    return np.interp(np.asarray(doy, dtype=float), x, v)


@dataclass(frozen=True)
class Projection:
    """How one regressor was projected over the future rows it fills."""

    column: str
    rows: np.ndarray  # positions (in the future frame) that were projected
    days_ahead: np.ndarray  # per projected row, days after the cutoff (fractional)
    phi: float
    sigma_day: float
    sigma_hour: float

    def deviations(self, n_future: int, n_samples: int, rng: np.random.Generator
                   ) -> np.ndarray:
        """Sample paths of (actual − projected), shape (n_future, n_samples); 0 on rows that
        were not projected (their values were known)."""
        out = np.zeros((n_future, n_samples))
        if self.rows.size == 0:
            return out
        day = np.floor(self.days_ahead - 1e-9).astype(int)  # 0 = the first day ahead
        n_days = int(day.max()) + 1
        eps = rng.normal(0.0, self.sigma_day, (n_days, n_samples))
        path = np.empty_like(eps)
        path[0] = eps[0]
        for k in range(1, n_days):  # a few dozen days at most
            path[k] = self.phi * path[k - 1] + eps[k]
        dev = path[day]
        if self.sigma_hour > 0:
            dev = dev + rng.normal(0.0, self.sigma_hour, dev.shape)
        out[self.rows] = dev
        return out


def _base(ds: pl.Series, column: str, past: pl.DataFrame, freq: Freq,
          normals: tuple[float, ...] | None) -> np.ndarray:
    """The regressor's expected value at `ds`, ignoring today's anomaly."""
    hours = ds.dt.hour().to_numpy()
    if column == "temp_c" and normals is not None:
        base = climate_normal(ds.dt.ordinal_day().to_numpy(), normals)
        if freq == "hourly" and past.height:
            dev = past[column].to_numpy() - climate_normal(
                past["ds"].dt.ordinal_day().to_numpy(), normals)
            shape = np.zeros(24)
            ph = past["ds"].dt.hour().to_numpy()
            for h in range(24):
                sel = ph == h
                shape[h] = dev[sel].mean() if sel.any() else 0.0
            base = base + (shape - shape.mean())[hours]
        return base
    if freq == "hourly":
        ph = past["ds"].dt.hour().to_numpy()
        vals = past[column].to_numpy()
        overall = float(vals.mean()) if vals.size else 0.0
        prof = np.array([vals[ph == h].mean() if (ph == h).any() else overall
                         for h in range(24)])
        return prof[hours]
    return np.full(len(ds), float(past[column].mean()) if past.height else 0.0)


def _ar1(anomaly: np.ndarray) -> tuple[float, float]:
    if anomaly.size < 5:
        return 0.0, float(np.std(anomaly)) if anomaly.size > 1 else 0.0
    a = anomaly - anomaly.mean()
    denom = float(np.dot(a[:-1], a[:-1]))
    phi = float(np.clip(np.dot(a[1:], a[:-1]) / denom, 0.0, 0.95)) if denom > 0 else 0.0
    return phi, float(np.std(anomaly) * np.sqrt(1 - phi**2))


def project(
    frame: pl.DataFrame,
    columns: list[str],
    cutoff: datetime,
    freq: Freq,
    lookback_days: int,
    *,
    mask: list[str] | None = None,
    normals: tuple[float, ...] | None = None,
    fit_days: int = 42,
) -> tuple[pl.DataFrame, dict[str, Projection]]:
    """Fill the nulls at ds >= cutoff in `columns` (after nulling the `mask` columns there —
    the backtest hides what a forecaster would not have known) and say how uncertain each
    filled value is. Returns the filled frame and a Projection per column that needed one."""
    out = frame.sort("ds")
    mask = [c for c in (mask or []) if c in out.columns]
    if mask:
        out = out.with_columns(pl.when(pl.col("ds") >= cutoff).then(None).otherwise(pl.col(c))
                               .alias(c) for c in mask)
    future_sel = (out["ds"] >= cutoff).to_numpy()
    fut = out.filter(pl.Series(future_sel))
    steps = (fut["ds"] - cutoff).dt.total_minutes().to_numpy() / 1440.0
    days_ahead = steps + (1.0 if freq == "daily" else 1.0 / 24.0)
    projections: dict[str, Projection] = {}
    for c in columns:
        if c not in out.columns:
            continue
        missing = fut[c].is_null().to_numpy()
        if not missing.any():
            continue
        known = out.filter((pl.col("ds") < cutoff) & pl.col(c).is_not_null())
        recent = known.filter(pl.col("ds") >= cutoff - timedelta(days=lookback_days))
        fit = known.filter(pl.col("ds") >= cutoff - timedelta(days=max(fit_days,
                                                                       lookback_days)))
        if recent.is_empty():
            raise ValueError(f"cannot project {c}: no values in the {lookback_days} days "
                             f"before {cutoff}")
        resid = fit[c].to_numpy() - _base(fit["ds"], c, recent, freq, normals)
        day_key = fit["ds"].dt.date().to_numpy()
        days, inv = np.unique(day_key, return_inverse=True)
        daily = np.bincount(inv, weights=resid) / np.bincount(inv)
        phi, sigma_day = _ar1(daily)
        sigma_hour = float(np.std(resid - daily[inv])) if freq == "hourly" else 0.0
        a0 = float(daily[-1]) if days.size else 0.0
        point = _base(fut["ds"], c, recent, freq, normals) + a0 * phi ** days_ahead
        values = np.where(missing, point, fut[c].fill_null(0.0).to_numpy())
        out = out.with_columns(pl.when(pl.Series(future_sel)).then(
            pl.Series(np.zeros(out.height)).scatter(np.flatnonzero(future_sel), values))
            .otherwise(pl.col(c)).alias(c))
        projections[c] = Projection(c, np.flatnonzero(missing), days_ahead[missing], phi,
                                    sigma_day, sigma_hour)
    return out, projections


def deviation_paths(projections: dict[str, Projection], n_future: int, n_samples: int,
                    seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {c: p.deviations(n_future, n_samples, rng) for c, p in sorted(projections.items())}

"""Forecast a series: backtest it, fit on its history, predict the horizon with intervals.

Every `Forecast` carries its rolling-origin `BacktestScore` and the fitted model's JSON, so what
is stored next to a forecast says how far to trust it. Monthly figures are built from the daily
model's sample paths (a month's interval is not the sum of its days' intervals).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from models.forecasting.backtest import BacktestScore, rolling_origin
from models.forecasting.config import ForecastConfig
from models.forecasting.projection import deviation_paths, project
from models.forecasting.provider import ProphetForecaster
from models.forecasting.series import SeriesBundle, holidays_frame, years_of


@dataclass(frozen=True)
class Forecast:
    """`frame`: ds (site-local), yhat, yhat_lower, yhat_upper (80% by default), in `unit`."""

    scope: str
    target: str
    freq: str
    unit: str
    horizon: int
    frame: pl.DataFrame
    backtest: BacktestScore | None
    regressors: tuple[str, ...]
    projected_regressors: tuple[str, ...]  # future values projected, not known
    model_json: str = field(repr=False, default="")
    samples: np.ndarray | None = field(repr=False, default=None)
    notes: tuple[str, ...] = ()

    def total(self, width: float = 0.8) -> tuple[float, float, float]:
        """Point and interval of the horizon's total, from the sample paths."""
        return _total(self.frame, self.samples, width)


@dataclass(frozen=True)
class MonthlyForecast:
    """One row per site-local calendar month: actual to date, forecast rest, total, interval."""

    scope: str
    target: str
    unit: str
    frame: pl.DataFrame  # month, actual, forecast, total, total_lower, total_upper, days_*
    daily: Forecast


def _total(frame: pl.DataFrame, samples: np.ndarray | None, width: float
           ) -> tuple[float, float, float]:
    point = float(frame["yhat"].sum())
    if samples is None:
        return point, float(frame["yhat_lower"].sum()), float(frame["yhat_upper"].sum())
    totals = samples.sum(axis=0)
    a = (1 - width) / 2
    return point, float(np.quantile(totals, a)), float(np.quantile(totals, 1 - a))


def with_level_error(samples: np.ndarray, point: np.ndarray, level_sd: float,
                     seed: int = 1) -> np.ndarray:
    """Sample paths plus a relative level shift per path, common to all its periods (see
    BacktestScore.level_sd): a total over many periods then keeps the uncertainty of errors
    that persist (a warm month, a biased intensity base) instead of averaging them away."""
    if level_sd <= 0:
        return samples
    shifts = np.random.default_rng(seed).normal(0.0, level_sd, samples.shape[1])
    return samples + point[:, None] * shifts[None, :]


def make_forecaster(bundle: SeriesBundle, config: ForecastConfig) -> ProphetForecaster:
    holidays = holidays_frame(bundle.country, years_of(bundle.frame))
    return ProphetForecaster(config.prophet, bundle.freq, bundle.regressors, holidays)


def _fit_predict(bundle: SeriesBundle, config: ForecastConfig, horizon: int,
                 interval_scale: float):
    cfg = config.horizon(bundle.freq)
    hist = bundle.history().drop_nulls("y")
    if cfg.history_periods:
        hist = hist.tail(cfg.history_periods)
    window = pl.concat([
        bundle.frame.filter((pl.col("ds") >= hist["ds"][0]) & (pl.col("ds") < bundle.history_end)),
        bundle.frame.filter(pl.col("ds") >= bundle.history_end).head(horizon),
    ])
    # Future rows: regressors given for the future are used as they are (the plan, the
    # calendar, a weather forecast if the caller supplied one); the nulls are projected.
    frame, projections = project(window, list(bundle.regressors), bundle.history_end,
                                 bundle.freq, config.projection_days,
                                 normals=config.temperature_normals_c,
                                 fit_days=config.projection_fit_days)
    future = frame.filter(pl.col("ds") >= bundle.history_end).head(horizon)
    deviations = (deviation_paths(projections, future.height,
                                  config.prophet.uncertainty_samples)
                  if config.regressor_uncertainty else None)
    model = make_forecaster(bundle, config).fit(hist)
    model.interval_scale = interval_scale
    pred = model.predict(future, deviations)
    _, samples = model.sample(future, deviations)
    return model, pred, samples, tuple(sorted(projections))


def forecast_series(bundle: SeriesBundle, config: ForecastConfig, *, backtest: bool = True,
                    score: BacktestScore | None = None) -> Forecast:
    """Backtest (rolling origin), then fit on the history and forecast `bundle.horizon`.
    `score`: a backtest already run (e.g. the 30-day one, for a longer horizon): carried, its
    interval calibration and level error applied, no new backtest."""
    cfg = config.horizon(bundle.freq)
    if backtest and score is None:
        score = rolling_origin(bundle, cfg, lambda: make_forecaster(bundle, config),
                               projection_days=config.projection_days,
                               projection_fit_days=config.projection_fit_days,
                               interval_width=config.prophet.interval_width,
                               temperature_normals=config.temperature_normals_c,
                               regressor_uncertainty=config.regressor_uncertainty,
                               samples=config.prophet.uncertainty_samples)
    scale = score.interval_scale if score is not None else 1.0
    model, pred, samples, projected = _fit_predict(bundle, config, bundle.horizon, scale)
    samples = with_level_error(samples, pred["yhat"].to_numpy(),
                               score.level_sd if score is not None else 0.0)
    return Forecast(
        scope=bundle.scope.name, target=bundle.target, freq=bundle.freq, unit=bundle.unit,
        horizon=bundle.horizon, frame=pred, backtest=score, regressors=model.used_regressors,
        projected_regressors=projected, model_json=model.to_json(), samples=samples,
        notes=bundle.notes,
    )


def _month_start(d: datetime) -> datetime:
    return d.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _add_months(d: datetime, months: int) -> datetime:
    y, m = divmod(d.month - 1 + months, 12)
    return d.replace(year=d.year + y, month=m + 1, day=1)


def extend(bundle: SeriesBundle, horizon: int) -> SeriesBundle:
    """The bundle with its future grid extended (or cut) to `horizon` periods; new rows have
    null regressors, which the forecast projects."""
    frame = pl.concat([bundle.history(),
                       bundle.frame.filter(pl.col("ds") >= bundle.history_end).head(horizon)])
    have = frame.filter(pl.col("ds") >= bundle.history_end).height
    if have < horizon:
        step = timedelta(days=1) if bundle.freq == "daily" else timedelta(hours=1)
        first = bundle.history_end + step * have
        extra = pl.datetime_range(first, first + step * (horizon - have), step, closed="left",
                                  time_unit="us", eager=True).alias("ds")
        frame = pl.concat([frame, pl.DataFrame({"ds": extra})], how="diagonal_relaxed")
    return replace(bundle, frame=frame, horizon=horizon)


def forecast_until(daily: SeriesBundle, config: ForecastConfig, end: date,
                   backtest: BacktestScore | None = None) -> Forecast:
    """Daily forecast from the history's end through `end` (inclusive, site-local date), e.g.
    to the end of a quarter. `backtest`: the score to carry (typically the 30-day one); no new
    backtest is run for the longer horizon."""
    if daily.freq != "daily":
        raise ValueError("forecast_until needs a daily bundle")
    horizon = (datetime.combine(end, datetime.min.time()) - daily.history_end).days + 1
    return forecast_series(extend(daily, max(horizon, 1)), config, backtest=False,
                           score=backtest)


def forecast_monthly(daily: SeriesBundle, config: ForecastConfig, *, months: int | None = None,
                     backtest: BacktestScore | None = None) -> MonthlyForecast:
    """Totals for the current month (actual so far + forecast rest) and the next `months - 1`
    months, from the daily model's sample paths. Beyond the production plan's span the plan
    regressors are projected like the weather — say so when you show these numbers."""
    months = months or config.monthly_months
    start = daily.history_end
    first = _month_start(start - timedelta(days=1))
    end = _add_months(first, months) - timedelta(days=1)
    fc = forecast_until(daily, config, end.date(), backtest)
    hist = daily.history().drop_nulls("y")
    rows = []
    for k in range(months):
        m0 = _add_months(first, k)
        m1 = _add_months(m0, 1)
        actual = hist.filter((pl.col("ds") >= m0) & (pl.col("ds") < m1))
        sel = ((fc.frame["ds"] >= m0) & (fc.frame["ds"] < m1)).to_numpy()
        point, lo, hi = _total(fc.frame.filter(pl.Series(sel)),
                               None if fc.samples is None else fc.samples[sel],
                               config.prophet.interval_width)
        a = float(actual["y"].sum())
        rows.append({"month": m0.date(), "actual": a, "forecast": point, "total": a + point,
                     "total_lower": a + lo, "total_upper": a + hi,
                     "days_actual": actual.height, "days_forecast": int(sel.sum())})
    return MonthlyForecast(scope=daily.scope.name, target=daily.target, unit=daily.unit,
                           frame=pl.DataFrame(rows), daily=fc)


@dataclass(frozen=True)
class Window:
    """A site-local calendar period [start, end] (dates, inclusive) to total up."""

    kind: str  # month / quarter / year
    label: str  # 2026-01 / 2026-Q1 / 2026
    start: date
    end: date


def window_totals(fc: Forecast, actual: pl.DataFrame, windows: list[Window],
                  width: float = 0.8) -> pl.DataFrame:
    """Per window: the actual so far (`actual`: ds, y — observed complete days), an estimate
    for the window's days before the forecast starts that have no observation (their mean
    actual day: a warehouse that starts mid-quarter, a day dropped as incomplete), the forecast
    of the rest from the daily forecast's sample paths, and total = the three added up with
    the 80% interval of the forecast part. The forecast must reach each window's end."""
    first_fc = fc.frame["ds"].min().date()
    last_fc = fc.frame["ds"].max().date()
    days = actual.with_columns(pl.col("ds").cast(pl.Date).alias("_d"))
    fdays = fc.frame["ds"].cast(pl.Date)
    rows = []
    for w in windows:
        if w.end > last_fc:
            raise ValueError(f"the forecast ends {last_fc}, before the end of {w.label}")
        seen = days.filter((pl.col("_d") >= w.start) & (pl.col("_d") <= w.end)
                           & (pl.col("_d") < first_fc))
        before = max(0, (min(w.end, first_fc - timedelta(days=1)) - w.start).days + 1)
        missing = before - seen.height
        a = float(seen["y"].sum())
        estimate = a / seen.height * missing if seen.height and missing > 0 else 0.0
        sel = ((fdays >= w.start) & (fdays <= w.end)).to_numpy()
        point, lo, hi = _total(fc.frame.filter(pl.Series(sel)),
                               None if fc.samples is None else fc.samples[sel], width)
        if not sel.any():
            point = lo = hi = 0.0
        lo = max(lo, 0.0)  # the paths are not clipped; a total of energy never goes below 0
        base = a + estimate
        rows.append({"kind": w.kind, "label": w.label, "start": w.start, "end": w.end,
                     "actual": a, "missing_estimate": estimate, "forecast": point,
                     "forecast_lower": lo, "forecast_upper": hi, "total": base + point,
                     "total_lower": base + lo, "total_upper": base + hi,
                     "days_actual": seen.height, "days_missing": max(missing, 0),
                     "days_forecast": int(sel.sum())})
    return pl.DataFrame(rows)


def calendar_windows(as_of: date) -> list[Window]:
    """The months, quarters and the year from the one holding `as_of` (the last day with
    actuals) to the end of its year: what the monthly horizon reports."""
    out = []
    for m in range(as_of.month, 13):
        start = date(as_of.year, m, 1)
        end = (date(as_of.year + (m == 12), 1 if m == 12 else m + 1, 1) - timedelta(days=1))
        out.append(Window("month", f"{as_of.year}-{m:02d}", start, end))
    for q in range((as_of.month - 1) // 3 + 1, 5):
        start = date(as_of.year, 3 * q - 2, 1)
        end = (date(as_of.year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - timedelta(days=1))
        out.append(Window("quarter", f"{as_of.year}-Q{q}", start, end))
    out.append(Window("year", str(as_of.year), date(as_of.year, 1, 1), date(as_of.year, 12, 31)))
    return out

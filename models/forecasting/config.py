"""Forecast configuration: what to forecast, at which horizons, and how Prophet is set up.

Plain pydantic models so a Dagster `ConfigurableResource` (or a YAML file) can build them; the
defaults are the ones the evaluation (`python -m models.forecasting.evaluate`) reports on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Freq = Literal["hourly", "daily"]
Target = Literal["energy", "emissions"]
EmissionBasis = Literal["reported", "hourly_intensity"]

# Regressor families known for the forecast horizon: the production plan (run_<line> hours,
# planned_units, line_shifts) and the shift calendar (shift_<name>). The others (temp_c,
# grid_intensity) must be forecast themselves: unless the caller supplies future values they are
# projected, with their uncertainty (see projection.py).
PLAN_REGRESSORS = ("run", "planned_units", "line_shifts")
CALENDAR_REGRESSORS = ("shift",)


class ProphetSettings(BaseModel):
    """The Prophet knobs we actually turn; everything else stays at Prophet's default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_width: float = Field(0.80, gt=0, lt=1)
    # 'flat': no trend at all — for horizons longer than the history, where any slope fitted
    # on a few weeks would be extrapolated over months.
    growth: Literal["linear", "flat"] = "linear"
    uncertainty_samples: int = Field(400, ge=50)
    # Stiffer than Prophet's 0.05: a plant's load has no trend of its own beyond what the plan
    # and the weather explain, and a flexible trend extrapolated a month out is the largest
    # source of bias in the backtests.
    changepoint_prior_scale: float = Field(0.01, gt=0)
    n_changepoints: int = Field(10, ge=0)
    seasonality_prior_scale: float = Field(10.0, gt=0)
    holidays_prior_scale: float = Field(10.0, gt=0)
    regressor_prior_scale: float = Field(10.0, gt=0)
    daily_seasonality: int | bool = 8  # Fourier order (hourly series only)
    weekly_seasonality: int | bool = 3
    seasonality_mode: Literal["additive", "multiplicative"] = "additive"
    # Short histories: keep at most one regressor per this many rows (in the bundle's order:
    # plan first, then calendar, weather, grid intensity) and no weekly seasonality on fewer
    # than two weeks of daily rows — a 14-day warehouse must not fit 8 coefficients to 12 days.
    rows_per_regressor: int = Field(5, ge=1)
    # Hourly series: separate daily profiles for working days and weekends (Prophet conditional
    # seasonalities) — for plants that do not run the same profile seven days a week.
    weekend_daily_profile: bool = False


class BacktestConfig(BaseModel):
    """Rolling-origin evaluation: `folds` scored forecast origins, `step` periods apart, the
    last one `horizon` periods before the end of the history, preceded by up to
    `calibration_folds` more origins, `calibration_step` periods apart (None: `step`), that are
    forecast for the interval calibration only, not scored. Each fold trains on at most
    `train_periods` periods before its origin (None: everything before it) and never on less
    than `min_train`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    folds: int = Field(3, ge=1)
    step: int = Field(7, ge=1)
    min_train: int = Field(28, ge=2)
    train_periods: int | None = None
    # Split-conformal calibration of the interval (calibration.py): Prophet's interval only
    # knows the in-sample noise, not the error of projecting weather and grid intensity a month
    # out, so it is far too narrow. Each fold's half-widths are scaled by the conformal 80%
    # quantile of |error| / half-width over the actuals observed BEFORE its origin (from the
    # calibration origins and the earlier folds; never its own); the final forecast uses every
    # error. Many calibration origins: few points of one fold are one correlated draw, and a
    # quantile of a few draws swings from seed to seed. False: Prophet's own interval, unscaled.
    calibrate_intervals: bool = True
    calibration_folds: int = Field(8, ge=0)
    calibration_step: int | None = Field(None, ge=1)


class HorizonConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    freq: Freq
    horizon: int = Field(gt=0)  # periods
    season_length: int = Field(gt=0)  # seasonal-naive period, in periods
    history_periods: int | None = None  # train the final model on at most this many periods
    backtest: BacktestConfig = BacktestConfig()


class ShiftCalendar(BaseModel):
    """Site-local shift start hours (each shift runs to the next start)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    starts: dict[str, int] = {"A": 6, "B": 14, "C": 22}

    @model_validator(mode="after")
    def _hours(self) -> ShiftCalendar:
        if not self.starts or any(not 0 <= h < 24 for h in self.starts.values()):
            raise ValueError("shift start hours must be 0-23")
        return self


def fit_to_history(cfg: HorizonConfig, periods: int) -> tuple[HorizonConfig | None, str | None]:
    """The backtest `cfg` shrunk to a history of `periods` observed periods, and a note saying
    what was shrunk (None when nothing was). A young warehouse (the 14-day demo, a plant in its
    first weeks) still gets an honest, if short, rolling-origin score instead of none:

    - enough history for the configured backtest (min_train + horizon): unchanged;
    - otherwise the backtest horizon becomes at most half the history and the folds train on at
      least the other half (never less than one season, which the seasonal-naive baseline
      needs); the forecast's own horizon is not changed, only the horizon it is scored on;
    - less than two seasons (14 days, 48 hours): no backtest (None) — nothing to score.
    """
    b = cfg.backtest
    if periods >= b.min_train + cfg.horizon:
        return cfg, None
    half = periods // 2
    if half < cfg.season_length:
        return None, (f"no backtest: {periods} {cfg.freq} periods of history, at least "
                      f"{2 * cfg.season_length} needed")
    horizon = min(cfg.horizon, half)
    min_train = max(cfg.season_length, min(b.min_train, half))
    shrunk = cfg.model_copy(update={
        "horizon": horizon, "backtest": b.model_copy(update={"min_train": min_train})})
    what = (f"backtest horizon {horizon} instead of {cfg.horizon}, " if horizon < cfg.horizon
            else "")
    return shrunk, (f"short history ({periods} {cfg.freq} periods): {what}folds train from "
                    f"{min_train} periods instead of {b.min_train}")


def default_hourly() -> HorizonConfig:
    return HorizonConfig(
        freq="hourly", horizon=48, season_length=24, history_periods=42 * 24,
        # calibration: a forecast every 2 days over the 6 weeks before the scored folds
        backtest=BacktestConfig(folds=8, step=3 * 24, min_train=14 * 24, train_periods=42 * 24,
                                calibration_folds=21, calibration_step=2 * 24),
    )


def default_daily() -> HorizonConfig:
    return HorizonConfig(
        freq="daily", horizon=30, season_length=7,
        # calibration: a forecast every 5 days before the scored folds, as far back as
        # min_train allows (5 of them on 120 days of history)
        backtest=BacktestConfig(folds=5, step=5, min_train=42, calibration_folds=8),
    )


class ForecastConfig(BaseModel):
    """Everything a forecast run needs besides the data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Asia/Taipei"
    country: str | None = "TW"  # holidays.country_holidays code; None: no holidays
    hourly: HorizonConfig = Field(default_factory=default_hourly)
    daily: HorizonConfig = Field(default_factory=default_daily)
    monthly_months: int = Field(3, ge=1)  # months ahead, built from daily samples
    prophet: ProphetSettings = ProphetSettings()
    shifts: ShiftCalendar = ShiftCalendar()
    # 'reported': the kg_co2e of fct_emissions_interval as the warehouse computed it (today the
    # annual location factor, so emissions are energy x a constant); 'hourly_intensity': kWh x
    # the hourly grid intensity, where the grid-intensity regressor is what matters.
    emission_basis: EmissionBasis = "hourly_intensity"
    hourly_factor_id: str = "TW-GRID-HOURLY-SIM"
    # Regressors whose future values the caller knows (the plan, the calendar). Any other
    # regressor is projected from its recent profile unless future values are supplied.
    known_future: tuple[str, ...] = PLAN_REGRESSORS + CALENDAR_REGRESSORS
    projection_days: int = Field(14, ge=1)  # look-back for projected regressors
    # Site-local monthly mean temperatures (Jan..Dec): the climate normals a month-ahead
    # temperature guess starts from. Default: Hsinchu, approximate values of the Central Weather
    # Administration's 1991-2020 station normals (rounded; use the site's own station's).
    # None: project the recent mean instead.
    temperature_normals_c: tuple[float, ...] | None = (
        15.6, 16.1, 18.2, 21.9, 25.3, 27.7, 29.2, 28.9, 27.5, 24.6, 21.4, 17.5)
    # Days of history the projections' anomaly model (AR(1) φ, σ) is estimated on.
    projection_fit_days: int = Field(42, ge=7)
    # Add the projected regressors' uncertainty to the interval (sample paths through the
    # model's sensitivity). False: Prophet's own interval only.
    regressor_uncertainty: bool = True

    @model_validator(mode="after")
    def _normals(self) -> ForecastConfig:
        if self.temperature_normals_c is not None and len(self.temperature_normals_c) != 12:
            raise ValueError("temperature_normals_c needs 12 monthly values")
        return self

    def horizon(self, freq: Freq) -> HorizonConfig:
        return self.hourly if freq == "hourly" else self.daily

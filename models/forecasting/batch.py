"""Forecast every series of a site for one horizon group, the way the warehouse assets do it.

- scopes: the site, its `lines` largest lines and its `equipment` largest pieces of equipment
  (by energy over the history read) — a bounded number of Prophet fits per run;
- targets: energy (kWh) and emissions (kgCO2e as the marts report them, or kWh x hourly grid
  intensity), each its own series;
- group 'hourly': the next `hourly_horizon` local hours; group 'daily': the next
  `daily_horizon` local days, and from the same model and sample paths the totals of every
  month, quarter and the year from the last actual day to the end of its year (actual so far +
  forecast rest, with the 80% interval of the total);
- each series is backtested by rolling origin against seasonal-naive, the backtest shrunk to
  what the history allows (config.fit_to_history), and the score travels with the forecast.

A series that cannot be forecast (too little history, no data for its scope) becomes a result
with an `error` and no rows; the others go on. No Dagster, no DuckDB: frames in, frames out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from models.forecasting.backtest import BacktestScore, gap_free_history
from models.forecasting.config import EmissionBasis, ForecastConfig, Target, fit_to_history
from models.forecasting.forecast import (
    Forecast,
    calendar_windows,
    extend,
    forecast_series,
    window_totals,
)
from models.forecasting.series import Scope, SeriesBundle, build_series

Group = Literal["hourly", "daily"]
# Below a year of daily history the month/quarter/year totals use a flat trend: a slope fitted
# on weeks, extrapolated over months, says more about noise than about the plant.
LINEAR_TREND_MIN_DAYS = 365
GROUP_HORIZONS: dict[str, tuple[str, ...]] = {
    "hourly": ("hourly",),
    "daily": ("daily", "month", "quarter", "year"),
}

FORECAST_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "site_id": pl.String(),
    "level": pl.String(),
    "scope_id": pl.String(),
    "target": pl.String(),
    "unit": pl.String(),
    "horizon": pl.String(),  # hourly / daily / month / quarter / year
    "period_label": pl.String(),  # 2026-01-20 13:00 / 2026-01-20 / 2026-01 / 2026-Q1 / 2026
    "ts": pl.Datetime("us"),  # site-local start of the period
    "ts_utc": pl.Datetime("us"),
    "period_end": pl.Datetime("us"),  # site-local, exclusive
    "yhat": pl.Float64(),  # month/quarter/year: actual + estimate for missing days + forecast
    "yhat_lower": pl.Float64(),
    "yhat_upper": pl.Float64(),
    "actual_to_date": pl.Float64(),  # month/quarter/year only
    "missing_estimate": pl.Float64(),  # month/quarter/year only
    "days_actual": pl.Int64(),
    "days_missing": pl.Int64(),
    "days_forecast": pl.Int64(),
    "interval_width": pl.Float64(),
    "history_end_utc": pl.Datetime("us"),  # first moment without observed data
    "model_version": pl.String(),
    "model_path": pl.String(),  # filled by whoever saves the model
}

BACKTEST_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "site_id": pl.String(),
    "level": pl.String(),
    "scope_id": pl.String(),
    "target": pl.String(),
    "unit": pl.String(),
    "freq": pl.String(),
    "forecast_horizon": pl.Int64(),  # periods forecast
    "backtest_horizon": pl.Int64(),  # periods each fold is scored on
    "history_periods": pl.Int64(),
    "folds": pl.Int64(),
    "mape": pl.Float64(),
    "wape": pl.Float64(),
    "coverage": pl.Float64(),  # share of actuals inside the 80% interval
    "total_ape": pl.Float64(),
    "total_coverage": pl.Float64(),
    "naive_mape": pl.Float64(),
    "naive_wape": pl.Float64(),
    "naive_coverage": pl.Float64(),
    "naive_total_ape": pl.Float64(),
    "skill": pl.Float64(),  # 1 - mape / naive_mape
    "interval_scale": pl.Float64(),
    "level_sd": pl.Float64(),
    "regressors": pl.String(),
    "projected_regressors": pl.String(),
    "note": pl.String(),
    "error": pl.String(),
    "folds_json": pl.String(),
    "model_version": pl.String(),
    "model_path": pl.String(),
}


class BatchSpec(BaseModel):
    """What one run forecasts. The defaults bound a run to 6 series per site and group."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lines: int = Field(1, ge=0)
    equipment: int = Field(1, ge=0)
    targets: tuple[Target, ...] = ("energy", "emissions")
    hourly_horizon: int = Field(48, ge=1)
    daily_horizon: int = Field(30, ge=1)
    # 'reported': the marts' kg_co2e (today the annual location factor) — what the targets and
    # the reports count; 'hourly_intensity': kWh x the hourly grid intensity factor.
    emission_basis: EmissionBasis = "reported"
    hourly_factor_id: str = "TW-GRID-HOURLY-SIM"


@dataclass(frozen=True)
class SiteInputs:
    """Mart-shaped frames of one site: `intervals` as models.forecasting.series.interval_frame
    returns them (site_id, equipment_id, line_id, interval_start_utc, kwh, kg_co2e)."""

    site_id: str
    timezone: str
    country: str | None
    intervals: pl.DataFrame
    production: pl.DataFrame | None = None
    factors: pl.DataFrame | None = None
    weather: pl.DataFrame | None = None


@dataclass(frozen=True)
class SeriesResult:
    series_id: str
    site_id: str
    scope: Scope
    target: str
    freq: str
    forecasts: pl.DataFrame  # FORECAST_SCHEMA rows
    backtest: dict  # one BACKTEST_SCHEMA row
    models: dict[str, str]  # model name ('horizon', 'year_end') → fitted model JSON
    forecast: Forecast | None  # the horizon's forecast (for plots)
    history: pl.DataFrame | None  # ds, y: the observed history (for plots)
    error: str | None = None


def series_id(site_id: str, scope: Scope, target: str, freq: str) -> str:
    return f"{site_id}/{scope.level}/{scope.id}/{target}/{freq}"


def model_version(model_json: str) -> str:
    """A content hash of the fitted model: the same model (data, settings, fit) gets the same
    version, so a forecast row names exactly the model file that made it."""
    return hashlib.sha256(model_json.encode()).hexdigest()[:16]


def scopes_for(intervals: pl.DataFrame, site_id: str, lines: int, equipment: int
               ) -> list[Scope]:
    """The site, then its largest lines and equipment by energy (ties by id). A site metered
    as one piece of equipment (the steel plant's single meter) gets no equipment series: it
    would repeat the site's."""
    own = intervals.filter(pl.col("site_id") == site_id)
    if own["equipment_id"].n_unique() < 2:
        equipment = 0
    out = [Scope("site", site_id)]
    by_line = (own.drop_nulls("line_id").group_by("line_id").agg(pl.col("kwh").sum())
               .sort(["kwh", "line_id"], descending=[True, False]))
    out += [Scope("line", x) for x in by_line["line_id"].head(lines).to_list()]
    by_eq = (own.group_by("equipment_id").agg(pl.col("kwh").sum())
             .sort(["kwh", "equipment_id"], descending=[True, False]))
    out += [Scope("equipment", x) for x in by_eq["equipment_id"].head(equipment).to_list()]
    return out


def supported_country(country: str | None) -> str | None:
    """The country code if the offline `holidays` package knows it, else None (no holidays)."""
    if not country:
        return None
    import holidays

    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        return None
    return country


def site_config(site: SiteInputs, spec: BatchSpec, base: ForecastConfig | None = None
                ) -> ForecastConfig:
    base = base or ForecastConfig()
    return base.model_copy(update={
        "timezone": site.timezone, "country": supported_country(site.country),
        "emission_basis": spec.emission_basis, "hourly_factor_id": spec.hourly_factor_id,
        # The default normals are Hsinchu's: only a site with its own should use them, and
        # the marts carry no weather, so temperature is projected from its recent mean.
        "temperature_normals_c": base.temperature_normals_c if site.weather is not None
        and site.timezone == "Asia/Taipei" else None,
    })


def _utc(local: pl.Expr, tz: str) -> pl.Expr:
    return (local.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC").dt.replace_time_zone(None))


def _backtest_row(sid: str, site_id: str, scope: Scope, target: str, freq: str, unit: str,
                  horizon: int, history: int, score: BacktestScore | None, fc: Forecast | None,
                  notes: list[str], error: str | None, version: str | None) -> dict:
    row: dict = dict.fromkeys(BACKTEST_SCHEMA)
    row.update(series_id=sid, site_id=site_id, level=scope.level, scope_id=scope.id,
               target=target, unit=unit, freq=freq, forecast_horizon=horizon,
               history_periods=history, note="; ".join(notes) or None, error=error,
               model_version=version, folds=0)
    if fc is not None:
        row["regressors"] = ",".join(fc.regressors)
        row["projected_regressors"] = ",".join(fc.projected_regressors)
    if score is not None:
        d = score.as_dict()
        row.update({k: d[k] for k in ("mape", "wape", "coverage", "total_ape", "total_coverage",
                                      "naive_mape", "naive_wape", "naive_coverage",
                                      "naive_total_ape", "skill", "interval_scale",
                                      "level_sd")})
        row["backtest_horizon"] = score.horizon
        row["folds"] = len(score.folds)
        row["folds_json"] = json.dumps(d["folds"])
    return row


def _rows(fc: Forecast, sid: str, site_id: str, scope: Scope, target: str, freq: str,
          tz: str, horizon: int, width: float, history_end: datetime) -> pl.DataFrame:
    step = pl.duration(hours=1) if freq == "hourly" else pl.duration(days=1)
    fmt = "%Y-%m-%d %H:%M" if freq == "hourly" else "%Y-%m-%d"
    return fc.frame.head(horizon).select(
        pl.lit(sid).alias("series_id"), pl.lit(site_id).alias("site_id"),
        pl.lit(scope.level).alias("level"), pl.lit(scope.id).alias("scope_id"),
        pl.lit(target).alias("target"), pl.lit(fc.unit).alias("unit"),
        pl.lit(freq).alias("horizon"), pl.col("ds").dt.strftime(fmt).alias("period_label"),
        pl.col("ds").alias("ts"), _utc(pl.col("ds"), tz).alias("ts_utc"),
        (pl.col("ds") + step).alias("period_end"),
        "yhat", "yhat_lower", "yhat_upper",
        pl.lit(width).alias("interval_width"),
        pl.lit(history_end).cast(pl.Datetime("us")).alias("history_end_utc"),
    )


def _window_rows(totals: pl.DataFrame, sid: str, site_id: str, scope: Scope, target: str,
                 unit: str, tz: str, width: float, history_end: datetime) -> pl.DataFrame:
    start = pl.col("start").cast(pl.Datetime("us"))
    return totals.select(
        pl.lit(sid).alias("series_id"), pl.lit(site_id).alias("site_id"),
        pl.lit(scope.level).alias("level"), pl.lit(scope.id).alias("scope_id"),
        pl.lit(target).alias("target"), pl.lit(unit).alias("unit"),
        pl.col("kind").alias("horizon"), pl.col("label").alias("period_label"),
        start.alias("ts"), _utc(start, tz).alias("ts_utc"),
        (pl.col("end").cast(pl.Datetime("us")) + pl.duration(days=1)).alias("period_end"),
        pl.col("total").alias("yhat"), pl.col("total_lower").alias("yhat_lower"),
        pl.col("total_upper").alias("yhat_upper"), pl.col("actual").alias("actual_to_date"),
        "missing_estimate", "days_actual", "days_missing", "days_forecast",
        pl.lit(width).alias("interval_width"),
        pl.lit(history_end).cast(pl.Datetime("us")).alias("history_end_utc"),
    )


def _conform(frame: pl.DataFrame, version: str) -> pl.DataFrame:
    frame = frame.with_columns(pl.lit(version).alias("model_version"))
    return frame.select(pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                        for c, t in FORECAST_SCHEMA.items())


def _flat(config: ForecastConfig) -> ForecastConfig:
    return config.model_copy(update={
        "prophet": config.prophet.model_copy(update={"growth": "flat"})})


def forecast_one(site: SiteInputs, scope: Scope, target: Target, group: Group, spec: BatchSpec,
                 config: ForecastConfig) -> SeriesResult:
    """One series: build, shrink the backtest to the history, forecast, flatten."""
    freq = "hourly" if group == "hourly" else "daily"
    sid = series_id(site.site_id, scope, target, freq)
    unit = "kWh" if target == "energy" else "kgCO2e"
    horizon = spec.hourly_horizon if group == "hourly" else spec.daily_horizon
    width = config.prophet.interval_width
    bundle: SeriesBundle | None = None
    history = 0
    try:
        bundle = build_series(site.intervals, scope, target, freq, config,
                              production=site.production, factors=site.factors,
                              weather=site.weather, horizon=horizon)
        history = gap_free_history(bundle).height
        cfg, note = fit_to_history(config.horizon(freq), history)
        notes = list(bundle.notes) + ([note] if note else [])
        run_config = config if cfg is None else config.model_copy(update={freq: cfg})
        if horizon > history:  # a slope fitted on less than the horizon is mostly noise
            run_config = _flat(run_config)
            notes.append(f"flat trend: {history} periods of history for a {horizon}-period "
                         "horizon")
        fc = forecast_series(bundle, run_config, backtest=cfg is not None)
        long = None
        as_of = (bundle.history_end - timedelta(days=1)).date()
        if group == "daily":  # through the end of the year, for the month/quarter/year totals
            to_year_end = (date(as_of.year, 12, 31) - as_of).days
            long_config = run_config
            if history < LINEAR_TREND_MIN_DAYS and run_config.prophet.growth != "flat":
                long_config = _flat(run_config)
                notes.append(f"month/quarter/year totals: flat trend ({history} days of "
                             f"history, a slope is extrapolated from {LINEAR_TREND_MIN_DAYS} on)")
            long = forecast_series(extend(bundle, max(horizon, to_year_end)), long_config,
                                   backtest=False, score=fc.backtest)
    except ValueError as error:  # too little data, no rows for the scope: say so, go on
        return SeriesResult(sid, site.site_id, scope, target, freq,
                            pl.DataFrame(schema=FORECAST_SCHEMA),
                            _backtest_row(sid, site.site_id, scope, target, freq, unit, horizon,
                                          history, None, None, [], str(error), None),
                            {}, None, None, error=str(error))
    end_utc = _utc_naive(bundle.history_end, config.timezone)
    version = model_version(fc.model_json)
    rows = [_conform(_rows(fc, sid, site.site_id, scope, target, freq, config.timezone,
                           horizon, width, end_utc), version)]
    models = {"horizon": fc.model_json}
    hist = bundle.history().drop_nulls("y").select("ds", "y")
    if long is not None:
        totals = window_totals(long, hist, calendar_windows(as_of), width)
        rows.append(_conform(_window_rows(totals, sid, site.site_id, scope, target, fc.unit,
                                          config.timezone, width, end_utc),
                             model_version(long.model_json)))
        models["year_end"] = long.model_json
    row = _backtest_row(sid, site.site_id, scope, target, freq, fc.unit, horizon, history,
                        fc.backtest, fc, notes, None, version)
    return SeriesResult(sid, site.site_id, scope, target, freq, pl.concat(rows), row, models,
                        fc, hist)


def _utc_naive(local: datetime, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    return (local.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))
            .replace(tzinfo=None))


def forecast_site(site: SiteInputs, group: Group, spec: BatchSpec | None = None,
                  base: ForecastConfig | None = None) -> list[SeriesResult]:
    """Every series of the site for the group, site first."""
    spec = spec or BatchSpec()
    config = site_config(site, spec, base)
    scopes = scopes_for(site.intervals, site.site_id, spec.lines, spec.equipment)
    return [forecast_one(site, scope, target, group, spec, config)
            for scope in scopes for target in spec.targets]


def forecast_frame(results: list[SeriesResult]) -> pl.DataFrame:
    frames = [r.forecasts for r in results if r.forecasts.height]
    return pl.concat(frames) if frames else pl.DataFrame(schema=FORECAST_SCHEMA)


def backtest_frame(results: list[SeriesResult]) -> pl.DataFrame:
    return pl.DataFrame([r.backtest for r in results], schema=BACKTEST_SCHEMA)

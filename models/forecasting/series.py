"""Hourly and daily series, with their regressors, built from frames shaped like the marts.

Inputs (Polars; timestamps UTC, naive as in the warehouse or tz-aware as from the simulator):
- intervals: `fct_energy_interval` (site_id, equipment_id, interval_start_utc, kwh), optionally
  with the `kg_co2e` of `fct_emissions_interval` joined on (see `interval_frame`);
- equipment: `dim_equipment` (equipment_id, line_id, ...) to roll equipment up to lines;
- production: `stg_landing__production` (line_id, start_utc, end_utc, good_units, scrap_units,
  shift) — read as the production PLAN: within its time span, a period without a batch is a
  period the line is planned idle; beyond it the plan is unknown and the regressor is projected;
- factors: `stg_landing__factors` (the hourly grid-intensity rows);
- weather (optional): ts_utc, temp_c.

A series is indexed by site-LOCAL naive time `ds` (Prophet's seasonality then follows the site's
clock; a DST fall-back hour is summed into one period, a skipped hour is simply missing).
Periods with fewer intervals than the usual count (a partial first/last day, a data gap) are
dropped rather than forecast from a partial sum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import polars as pl

from models.forecasting.config import EmissionBasis, ForecastConfig, Freq, Target

Level = Literal["site", "line", "equipment"]
PERIOD = {"hourly": "1h", "daily": "1d"}
STEP = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


@dataclass(frozen=True)
class Scope:
    """What a series adds up: a whole site, one production line or one piece of equipment."""

    level: Level
    id: str

    @property
    def name(self) -> str:
        return f"{self.level}:{self.id}"


@dataclass(frozen=True)
class SeriesBundle:
    """One series ready for Prophet: `frame` has ds, y (null in the future) and the regressor
    columns over the history AND the next `horizon` periods; a null regressor value means "not
    known" and is projected at forecast time (see projection.py)."""

    scope: Scope
    target: Target
    freq: Freq
    unit: str
    frame: pl.DataFrame
    regressors: tuple[str, ...]
    history_end: datetime  # first ds without an observed y
    horizon: int
    country: str | None = None
    known_future: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def history(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("ds") < self.history_end)

    def future(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("ds") >= self.history_end).head(self.horizon)


# --------------------------------------------------------------------------------------------
# time helpers


def utc_naive(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The column as naive UTC datetime[us], whether it came tz-aware or naive (= UTC)."""
    dtype = frame.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return frame.with_columns(expr.cast(pl.Datetime("us")).alias(column))


def to_local(expr: pl.Expr, tz: str) -> pl.Expr:
    """Naive UTC → naive site-local wall clock."""
    return expr.dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.replace_time_zone(None)


def local_period(expr: pl.Expr, tz: str, freq: Freq) -> pl.Expr:
    return to_local(expr, tz).dt.truncate(PERIOD[freq])


def period_grid(start: datetime, end: datetime, freq: Freq) -> pl.Series:
    """Regular local grid [start, end)."""
    return pl.datetime_range(start, end, PERIOD[freq], closed="left", time_unit="us",
                             eager=True).alias("ds")


# --------------------------------------------------------------------------------------------
# the target


def interval_frame(
    energy: pl.DataFrame,
    emissions: pl.DataFrame | None = None,
    equipment: pl.DataFrame | None = None,
    *,
    factors: pl.DataFrame | None = None,
    basis: EmissionBasis = "reported",
    factor_id: str = "TW-GRID-HOURLY-SIM",
) -> pl.DataFrame:
    """One row per (equipment, interval): site_id, equipment_id, line_id, interval_start_utc,
    kwh, kg_co2e. `basis='reported'` takes kg_co2e from `emissions` (fct_emissions_interval,
    first method found — pass it filtered to the method you report) or from `energy` if it
    already has the column; `basis='hourly_intensity'` computes kWh x the hourly grid intensity
    of `factors` (intervals without an hourly factor get a null kg_co2e)."""
    out = utc_naive(energy, "interval_start_utc").with_columns(pl.col("kwh").cast(pl.Float64))
    keys = ["site_id", "equipment_id", "interval_start_utc"]
    if basis == "reported":
        if emissions is not None:
            em = utc_naive(emissions, "interval_start_utc")
            if "method" in em.columns:
                em = em.filter(pl.col("method") == em["method"][0])
            out = out.drop("kg_co2e", strict=False).join(
                em.select(*keys, pl.col("kg_co2e").cast(pl.Float64)), on=keys, how="left")
        elif "kg_co2e" in out.columns:
            out = out.with_columns(pl.col("kg_co2e").cast(pl.Float64))
        else:
            out = out.with_columns(pl.lit(None, pl.Float64).alias("kg_co2e"))
    else:
        if factors is None:
            raise ValueError("basis='hourly_intensity' needs the factors frame")
        hourly = hourly_intensity(factors, factor_id)
        out = out.drop("kg_co2e", strict=False).with_columns(
            pl.col("interval_start_utc").dt.truncate("1h").alias("_hour")
        ).join(hourly.rename({"hour_utc": "_hour"}), on="_hour", how="left").with_columns(
            (pl.col("kwh") * pl.col("grid_intensity") / 1000.0).alias("kg_co2e")
        ).drop("_hour", "grid_intensity")
    if equipment is not None and "line_id" not in out.columns:
        out = out.join(equipment.select("equipment_id", "line_id"), on="equipment_id",
                       how="left")
    if "line_id" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.String).alias("line_id"))
    return out.select("site_id", "equipment_id", "line_id", "interval_start_utc", "kwh",
                      "kg_co2e")


def select_scope(intervals: pl.DataFrame, scope: Scope, site_id: str | None = None
                 ) -> pl.DataFrame:
    col = {"site": "site_id", "line": "line_id", "equipment": "equipment_id"}[scope.level]
    out = intervals.filter(pl.col(col) == scope.id)
    if site_id is not None:
        out = out.filter(pl.col("site_id") == site_id)
    if out.is_empty():
        raise ValueError(f"no intervals for {scope.name}")
    return out


def largest_equipment(intervals: pl.DataFrame, site_id: str | None = None) -> str:
    frame = intervals if site_id is None else intervals.filter(pl.col("site_id") == site_id)
    return (frame.group_by("equipment_id").agg(pl.col("kwh").sum())
            .sort("kwh", "equipment_id", descending=[True, False])["equipment_id"][0])


def aggregate_target(intervals: pl.DataFrame, value: str, tz: str, freq: Freq) -> pl.DataFrame:
    """ds, y: the sum of `value` per local period, complete periods only — a period counts when
    its number of non-null (equipment, interval) rows is at least the most common count, so a
    partial first/last day or a gap in one meter's data is dropped rather than under-forecast."""
    per = intervals.drop_nulls(value).with_columns(
        local_period(pl.col("interval_start_utc"), tz, freq).alias("ds"))
    agg = per.group_by("ds").agg(pl.col(value).sum().alias("y"), pl.len().alias("n")).sort("ds")
    if agg.is_empty():
        return agg.select("ds", "y")
    full = int(agg["n"].mode().max())
    return agg.filter(pl.col("n") >= full).select("ds", "y")


# --------------------------------------------------------------------------------------------
# regressors


def regressor_family(column: str) -> str:
    """'run_L1_SMT' → 'run', 'shift_A' → 'shift'; other regressors are their own family."""
    for prefix in ("run_", "shift_"):
        if column.startswith(prefix):
            return prefix[:-1]
    return column


def column_name(prefix: str, ident: str) -> str:
    return f"{prefix}_{re.sub(r'[^0-9A-Za-z]+', '_', ident).strip('_')}"


def production_regressors(production: pl.DataFrame, lines: list[str], tz: str, freq: Freq,
                          grid: pl.Series, shift_starts: dict[str, int] | None = None
                          ) -> pl.DataFrame:
    """Per period: `run_<line>` planned running hours of each line, `planned_units` (good +
    scrap, spread evenly over each batch) and, daily, `line_shifts` (line-shifts with at least
    one batch). Null outside the plan's time span."""
    shift_starts = shift_starts or {"A": 6, "B": 14, "C": 22}
    prod = production.filter(pl.col("line_id").is_in(lines))
    for col in ("start_utc", "end_utc"):
        prod = utc_naive(prod, col)
    out = pl.DataFrame({"ds": grid})
    names = [column_name("run", line) for line in lines]
    if prod.is_empty():
        return out.with_columns(*[pl.lit(None, pl.Float64).alias(n) for n in names],
                                pl.lit(None, pl.Float64).alias("planned_units"))
    # 15-minute slots of every batch (batches start and end on the quarter hour in the marts;
    # a batch off the grid is counted by the quarters it starts in — close enough for a plan).
    slots = prod.with_columns(
        ((pl.col("end_utc") - pl.col("start_utc")).dt.total_minutes() / 15).ceil()
        .cast(pl.Int64).clip(lower_bound=1).alias("_n"),
        (pl.col("good_units") + pl.col("scrap_units").fill_null(0)).cast(pl.Float64)
        .alias("_units"),
    ).with_columns(
        pl.datetime_ranges(pl.col("start_utc"), pl.col("end_utc"), "15m", closed="left")
        .alias("_slot")
    ).explode("_slot").drop_nulls("_slot").with_columns(
        local_period(pl.col("_slot"), tz, freq).alias("ds"),
        (pl.col("_units") / pl.col("_n")).alias("_u"),
    )
    run = slots.group_by("ds", "line_id").agg((pl.len() * 0.25).alias("h")).pivot(
        on="line_id", index="ds", values="h")
    run = run.rename({line: column_name("run", line) for line in lines if line in run.columns})
    units = slots.group_by("ds").agg(pl.col("_u").sum().alias("planned_units"))
    out = out.join(run, on="ds", how="left").join(units, on="ds", how="left")
    for n in [*names, "planned_units"]:
        if n not in out.columns:
            out = out.with_columns(pl.lit(0.0).alias(n))
    # The plan's span is the whole production table's, not only these lines': a line without
    # a batch while the others have theirs is planned idle, not unknown.
    span = production
    for col in ("start_utc", "end_utc"):
        span = utc_naive(span, col)
    lo = local_period(pl.lit(span["start_utc"].min()), tz, freq)
    hi = to_local(pl.lit(span["end_utc"].max()), tz)
    inside = (pl.col("ds") >= lo) & (pl.col("ds") < hi)
    out = out.with_columns(
        *[pl.when(inside).then(pl.col(n).fill_null(0.0)).otherwise(None).alias(n)
          for n in [*names, "planned_units"]]
    )
    if freq == "daily" and "shift" in prod.columns:
        # A shift belongs to the local date it starts on (C, 22-06, to the evening's date).
        local = to_local(pl.col("start_utc"), tz)
        first = pl.col("shift").replace_strict(shift_starts, default=0, return_dtype=pl.Int32)
        shift_day = pl.when(local.dt.hour() < first).then(
            local.dt.date() - pl.duration(days=1)).otherwise(local.dt.date())
        shifts = slots.with_columns(shift_day.alias("_d")).select(
            "line_id", "shift", "_d").unique().group_by("_d").agg(pl.len().alias("line_shifts"))
        out = out.join(shifts.with_columns(pl.col("_d").cast(pl.Datetime("us")).alias("ds"))
                       .select("ds", "line_shifts"), on="ds", how="left").with_columns(
            pl.when(inside).then(pl.col("line_shifts").fill_null(0).cast(pl.Float64))
            .otherwise(None).alias("line_shifts"))
    return out.select("ds", *names, "planned_units",
                      *(["line_shifts"] if "line_shifts" in out.columns else []))


def shift_regressors(grid: pl.Series, starts: dict[str, int]) -> pl.DataFrame:
    """Hourly shift-calendar dummies `shift_<name>` (all shifts but the last: the baseline)."""
    ordered = sorted(starts.items(), key=lambda kv: kv[1])
    hour = pl.col("ds").dt.hour()
    cols = []
    for i, (name, h0) in enumerate(ordered[:-1]):
        h1 = ordered[i + 1][1]
        cols.append(((hour >= h0) & (hour < h1)).cast(pl.Float64).alias(column_name("shift", name)))
    return pl.DataFrame({"ds": grid}).with_columns(cols)


def hourly_intensity(factors: pl.DataFrame, factor_id: str) -> pl.DataFrame:
    """hour_utc (naive), grid_intensity in gCO2e/kWh, from the factor rows of `factor_id`
    (landing or staging column names)."""
    f = factors.filter(pl.col("factor_id") == factor_id)
    start = "valid_from_utc" if "valid_from_utc" in f.columns else "valid_from"
    if f.is_empty():
        raise ValueError(f"no factor rows for {factor_id}")
    f = utc_naive(f, start)
    if "value_kg_per_kwh" in f.columns:
        g = pl.col("value_kg_per_kwh") * 1000.0
    else:
        scale = {"gCO2e/kWh": 1.0, "kgCO2e/kWh": 1000.0, "tCO2e/MWh": 1000.0}
        unit = f["unit"][0]
        if unit not in scale:
            raise ValueError(f"unknown factor unit {unit!r}")
        g = pl.col("value") * scale[unit]
    return f.select(pl.col(start).dt.truncate("1h").alias("hour_utc"),
                    g.cast(pl.Float64).alias("grid_intensity")).unique("hour_utc").sort("hour_utc")


def intensity_regressor(factors: pl.DataFrame, factor_id: str, tz: str, freq: Freq,
                        grid: pl.Series) -> pl.DataFrame:
    h = hourly_intensity(factors, factor_id).with_columns(
        local_period(pl.col("hour_utc"), tz, freq).alias("ds"))
    agg = h.group_by("ds").agg(pl.col("grid_intensity").mean(), pl.len().alias("_n"))
    if freq == "daily":  # a day with part of its hours published is not known yet
        agg = agg.filter(pl.col("_n") >= 23)
    return pl.DataFrame({"ds": grid}).join(agg.drop("_n"), on="ds", how="left")


def temperature_regressor(weather: pl.DataFrame, tz: str, freq: Freq, grid: pl.Series
                          ) -> pl.DataFrame:
    w = utc_naive(weather, "ts_utc").with_columns(local_period(pl.col("ts_utc"), tz, freq)
                                                   .alias("ds"))
    agg = w.group_by("ds").agg(pl.col("temp_c").mean())
    return pl.DataFrame({"ds": grid}).join(agg, on="ds", how="left")


def holidays_frame(country: str | None, years: list[int]):
    """Prophet's holidays frame (pandas: holiday, ds) from the offline `holidays` package."""
    import holidays as hol
    import pandas as pd

    if not country:
        return None
    days = hol.country_holidays(country, years=years)
    if not days:
        return None
    return pd.DataFrame({"holiday": list(days.values()),
                         "ds": pd.to_datetime(list(days.keys()))}).sort_values("ds")


# --------------------------------------------------------------------------------------------
# the bundle


def weather_sensitive(intervals: pl.DataFrame) -> bool:
    """Outdoor temperature drives the site utilities (chillers, air handlers), which carry no
    line; a line or a machine on it is process load, where a weather regressor only adds a
    coefficient to mis-extrapolate."""
    return bool(intervals["line_id"].is_null().any())


def lines_for(scope: Scope, intervals: pl.DataFrame, production: pl.DataFrame | None
              ) -> list[str]:
    """Lines whose plan drives the scope: its own line, else every line (site utilities follow
    the whole plant's production)."""
    if scope.level == "line":
        return [scope.id]
    if scope.level == "equipment":
        own = intervals.filter(pl.col("equipment_id") == scope.id)["line_id"].drop_nulls()
        if len(own):
            return [own[0]]
    source = production if production is not None else intervals
    return sorted(source["line_id"].drop_nulls().unique().to_list())


def build_series(
    intervals: pl.DataFrame,
    scope: Scope,
    target: Target,
    freq: Freq,
    config: ForecastConfig,
    *,
    production: pl.DataFrame | None = None,
    factors: pl.DataFrame | None = None,
    weather: pl.DataFrame | None = None,
    as_of: datetime | None = None,
    horizon: int | None = None,
) -> SeriesBundle:
    """The series of `target` ('energy' = kwh, 'emissions' = kg_co2e of `interval_frame`) for
    `scope`, with the regressors the inputs allow, over the history before `as_of` (naive UTC;
    default: all of it) and the next `horizon` periods (default: the config's horizon).

    Whatever `production`, `weather` and `factors` say about the horizon is used as given (a
    plan, a weather forecast); what they leave out is projected. Cut them at `as_of` if they
    hold actuals a forecaster would not have had."""
    tz = config.timezone
    horizon = horizon or config.horizon(freq).horizon
    scoped = select_scope(intervals, scope)
    if as_of is not None:
        scoped = scoped.filter(pl.col("interval_start_utc") < as_of)
    value = "kwh" if target == "energy" else "kg_co2e"
    y = aggregate_target(scoped, value, tz, freq)
    if y.is_empty():
        raise ValueError(f"no complete {freq} periods for {scope.name} {target}")
    start, last = y["ds"].min(), y["ds"].max()
    history_end = last + STEP[freq]
    grid = period_grid(start, history_end + STEP[freq] * horizon, freq)
    frame = pl.DataFrame({"ds": grid}).join(y, on="ds", how="left")
    notes: list[str] = []
    if production is not None:
        # The plan is known ahead of `as_of`: batches after it stay in (they are the plan).
        lines = lines_for(scope, scoped, production)
        frame = frame.join(production_regressors(production, lines, tz, freq, grid,
                                                 config.shifts.starts), on="ds", how="left")
    if freq == "hourly":
        frame = frame.join(shift_regressors(grid, config.shifts.starts), on="ds", how="left")
    if weather is not None and weather_sensitive(scoped):
        frame = frame.join(temperature_regressor(weather, tz, freq, grid), on="ds", how="left")
    elif weather is not None:
        notes.append("temp_c left out: process equipment only (no site utilities in scope)")
    if target == "emissions" and config.emission_basis == "hourly_intensity":
        if factors is None:
            raise ValueError("emission_basis 'hourly_intensity' needs the factors frame")
        frame = frame.join(intensity_regressor(factors, config.hourly_factor_id, tz, freq, grid),
                           on="ds", how="left")
    regressors = [c for c in frame.columns if c not in ("ds", "y")]
    hist = frame.filter(pl.col("ds") < history_end)
    # A regressor that never varies over the history teaches the model nothing.
    dropped = [c for c in regressors if hist[c].drop_nulls().n_unique() < 2]
    if dropped:
        notes.append(f"constant over the history, dropped: {', '.join(dropped)}")
        frame = frame.drop(dropped)
        regressors = [c for c in regressors if c not in dropped]
    known = tuple(c for c in regressors if regressor_family(c) in config.known_future)
    return SeriesBundle(scope=scope, target=target, freq=freq,
                        unit="kWh" if target == "energy" else "kgCO2e", frame=frame,
                        regressors=tuple(regressors), history_end=history_end, horizon=horizon,
                        country=config.country, known_future=known, notes=tuple(notes))


def bare_series(y: pl.DataFrame, scope: Scope, target: Target, freq: Freq, horizon: int,
                country: str | None = None, unit: str = "kWh") -> SeriesBundle:
    """A bundle without regressors from a ready (ds, y) frame — e.g. a single meter export."""
    y = y.select("ds", pl.col("y").cast(pl.Float64)).sort("ds")
    history_end = y["ds"].max() + STEP[freq]
    grid = period_grid(y["ds"].min(), history_end + STEP[freq] * horizon, freq)
    frame = pl.DataFrame({"ds": grid}).join(y, on="ds", how="left")
    return SeriesBundle(scope=scope, target=target, freq=freq, unit=unit, frame=frame,
                        regressors=(), history_end=history_end, horizon=horizon, country=country)


def years_of(frame: pl.DataFrame) -> list[int]:
    return sorted(set(frame["ds"].dt.year().unique().to_list()))


# --------------------------------------------------------------------------------------------
# the steel plant's export


def read_steel_hourly(path: str | Path) -> pl.DataFrame:
    """ds (local hour start), y (kWh) from the UCI steel-industry export: 15-minute Usage_kWh,
    'd/m/yyyy H:MM' labels at the interval END, the day's last interval labelled 00:00 of the
    SAME date (= 24:00); Asia/Seoul wall clock, which has no DST, so local hours are the index
    as they are. Same reading rules as ingestion/files/mapping.py; hours with fewer than four
    quarters are dropped."""
    raw = pl.read_csv(path, columns=["date", "Usage_kWh"], encoding="utf8-lossy")
    end = pl.col("date").str.strptime(pl.Datetime("us"), "%d/%m/%Y %H:%M")
    midnight = (end.dt.hour() == 0) & (end.dt.minute() == 0)
    end = pl.when(midnight).then(end + pl.duration(days=1)).otherwise(end)
    frame = raw.with_columns((end - pl.duration(minutes=15)).dt.truncate("1h").alias("ds"))
    out = frame.group_by("ds").agg(pl.col("Usage_kWh").sum().alias("y"), pl.len().alias("n"))
    return out.filter(pl.col("n") == 4).select("ds", "y").sort("ds")


def daily_from_hourly(hourly: pl.DataFrame) -> pl.DataFrame:
    out = hourly.group_by(pl.col("ds").dt.truncate("1d")).agg(pl.col("y").sum(),
                                                              pl.len().alias("n"))
    return out.filter(pl.col("n") == 24).select("ds", "y").sort("ds")

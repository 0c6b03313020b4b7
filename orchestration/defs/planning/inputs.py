"""Read what the planner needs for one site from the warehouse, the landing zone and the home's
planning files, as the plain frames `models.planning.plant.PlantData` holds.

The order book is read from the landing zone (`landing/orders`), not through dbt: it is an
operational snapshot the planner consumes whole, not a fact the marts aggregate. Everything else
comes from the warehouse: production batches (staging), reconciled energy per equipment and
interval (marts), the equipment registry, location-based factors (hourly and annual), the
latest bill, and an hourly grid-intensity forecast when the forecasting area has written one.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl

from ingestion.landing import LandingZone
from models.planning.plant import PlanningDataError, PlantData, latest_snapshot
from models.planning.plant_settings import load_materials, load_settings

# the forecasting area's forecasts; an hourly grid-intensity series in it is used for the hours
# it covers (see `_forecast_intensity`)
FORECAST_TABLE = "forecasting.forecasts"


def planning_dir(home: Path) -> Path:
    return home / "planning"


def _frame(con: duckdb.DuckDBPyConnection, query: str, params) -> pl.DataFrame:
    # duckdb 2.0: relations (con.sql) convert to polars, executed statements do not
    return con.sql(query, params=params).pl()


def _one(con: duckdb.DuckDBPyConnection, query: str, params=None) -> tuple | None:
    # fetchall, not fetchone: duckdb 2.0 refuses further work while a result is unfinished
    rows = con.execute(query, params or []).fetchall()
    return rows[0] if rows else None


def sites(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("select site_id from marts.dim_site order by 1").fetchall()]


def choose_site(con: duckdb.DuckDBPyConnection, site_id: str | None) -> str:
    known = sites(con)
    if site_id is not None:
        if site_id not in known:
            raise PlanningDataError(f"unknown site {site_id!r}; the warehouse has {known}")
        return site_id
    if len(known) != 1:
        raise PlanningDataError(f"the warehouse has {len(known)} sites {known}: choose one")
    return known[0]


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        _one(
            con,
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, name],
        )[0]
    )


def _forecast_intensity(con: duckdb.DuckDBPyConnection, site_id: str) -> pl.DataFrame | None:
    """hour_utc, kg_per_kwh of the forecasting area's hourly grid-intensity series for the site,
    if it has one: rows of `forecasting.forecasts` with horizon 'hourly' and a target naming
    the intensity, in the unit its `unit` column gives (g or kg CO2e per kWh). Today that table
    forecasts energy and emissions only, so this is None and the observed intensity is
    projected instead."""
    if not _table_exists(con, FORECAST_TABLE):
        return None
    columns = {r[0] for r in con.execute(f"describe {FORECAST_TABLE}").fetchall()}
    if not {"site_id", "target", "horizon", "ts_utc", "yhat", "unit"} <= columns:
        return None
    frame = _frame(
        con,
        f"""
        select ts_utc as hour_utc, yhat, unit from {FORECAST_TABLE}
        where site_id = $site and horizon = 'hourly' and lower(target) like '%intensity%'
        order by ts_utc
        """,
        {"site": site_id},
    )
    if frame.height == 0:
        return None
    grams = pl.col("unit").str.to_lowercase().str.starts_with("g")
    return frame.select(
        "hour_utc",
        pl.when(grams).then(pl.col("yhat") / 1000.0).otherwise(pl.col("yhat")).alias("kg_per_kwh"),
    )


def read_plant_data(
    con: duckdb.DuckDBPyConnection, home: Path, site_id: str | None = None
) -> PlantData:
    """The inputs of one site (the only site when `site_id` is None)."""
    site_id = choose_site(con, site_id)
    timezone, grid_region = _one(
        con, "select timezone, grid_region from marts.dim_site where site_id = ?", [site_id]
    )
    settings, settings_source = load_settings(planning_dir(home))
    materials = load_materials(planning_dir(home))

    orders = LandingZone(home).read("orders").filter(pl.col("site_id") == site_id)
    _, as_of = latest_snapshot(orders)
    as_of_naive = as_of.replace(tzinfo=None)
    since = as_of_naive - timedelta(days=settings.history_days)
    horizon_end = as_of_naive + timedelta(days=settings.horizon_days + 1)

    production = _frame(
        con,
        """
        select batch_id, line_id, sku, start_utc, end_utc, good_units, shift
        from staging.stg_landing__production
        where site_id = ? and start_utc >= ? and start_utc < ?
        """,
        [site_id, since, as_of_naive],
    )
    intervals = _frame(
        con,
        """
        select equipment_id, interval_start_utc, cast(kwh as double) as kwh
        from marts.fct_energy_interval
        where site_id = ? and interval_start_utc >= ? and interval_start_utc < ?
        """,
        [site_id, since, as_of_naive],
    )
    equipment = _frame(
        con,
        """
        select equipment_id, line_id, process_step
        from marts.dim_equipment
        where site_id = ? and line_id is not null and not coalesce(is_pseudo, false)
        """,
        [site_id],
    )
    location = """
        from intermediate.int_factor_versions
        where method = 'location' and energy_carrier = 'electricity' and region = ?
            and is_latest_version
    """
    observed = _frame(
        con,
        f"""
        select valid_from_utc as hour_utc, factor_kg_per_kwh as kg_per_kwh
        {location} and granularity = 'hourly' and valid_from_utc >= ? and valid_from_utc < ?
        order by 1
        """,
        [grid_region, as_of_naive - timedelta(days=35), horizon_end],
    )
    constant = _one(
        con,
        f"""
        select factor_kg_per_kwh, factor_id || ' ' || version
        {location} and granularity in ('annual', 'monthly')
        order by (valid_from_utc <= ? and ? < valid_to_utc) desc, valid_from_utc desc,
            published_at_utc desc
        limit 1
        """,
        [grid_region, as_of_naive, as_of_naive],
    )
    bill = _one(
        con,
        """
        select cost / kwh, bill_id, currency from staging.stg_landing__bills
        where site_id = ? and kwh > 0 and cost is not null
        order by period_end desc limit 1
        """,
        [site_id],
    )
    return PlantData(
        site_id=site_id,
        timezone=timezone,
        orders=orders,
        production=production,
        intervals=intervals,
        equipment=equipment,
        observed_intensity=observed,
        settings=settings,
        materials=materials,
        forecast_intensity=_forecast_intensity(con, site_id),
        constant_factor=(float(constant[0]), constant[1]) if constant else None,
        bill_price=(float(bill[0]), bill[1], bill[2]) if bill else None,
        settings_source=settings_source,
    )

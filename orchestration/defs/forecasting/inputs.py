"""What the forecasting assets read from the warehouse: the marts, as plain Polars frames.

Only the public marts (the documented, contract-enforced schema) are read, plus the factor
rows for an hourly-intensity emission basis; every query is bounded to the history a run fits
on, so a run's cost does not grow with the warehouse's age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import polars as pl

from models.forecasting.batch import SiteInputs
from models.forecasting.series import interval_frame


class NoData(RuntimeError):
    """The warehouse has nothing to forecast from (no marts yet, or no energy rows)."""


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(row and row[0][0])


def latest_interval(con: duckdb.DuckDBPyConnection) -> datetime:
    if not _exists(con, "marts", "fct_energy_interval"):
        raise NoData("the warehouse has no marts.fct_energy_interval yet: run the pipeline first")
    rows = con.execute("select max(interval_start_utc) from marts.fct_energy_interval").fetchall()
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        raise NoData("marts.fct_energy_interval is empty: run the pipeline on some days first")
    return row[0]


def read_sites(
    con: duckdb.DuckDBPyConnection, history_days: int, *, hourly_factors: bool = False
) -> list[SiteInputs]:
    """One SiteInputs per site with energy in the last `history_days` days of data."""
    since = latest_interval(con) - timedelta(days=history_days)
    energy = con.sql(
        """
        select site_id, equipment_id, interval_start_utc, kwh::double as kwh
        from marts.fct_energy_interval where interval_start_utc >= ?
        """,
        params=[since],
    ).pl()
    emissions = con.sql(
        """
        select site_id, equipment_id, interval_start_utc, kg_co2e::double as kg_co2e
        from marts.fct_emissions_interval
        where method = 'location' and interval_start_utc >= ?
        """,
        params=[since],
    ).pl()
    equipment = con.sql("select * from marts.dim_equipment").pl()
    sites = con.sql("select site_id, timezone, country from marts.dim_site order by site_id").pl()
    production = con.sql(
        """
        select batch_id, site_id, line_id, sku, shift, start_utc, end_utc, good_units,
               scrap_units
        from marts.fct_batch_energy where end_utc >= ?
        """,
        params=[since],
    ).pl()
    factors = None
    if hourly_factors:
        factors = con.sql(
            """
            select factor_id, valid_from_utc, value, unit, value_kg_per_kwh
            from staging.stg_landing__factors
            where granularity = 'hourly' and valid_from_utc >= ?
            """,
            params=[since - timedelta(days=1)],
        ).pl()
    intervals = interval_frame(energy, emissions, equipment, basis="reported")
    out = []
    for site in sites.iter_rows(named=True):
        own = intervals.filter(pl.col("site_id") == site["site_id"])
        if own.is_empty():
            continue
        prod = production.filter(pl.col("site_id") == site["site_id"])
        out.append(
            SiteInputs(
                site_id=site["site_id"],
                timezone=site["timezone"],
                country=site["country"],
                intervals=own,
                production=prod if prod.height else None,
                factors=factors,
            )
        )
    if not out:
        raise NoData("no site has energy intervals in the warehouse")
    return out


@dataclass(frozen=True)
class ScenarioInputs:
    """One site's energy per equipment and interval, its registry and the factors to weigh
    the hours with — what models.forecasting.scenarios works on."""

    site_id: str
    timezone: str
    energy: pl.DataFrame
    equipment: pl.DataFrame
    factors: pl.DataFrame
    annual_factor_id: str
    hourly_factor_id: str | None  # None: the grid publishes no hourly intensity here
    first_utc: datetime
    last_utc: datetime

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(sorted(self.equipment["line_id"].drop_nulls().unique().to_list()))


def read_scenario_inputs(
    con: duckdb.DuckDBPyConnection, *, site_id: str | None = None, days: int = 365
) -> list[ScenarioInputs]:
    """The last `days` days of energy of each site (or of `site_id`): a measure's saving is
    scaled from them to a year, so up to a year is read."""
    since = latest_interval(con) - timedelta(days=days)
    sites = con.sql("select site_id, timezone, grid_region from marts.dim_site order by 1").pl()
    if site_id is not None:
        sites = sites.filter(pl.col("site_id") == site_id)
        if sites.is_empty():
            raise NoData(f"no site {site_id!r} in the warehouse")
    out = []
    for site in sites.iter_rows(named=True):
        energy = con.sql(
            """
            select site_id, equipment_id, interval_start_utc, kwh::double as kwh
            from marts.fct_energy_interval
            where site_id = ? and interval_start_utc >= ?
            """,
            params=[site["site_id"], since],
        ).pl()
        if energy.is_empty():
            continue
        equipment = con.sql(
            "select * from marts.dim_equipment where site_id = ?", params=[site["site_id"]]
        ).pl()
        used = con.sql(
            """
            select factor_id, count(*) as n from marts.fct_emissions_interval
            where site_id = ? and method = 'location' and interval_start_utc >= ?
            group by 1 order by n desc, factor_id
            """,
            params=[site["site_id"], since],
        ).pl()
        if used.is_empty():
            raise NoData(f"{site['site_id']}: no location-based emissions in the warehouse")
        factors = con.sql(
            """
            select factor_id, granularity, region, valid_from_utc, valid_to_utc, value, unit,
                   value_kg_per_kwh
            from staging.stg_landing__factors
            where method = 'location' and energy_carrier = 'electricity' and region = ?
            """,
            params=[site["grid_region"]],
        ).pl()
        hourly = factors.filter(pl.col("granularity") == "hourly")["factor_id"].unique().sort()
        out.append(
            ScenarioInputs(
                site_id=site["site_id"],
                timezone=site["timezone"],
                energy=energy,
                equipment=equipment,
                factors=factors,
                annual_factor_id=used["factor_id"][0],
                hourly_factor_id=hourly[0] if len(hourly) else None,
                first_utc=energy["interval_start_utc"].min(),
                last_utc=energy["interval_start_utc"].max(),
            )
        )
    if not out:
        raise NoData("no site has energy intervals in the warehouse")
    return out

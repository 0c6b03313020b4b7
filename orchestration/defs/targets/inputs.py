"""What resolving targets reads from the warehouse: its sites, and a baseline year's daily
figures when targets.json leaves the baseline out.

One reader for both views of progress (the pipeline's targets/site_targets asset and the
forecasting target_tracking asset), so a computed baseline is the same figure in both. It reads
only what exists before the dbt reports are built — the daily emissions mart and the staged
sites and production batches — because the run-rate mart those reports include reads the
targets resolved from it.
"""

from __future__ import annotations

import duckdb
import polars as pl

from models.forecasting.targets import Baseline, baseline_from_daily


def warehouse_sites(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select site_id from staging.stg_landing__sites order by 1"
        ).fetchall()
    ]


def baseline_daily(con: duckdb.DuckDBPyConnection, site_id: str, year: int) -> pl.DataFrame:
    """The site's location-based kWh and kgCO2e per site-local day of `year`, with the good
    units of the batches that ended that local day (0 when none did)."""
    return con.sql(
        """
        with days as (
            select site_local_date, sum(kwh)::double as kwh, sum(kg_co2e)::double as kg_co2e
            from marts.fct_emissions_daily
            where site_id = $site and method = 'location' and year(site_local_date) = $year
            group by 1
        ),
        units as (
            select
                timezone(sites.timezone, timezone('UTC', batches.end_utc))::date
                    as site_local_date,
                sum(batches.good_units)::double as good_units
            from staging.stg_landing__production as batches
            inner join staging.stg_landing__sites as sites on batches.site_id = sites.site_id
            where batches.site_id = $site
            group by 1
        )
        select days.site_local_date, days.kwh, days.kg_co2e,
               coalesce(units.good_units, 0.0) as good_units
        from days left join units on days.site_local_date = units.site_local_date
        order by 1
        """,
        params={"site": site_id, "year": year},
    ).pl()


def warehouse_baseline(con: duckdb.DuckDBPyConnection, site_id: str, year: int) -> Baseline:
    """The baseline year from the warehouse by target_config.py's rule (baseline_from_daily:
    every quarter needs data, partial quarters scaled up by days); ValueError when it cannot."""
    return baseline_from_daily(baseline_daily(con, site_id, year), site_id, year)

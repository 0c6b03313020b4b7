"""What a factor file would change, before it is landed: which windows, which sites and
site-local days that already have figures, and by how much.

The file is read and validated exactly as `wattprint import factors` would (a file that would be
rejected is reported with its rows, nothing is landed or quarantined); the windows where the
factor in effect changes come from `ingestion.factors.impact.changed_windows`; the kWh inside
them from the warehouse:
- location-based: the site's kWh in the window × (new − old factor), for the sites whose grid
  region and location granularity the series serves;
- residual mix: the site's kWh at the residual mix in the window × (new − old).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ingestion.factors import read_factor_file
from ingestion.factors.impact import changed_windows, local_days
from ingestion.factors.validate import validate
from ingestion.landing import LandingZone


@dataclass
class Preview:
    publisher: str
    rows_in_file: int
    rows_new: int
    problems: list
    changes: pl.DataFrame
    impact: pl.DataFrame  # per change × site: days, kWh, old kg, new kg, delta


IMPACT_SCHEMA = {
    "series": pl.String,
    "window": pl.String,
    "old": pl.String,
    "new": pl.String,
    "site_id": pl.String,
    "first_day": pl.Date,
    "last_day": pl.Date,
    "days_with_figures": pl.Int64,
    "kwh": pl.Float64,
    "old_kg": pl.Float64,
    "new_kg": pl.Float64,
    "delta_kg": pl.Float64,
}


def preview_factor_file(
    home: Path, path: Path, con: duckdb.DuckDBPyConnection | None, publisher: str = "auto"
) -> Preview:
    loaded = read_factor_file(path, publisher)
    landed = LandingZone(home).read("factors")
    checked = validate(loaded.frame, loaded.source_rows, existing=landed)
    changes = (
        changed_windows(landed, checked.to_land)
        if checked.ok
        else changed_windows(landed.head(0), landed.head(0))
    )
    impact = (
        _impact(changes, con)
        if con is not None and changes.height
        else pl.DataFrame(schema=IMPACT_SCHEMA)
    )
    return Preview(
        loaded.publisher,
        loaded.frame.height,
        checked.to_land.height,
        checked.problems,
        changes,
        impact,
    )


def _impact(changes: pl.DataFrame, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    sites = con.sql(
        "select site_id, timezone, grid_region, location_factor_granularity from marts.dim_site"
    ).pl()
    out = []
    for change in changes.iter_rows(named=True):
        if change["energy_carrier"] != "electricity" or change["gas_group"] != "CO2e":
            continue
        if change["method"] == "location":
            served = sites.filter(
                (pl.col("grid_region") == change["region"])
                & (pl.col("location_factor_granularity") == change["granularity"])
            )
            column = "kwh"
        elif change["method"] == "residual_mix":
            served = sites.filter(pl.col("grid_region") == change["region"])
            column = "kwh_residual"
        else:
            continue
        for site in served.iter_rows(named=True):
            start = change["window_start"].replace(tzinfo=None)
            end = change["window_end"].replace(tzinfo=None)
            kwh, days = con.execute(
                f"select coalesce(sum({column}), 0), count(distinct cast((interval_start_utc "
                "at time zone 'UTC') at time zone $tz as date)) from marts.fct_scope2_interval "
                "where site_id = $site and interval_start_utc >= $start "
                "and interval_start_utc < $end",
                {"site": site["site_id"], "start": start, "end": end, "tz": site["timezone"]},
            ).fetchall()[0]
            kwh = float(kwh)
            old = change["old_value_base"]
            new = change["new_value_base"]
            span = local_days(change["window_start"], change["window_end"], site["timezone"])
            out.append(
                {
                    "series": f"{change['new_factor_id']} ({change['method']}, "
                    f"{change['region']}, {change['granularity']})",
                    "window": f"{change['window_start']:%Y-%m-%d %H:%M} … "
                    f"{change['window_end']:%Y-%m-%d %H:%M} UTC",
                    "old": "none"
                    if old is None
                    else f"{change['old_factor_id']}@{change['old_version']} = {old:g}",
                    "new": f"{change['new_factor_id']}@{change['new_version']} = {new:g}",
                    "site_id": site["site_id"],
                    "first_day": span[0],
                    "last_day": span[-1],
                    "days_with_figures": int(days),
                    "kwh": kwh,
                    "old_kg": None if old is None else kwh * old,
                    "new_kg": kwh * new,
                    "delta_kg": None if old is None else kwh * (new - old),
                }
            )
    return pl.DataFrame(out, schema=IMPACT_SCHEMA)

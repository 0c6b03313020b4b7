"""What a new factor file changes: the time windows in which the factor *in effect* changes.

A factor file rarely changes everything it contains. A quarterly update republishes a whole
year as a new version, but only one quarter's values differ; re-running the whole year would
restate nothing and cost four times the work. So the question is not "which windows does the
file cover" but "where does the winning factor's value change":

1. factors compete in *series*: (method, region, energy_carrier, granularity, gas group) —
   the gas group is CO2e for CO2e, CO2 and unspecified rows (they compete: CO2e wins), and the
   gas itself for CH4 and N2O (fuel factors per gas);
2. at each instant the winner is the rule the warehouse applies (`fct_emissions_interval`,
   `int_factor_versions`): a CO2e figure before a CO2-only one, then the latest published, then
   the highest version, then the lowest factor id;
3. before = the landed factors without the new rows, after = with them; the windows where the
   winner's value (kg per base unit) differs — or where there was no factor before — changed.

A new version that republishes an unchanged value changes no figure and re-runs nothing; rows
computed with the old version keep naming it (their figures are identical to the last digit).

`changed_windows` is pure (Polars in, Polars out; DuckDB does the interval arithmetic) and is
shared by the Dagster factor sensor, `wattprint factors preview` and the tests.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from ingestion.factors.units import with_base_values
from ingestion.landing.schemas import SCHEMAS, UTC_TS

SERIES = ("method", "region", "energy_carrier", "granularity", "gas_group")

CHANGE_SCHEMA: dict[str, pl.DataType] = {
    "method": pl.String(),
    "region": pl.String(),
    "energy_carrier": pl.String(),
    "granularity": pl.String(),
    "gas_group": pl.String(),
    "window_start": UTC_TS,
    "window_end": UTC_TS,
    "old_factor_id": pl.String(),
    "old_version": pl.String(),
    "old_value_base": pl.Float64(),
    "new_factor_id": pl.String(),
    "new_version": pl.String(),
    "new_value_base": pl.Float64(),
    "base_unit": pl.String(),
    "new_source_document": pl.String(),
    "new_published_at": UTC_TS,
}

_COLUMNS = [*SCHEMAS["factors"]]


def _prepared(frame: pl.DataFrame, is_new: bool) -> pl.DataFrame:
    if frame.height == 0:
        frame = pl.DataFrame(schema=SCHEMAS["factors"])
    rows = with_base_values(frame.select(_COLUMNS))
    return rows.filter(pl.col("value_base").is_not_null()).with_columns(
        pl.when(pl.col("gas").is_null() | pl.col("gas").is_in(["CO2e", "CO2"]))
        .then(pl.lit("CO2e"))
        .otherwise(pl.col("gas"))
        .alias("gas_group"),
        pl.lit(is_new).alias("is_new"),
    )


# The winner rule of the warehouse, as an ORDER BY over candidate rows.
_WINNER_ORDER = """
    coalesce(gas, 'CO2e') = 'CO2e' desc, published_at desc, version desc, factor_id
"""


def changed_windows(landed: pl.DataFrame, incoming: pl.DataFrame) -> pl.DataFrame:
    """Windows where the winning factor changes when `incoming` joins `landed`.

    Both frames are rows of the landing contract (SCHEMAS["factors"]); rows of `incoming`
    identical to landed ones change nothing. One output row per series and maximal window with
    the same (old, new) winner, ordered by series and start (CHANGE_SCHEMA)."""
    old = _prepared(landed, is_new=False)
    new = _prepared(incoming, is_new=True)
    if new.height == 0:
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("old_rows", old.to_arrow())
        con.register("new_rows", new.to_arrow())
        series = ", ".join(SERIES)
        same_series = " and ".join(
            f"relevant.{c} is not distinct from segments.{c}" for c in SERIES
        )
        frame = con.sql(
            f"""
            with
            candidates as (
                select * from old_rows
                union all by name
                select * from new_rows
            ),
            touched as (select distinct {series} from new_rows),
            relevant as (
                select candidates.* from candidates semi join touched using ({series})
            ),
            bounds as (
                select {series}, valid_from as boundary from relevant
                union
                select {series}, valid_to as boundary from relevant
            ),
            segments as (
                select {series}, boundary as seg_start,
                    lead(boundary) over (partition by {series} order by boundary) as seg_end
                from bounds
            ),
            covering as (
                select segments.{series.replace(", ", ", segments.")},
                    segments.seg_start, segments.seg_end, relevant.*
                    exclude ({series})
                from segments
                inner join relevant
                    on {same_series}
                    and relevant.valid_from <= segments.seg_start
                    and segments.seg_start < relevant.valid_to
                where segments.seg_end is not null
            ),
            winners_after as (
                select * from covering
                qualify row_number() over (
                    partition by {series}, seg_start order by {_WINNER_ORDER}) = 1
            ),
            winners_before as (
                select * from covering
                where not is_new
                qualify row_number() over (
                    partition by {series}, seg_start order by {_WINNER_ORDER}) = 1
            ),
            changed as (
                select
                    {", ".join(f"a.{c}" for c in SERIES)},
                    a.seg_start, a.seg_end,
                    b.factor_id as old_factor_id, b.version as old_version,
                    b.value_base as old_value_base,
                    a.factor_id as new_factor_id, a.version as new_version,
                    a.value_base as new_value_base,
                    a.base_unit,
                    a.source_document as new_source_document,
                    a.published_at as new_published_at
                from winners_after as a
                left join winners_before as b
                    on {" and ".join(f"a.{c} is not distinct from b.{c}" for c in SERIES)}
                    and a.seg_start = b.seg_start
                where b.value_base is distinct from a.value_base
            ),
            -- merge consecutive segments with the same old and new winner into one window
            grouped as (
                select *,
                    seg_start <> coalesce(lag(seg_end) over w, seg_start - interval 1 second)
                    or old_factor_id is distinct from lag(old_factor_id) over w
                    or old_version is distinct from lag(old_version) over w
                    or old_value_base is distinct from lag(old_value_base) over w
                    or new_factor_id is distinct from lag(new_factor_id) over w
                    or new_version is distinct from lag(new_version) over w
                    or new_value_base is distinct from lag(new_value_base) over w
                    as starts_group
                from changed
                window w as (partition by {series} order by seg_start)
            ),
            numbered as (
                select *, sum(starts_group::int) over (
                    partition by {series} order by seg_start
                    rows between unbounded preceding and current row) as group_no
                from grouped
            )
            select
                {series},
                min(seg_start) as window_start,
                max(seg_end) as window_end,
                any_value(old_factor_id) as old_factor_id,
                any_value(old_version) as old_version,
                any_value(old_value_base) as old_value_base,
                any_value(new_factor_id) as new_factor_id,
                any_value(new_version) as new_version,
                any_value(new_value_base) as new_value_base,
                any_value(base_unit) as base_unit,
                any_value(new_source_document) as new_source_document,
                any_value(new_published_at) as new_published_at
            from numbered
            group by {series}, group_no
            order by {series}, window_start
            """
        ).pl()
    return (
        frame.select([pl.col(name).cast(dtype) for name, dtype in CHANGE_SCHEMA.items()])
        if frame.height
        else pl.DataFrame(schema=CHANGE_SCHEMA)
    )


def location_changes_for_sites(changes: pl.DataFrame, sites: pl.DataFrame) -> pl.DataFrame:
    """The location-based electricity changes that apply to each site (its grid region and the
    granularity it reports with): `changes` joined to `sites` (site_id, timezone, ...)."""
    location = changes.filter(
        (pl.col("method") == "location")
        & (pl.col("energy_carrier") == "electricity")
        & (pl.col("gas_group") == "CO2e")
    )
    if location.height == 0 or sites.height == 0:
        return location.join(sites.select("site_id", "timezone").head(0), how="cross")
    return location.join(
        sites.select(
            "site_id",
            "timezone",
            pl.col("grid_region").alias("region"),
            pl.col("location_factor_granularity").alias("granularity"),
        ),
        on=["region", "granularity"],
        how="inner",
    )


def local_days(start: datetime, end: datetime, timezone: str) -> list[date]:
    """Local days of `timezone` that the window [start, end) overlaps."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def days_changed(changes: pl.DataFrame, sites: pl.DataFrame, timezone: str) -> set[date]:
    """The days (of the partition time zone) whose location-based emissions change."""
    days: set[date] = set()
    for rec in location_changes_for_sites(changes, sites).iter_rows(named=True):
        days.update(local_days(rec["window_start"], rec["window_end"], timezone))
    return days


def market_side_changes(changes: pl.DataFrame) -> pl.DataFrame:
    """Changes that move market-based figures only (residual mix, supplier, market factors)."""
    return changes.filter(
        (pl.col("energy_carrier") == "electricity") & (pl.col("method") != "location")
    )

"""The audit trace of one reported figure, down to the readings.

A figure is a site's (or one equipment's) location- or market-based emissions over a period of
site-local days. The trace lists, level by level, every row the figure is computed from and the
arithmetic that joins them (all in the warehouse's `audit` schema, so a BI tool can follow the
same path in SQL):

1. the figure, as the marts hold it (`fct_emissions_daily` / `fct_scope2_daily`);
2. emission rows (`audit.trace_emission_rows`): kg = kWh × factor, by factor version with its
   source document — and for market-based figures the instruments and residual mix used;
3. reconciliation: kWh = bottom-up kWh × the bill's reconciliation factor, per bill;
4. allocation: bottom-up kWh per equipment from its own meter (measured) or as a share of a
   meter node's residual (node − child meters), with the share; for a whole site the bottom-up
   kWh of all equipment add up to its root (utility) meters, interval by interval;
5. meter intervals (`audit.trace_meter_intervals`): the energy each meter node contributed, as
   derived from its readings and as used after corrections;
6. corrections of the quality overlay applied to those meter intervals, with rule and reason;
7. readings (`audit.trace_readings`): raw id, value as sent, conversion, source (MQTT topic or
   file), receive time, landing batch and landing file.

`Trace.recompute_from_readings()` walks the chain back up for a site figure: readings →
meter-interval kWh (corrections where listed) → × reconciliation factor → × factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from orchestration.reporting.periods import Period, parse_period
from orchestration.reporting.reader import has_table, one

INTERVAL = timedelta(minutes=15)


class TraceError(ValueError):
    """The figure cannot be traced (unknown site or equipment, no figures in the period)."""


@dataclass(frozen=True)
class Figure:
    site_id: str
    period: Period
    method: str = "location"
    equipment_id: str | None = None

    @property
    def label(self) -> str:
        who = self.site_id + (f"/{self.equipment_id}" if self.equipment_id else "")
        return f"{who}@{self.period.label} ({self.method}-based)"


def parse_figure(text: str, method: str = "location") -> Figure:
    """'SITE@PERIOD' or 'SITE/EQUIPMENT@PERIOD', e.g. TW-HSINCHU-01@2026-04 or
    TW-HSINCHU-01/L3-WAVE-01@2026-04-02."""
    m = re.fullmatch(r"([^/@\s]+)(?:/([^@\s]+))?@(\S+)", text.strip())
    if not m:
        raise TraceError(
            f"{text!r} is not a figure; write SITE@PERIOD or SITE/EQUIPMENT@PERIOD, e.g. "
            "TW-HSINCHU-01@2026-04 or TW-HSINCHU-01/L3-WAVE-01@2026-04-02"
        )
    try:
        period = parse_period(m[3])
    except ValueError as error:
        raise TraceError(str(error)) from None
    if method not in ("location", "market"):
        raise TraceError(f"method must be location or market, not {method!r}")
    if m[2] and method == "market":
        raise TraceError(
            "market-based figures are per site (instruments are claimed for a site's "
            "consumption); trace the site, or the equipment's location-based figure"
        )
    return Figure(m[1], period, method, m[2])


@dataclass
class Trace:
    figure: Figure
    window_start_utc: datetime
    window_end_utc: datetime
    figure_kwh: Decimal
    figure_kg: Decimal | None
    emission_rows: pl.DataFrame
    factors: pl.DataFrame
    reconciliation: pl.DataFrame
    allocation: pl.DataFrame
    meters: list[str]
    meter_intervals: pl.DataFrame
    corrections: pl.DataFrame
    readings: pl.DataFrame
    market: pl.DataFrame | None = None
    instruments: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    # -- the chain back up ---------------------------------------------------------------------

    def meter_kwh_from_readings(self) -> pl.DataFrame:
        """Per meter and interval, the energy the listed readings give, and the energy used
        after the listed corrections: (meter_id, interval_start_utc, readings_kwh, used_kwh).

        Interval and power registers: value × conversion (× interval hours for kW) of the one
        reading starting the interval. Counters: the delta between consecutive listed readings
        spread evenly over the intervals it spans (rollovers and spikes are what the correction
        rows and int_meter_interval_energy handle; the meter interval rows show both figures)."""
        r = self.readings.filter(~pl.col("superseded_duplicate")).sort("meter_id", "ts_utc")
        registers = r.filter(pl.col("register") != "counter_kwh").with_columns(
            pl.when(pl.col("register") == "power_kw")
            .then(pl.col("value") * pl.col("interval_minutes") / 60.0)
            .otherwise(pl.col("value"))
            .alias("kwh"),
            pl.col("ts_utc").alias("interval_start_utc"),
        )
        counters = (
            r.filter(pl.col("register") == "counter_kwh")
            .with_columns(
                pl.col("ts_utc").shift(1).over("meter_id").alias("span_start"),
                (pl.col("value") - pl.col("value").shift(1).over("meter_id")).alias("delta"),
            )
            .filter(pl.col("span_start").is_not_null())
            .with_columns(
                pl.datetime_ranges(
                    pl.col("span_start"), pl.col("ts_utc"), INTERVAL, closed="left"
                ).alias("interval_start_utc")
            )
            .with_columns((pl.col("delta") / pl.col("interval_start_utc").list.len()).alias("kwh"))
            .explode("interval_start_utc")
        )
        parts = [
            f.select("meter_id", "interval_start_utc", pl.col("kwh").cast(pl.Float64))
            for f in (registers, counters)
            if f.height
        ]
        derived = (
            pl.concat(parts).group_by("meter_id", "interval_start_utc").agg(pl.col("kwh").sum())
            if parts
            else pl.DataFrame(
                schema={"meter_id": pl.String, "interval_start_utc": pl.Datetime, "kwh": pl.Float64}
            )
        )
        in_window = derived.filter(
            (pl.col("interval_start_utc") >= self.window_start_utc)
            & (pl.col("interval_start_utc") < self.window_end_utc)
        ).rename({"kwh": "readings_kwh"})
        applied = self.corrections.filter(pl.col("applied"))
        if applied.height:
            in_window = in_window.join(
                applied.select("meter_id", "interval_start_utc", "corrected_kwh"),
                on=["meter_id", "interval_start_utc"],
                how="full",
                coalesce=True,
            )
        else:
            in_window = in_window.with_columns(pl.lit(None, pl.Float64).alias("corrected_kwh"))
        return in_window.with_columns(
            pl.coalesce("corrected_kwh", "readings_kwh").alias("used_kwh")
        ).select("meter_id", "interval_start_utc", "readings_kwh", "used_kwh")

    def recompute_from_readings(self) -> Decimal:
        """The location-based figure rebuilt from the listed readings, corrections,
        reconciliation factors and factor values — for a site (its root meters carry all its
        bottom-up energy) or a metered equipment (its own meter). Allocated equipment gets a
        share of a node residual that the allocation level lists per equipment, not per
        reading, so it is not rebuilt here."""
        if self.figure.method != "location":
            raise TraceError("recomputation from readings is for location-based figures")
        rows = self.emission_rows
        if self.figure.equipment_id:
            own = rows.get_column("source_meter_id").unique().to_list()
            if rows.filter(pl.col("how_obtained") == "allocated").height or len(own) != 1:
                raise TraceError(
                    "recomputation from readings needs a metered equipment (own meter only)"
                )
            meters = own
        else:
            meters = self.meters
        used = self.meter_kwh_from_readings().filter(pl.col("meter_id").is_in(meters))
        per_interval = rows.group_by("interval_start_utc").agg(
            pl.col("reconciliation_factor").first(),
            pl.col("factor_kg_per_kwh").first(),
            pl.col("reconciliation_factor").n_unique().alias("rf_values"),
        )
        if per_interval.height and per_interval.get_column("rf_values").max() != 1:
            raise TraceError("more than one reconciliation factor in an interval")
        joined = used.join(per_interval, on="interval_start_utc", how="inner")
        total = joined.select(
            (
                pl.col("used_kwh") * pl.col("reconciliation_factor") * pl.col("factor_kg_per_kwh")
            ).sum()
        ).item()
        return Decimal(str(total or 0.0))


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list) -> pl.DataFrame:
    return con.sql(sql, params=params).pl()


def _window(con: duckdb.DuckDBPyConnection, figure: Figure) -> tuple[datetime, datetime]:
    found = one(con, "select timezone from marts.dim_site where site_id = ?", [figure.site_id])
    if not found:
        sites = [r[0] for r in con.execute("select site_id from marts.dim_site").fetchall()]
        raise TraceError(f"no site {figure.site_id!r}; sites: {', '.join(sites) or '(none)'}")
    zone = ZoneInfo(found[0])

    def utc(day) -> datetime:
        local = datetime(day.year, day.month, day.day, tzinfo=zone)
        return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    return utc(figure.period.first_day), utc(figure.period.last_day + timedelta(days=1))


def build_trace(con: duckdb.DuckDBPyConnection, figure: Figure) -> Trace:
    start, end = _window(con, figure)
    where = {"site": figure.site_id, "eq": figure.equipment_id, "start": start, "end": end}
    if figure.equipment_id:
        known = con.execute(
            "select count(*) from marts.fct_energy_interval where site_id = ? and equipment_id = ?",
            [figure.site_id, figure.equipment_id],
        ).fetchall()[0][0]
        if not known:
            raise TraceError(
                f"no equipment {figure.equipment_id!r} with energy at {figure.site_id}"
            )

    # 1. the figure as the marts hold it
    if figure.method == "location":
        kwh, kg = con.execute(
            "select sum(kwh), sum(kg_co2e) from marts.fct_emissions_daily "
            "where site_id = $site and ($eq is null or equipment_id = $eq) and method = 'location' "
            "and day_start_utc >= $start and day_end_utc <= $end",
            where,
        ).fetchall()[0]
    else:
        kwh, kg = con.execute(
            "select sum(kwh), case when bool_or(market_kg is null) then null else sum(market_kg) "
            "end from marts.fct_scope2_daily where site_id = $site "
            "and day_start_utc >= $start and day_end_utc <= $end",
            {k: v for k, v in where.items() if k != "eq"},
        ).fetchall()[0]
    if kwh is None:
        raise TraceError(f"no figures for {figure.label}: nothing computed in that period")

    # 2. emission rows with their energy rows and factor versions
    rows = _frame(
        con,
        "select * from audit.trace_emission_rows where site_id = $site "
        "and ($eq is null or equipment_id = $eq) and method = 'location' "
        "and interval_start_utc >= $start and interval_start_utc < $end "
        "order by interval_start_utc, equipment_id",
        where,
    )
    factors = (
        rows.group_by("factor_id", "factor_version", "factor_kg_per_kwh")
        .agg(
            pl.col("factor_source_document").first(),
            pl.col("factor_published_at_utc").first(),
            pl.len().alias("rows"),
            pl.col("kwh").sum(),
            pl.col("kg_co2e").sum(),
        )
        .sort("factor_id", "factor_version")
    )
    market = instruments = None
    if figure.method == "market":
        market = _frame(
            con,
            "select * from marts.fct_scope2_interval where site_id = $site "
            "and interval_start_utc >= $start and interval_start_utc < $end "
            "order by interval_start_utc",
            {k: v for k, v in where.items() if k != "eq"},
        )
        instruments = _frame(
            con,
            """
            select usage.instrument_id, usage.instrument_type, usage.scheme, usage.status,
                usage.source_document, usage.factor_kg_per_kwh,
                sum(scope2.kwh * segments.covered_kwh / nullif(segments.segment_kwh, 0))
                    as kwh_covered_in_period
            from marts.fct_instrument_segments as segments
            inner join marts.fct_scope2_interval as scope2
                on scope2.site_id = segments.site_id
                and scope2.interval_start_utc >= segments.segment_start_utc
                and scope2.interval_start_utc < segments.segment_end_utc
            inner join marts.fct_instrument_usage as usage
                on usage.instrument_id = segments.instrument_id
            where segments.site_id = $site
                and scope2.interval_start_utc >= $start and scope2.interval_start_utc < $end
            group by all
            order by usage.instrument_id
            """,
            {k: v for k, v in where.items() if k != "eq"},
        )
        residual = (
            market.filter(pl.col("residual_factor_id").is_not_null())
            .group_by("residual_factor_id", "residual_factor_version", "residual_kg_per_kwh")
            .agg(pl.col("kwh_residual").sum(), pl.len().alias("rows"))
        )
        if residual.height:
            docs = _frame(
                con,
                "select factor_id, version, any_value(source_document) as source_document "
                "from audit.factor_versions group by all",
                [],
            )
            factors = residual.join(
                docs,
                left_on=["residual_factor_id", "residual_factor_version"],
                right_on=["factor_id", "version"],
                how="left",
            )

    # 3. reconciliation per bill
    reconciliation = (
        rows.group_by("bill_id", "reconciliation_factor")
        .agg(
            pl.len().alias("rows"),
            pl.col("kwh_bottom_up").sum(),
            pl.col("kwh").sum(),
            pl.col("interval_start_utc").min().alias("first_interval_utc"),
            pl.col("interval_start_utc").max().alias("last_interval_utc"),
        )
        .sort("first_interval_utc")
    )

    # 4. allocation: where each equipment's bottom-up energy comes from
    allocation = (
        rows.group_by("equipment_id", "source_meter_id", "how_obtained")
        .agg(pl.len().alias("intervals"), pl.col("kwh_bottom_up").sum(), pl.col("kwh").sum())
        .sort("equipment_id", "source_meter_id")
    )
    notes: list[str] = []
    if figure.equipment_id:
        sources = sorted(set(rows.get_column("source_meter_id").drop_nulls().to_list()))
        children = (
            [
                r[0]
                for r in con.execute(
                    "select meter_id from marts.dim_meter where parent_meter_id in "
                    f"({', '.join('?' for _ in sources)})",
                    sources,
                ).fetchall()
            ]
            if sources
            else []
        )
        allocated = rows.filter(pl.col("how_obtained") == "allocated").height
        meters = sorted(set(sources) | (set(children) if allocated else set()))
        if allocated:
            notes.append(
                "allocated energy = share × (node meter − its child meters); the meter interval "
                "rows give the node residual, the emission rows the equipment's part"
            )
    else:
        meters = [
            r[0]
            for r in con.execute(
                "select meter_id from marts.dim_meter where site_id = ? and is_root order by 1",
                [figure.site_id],
            ).fetchall()
        ]
        notes.append(
            "a site's bottom-up kWh add up to its root meters interval by interval (children + "
            "residual = parent at every node; checked by the meter_tree_conserved check)"
        )

    # 5. meter intervals of those meters
    meter_params = {"meters": meters, "start": start, "end": end}
    meter_intervals = _frame(
        con,
        "select * from audit.trace_meter_intervals where list_contains($meters, meter_id) "
        "and interval_start_utc >= $start and interval_start_utc < $end "
        "order by meter_id, interval_start_utc",
        meter_params,
    )

    # 6. corrections applied to them
    corrections = _corrections(con, meter_params)

    # 7. the readings that produce those meter intervals: interval and power registers, the
    # readings starting inside the window; counters, also the last reading before it (opening
    # the first span) and the first at or after its end (closing the last one)
    readings = _frame(
        con,
        """
        with candidates as (
            select *,
                max(case when ts_utc < $start then ts_utc end) over (partition by meter_id)
                    as opening_ts,
                min(case when ts_utc >= $end then ts_utc end) over (partition by meter_id)
                    as closing_ts
            from audit.trace_readings
            where list_contains($meters, meter_id)
                and ts_utc >= $start - interval 3 day and ts_utc <= $end + interval 3 day
        )
        select * exclude (opening_ts, closing_ts)
        from candidates
        where (ts_utc >= $start and ts_utc < $end)
            or (register = 'counter_kwh' and (ts_utc = opening_ts or ts_utc = closing_ts))
        order by meter_id, ts_utc
        """,
        meter_params,
    )
    return Trace(
        figure=figure,
        window_start_utc=start,
        window_end_utc=end,
        figure_kwh=kwh,
        figure_kg=kg,
        emission_rows=rows,
        factors=factors,
        reconciliation=reconciliation,
        allocation=allocation,
        meters=meters,
        meter_intervals=meter_intervals,
        corrections=corrections,
        readings=readings,
        market=market,
        instruments=instruments,
        notes=notes,
    )


_CORRECTION_SCHEMA = {
    "overlay_id": pl.String,
    "rule": pl.String,
    "action": pl.String,
    "method": pl.String,
    "meter_id": pl.String,
    "interval_start_utc": pl.Datetime("us"),
    "original_kwh": pl.Float64,
    "corrected_kwh": pl.Float64,
    "reason": pl.String,
    "applied": pl.Boolean,
}


def _corrections(con: duckdb.DuckDBPyConnection, params: dict) -> pl.DataFrame:
    """The correction overlay rows on the traced meter intervals, and whether each was applied
    (the warehouse's corrected meter energy names the overlay row it used)."""
    if has_table(con, "intermediate", "int_meter_interval_corrections"):
        applied_ids = (
            "select overlay_id from intermediate.int_meter_interval_corrected "
            "where overlay_id is not null"
            if has_table(con, "intermediate", "int_meter_interval_corrected")
            else "select null as overlay_id where false"
        )
        frame = _frame(
            con,
            f"""
            select overlay_id, rule, action, method, meter_id, interval_start_utc,
                cast(original_kwh as double) as original_kwh,
                cast(corrected_kwh as double) as corrected_kwh, reason,
                overlay_id in ({applied_ids}) as applied
            from intermediate.int_meter_interval_corrections
            where list_contains($meters, meter_id)
                and interval_start_utc >= $start and interval_start_utc < $end
            order by meter_id, interval_start_utc, overlay_id
            """,
            params,
        )
    elif has_table(con, "quality", "correction_overlay"):
        # the published copy: the overlay as the quality asset wrote it (no applied marker)
        frame = _frame(
            con,
            """
            select overlay_id, rule, action, method, meter_id, interval_start_utc,
                cast(original_value as double) as original_kwh,
                cast(corrected_value as double) as corrected_kwh, reason, false as applied
            from quality.correction_overlay
            where list_contains($meters, meter_id)
                and interval_start_utc >= $start and interval_start_utc < $end
            order by meter_id, interval_start_utc, overlay_id
            """,
            params,
        )
    else:
        return pl.DataFrame(schema=_CORRECTION_SCHEMA)
    return frame.cast({k: v for k, v in _CORRECTION_SCHEMA.items() if k in frame.columns})


# --- checks and output ------------------------------------------------------------------------


def verify_landing(trace: Trace, landing_root: Path) -> list[str]:
    """Problems found when looking for every traced reading in its landing file (empty = all
    found): a missing file, or a raw id the file does not hold."""
    problems: list[str] = []
    for (path,), group in trace.readings.group_by(["landing_file"]):
        full = landing_root / path
        if not full.exists():
            problems.append(f"landing file missing: {full}")
            continue
        held = set(pl.read_parquet(full, columns=["raw_id"]).get_column("raw_id").to_list())
        missing = set(group.get_column("raw_id").to_list()) - held
        if missing:
            problems.append(f"{len(missing)} raw id(s) not in {full}, e.g. {sorted(missing)[0]}")
    return problems


def write_csvs(trace: Trace, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in (
        "emission_rows",
        "factors",
        "reconciliation",
        "allocation",
        "meter_intervals",
        "corrections",
        "readings",
        "market",
        "instruments",
    ):
        frame = getattr(trace, name)
        if frame is None:
            continue
        path = folder / f"{name}.csv"
        frame.with_columns(
            [pl.col(c).cast(pl.Float64) for c, t in frame.schema.items() if t == pl.Decimal]
        ).with_columns(
            [pl.col(c).list.join(",") for c, t in frame.schema.items() if isinstance(t, pl.List)]
        ).write_csv(path)
        out.append(path)
    return out

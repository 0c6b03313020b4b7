"""The correction overlay rows of this run's window: the quality layer's meter stage (gaps,
range/spike, rollover, meter replacement, stuck meters, drift) run on the readings and the base
interval energy, in Python because the rules are Great-Expectations-era Polars code shared with
the Dagster quality asset (quality/interval_corrections.py). Rebuilt whole on every run;
int_meter_interval_corrections keeps the history window by window."""

from datetime import timedelta

import polars as pl

from quality.interval_corrections import HISTORY, LOOKAHEAD, READING_CONTEXT, window_corrections


def _between(relation, column, start, end):
    return relation.filter(
        f"{column} >= '{start:%Y-%m-%d %H:%M:%S}' and {column} < '{end:%Y-%m-%d %H:%M:%S}'"
    ).pl()


def model(dbt, session):
    dbt.config(materialized="table", tags=["daily"])
    (window_start, window_end), = dbt.ref("int_build_window").fetchall()
    # the open-ended default window ("all time") is bounded by what exists
    readings_all = dbt.ref("stg_landing__readings")
    (first, last), = readings_all.aggregate("min(ts_utc), max(ts_utc)").fetchall()
    if first is None:
        from quality.corrections import empty_overlay

        return empty_overlay().to_arrow()
    start = max(window_start, first)
    end = min(window_end, last + timedelta(minutes=15))
    sites = dbt.ref("stg_landing__sites").pl()
    timezone = sites["timezone"][0] if sites.height else "UTC"
    overlay = window_corrections(
        readings=_between(readings_all, "ts_utc", start - READING_CONTEXT, end + LOOKAHEAD),
        intervals=_between(
            dbt.ref("int_meter_interval_energy"), "interval_start_utc",
            start - HISTORY, end + LOOKAHEAD,
        ),
        meters=dbt.ref("stg_landing__meters").pl(),
        equipment=dbt.ref("stg_landing__equipment").pl(),
        production=dbt.ref("stg_landing__production").pl(),
        window_start=start,
        window_end=end,
        timezone=timezone,
    )
    return overlay.with_columns(pl.col("interval_start_utc").cast(pl.Datetime("us"))).to_arrow()

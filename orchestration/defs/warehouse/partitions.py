"""Daily partitions in the site's time zone: a partition is one site-local day, so a late
reading re-runs the day an operator would file it under, and DST days have 92 or 100 intervals."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from orchestration.settings import load_settings

_settings = load_settings()

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=_settings.partition_start,
    timezone=_settings.timezone,
    end_offset=1,  # today's partition exists, so live data is processed minutes after it lands
)


def window_vars(window: dg.TimeWindow) -> dict[str, str]:
    """The dbt vars for a partition window: UTC, end exclusive, in the format the models expect."""

    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")

    return {"window_start_utc": utc(window.start), "window_end_utc": utc(window.end)}


def window_env(window: dg.TimeWindow) -> dict[str, str]:
    """The same window as environment variables for the dbt subprocess
    (WATTPRINT_WINDOW_START_UTC, WATTPRINT_WINDOW_END_UTC; dbt_project/macros/windows.sql).

    Why not --vars: dbt keeps its parsed project only while the command-line vars stay the
    same, so a window that changes on every run made each daily run re-parse the whole project
    (1-3 s more per run here, benchmarks/latency/parse.py). The macros read these variables
    only at execution time, which partial parsing does not track."""
    return {f"WATTPRINT_{name.upper()}": value for name, value in window_vars(window).items()}

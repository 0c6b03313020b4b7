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

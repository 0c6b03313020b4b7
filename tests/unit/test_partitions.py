"""Daily partitions are site-local days: the dbt window is that day in UTC, DST included."""

from datetime import datetime

import dagster as dg
import pytest

from orchestration.defs.warehouse.partitions import window_vars


@pytest.mark.parametrize(
    ("timezone", "day", "start_utc", "end_utc", "intervals"),
    [
        ("Asia/Taipei", "2026-01-05", "2026-01-04 16:00:00", "2026-01-05 16:00:00", 96),
        # spring forward: 23 hours, 92 quarter hours
        ("Europe/Berlin", "2026-03-29", "2026-03-28 23:00:00", "2026-03-29 22:00:00", 92),
        # fall back: 25 hours, 100 quarter hours
        ("Europe/Berlin", "2026-10-25", "2026-10-24 22:00:00", "2026-10-25 23:00:00", 100),
        ("America/New_York", "2026-03-08", "2026-03-08 05:00:00", "2026-03-09 04:00:00", 92),
    ],
)
def test_window_is_the_local_day_in_utc(timezone, day, start_utc, end_utc, intervals):
    partitions = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone=timezone)
    window = partitions.time_window_for_partition_key(day)
    dbt_vars = window_vars(window)
    assert dbt_vars == {"window_start_utc": start_utc, "window_end_utc": end_utc}
    length = datetime.fromisoformat(end_utc) - datetime.fromisoformat(start_utc)
    assert length.total_seconds() / 900 == intervals

"""One static partition per horizon group of the forecasts.

Why static, not daily: a forecast is made from everything the warehouse knows at the time of the
run, as of its newest data, and replaces the previous one — re-running "the partition of
2026-01-12" later would not reproduce what was forecast that day (the history has grown), so a
time partition would promise a reproducibility it cannot keep. What does differ is the cadence:
the 48-hour forecast is worth refreshing every hour, the 30-day one and the month/quarter/year
totals once a day. A partition per horizon group gives each its own schedule, its own status and
history in the UI, and lets a run replace exactly its own rows of forecasting.forecasts and
forecasting.backtests.
"""

import dagster as dg

HOURLY = "hourly"  # next 48 local hours
DAILY = "daily"  # next 30 local days + month, quarter and year totals to the year's end

horizon_partitions = dg.StaticPartitionsDefinition([HOURLY, DAILY])

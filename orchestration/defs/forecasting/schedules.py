"""When the forecasts run: the 48-hour forecast every hour, the rest once a day.

Both schedules skip (with the reason in the UI) while the home has no warehouse, so a fresh
home under `make ui` shows a quiet skip rather than an hourly failure. They run in the site's
time zone: the daily run at 01:30 local, after the day's last interval has landed and a
pipeline run has had time to build it.
"""

import dagster as dg

from orchestration.defs.forecasting.assets import (
    BACKTESTS,
    FORECASTS,
    GROUP,
)
from orchestration.defs.forecasting.partitions import DAILY, HOURLY
from orchestration.defs.publishing.assets import PUBLISHED
from orchestration.settings import load_settings

# In-process, like the pipeline: the runs write one DuckDB file.
forecast_hourly_job = dg.define_asset_job(
    name="forecast_hourly",
    description="The next 48 hours of energy and emissions for the site, its largest line and "
    "equipment, with their backtests.",
    selection=dg.AssetSelection.assets(FORECASTS, BACKTESTS),
    executor_def=dg.in_process_executor,
)
forecast_daily_job = dg.define_asset_job(
    name="forecast_daily",
    description="The next 30 days and the month/quarter/year totals with their backtests, the "
    "target tracking with its re-plan requests, and the reduction scenarios.",
    # ... and the published copy, so BI readers see the day's forecasts and targets.
    selection=dg.AssetSelection.groups(GROUP) | dg.AssetSelection.assets(PUBLISHED),
    executor_def=dg.in_process_executor,
)


def _skip_reason() -> str | None:
    settings = load_settings()
    if not settings.warehouse_path.exists():
        return f"no warehouse yet at {settings.warehouse_path}: run the pipeline first"
    return None


@dg.schedule(
    job=forecast_hourly_job,
    cron_schedule="20 * * * *",
    execution_timezone=load_settings().timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def forecast_hourly_schedule(context: dg.ScheduleEvaluationContext):
    """Every hour at :20: the 48-hour forecasts."""
    reason = _skip_reason()
    if reason:
        return dg.SkipReason(reason)
    return dg.RunRequest(partition_key=HOURLY)


@dg.schedule(
    job=forecast_daily_job,
    cron_schedule="30 1 * * *",
    execution_timezone=load_settings().timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def forecast_daily_schedule(context: dg.ScheduleEvaluationContext):
    """Every day at 01:30 site time: 30-day forecasts, totals, targets, scenarios."""
    reason = _skip_reason()
    if reason:
        return dg.SkipReason(reason)
    return dg.RunRequest(partition_key=DAILY)


forecast_schedules = [forecast_hourly_schedule, forecast_daily_schedule]
forecast_jobs = [forecast_hourly_job, forecast_daily_job]

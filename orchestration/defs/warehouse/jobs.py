"""Jobs: the whole pipeline for a range of site-local days."""

from __future__ import annotations

import dagster as dg

# In-process: a DuckDB file has a single writer, so the dbt sets and the checks run one after
# another in one process rather than racing for the lock.
pipeline_job = dg.define_asset_job(
    name="wattprint_pipeline",
    description="Everything from the landing zone to the marts for the selected site-local days: "
    "interval energy, allocation, bill reconciliation, emissions, reports, and their checks.",
    # planning runs on demand or per re-plan request (planning_job), not with every day's data;
    # forecasting on its own hourly/daily schedules (forecast_hourly, forecast_daily): Prophet
    # fits do not belong in every day's run, and its partitions are per horizon, not per day
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.groups("planning")
    - dg.AssetSelection.groups("forecasting"),
    executor_def=dg.in_process_executor,
)

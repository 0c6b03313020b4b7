"""Jobs: the whole pipeline for a range of site-local days, and its live subset."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.publishing.assets import PUBLISHED
from orchestration.defs.warehouse.dbt import dbt_daily

# In-process: a DuckDB file has a single writer, so the dbt sets and the checks run one after
# another in one process rather than racing for the lock.
pipeline_job = dg.define_asset_job(
    name="wattprint_pipeline",
    description="Everything from the landing zone to the marts for the selected site-local days: "
    "interval energy, allocation, bill reconciliation, emissions, reports, and their checks.",
    # planning runs on demand or per re-plan request (planning_job), not with every day's data;
    # forecasting on its own hourly/daily schedules (forecast_hourly, forecast_daily): Prophet
    # fits do not belong in every day's run, and its partitions are per horizon, not per day
    # labels: once a day over every batch (energy_labels job)
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.groups("planning")
    - dg.AssetSelection.groups("forecasting")
    - dg.AssetSelection.groups("labels"),
    executor_def=dg.in_process_executor,
)

# What new readings change, and nothing else: the daily models (interval energy with the
# meter-level corrections, allocation, reconciliation, emissions) with their checks, then the
# publication readers query. The landing sensor asks for it when only readings landed and a
# full pipeline run (foundation, reports, quality rules, alerts) was requested less than
# FULL_RUN_EVERY ago (orchestration/defs/landing/sensors.py): the emission rows are minutes
# old, the whole-history reports and quality tables at most that interval older.
live_job = dg.define_asset_job(
    name="wattprint_live",
    description="New readings only: the daily models of the touched site-local days, their "
    "checks and the publication. Reports, quality rules and alerts follow in the next full "
    "pipeline run (at most a few minutes later).",
    selection=dg.AssetSelection.assets(dbt_daily) | dg.AssetSelection.assets(PUBLISHED),
    executor_def=dg.in_process_executor,
)

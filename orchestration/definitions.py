"""Everything Dagster shows: landing assets, the dbt project, checks, resources and jobs.

`workspace.yaml` loads this module; `dagster dev` then draws the lineage from landed files to
the marts."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.factors.jobs import factor_restatement_job, scope2_market_job
from orchestration.defs.factors.sensors import factor_sensor
from orchestration.defs.forecasting.assets import forecasts, scenarios, target_tracking
from orchestration.defs.forecasting.resources import ForecastSettings
from orchestration.defs.forecasting.schedules import forecast_jobs, forecast_schedules
from orchestration.defs.labels.assets import labels_job, labels_schedule, step_energy_labels
from orchestration.defs.landing.assets import landing_specs
from orchestration.defs.landing.sensors import landing_sensor
from orchestration.defs.planning.assets import production_plan
from orchestration.defs.planning.jobs import planning_job
from orchestration.defs.planning.sensors import replan_sensor
from orchestration.defs.publishing.assets import build_published_warehouse, public_asset_keys
from orchestration.defs.quality.assets import quality_rules
from orchestration.defs.quality.deliveries import alert_deliveries
from orchestration.defs.targets.assets import site_targets
from orchestration.defs.warehouse.checks import warehouse_checks
from orchestration.defs.warehouse.dbt import dbt_daily, dbt_foundation, dbt_project, dbt_reports
from orchestration.defs.warehouse.dbt_invocation import WarehouseDbtCli
from orchestration.defs.warehouse.jobs import live_job, pipeline_job
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import DBT_EXECUTABLE

defs = dg.Definitions(
    assets=[
        *landing_specs,
        dbt_foundation,
        dbt_daily,
        dbt_reports,
        quality_rules,
        alert_deliveries,
        production_plan,
        forecasts,
        target_tracking,
        scenarios,
        site_targets,
        step_energy_labels,
    ],
    asset_checks=warehouse_checks,
    jobs=[
        pipeline_job,
        live_job,
        planning_job,
        factor_restatement_job,
        scope2_market_job,
        *forecast_jobs,
        labels_job,
    ],
    schedules=[*forecast_schedules, labels_schedule],
    sensors=[landing_sensor, replan_sensor, factor_sensor],
    resources={
        "dbt": WarehouseDbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        "warehouse": Warehouse(),
        "forecast_settings": ForecastSettings(),
    },
)

# Last, whoever added assets above: the published warehouse waits for every public asset
# (marts, audit, quality, forecasting, planning) and copies what readers query.
defs = dg.Definitions.merge(
    defs, dg.Definitions(assets=[build_published_warehouse(public_asset_keys(defs.assets or []))])
)

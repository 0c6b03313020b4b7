"""Everything Dagster shows: landing assets, the dbt project, checks, resources and jobs.

`workspace.yaml` loads this module; `dagster dev` then draws the lineage from landed files to
the marts."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.landing.assets import landing_specs
from orchestration.defs.landing.sensors import landing_sensor
from orchestration.defs.quality.assets import quality_rules
from orchestration.defs.warehouse.checks import warehouse_checks
from orchestration.defs.warehouse.dbt import dbt_daily, dbt_foundation, dbt_project, dbt_reports
from orchestration.defs.warehouse.jobs import pipeline_job
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import DBT_EXECUTABLE

defs = dg.Definitions(
    assets=[*landing_specs, dbt_foundation, dbt_daily, dbt_reports, quality_rules],
    asset_checks=warehouse_checks,
    jobs=[pipeline_job],
    sensors=[landing_sensor],
    resources={
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        "warehouse": Warehouse(),
    },
)

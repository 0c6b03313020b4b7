"""The dbt project as Dagster assets, in three sets that follow the daily models.

dbt decides what the models are; this module only cuts the graph where partitioning changes:
- `foundation`: everything upstream of the daily models (staging views, seeds, the meter tree,
  factor versions) — unpartitioned, cheap to rebuild;
- `daily`: the models tagged `daily` (interval energy, allocation, reconciliation, emissions),
  one site-local day per partition, a range of days in a single dbt invocation;
- `reports`: everything downstream that is rebuilt whole (reconciliation per bill, product
  intensity, hotspots, dimensions).
Three sets rather than one keep each Dagster op acyclic: a run can go foundation → daily → reports.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.defs.warehouse.dbt_invocation import stream_dbt
from orchestration.defs.warehouse.partitions import daily_partitions, window_env
from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [project.project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources += (project.project_dir / folder).rglob("*")
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


# `dagster dev` prepares the project itself; the command line, tests and CI parse it here when
# the manifest is missing or older than the SQL, so a changed model is never run from a stale one.
dbt_project.prepare_if_dev()
if _manifest_is_stale(dbt_project):
    dbt_project.preparer.prepare(dbt_project)

_GROUPS = {"staging": "staging", "intermediate": "allocation", "marts": "marts"}


class WattprintTranslator(DagsterDbtTranslator):
    """Asset keys are [schema, model] so they match the warehouse a BI tool sees."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return _GROUPS.get(schema, "warehouse")


_translator = WattprintTranslator()
DAILY = "tag:daily"
# A test runs in the first set where every model it reads exists: a relationships test from
# fct_energy_interval (daily) to dim_equipment (reports) waits for the reports set instead of
# failing on a first run.
# Unit tests check the SQL, which does not change between runs: they run wherever the project
# changes (the test suite builds it whole, tests/integration/test_dbt_build.py), not in every
# production run, where they cost seconds of every live update.
BUILD = ["build", "--indirect-selection", "buildable", "--exclude-resource-type", "unit_test"]


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=f"+{DAILY}",
    exclude=DAILY,
    name="dbt_foundation",
    dagster_dbt_translator=_translator,
    project=dbt_project,
)
def dbt_foundation(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Staging over the landing zone, seeds, the meter tree and the factor versions."""
    yield from stream_dbt(context, dbt, BUILD)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=DAILY,
    name="dbt_daily",
    partitions_def=daily_partitions,
    # A backfill of many days is one dbt invocation over the whole window: one process start,
    # one pass over the readings, instead of one per day.
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=_translator,
    project=dbt_project,
)
def dbt_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Interval energy, allocation of residuals, bill reconciliation and emissions for the
    partition's site-local days."""
    # The window goes in the environment, not --vars, so dbt keeps its saved parse (windows.sql).
    window = window_env(context.partition_time_window)
    context.log.info(f"dbt window (UTC): {window}")
    yield from stream_dbt(context, dbt, BUILD, env=window)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select="fqn:*",
    exclude=f"+{DAILY}",
    name="dbt_reports",
    dagster_dbt_translator=_translator,
    project=dbt_project,
)
def dbt_reports(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Per-bill reconciliation, product intensity, hotspots and dimensions, rebuilt whole."""
    yield from stream_dbt(context, dbt, BUILD)

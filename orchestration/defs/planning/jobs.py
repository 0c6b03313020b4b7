"""The planning job: one optimisation for a site, on demand or per re-plan request."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.planning.assets import GROUP

# In-process like the pipeline: the run writes the single-writer DuckDB file once, at its end.
planning_job = dg.define_asset_job(
    name="planning_job",
    description="Carbon-aware production plan for a site: Pareto front, recommended plan per "
    "line and shift, current plan and deltas, written to the warehouse's `planning` schema.",
    # and the published warehouse after it, so readers see the new plan (an empty selection
    # where no publishing group exists)
    selection=dg.AssetSelection.groups(GROUP, "publishing"),
    executor_def=dg.in_process_executor,
)

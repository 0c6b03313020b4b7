"""The published warehouse in the Dagster definitions: part of every pipeline run, and last."""

import dagster as dg

from orchestration.defs.publishing.assets import PUBLISHED
from orchestration.publishing.snapshot import PUBLIC_SCHEMAS


def test_the_pipeline_job_publishes():
    from orchestration.definitions import defs

    job = defs.resolve_job_def("wattprint_pipeline")
    assert PUBLISHED in job.asset_layer.asset_graph.get_all_asset_keys()


def test_it_waits_for_every_public_asset_whoever_defines_it():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    public = {
        key
        for key in graph.materializable_asset_keys
        if key.path[0] in PUBLIC_SCHEMAS and key != PUBLISHED
    }
    assert dg.AssetKey(["marts", "fct_emissions_daily"]) in public
    assert dg.AssetKey(["marts", "rpt_target_progress"]) in public
    node = graph.get(PUBLISHED)
    assert set(node.parent_keys) == public
    assert node.group_name == "publishing"
    assert not node.child_keys

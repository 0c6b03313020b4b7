"""The Dagster definitions load, every job resolves, and the lineage is whole."""

import dagster as dg


def test_definitions_load_and_jobs_resolve():
    from orchestration.definitions import defs

    job = defs.resolve_job_def("wattprint_pipeline")
    assert job.partitions_def is not None
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for expected in (
        "landing/readings",
        "marts/fct_energy_interval",
        "marts/fct_emissions_interval",
        "marts/fct_emissions_daily",
        "marts/fct_reconciliation",
        "marts/fct_product_intensity",
        "marts/dim_equipment",
    ):
        assert expected in keys, expected


def test_marts_trace_back_to_the_landed_readings():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    emissions = dg.AssetKey(["marts", "fct_emissions_interval"])
    upstream = graph.get(emissions).parent_keys
    seen, frontier = set(), set(upstream)
    while frontier:
        key = frontier.pop()
        seen.add(key)
        frontier |= set(graph.get(key).parent_keys) - seen
    assert dg.AssetKey(["landing", "readings"]) in seen
    assert dg.AssetKey(["landing", "factors"]) in seen
    assert dg.AssetKey(["landing", "bills"]) in seen


def test_every_asset_has_a_description():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    missing = [
        key.to_user_string() for key in graph.get_all_asset_keys() if not graph.get(key).description
    ]
    assert not missing, f"assets without a description (the UI text): {missing}"

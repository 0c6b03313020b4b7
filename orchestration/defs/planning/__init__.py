"""Production planning in Dagster: the `planning` assets and checks, `planning_job`, and the
sensor that re-plans when the target tracker requests it."""

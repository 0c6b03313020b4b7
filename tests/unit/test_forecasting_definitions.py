"""The forecasting area's place in the Dagster definitions: its own jobs and schedules, never
inside the daily pipeline run, and schedules that wait quietly for a warehouse."""

import dagster as dg


def _keys(job) -> set[str]:
    return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}


def test_forecasting_runs_on_its_own_jobs_not_in_the_pipeline():
    from orchestration.definitions import defs

    pipeline = _keys(defs.resolve_job_def("wattprint_pipeline"))
    assert not {k for k in pipeline if k.startswith("forecasting/")}
    hourly = _keys(defs.resolve_job_def("forecast_hourly"))
    assert hourly == {"forecasting/forecasts", "forecasting/backtests"}
    daily = _keys(defs.resolve_job_def("forecast_daily"))
    assert {"forecasting/forecasts", "forecasting/backtests", "forecasting/target_progress",
            "forecasting/replan_requests", "forecasting/target_alerts",
            "forecasting/scenarios", "publishing/published_warehouse"} <= daily
    partitions = defs.resolve_job_def("forecast_daily").partitions_def
    assert set(partitions.get_partition_keys()) == {"hourly", "daily"}


def test_schedules_skip_without_a_warehouse_and_ask_for_their_partition(tmp_path, monkeypatch):
    from orchestration.defs.forecasting.schedules import (
        forecast_daily_schedule,
        forecast_hourly_schedule,
    )

    monkeypatch.setenv("WATTPRINT_HOME", str(tmp_path))
    context = dg.build_schedule_context()
    assert isinstance(forecast_hourly_schedule(context), dg.SkipReason)
    (tmp_path / "warehouse.duckdb").write_bytes(b"")
    assert forecast_hourly_schedule(context).partition_key == "hourly"
    assert forecast_daily_schedule(context).partition_key == "daily"
    assert forecast_hourly_schedule.cron_schedule == "20 * * * *"
    assert forecast_daily_schedule.cron_schedule == "30 1 * * *"

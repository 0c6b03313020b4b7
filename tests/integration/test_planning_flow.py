"""Planning from a real warehouse: a simulated plant through the pipeline, then `wattprint plan`
and a re-plan request through the sensor and `planning_job` — the tables checked against the
order book, the plant's lines and each other."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 1, 5)
DAYS = 2
FAST = {"pop_size": 30, "generations": 8}


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    from orchestration.cli.commands.simulate import simulate_into
    from orchestration.pipeline import run_pipeline

    settings = configure(home=tmp_path_factory.mktemp("wattprint"))
    simulate_into(settings, DAYS, seed=11, start=START)
    outcome = run_pipeline(settings, START, date.fromordinal(START.toordinal() + DAYS - 1))
    assert outcome.success, outcome.error
    return settings


def _tables(settings, plan_id: str) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {
            name: con.sql(
                f"select * from planning.{name} where plan_id = $p", params={"p": plan_id}
            ).pl()
            for name in ("plans", "pareto_front", "recommended_plan", "current_plan", "plan_deltas")
        } | {
            "steps": con.sql(
                "select line_id, process_step from marts.dim_equipment where line_id is not null"
            ).pl()
        }


def _check_plan(settings, plan_id: str) -> dict[str, pl.DataFrame]:
    from ingestion.landing import LandingZone

    t = _tables(settings, plan_id)
    plan_row = t["plans"].row(0, named=True)
    orders = LandingZone(settings.home).read("orders").filter(pl.col("status") == "open")
    for schedule in (t["recommended_plan"], t["current_plan"]):
        per_order = schedule.group_by("order_id").agg(
            pl.col("units").sum(),
            pl.col("line_id").n_unique().alias("lines"),
            pl.col("line_id").first(),
            pl.col("process_step").first(),
        )
        assert per_order.height == plan_row["orders_planned"]
        joined = per_order.join(orders.select("order_id", "quantity"), on="order_id")
        assert joined.height == per_order.height  # every planned order is in the order book
        assert (joined["units"] - joined["quantity"]).abs().max() < 1e-6  # made in full
        assert (joined["lines"] == 1).all()
        # each order on a line with equipment of its operation's step
        ok = joined.join(t["steps"], on=["line_id", "process_step"], how="semi")
        assert ok.height == joined.height
        # inside the horizon, and no two orders on one line at the same time
        assert schedule["start_utc"].min() >= plan_row["horizon_start_utc"]
        assert schedule["end_utc"].max() <= plan_row["horizon_end_utc"]
        spans = (
            schedule.group_by("line_id", "order_id")
            .agg(pl.col("start_utc").min(), pl.col("end_utc").max())
            .sort("line_id", "start_utc")
            .with_columns(pl.col("end_utc").shift(1).over("line_id").alias("prev_end"))
        )
        assert spans.filter(pl.col("start_utc") < pl.col("prev_end")).is_empty()

    deltas = {r["metric"]: r for r in t["plan_deltas"].iter_rows(named=True)}
    # the deltas' energy figures are the schedules' sums
    for which, schedule in (("current", t["current_plan"]), ("recommended", t["recommended_plan"])):
        assert deltas["kg_co2e_energy"][which] == pytest.approx(schedule["kg_co2e_energy"].sum())
        assert deltas["cost_energy"][which] == pytest.approx(schedule["energy_cost"].sum())
        assert deltas["kwh"][which] == pytest.approx(schedule["kwh"].sum())
    carbon = deltas["kg_co2e"]
    assert carbon["delta"] == pytest.approx(100 * (carbon["recommended"] / carbon["current"] - 1))
    best = t["pareto_front"].filter(pl.col("recommended"))
    assert best.height == 1
    assert best["kg_co2e"][0] == pytest.approx(carbon["recommended"])
    assert best["fv"][0] == pytest.approx(t["pareto_front"]["fv"].max())
    return t


def test_wattprint_plan_prints_and_writes_a_consistent_plan(plant, capsys):
    from orchestration.cli import main

    code = main(["--home", str(plant.home), "plan", "--horizon", "3", "--pop", "30", "--gens", "8"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Recommended plan per line and shift" in out
    assert "Recommended vs current plan (first-in-first-out)" in out
    for line in ("L1-SMT", "L3-THT", "L4-TEST"):
        assert line in out
    with duckdb.connect(str(plant.warehouse_path), read_only=True) as con:
        plan_id, trigger, horizon = con.execute(
            "select plan_id, trigger, epoch(horizon_end_utc - horizon_start_utc) / 86400 "
            "from planning.plans order by created_at_utc desc limit 1"
        ).fetchall()[0]
    assert trigger == "manual" and horizon == 3 and plan_id in out
    t = _check_plan(plant, plan_id)
    assert t["plans"]["orders_deferred"][0] > 0  # a 3-day horizon defers the book's last days


def test_a_replan_request_runs_the_planning_job_once(plant):
    from orchestration.definitions import defs
    from orchestration.defs.planning.sensors import replan_sensor
    from orchestration.defs.warehouse.resources import Warehouse

    with duckdb.connect(str(plant.warehouse_path)) as con:
        con.execute("create schema if not exists forecasting")
        con.execute(
            "create table if not exists forecasting.replan_requests (request_id varchar, "
            "site_id varchar, quarter varchar, as_of_date date, requested_at_utc timestamp, "
            "forecast_kg_co2e double, target_kg_co2e double, excess_fraction double, "
            "reason varchar)"
        )
        con.execute(
            "insert into forecasting.replan_requests values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                "TW-HSINCHU-01:2026-Q1:2026-01-06",
                "TW-HSINCHU-01",
                "2026-Q1",
                date(2026, 1, 6),
                datetime(2026, 1, 6, 17),
                1.09e6,
                1.0e6,
                0.09,
                "2026-Q1 forecast 9% over target",
            ],
        )

    def tick_at(cursor):
        resources = {"warehouse": Warehouse()}
        return replan_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))

    tick = tick_at(None)
    assert [r.run_key for r in tick.run_requests] == ["TW-HSINCHU-01:2026-Q1:2026-01-06"]
    assert isinstance(tick_at(tick.cursor), dg.SkipReason)

    request = tick.run_requests[0]
    run_config = request.run_config
    run_config["ops"]["production_plan"]["config"].update(FAST)
    job = defs.resolve_job_def("planning_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            run_config=run_config, instance=instance, tags=request.tags, raise_on_error=False
        )
    assert result.success
    checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    assert [(c.check_name, c.passed) for c in checks] == [("every_order_scheduled_in_full", True)]
    t = _check_plan(plant, request.run_key)
    row = t["plans"].row(0, named=True)
    assert row["trigger"] == "replan_request" and row["request_id"] == request.run_key

    # the daily pipeline never plans: planning runs only on demand or per request
    pipeline = defs.resolve_job_def("wattprint_pipeline")
    planned = {k for k in pipeline.asset_layer.executable_asset_keys if k.path[0] == "planning"}
    assert not planned

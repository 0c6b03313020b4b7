"""The re-plan sensor on a hand-made `forecasting.replan_requests` table: one run request per
new request id (run key = request id), nothing on re-evaluation, and a clear skip when the
table or the warehouse is not there."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg
import duckdb
import pytest

from orchestration.settings import configure

DDL = """
create table forecasting.replan_requests (
    request_id varchar primary key, site_id varchar, quarter varchar, as_of_date date,
    requested_at_utc timestamp, forecast_kg_co2e double, target_kg_co2e double,
    excess_fraction double, reason varchar
)
"""


def _request(con, request_id: str, site: str, day: int, excess: float) -> None:
    con.execute(
        "insert into forecasting.replan_requests values (?, ?, '2026-Q1', ?, ?, ?, ?, ?, ?)",
        [
            request_id,
            site,
            date(2026, 1, day),
            datetime(2026, 1, day, 1),
            1000 * (1 + excess),
            1000.0,
            excess,
            f"2026-Q1 forecast {excess:.0%} over target",
        ],
    )


def _tick(cursor: str | None):
    from orchestration.defs.planning.sensors import replan_sensor
    from orchestration.defs.warehouse.resources import Warehouse

    # no instance: the sensor reads only the warehouse (the home's, as configured) and its cursor
    context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": Warehouse()})
    return replan_sensor(context)


@pytest.fixture
def warehouse(tmp_path):
    settings = configure(home=tmp_path)
    return settings.warehouse_path


def test_each_request_launches_one_run_and_reevaluation_nothing(warehouse):
    assert _tick(None).skip_message == "no warehouse yet"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema forecasting")
    assert "no forecasting.replan_requests table yet" in _tick(None).skip_message
    with duckdb.connect(str(warehouse)) as con:
        con.execute(DDL)
        _request(con, "S1:2026-Q1:2026-01-12", "S1", 12, 0.071)
        _request(con, "S2:2026-Q1:2026-01-12", "S2", 12, 0.093)

    first = _tick(None)
    assert [r.run_key for r in first.run_requests] == [
        "S1:2026-Q1:2026-01-12",
        "S2:2026-Q1:2026-01-12",
    ]
    config = first.run_requests[1].run_config["ops"]["production_plan"]["config"]
    assert config == {
        "site_id": "S2",
        "trigger": "replan_request",
        "request_id": "S2:2026-Q1:2026-01-12",
        "plan_id": "S2:2026-Q1:2026-01-12",
    }
    assert first.run_requests[0].tags["wattprint/replan_request"] == "S1:2026-Q1:2026-01-12"

    # the same table again: nothing new
    again = _tick(first.cursor)
    assert isinstance(again, dg.SkipReason) and "2 already planned" in again.skip_message

    # a new day's request: exactly that one
    with duckdb.connect(str(warehouse)) as con:
        _request(con, "S1:2026-Q1:2026-01-13", "S1", 13, 0.066)
    third = _tick(first.cursor)  # a skipped tick keeps the cursor
    assert [r.run_key for r in third.run_requests] == ["S1:2026-Q1:2026-01-13"]
    assert isinstance(_tick(third.cursor), dg.SkipReason)


def test_a_locked_warehouse_is_skipped_not_an_error(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema forecasting")
        con.execute(DDL)
    # another process holding the write lock is simulated by a writer in a child process
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(warehouse)!r}); "
            "print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = _tick(None)
        assert isinstance(result, dg.SkipReason) and "warehouse busy" in result.skip_message
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()

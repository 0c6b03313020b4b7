"""Re-plan when the target tracker asks: one planning run per new re-plan request.

The forecasting area writes `forecasting.replan_requests` (request_id, site_id, quarter,
as_of_date, requested_at_utc, forecast_kg_co2e, target_kg_co2e, excess_fraction, reason) when a
quarter is forecast more than 5 % over its target. This sensor polls that table rather than
watching the asset's materializations, so a request written by any process (a Dagster run, a
notebook, a script) is seen the same way; a read-only query costs milliseconds.

Exactly once: each request becomes one RunRequest with run_key = request_id (Dagster never
launches a run key twice for a sensor), and the cursor keeps the ids already requested, so a
re-evaluation of the same table requests nothing new.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.planning.jobs import planning_job
from orchestration.defs.warehouse.resources import Warehouse

REQUESTS_TABLE = "forecasting.replan_requests"
REQUEST_TAG = "wattprint/replan_request"


def read_requests(warehouse: Path) -> list[dict] | str:
    """Every re-plan request in time order, or the reason none can be read now."""
    if not warehouse.exists():
        return "no warehouse yet"
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as error:  # a pipeline run holds the write lock: next tick
        return f"warehouse busy: {error}"
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'forecasting' and table_name = 'replan_requests'"
        ).fetchall()[0][0]
        if not exists:
            return f"no {REQUESTS_TABLE} table yet"
        rows = con.execute(
            f"""
            select request_id, site_id, quarter, cast(as_of_date as varchar), excess_fraction,
                reason
            from {REQUESTS_TABLE}
            where request_id is not null
            order by requested_at_utc, request_id
            """
        ).fetchall()
    finally:
        con.close()
    keys = ("request_id", "site_id", "quarter", "as_of_date", "excess_fraction", "reason")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def run_request(request: dict) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=request["request_id"],
        run_config={
            "ops": {
                "production_plan": {
                    "config": {
                        "site_id": request["site_id"] or "",
                        "trigger": "replan_request",
                        "request_id": request["request_id"],
                        "plan_id": request["request_id"],
                    }
                }
            }
        },
        tags={
            REQUEST_TAG: request["request_id"],
            "wattprint/site": request["site_id"] or "",
            "wattprint/quarter": request["quarter"] or "",
        },
    )


@dg.sensor(
    job=planning_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Polls forecasting.replan_requests; launches planning_job once per new re-plan "
    "request (run key = request id) for the request's site.",
)
def replan_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse
) -> dg.SensorResult | dg.SkipReason:
    requests = read_requests(Path(warehouse.resolved_path()))
    if isinstance(requests, str):
        return dg.SkipReason(requests)
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = [r for r in requests if r["request_id"] not in seen]
    if not new:
        return dg.SkipReason(f"no new re-plan request ({len(seen)} already planned)")
    for r in new:
        context.log.info(
            f"re-plan request {r['request_id']}: {r['site_id']} {r['quarter']} forecast "
            f"{100 * (r['excess_fraction'] or 0):.1f}% over target"
        )
    cursor = json.dumps(sorted(seen | {r["request_id"] for r in new}))
    return dg.SensorResult(run_requests=[run_request(r) for r in new], cursor=cursor)

"""One planning run for a site: read the inputs, build the instance, optimise, and write the
`planning` tables — the work behind the `planning` assets and `wattprint plan`.

Tables (schema `planning`, one set of rows per `plan_id`; a re-run of a plan id replaces its
rows, so the tables hold every plan made and readers pick one by `plan_id` or the newest
`created_at_utc` in `planning.plans`):
- `plans`: one row per plan — site, trigger (replan request or manual), the order book's as-of
  time, horizon, weights after the on-time rule, solver settings, sources of every input.
- `pareto_front`: the feasible non-dominated plans found (kgCO2e, cost, on-time share, FV),
  the recommended one flagged.
- `recommended_plan` / `current_plan`: the schedule per line, shift and order (the current plan
  is first-in-first-out, the baseline the deltas are against).
- `plan_deltas`: recommended vs current per metric (carbon and cost in %, shares in points).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from models.planning import SolverConfig, Weights, plan
from models.planning.decision import DEFAULT_WEIGHTS
from models.planning.plant import SitePlanInputs, build_site_instance
from models.planning.result import PlanResult
from orchestration.defs.planning.inputs import read_plant_data

SCHEMA = "planning"
TABLES = ("plans", "pareto_front", "recommended_plan", "current_plan", "plan_deltas")


@dataclass(frozen=True)
class PlanningOptions:
    site_id: str | None = None
    horizon_days: float | None = None  # None: the settings' horizon
    seed: int = 1
    pop_size: int = 200
    generations: int = 100
    weights: Weights = DEFAULT_WEIGHTS
    plan_id: str | None = None  # None: "<trigger>-<site>-<UTC time>"
    trigger: str = "manual"  # manual | replan_request
    request_id: str | None = None


@dataclass(frozen=True)
class PlanningOutcome:
    plan_id: str
    inputs: SitePlanInputs
    result: PlanResult
    frames: dict[str, pl.DataFrame]


def make_plan(warehouse: Path | str, home: Path, options: PlanningOptions) -> PlanningOutcome:
    """Read (read-only, then closed), build and optimise; nothing is written."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        data = read_plant_data(con, home, options.site_id)
    inputs = build_site_instance(data, options.horizon_days)
    config = replace(
        SolverConfig(), pop_size=options.pop_size, n_gen=options.generations, seed=options.seed
    )
    result = plan(inputs.instance, options.weights, inputs.recent_on_time, config)
    created = datetime.now(UTC).replace(microsecond=0)
    plan_id = options.plan_id or (
        f"{options.request_id or options.trigger}-{inputs.site_id}-{created:%Y%m%dT%H%M%SZ}"
    )
    frames = result_frames(plan_id, created, inputs, result, options, config)
    return PlanningOutcome(plan_id, inputs, result, frames)


def _schedule(plan_id: str, inputs: SitePlanInputs, schedule: pl.DataFrame) -> pl.DataFrame:
    """The library's schedule with the order's real SKU and operation, local and UTC times."""
    jobs = inputs.jobs.select("order_id", "sku", "process_step")
    return (
        schedule.drop("sku")
        .join(jobs, on="order_id", how="left")
        .select(
            pl.lit(plan_id).alias("plan_id"),
            pl.lit(inputs.site_id).alias("site_id"),
            "line_id",
            pl.col("shift_day").str.to_date().alias("shift_day"),
            "shift",
            "order_id",
            "sku",
            "process_step",
            "material",
            pl.col("start_local").dt.replace_time_zone(None).alias("start_local"),
            pl.col("end_local").dt.replace_time_zone(None).alias("end_local"),
            pl.col("start_local")
            .dt.convert_time_zone("UTC")
            .dt.replace_time_zone(None)
            .alias("start_utc"),
            pl.col("end_local")
            .dt.convert_time_zone("UTC")
            .dt.replace_time_zone(None)
            .alias("end_utc"),
            "units",
            "kwh",
            pl.col("kg_co2e_energy"),
            "energy_cost",
        )
        .sort("line_id", "start_utc")
    )


DELTA_METRICS = (
    # metric, how the delta is expressed
    ("kg_co2e", "%"),
    ("kg_co2e_energy", "%"),
    ("kg_co2e_material", "%"),
    ("cost", "%"),
    ("cost_energy", "%"),
    ("cost_material", "%"),
    ("kwh", "%"),
    ("on_time_share", "pp"),
    ("on_time_orders", "pp"),
    ("late_hours_weighted", "%"),
    ("night_share", "pp"),
    ("low_carbon_share", "pp"),
    ("fv", "abs"),
)


def deltas_frame(plan_id: str, result: PlanResult) -> pl.DataFrame:
    rows = []
    for metric, unit in DELTA_METRICS:
        cur, rec = result.current[metric], result.recommended[metric]
        if unit == "%":
            delta = 100.0 * (rec / cur - 1.0) if cur else None
        elif unit == "pp":
            delta = 100.0 * (rec - cur)
        else:
            delta = rec - cur
        rows.append(
            {
                "plan_id": plan_id,
                "metric": metric,
                "current": cur,
                "recommended": rec,
                "delta": delta,
                "delta_unit": unit,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "plan_id": pl.String,
            "metric": pl.String,
            "current": pl.Float64,
            "recommended": pl.Float64,
            "delta": pl.Float64,
            "delta_unit": pl.String,
        },
    )


def result_frames(
    plan_id: str,
    created: datetime,
    inputs: SitePlanInputs,
    result: PlanResult,
    options: PlanningOptions,
    config: SolverConfig,
) -> dict[str, pl.DataFrame]:
    inst = inputs.instance
    end = inst.slot_start(inst.n_slots)
    w = result.weights
    naive = lambda t: t.astimezone(UTC).replace(tzinfo=None)  # noqa: E731
    plans = pl.DataFrame(
        [
            {
                "plan_id": plan_id,
                "site_id": inputs.site_id,
                "created_at_utc": naive(created),
                "trigger": options.trigger,
                "request_id": options.request_id,
                "order_book_as_of_utc": naive(inputs.as_of),
                "horizon_start_utc": naive(inst.start),
                "horizon_end_utc": naive(end),
                "orders_planned": len(inst.orders),
                "orders_deferred": inputs.deferred.height,
                "alpha": w.alpha,
                "beta": w.beta,
                "gamma": w.gamma,
                "recent_on_time": inputs.recent_on_time,
                "seed": config.seed,
                "pop_size": config.pop_size,
                "generations": config.n_gen,
                "front_size": result.front.height,
                "seconds": result.seconds,
                "currency": inst.currency,
                **{f"{k}_source": v for k, v in inputs.sources.items()},
            }
        ],
        schema_overrides={"request_id": pl.String, "recent_on_time": pl.Float64},
    )
    front = result.front.select(
        pl.lit(plan_id).alias("plan_id"),
        pl.col("member").cast(pl.Int64),
        "kg_co2e",
        "cost",
        "on_time_share",
        "fv",
        "recommended",
    )
    return {
        "plans": plans,
        "pareto_front": front,
        "recommended_plan": _schedule(plan_id, inputs, result.schedule),
        "current_plan": _schedule(plan_id, inputs, result.current_schedule),
        "plan_deltas": deltas_frame(plan_id, result),
    }


def write_tables(warehouse: Path | str, plan_id: str, frames: dict[str, pl.DataFrame]) -> None:
    """One short write transaction: the plan's rows replace any earlier rows of its plan_id."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute("begin transaction")
        try:
            for name in TABLES:
                frame = frames[name]
                con.register("frame", frame.to_arrow())
                con.execute(
                    f"create table if not exists {SCHEMA}.{name} as select * from frame limit 0"
                )
                con.execute(f"delete from {SCHEMA}.{name} where plan_id = ?", [plan_id])
                con.execute(f"insert into {SCHEMA}.{name} by name select * from frame")
                con.unregister("frame")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise

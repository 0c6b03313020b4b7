"""Carbon-aware production plans as assets: one optimisation writes the `planning` tables — the
Pareto front, the recommended plan per line and shift, the current (FIFO) plan and the deltas
between them — with the front as a plot and the schedule as a table in the UI.

Thin by design: `runner.make_plan` reads the warehouse, builds the instance
(`models.planning.plant`) and runs the seeded NSGA-II with the adaptive-weight rule
(`models.planning`); this module only maps run config in and tables, metadata and a check out.
It runs on demand (`wattprint plan`, the UI) or when the target tracker asks for a re-plan
(`sensors.replan_sensor`), never as part of the daily pipeline.
"""

import dagster as dg
import polars as pl

from models.planning.decision import Weights
from models.planning.plant import PlanningDataError
from models.planning.plant_settings import PlanningFileError
from orchestration.defs.planning.plots import (
    markdown_table,
    pareto_png,
    png_markdown,
    shift_summary,
)
from orchestration.defs.planning.runner import PlanningOptions, make_plan, write_tables
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import load_settings

GROUP = "planning"
PLANS = dg.AssetKey(["planning", "plans"])
FRONT = dg.AssetKey(["planning", "pareto_front"])
RECOMMENDED = dg.AssetKey(["planning", "recommended_plan"])
CURRENT = dg.AssetKey(["planning", "current_plan"])
DELTAS = dg.AssetKey(["planning", "plan_deltas"])
# what the planner reads (the tables behind `inputs.read_plant_data`)
INPUTS = [
    dg.AssetKey(["landing", "orders"]),
    dg.AssetKey(["staging", "stg_landing__production"]),
    dg.AssetKey(["staging", "stg_landing__bills"]),
    dg.AssetKey(["marts", "fct_energy_interval"]),
    dg.AssetKey(["marts", "dim_equipment"]),
    dg.AssetKey(["marts", "dim_site"]),
    dg.AssetKey(["intermediate", "int_factor_versions"]),
    # the target tracker's re-plan requests start planning runs (sensors.replan_sensor)
    dg.AssetKey(["forecasting", "replan_requests"]),
]


class PlanningConfig(dg.Config):
    """How to plan; every field has a default so a plain materialization plans the only site."""

    site_id: str = ""  # empty: the warehouse's only site
    horizon_days: float = 0.0  # 0: planning/settings.json's horizon (7 days by default)
    seed: int = 1
    pop_size: int = 200
    generations: int = 100
    alpha: float = 0.4  # carbon weight of the decision rule
    beta: float = 0.3  # cost
    gamma: float = 0.3  # on-time delivery (raised by 0.05 after a poor on-time month)
    plan_id: str = ""  # empty: derived from the trigger, site and time
    trigger: str = "manual"
    request_id: str = ""  # the re-plan request that started this run, if any

    def options(self) -> PlanningOptions:
        return PlanningOptions(
            site_id=self.site_id or None,
            horizon_days=self.horizon_days or None,
            seed=self.seed,
            pop_size=self.pop_size,
            generations=self.generations,
            weights=Weights(self.alpha, self.beta, self.gamma),
            plan_id=self.plan_id or None,
            trigger=self.trigger,
            request_id=self.request_id or None,
        )


def _spec(key: dg.AssetKey, description: str, deps) -> dg.AssetSpec:
    return dg.AssetSpec(
        key, description=description, deps=deps, kinds={"pymoo", "duckdb"}, group_name=GROUP
    )


@dg.multi_asset(
    specs=[
        _spec(
            PLANS,
            "One row per plan: site, trigger (re-plan request or manual), order-book "
            "time, horizon, decision weights after the on-time rule, solver settings and the "
            "source of every input (intensity forecast or observed, tariff, materials).",
            INPUTS,
        ),
        _spec(
            FRONT,
            "The Pareto front of each plan: feasible non-dominated plans trading "
            "kgCO2e, cost and on-time share, with the decision rule's FV; the recommended "
            "plan flagged.",
            [PLANS],
        ),
        _spec(
            RECOMMENDED,
            "The recommended plan's schedule per line, shift and order: local and "
            "UTC times, material, units, kWh, energy kgCO2e and energy cost.",
            [PLANS],
        ),
        _spec(
            CURRENT,
            "The current plan (first-in-first-out, as the plant would run the book "
            "today) in the same shape: the baseline of the deltas.",
            [PLANS],
        ),
        _spec(
            DELTAS,
            "Recommended vs current plan per metric: carbon and cost in %, on-time, "
            "night and low-carbon shares in percentage points.",
            [FRONT, RECOMMENDED, CURRENT],
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "every_order_scheduled_in_full",
            asset=RECOMMENDED,
            description="Each planned order's units appear in the schedule exactly once, on "
            "one line, and the plan meets the night-shift and low-carbon bounds.",
            # a plan that breaks them is not published to the readers' warehouse
            blocking=True,
        )
    ],
)
def production_plan(
    context: dg.AssetExecutionContext, config: PlanningConfig, warehouse: Warehouse
):
    settings = load_settings()
    options = config.options()
    try:
        outcome = make_plan(warehouse.resolved_path(), settings.home, options)
    except (PlanningDataError, PlanningFileError) as error:
        raise dg.Failure(description=str(error)) from error
    except RuntimeError as error:  # the solver found no feasible plan
        raise dg.Failure(description=f"no feasible plan: {error}") from error
    write_tables(warehouse.resolved_path(), outcome.plan_id, outcome.frames)

    result, frames, inputs = outcome.result, outcome.frames, outcome.inputs
    context.log.info(f"{outcome.plan_id}: {result.summary()}")
    currency = inputs.instance.currency
    common = {"plan_id": outcome.plan_id}
    yield dg.MaterializeResult(
        asset_key=PLANS,
        metadata={
            **common,
            "sources": dg.MetadataValue.md(
                markdown_table(
                    pl.DataFrame(
                        {"input": list(inputs.sources), "source": list(inputs.sources.values())}
                    )
                )
            ),
            "weights": dg.MetadataValue.json(
                {
                    "alpha": result.weights.alpha,
                    "beta": result.weights.beta,
                    "gamma": result.weights.gamma,
                    "recent_on_time": inputs.recent_on_time,
                }
            ),
            "seconds": round(result.seconds, 2),
        },
    )
    yield dg.MaterializeResult(
        asset_key=FRONT,
        metadata={
            **common,
            "front_size": frames["pareto_front"].height,
            "pareto_front": dg.MetadataValue.md(
                png_markdown(
                    pareto_png(frames["pareto_front"], result.current, currency), "Pareto front"
                )
            ),
        },
    )
    schedule = frames["recommended_plan"]
    yield dg.MaterializeResult(
        asset_key=RECOMMENDED,
        metadata={
            **common,
            "rows": schedule.height,
            "per_line_and_shift": dg.MetadataValue.md(markdown_table(shift_summary(schedule))),
        },
    )
    yield dg.MaterializeResult(
        asset_key=CURRENT,
        metadata={**common, "rows": frames["current_plan"].height},
    )
    d = result.deltas
    yield dg.MaterializeResult(
        asset_key=DELTAS,
        metadata={
            **common,
            "carbon_pct": round(d["carbon_pct"], 2),
            "cost_pct": round(d["cost_pct"], 2),
            "on_time_pp": round(d["on_time_pp"], 2),
            "deltas": dg.MetadataValue.md(markdown_table(frames["plan_deltas"].drop("plan_id"))),
        },
    )
    yield schedule_check(outcome)


def schedule_check(outcome) -> dg.AssetCheckResult:
    """Recount the written schedule against the order book and the bounds."""
    schedule = outcome.frames["recommended_plan"]
    jobs = outcome.inputs.jobs.select("order_id", pl.col("quantity").cast(pl.Float64))
    per_order = schedule.group_by("order_id").agg(
        pl.col("units").sum(), pl.col("line_id").n_unique().alias("lines")
    )
    joined = jobs.join(per_order, on="order_id", how="left")
    wrong = joined.filter(
        pl.col("units").is_null()
        | ((pl.col("units") - pl.col("quantity")).abs() > 1e-6)
        | (pl.col("lines") != 1)
    )
    rec = outcome.result.recommended
    inst = outcome.inputs.instance
    lo, hi = inst.calendar.night_share_bounds
    bounds_ok = (
        lo - 1e-9 <= rec["night_share"] <= hi + 1e-9
        and rec["low_carbon_share"] >= inst.low_carbon_min_share - 1e-9
    )
    return dg.AssetCheckResult(
        asset_key=RECOMMENDED,
        check_name="every_order_scheduled_in_full",
        passed=wrong.height == 0 and bounds_ok,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "orders": jobs.height,
            "orders_wrong": wrong.height,
            "night_share": rec["night_share"],
            "low_carbon_share": rec["low_carbon_share"],
            "low_carbon_min_share": inst.low_carbon_min_share,
        },
    )

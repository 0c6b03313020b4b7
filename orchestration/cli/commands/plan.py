"""`wattprint plan`: a carbon-aware production plan for the home's open orders, as a Dagster run
of `planning_job`; `wattprint plan verify`: the optimizer against exact optima."""

from __future__ import annotations

import argparse
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from datetime import UTC, datetime

import duckdb

from orchestration.cli.commands.common import UserError, settings_from
from orchestration.cli.progress import Steps
from orchestration.cli.tables import render


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plan",
        help="propose a carbon-aware production plan for the open orders (or verify the solver)",
        description="Plan the open orders of the newest order book over the next days: a seeded "
        "NSGA-II trading emissions, cost and on-time delivery under the night-shift and "
        "low-carbon material rules, then the adaptive-weight rule picks one plan. Prints the "
        "recommended plan per line and shift and its deltas against the current "
        "(first-in-first-out) plan, and writes the warehouse's `planning` tables. "
        "`wattprint plan verify` instead checks the optimizer against the exact optimum (MILP) "
        "of small instances and prints the hit rate (exit 1 below 98 %).",
    )
    parser.add_argument("action", nargs="?", choices=["verify"], help="verify the optimizer")
    parser.add_argument("--site", help="site id (default: the warehouse's only site)")
    parser.add_argument("--horizon", type=float, help="days to plan (default: settings, 7)")
    parser.add_argument("--seed", type=int, default=1, help="solver seed (default 1)")
    parser.add_argument("--pop", type=int, default=200, help="population size (default 200)")
    parser.add_argument("--gens", type=int, default=100, help="generations (default 100)")
    parser.add_argument(
        "--weights",
        default="0.4,0.3,0.3",
        help="carbon,cost,delivery weights of the decision rule (default 0.4,0.3,0.3; "
        "alpha in [0.3,0.5], beta and gamma in [0.2,0.4], summing to 1)",
    )
    parser.add_argument(
        "--instances", type=int, default=60, help="verify: small instances to check (default 60)"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.pop < 4 or args.gens < 1:
        raise UserError("--pop must be at least 4 and --gens at least 1")
    if args.action == "verify":
        return verify(args)
    return plan(args)


def _weights(text: str):
    from models.planning.decision import Weights

    try:
        alpha, beta, gamma = (float(x) for x in text.split(","))
        return Weights(alpha, beta, gamma)
    except ValueError as error:
        raise UserError(f"--weights {text!r}: {error}") from error


def verify(args: argparse.Namespace) -> int:
    from models.planning.evaluation import HIT_TOLERANCE, hit_rate, print_hit_summary
    from models.planning.solver import DEFAULT_CONFIG

    if args.instances < 1:
        raise UserError("--instances must be at least 1")
    config = replace(DEFAULT_CONFIG, pop_size=args.pop, n_gen=args.gens, seed=args.seed)
    print(
        f"{args.instances} small instances (4-6 orders, 2 lines, 48 half-hour slots): the exact "
        f"optimum of the decision rule's FV by MILP (HiGHS) vs the optimizer (hit: within "
        f"{HIT_TOLERANCE:g})"
    )
    records = hit_rate(args.instances, config)
    print_hit_summary(records, config)
    hits = sum(r.hit for r in records)
    return 0 if hits >= 0.98 * len(records) else 1


def _run_job(settings, run_config: dict, plan_id: str):
    """Execute planning_job in this process on the home's Dagster instance (the UI shows it)."""
    import dagster as dg

    from orchestration.definitions import defs

    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    (settings.dagster_home / "dagster.yaml").touch(exist_ok=True)
    job = defs.resolve_job_def("planning_job")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config={
                **run_config,
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            instance=instance,
            tags={"wattprint/plan_id": plan_id},
            raise_on_error=False,
        )
        error = None
        if not result.success:
            failures = [e for e in result.all_events if e.is_step_failure]
            if failures:
                data = failures[0].event_specific_data
                error = (
                    getattr(data, "user_failure_data", None) and data.user_failure_data.description
                ) or data.error.message.strip()
        return result.run_id, result.success, error


def plan(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not settings.warehouse_path.exists():
        raise UserError(
            f"no warehouse under {settings.home}: run `wattprint run` (or `wattprint demo`) first"
        )
    weights = _weights(args.weights)
    if args.horizon is not None and not 0 < args.horizon <= 31:
        raise UserError("--horizon must be between 0 and 31 days")
    plan_id = f"manual-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
    config = {
        "site_id": args.site or "",
        "horizon_days": args.horizon or 0.0,
        "seed": args.seed,
        "pop_size": args.pop,
        "generations": args.gens,
        "alpha": weights.alpha,
        "beta": weights.beta,
        "gamma": weights.gamma,
        "plan_id": plan_id,
        "trigger": "manual",
    }
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"plan-{plan_id}.log"
    steps = Steps(1)
    with steps.step(
        f"Planning (pop {args.pop} x {args.gens} generations, seed {args.seed}) in Dagster"
    ):
        with open(log_path, "w") as log, redirect_stdout(log), redirect_stderr(log):
            run_id, success, error = _run_job(
                settings, {"ops": {"production_plan": {"config": config}}}, plan_id
            )
        print(f"      Dagster run {run_id}; output: {log_path}")
    if not success:
        raise UserError(f"planning failed: {error or 'see the run in the Dagster UI'}")
    print(report(settings.warehouse_path, plan_id))
    return 0


def report(warehouse, plan_id: str) -> str:
    """The plan as text, from the warehouse tables the run wrote."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        plan_row = con.sql("select * from planning.plans where plan_id = $p", params={"p": plan_id})
        p = dict(zip(plan_row.columns, plan_row.fetchall()[0], strict=True))
        shifts = con.execute(
            """
            select line_id, shift, count(distinct order_id), sum(units),
                sum(epoch(end_utc - start_utc)) / 3600, sum(kwh), sum(kg_co2e_energy),
                sum(energy_cost)
            from planning.recommended_plan where plan_id = ?
            group by all order by line_id, shift
            """,
            [plan_id],
        ).fetchall()
        deltas = con.execute(
            "select metric, current, recommended, delta, delta_unit from planning.plan_deltas "
            "where plan_id = ?",
            [plan_id],
        ).fetchall()
        front = con.execute(
            "select count(*) from planning.pareto_front where plan_id = ?", [plan_id]
        ).fetchall()[0][0]
    currency = p["currency"]
    recent = p["recent_on_time"]
    out = [
        f"\nPlan {plan_id} for {p['site_id']}: {p['horizon_start_utc']:%Y-%m-%d %H:%M} → "
        f"{p['horizon_end_utc']:%Y-%m-%d %H:%M} UTC, {p['orders_planned']} orders planned, "
        f"{p['orders_deferred']} deferred",
        f"  weights carbon {p['alpha']:.3f}, cost {p['beta']:.3f}, delivery {p['gamma']:.3f}"
        + (
            f" (recent on-time delivery {100 * recent:.1f}%"
            + (": below 95%, delivery weight raised)" if recent < 0.95 else ")")
            if recent is not None
            else " (no shipped orders: no on-time record)"
        ),
    ]
    out += [f"  {name[:-7]:<12} {p[name]}" for name in p if name.endswith("_source") and p[name]]
    out.append(
        render(
            "Recommended plan per line and shift (summed over the horizon)",
            [
                "line",
                "shift",
                "orders",
                "units",
                "busy h",
                "kWh",
                "kgCO2e (energy)",
                f"energy cost ({currency})",
            ],
            shifts,
            [None, None, ",d", ",.0f", ",.1f", ",.0f", ",.0f", ",.0f"],
            note="every order and slot: planning.recommended_plan",
        )
    )
    labels = {
        "kg_co2e": "emissions, kgCO2e",
        "kg_co2e_energy": "  of which energy",
        "kg_co2e_material": "  of which material",
        "cost": f"cost, {currency}",
        "cost_energy": "  of which energy",
        "cost_material": "  of which material",
        "kwh": "energy, kWh",
        "on_time_share": "on time (priority-weighted)",
        "on_time_orders": "on time (orders)",
        "night_share": "night-shift share",
        "low_carbon_share": "low-carbon material share",
    }
    rows = []
    for metric, cur, rec, delta, unit in deltas:
        if metric not in labels:
            continue
        share = unit == "pp"
        fmt = (lambda v: f"{100 * v:.1f}%") if share else (lambda v: f"{v:,.0f}")
        change = "—" if delta is None else f"{delta:+.1f} {'pp' if share else '%'}"
        rows.append([labels[metric], fmt(cur), fmt(rec), change])
    out.append(
        render(
            "Recommended vs current plan (first-in-first-out)",
            ["", "current", "recommended", "change"],
            rows,
            note=f"Pareto front: {front} feasible non-dominated plans (planning.pareto_front); "
            f"solved in {p['seconds']:.1f} s",
        )
    )
    return "\n".join(out)

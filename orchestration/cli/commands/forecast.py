"""`wattprint forecast`: run the forecasting assets on a home, or print the acceptance figures.

- `wattprint forecast run [--horizon daily|hourly|all]`: the `forecast_daily` / `forecast_hourly`
  Dagster jobs in process on the home's instance (the runs show in the UI afterwards), then
  the backtests, the site totals and the target progress they wrote.
- `wattprint forecast evaluate [--steel [CSV]] ...`: `python -m models.forecasting.evaluate` —
  the rolling-origin backtests on a 120-day simulated plant (or the steel plant's January
  2018 export) against the issue's targets: daily MAPE ≤ 5%, hourly ≤ 8%, ≥ 25% below
  seasonal-naive, 80% intervals covering 75–85%.
"""

from __future__ import annotations

import argparse
from contextlib import redirect_stderr, redirect_stdout

import duckdb

from orchestration.cli.commands.common import UserError, settings_from
from orchestration.cli.tables import render

JOBS = {"daily": ("forecast_daily", "daily"), "hourly": ("forecast_hourly", "hourly")}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "forecast",
        help="forecast energy and emissions (Prophet), track targets; or print the backtests",
        description="Forecasts of energy and emissions with Prophet, their rolling-origin "
        "backtests against seasonal-naive, and the reduction-target tracking.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run",
        help="run the forecasting assets on this home and print what they wrote",
        description="Materialize forecasting/forecasts (+ backtests) for the horizon group, and "
        "for 'daily' also the target tracking, re-plan requests and scenarios, in one Dagster "
        "run each, then print the backtests, the site totals and the target progress.",
    )
    run.add_argument("--horizon", choices=["daily", "hourly", "all"], default="all")
    run.set_defaults(handler=handle_run)
    evaluate = actions.add_parser(
        "evaluate",
        help="the acceptance figures: backtests on simulated (or steel) data",
        description="The rolling-origin backtests of python -m models.forecasting.evaluate: on "
        "a simulated plant (the simulator's ground truth; ≥ 90 days) or, with --steel, on the "
        "steel plant's January 2018 export. Writes nothing to the home.",
    )
    evaluate.add_argument(
        "--steel",
        nargs="?",
        const="",
        default=None,
        metavar="CSV",
        help="backtest the steel plant's export instead (default: the file "
        "under ../shared/data/steel_industry_2018/)",
    )
    evaluate.add_argument("--days", type=int, default=120, help="simulated days (default 120)")
    evaluate.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    evaluate.add_argument("--workers", type=int, default=1, help="processes for the series")
    evaluate.add_argument("--levels", default="site,line,equipment")
    evaluate.add_argument(
        "--no-targets", action="store_true", help="skip the quarterly-target check"
    )
    evaluate.add_argument("--json", metavar="PATH", default=None, help="write the full report")
    evaluate.set_defaults(handler=handle_evaluate)
    for nested in (run, evaluate):  # as on every command: --home/--debug after the action too
        nested.add_argument("--home", default=argparse.SUPPRESS, help="Wattprint home folder")
        nested.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)


def handle_evaluate(args: argparse.Namespace) -> int:
    from models.forecasting.evaluate import main

    if args.days < 90 and args.steel is None:
        raise UserError("--days must be at least 90: the 30-day backtest needs the history")
    argv = [
        "--days",
        str(args.days),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--levels",
        args.levels,
    ]
    if args.steel is not None:
        argv += ["--steel"] + ([args.steel] if args.steel else [])
    if args.no_targets:
        argv.append("--no-targets")
    if args.json:
        argv += ["--json", args.json]
    return main(argv)


def _run_job(settings, name: str, partition: str) -> tuple[bool, str | None, str]:
    import dagster as dg

    from orchestration.definitions import defs  # after settings: definitions read them

    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    (settings.dagster_home / "dagster.yaml").touch(exist_ok=True)
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with (
        open(log_path, "w") as log,
        redirect_stdout(log),
        redirect_stderr(log),
        dg.DagsterInstance.get() as instance,
    ):
        result = defs.resolve_job_def(name).execute_in_process(
            instance=instance,
            partition_key=partition,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        if failures:
            error = failures[0].event_specific_data.error.message.strip()
    return result.success, error, str(log_path)


def handle_run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not settings.warehouse_path.exists():
        raise UserError(
            f"no warehouse at {settings.warehouse_path}: run `wattprint demo` or "
            "`wattprint run` first"
        )
    groups = ["daily", "hourly"] if args.horizon == "all" else [args.horizon]
    for group in groups:
        job, partition = JOBS[group]
        ok, error, log = _run_job(settings, job, partition)
        print(
            f"Dagster job {job} (partition '{partition}'): {'done' if ok else 'FAILED'} — log {log}"
        )
        if not ok:
            raise UserError(f"the {job} run failed: {error or 'see ' + log}")
    print_summary(settings.warehouse_path, groups)
    return 0


def print_summary(warehouse, groups: list[str]) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        bt = con.execute(
            """
            select series_id, freq, history_periods, backtest_horizon, folds, mape, naive_mape,
                   skill, coverage, coalesce(error, note)
            from forecasting.backtests order by freq, series_id
            """
        ).fetchall()
        rows = [
            [
                r[0].split("/", 1)[1],
                r[2],
                r[3],
                r[4],
                None if r[5] is None else 100 * r[5],
                None if r[6] is None else 100 * r[6],
                None if r[7] is None else 100 * r[7],
                None if r[8] is None else 100 * r[8],
                (r[9] or "")[:70],
            ]
            for r in bt
            if r[1] in groups
        ]
        print(
            render(
                "Backtests (rolling origin; stored in forecasting.backtests)",
                [
                    "series",
                    "history",
                    "horizon",
                    "folds",
                    "MAPE %",
                    "naive MAPE %",
                    "lower than naive %",
                    "80% coverage %",
                    "note",
                ],
                rows,
                [None, ",d", None, ",d", ".2f", ".2f", ".0f", ".0f", None],
            )
        )
        if "daily" not in groups:
            return
        totals = con.execute(
            """
            select site_id, target, period_label, actual_to_date, yhat, yhat_lower, yhat_upper,
                   unit
            from forecasting.forecasts
            where level = 'site' and horizon in ('quarter', 'year')
            order by site_id, target, horizon, period_label
            """
        ).fetchall()
        print(
            render(
                "Site totals: actual so far + forecast (80% interval)",
                [
                    "site",
                    "target",
                    "period",
                    "actual so far",
                    "forecast total",
                    "lower",
                    "upper",
                    "unit",
                ],
                [list(r) for r in totals],
                [None, None, None, ",.0f", ",.0f", ",.0f", ",.0f", None],
            )
        )
        progress = con.execute(
            """
            select site_id, period, basis, status, projected_kg_co2e, budget_kg_co2e,
                   100 * excess_fraction
            from forecasting.target_progress
            where as_of_date = (select max(as_of_date) from forecasting.target_progress)
            order by site_id, period_kind, basis
            """
        ).fetchall()
        print(
            render(
                "Targets (forecasting.target_progress, latest day)",
                [
                    "site",
                    "period",
                    "basis",
                    "status",
                    "projected kgCO2e",
                    "target kgCO2e",
                    "vs target %",
                ],
                [list(r) for r in progress],
                [None, None, None, None, ",.0f", ",.0f", "+.1f"],
                note="replan = more than 5 % over: a row in forecasting.replan_requests"
                if progress
                else "no site has a target for this year: see "
                "$WATTPRINT_HOME/targets.json (models/forecasting/target_config.py)",
            )
        )

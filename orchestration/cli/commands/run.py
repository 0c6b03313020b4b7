"""`wattprint run`: process site-local days through the whole pipeline in Dagster."""

from __future__ import annotations

import argparse

from orchestration.cli.commands.common import UserError, parse_day, run_days, settings_from
from orchestration.cli.progress import Steps
from orchestration.cli.summary import print_summary


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="run the pipeline (dbt + checks, in Dagster) for a range of days",
        description="Materialize every asset — interval energy, allocation, bill reconciliation, "
        "emissions, reports — for the site-local days given (default: every day that has "
        "readings), as one Dagster run recorded in $WATTPRINT_HOME/dagster.",
    )
    parser.add_argument("--from", dest="first", type=parse_day, help="first local day")
    parser.add_argument("--to", dest="last", type=parse_day, help="last local day")
    parser.add_argument("--summary", action="store_true", help="print the summary tables after")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from orchestration.pipeline import local_days_with_readings

    settings = settings_from(args)
    span = local_days_with_readings(settings)
    if span is None and (args.first is None or args.last is None):
        raise UserError(f"no readings landed under {settings.home}: import or simulate first")
    first = args.first or span[0]
    last = args.last or span[1]
    if last < first:
        raise UserError(f"--to {last} is before --from {first}")
    steps = Steps(1)
    with steps.step(f"Running the pipeline for {first} … {last}"):
        run_days(settings, first, last)
    if args.summary:
        print_summary(settings.warehouse_path)
    return 0

"""`wattprint validate`: print the accuracy of the marts against ground truth."""

from __future__ import annotations

import argparse

from orchestration.cli.commands.common import settings_from
from orchestration.cli.validate import load_report, render_report


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "validate",
        help="compare the warehouse's figures with the simulator's ground truth",
        description="Per equipment and site-local day: metered equipment kWh (target within "
        "0.5 %%), unmetered equipment kWh after allocation (within 5 %%), and the site's "
        "total kgCO2e (within 0.1 %%). Exit code 1 when a target is missed.",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    report = load_report(settings_from(args))
    print(render_report(report))
    return 0 if report.passed else 1

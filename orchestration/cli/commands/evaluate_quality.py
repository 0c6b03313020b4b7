"""`wattprint evaluate-quality`: the anomaly rules scored against the simulator's fault log."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "evaluate-quality",
        help="score the anomaly rules and corrections on a simulated plant with every fault",
        description="Simulates a plant with every fault type injected at known times, runs the "
        "anomaly rules and the corrections, and prints precision, recall and detection latency "
        "per rule, imputation accuracy, and equipment-day accuracy with corrections off and on. "
        "Needs no home: everything happens in memory.",
    )
    parser.add_argument("--days", type=int, default=30, help="simulated days (default 30)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from orchestration.cli.commands.common import UserError
    from quality.evaluation import main

    if args.days < 7:
        raise UserError("--days must be at least 7: drift and energy-per-unit need history")
    return main(["--days", str(args.days), "--seed", str(args.seed)])

"""`wattprint ingest`: the long-running MQTT ingestion service (gateways → landing zone)."""

from __future__ import annotations

import argparse

from orchestration.cli.commands.common import settings_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ingest",
        help="run the MQTT ingestion service (readings from gateways → landing zone)",
        description="Subscribe to wattprint/+/+/readings at QoS 1 with a persistent session and "
        "land readings in micro-batches, acknowledging each message only after it is on disk. "
        "Bad messages go to the quarantine with their reason. Ctrl-C or SIGTERM stops it "
        "cleanly. Every option of `python -m ingestion.mqtt --help` is accepted (--host, "
        "--port, --username, --password-env, --client-id, --shared-group, ...).",
        add_help=True,
    )
    parser.add_argument("service_args", nargs=argparse.REMAINDER, help="options for the service")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ingestion.mqtt.__main__ import main as service_main

    settings = settings_from(args)
    return service_main(["--home", str(settings.home), *args.service_args])

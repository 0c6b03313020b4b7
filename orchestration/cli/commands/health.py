"""`wattprint health`: is each long-running service of a deployment alive and current?"""

from __future__ import annotations

import argparse
import os
import time

from orchestration.cli.commands.common import settings_from

CHECKS = ("webserver", "daemon", "broker", "ingest", "publication")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "health",
        help="check the Dagster webserver and daemon, the MQTT broker, ingestion and publication",
        description="Check the services of a deployment: the Dagster webserver answers "
        "/server_info; every daemon the instance ($DAGSTER_HOME) needs has sent a recent "
        "heartbeat; the MQTT broker accepts a connection; the ingestion service landed readings "
        "recently; the published warehouse is recent. Exit code 0 when every selected check "
        "passes, 1 otherwise. systemd units use --only and --wait.",
    )
    parser.add_argument(
        "--only",
        default=",".join(CHECKS),
        help=f"comma-separated checks to run (default: all of {', '.join(CHECKS)})",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="retry failed checks until they pass or this many seconds have passed",
    )
    parser.add_argument("--webserver-url", default="http://127.0.0.1:3000")
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--mqtt-username", default=None)
    parser.add_argument(
        "--mqtt-password-env",
        default="WATTPRINT_MQTT_PASSWORD",
        help="environment variable holding the MQTT password (default WATTPRINT_MQTT_PASSWORD)",
    )
    parser.add_argument(
        "--daemon-max-age",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="every daemon's last heartbeat may be this old (default 120; they beat every 30)",
    )
    parser.add_argument(
        "--ingest-max-age",
        type=float,
        default=30.0,
        metavar="MINUTES",
        help="the newest landed readings file may be this old (default 30)",
    )
    parser.add_argument(
        "--publication-max-age",
        type=float,
        default=120.0,
        metavar="MINUTES",
        help="the published warehouse may be this old (default 120)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from orchestration.cli.commands.common import UserError

    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(CHECKS))
    if unknown or not selected:
        raise UserError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    settings = settings_from(args)
    deadline = time.monotonic() + args.wait
    while True:
        results = [run_check(name, args, settings) for name in selected]
        if all(r.ok for r in results) or time.monotonic() >= deadline:
            break
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'}  {result.check:<12} {result.detail}")
    return 0 if all(r.ok for r in results) else 1


def run_check(name: str, args: argparse.Namespace, settings):
    from orchestration import health
    from orchestration.publishing.snapshot import published_path

    if name == "webserver":
        return health.webserver(args.webserver_url)
    if name == "daemon":
        return health.daemon(max_age_seconds=args.daemon_max_age)
    if name == "broker":
        password = os.environ.get(args.mqtt_password_env) if args.mqtt_username else None
        return health.broker(args.mqtt_host, args.mqtt_port, args.mqtt_username, password)
    if name == "ingest":
        return health.ingest(settings.home, args.ingest_max_age)
    return health.publication(published_path(settings.home), args.publication_max_age)

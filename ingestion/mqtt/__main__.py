"""`python -m ingestion.mqtt`: run the ingestion service in the foreground.

The `wattprint ingest` command wraps `run_service`; this entry point exists so the service can
run as its own process (systemd, a container, the crash tests). SIGTERM or Ctrl-C stops it
cleanly: what was received is landed and acknowledged, then it disconnects. The broker password
is read from the environment variable named by --password-env (default
WATTPRINT_MQTT_PASSWORD), never from the command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from ingestion.mqtt.config import IngestConfig
from ingestion.mqtt.pipeline import BatchBuilder
from ingestion.mqtt.service import IngestService


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ingestion.mqtt",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--home", type=Path, help="Wattprint home (default $WATTPRINT_HOME or ./.wattprint)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--username")
    p.add_argument(
        "--password-env",
        default="WATTPRINT_MQTT_PASSWORD",
        help="environment variable holding the password",
    )
    p.add_argument("--client-id", default="wattprint-ingest")
    p.add_argument(
        "--protocol",
        choices=("5", "3.1.1"),
        default="5",
        help="MQTT version (default 5; 3.1.1 for brokers without MQTT 5)",
    )
    p.add_argument("--topic-filter")
    p.add_argument("--shared-group")
    p.add_argument("--receive-maximum", type=int)
    p.add_argument("--batch-max-readings", type=int)
    p.add_argument("--batch-max-seconds", type=float)
    p.add_argument("--max-future-seconds", type=float)
    p.add_argument("--max-value", type=float)
    p.add_argument("--dedup-warmup-seconds", type=float)
    p.add_argument(
        "--ready-file", type=Path, help="created once subscribed (for supervisors and tests)"
    )
    p.add_argument("--stats-file", type=Path, help="write the final stats here as JSON")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> IngestConfig:
    fields = {
        "host": args.host,
        "port": args.port,
        "username": args.username,
        "password": os.environ.get(args.password_env),
        "client_id": args.client_id,
        "shared_group": args.shared_group,
        "protocol": args.protocol,
    }
    optional = {
        "home": args.home,
        "topic_filter": args.topic_filter,
        "receive_maximum": args.receive_maximum,
        "batch_max_readings": args.batch_max_readings,
        "batch_max_seconds": args.batch_max_seconds,
        "max_future_seconds": args.max_future_seconds,
        "max_value": args.max_value,
        "dedup_warmup_seconds": args.dedup_warmup_seconds,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    return IngestConfig(**fields)


def main(
    argv: list[str] | None = None,
    after_landing: Callable[[BatchBuilder], None] | None = None,
) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service = IngestService(config, stop, after_landing=after_landing)
    if args.ready_file is not None:

        def announce() -> None:
            while not stop.is_set():
                if service.subscribed.wait(0.5):
                    args.ready_file.write_text(str(os.getpid()))
                    return

        threading.Thread(target=announce, daemon=True, name="ready-file").start()
    stats = service.run()
    if args.stats_file is not None:
        args.stats_file.write_text(json.dumps(stats.snapshot(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

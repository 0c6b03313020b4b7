"""Ingestion throughput: publish → durable landing, next to a bare paho subscriber.

    .venv/bin/python benchmarks/ingest/run.py            # default volumes (a few minutes)
    .venv/bin/python benchmarks/ingest/run.py --quick    # a smoke run (under a minute)

For each message shape — gateway messages of 500 and of 50 readings, and single-reading
messages — on a Mosquitto broker the script starts with the shipped config, it measures:

- bare: a paho subscriber (MQTT v5, QoS 1, automatic acks) that only counts messages;
- ingest: the Wattprint service (`IngestService`), done when the last reading is durably in the
  landing zone (atomic, fsync'd Parquet), which is before its acknowledgement is even sent.

in two modes:

- live: the consumer is connected while a publisher (paho, its own process, QoS 1, 1,000 in
  flight) sends every message; rate = readings / (first publish → last one consumed). When a
  consumer finishes with the publisher, the publisher was the limit and the figure is a lower
  bound on the consumer (the table says so).
- drain: every message is first queued by the broker for the consumer's persistent session
  while it is offline (an ingestor outage); rate = readings / (reconnect → last consumed).
  This is the consumer's own capacity, whatever the publisher's speed.

Consumers and publisher each run in their own process, so none shares a GIL with another.
(`mosquitto_pub -l` is not used as the publisher: in 2.0.11 it can drop its connection before
its in-flight messages are acknowledged, so not every message arrives.)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingestion.mqtt.broker import INGESTOR_USER, MosquittoBroker  # noqa: E402

SITE = "BENCH"
GATEWAY_USER = "gw-bench"
TOPIC = f"wattprint/{SITE}/gw-01/readings"
METERS = [f"M-{i:04d}" for i in range(500)]
TIMEOUT = 900


@dataclass
class Scenario:
    name: str
    per_message: int
    messages: int

    @property
    def readings(self) -> int:
        return self.per_message * self.messages


def write_payloads(path: Path, scenario: Scenario) -> None:
    """One JSON message per line, as a gateway would send them: no ids (raw_id is derived
    from meter and ts), one reading per meter per second, values with decimals."""
    rng = random.Random(42)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    k = 0
    with path.open("w") as out:
        for _ in range(scenario.messages):
            rows = []
            for _ in range(scenario.per_message):
                ts = start + timedelta(seconds=k // len(METERS))
                rows.append(
                    {
                        "meter": METERS[k % len(METERS)],
                        "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "value": round(rng.uniform(0, 5000), 3),
                        "unit": "kWh",
                    }
                )
                k += 1
            doc = rows[0] if scenario.per_message == 1 else {"gateway": "gw-01", "readings": rows}
            out.write(json.dumps(doc, separators=(",", ":")) + "\n")


# -- child processes ---------------------------------------------------------------------------
def publisher(conn, port: int, user: str, password: str, payloads: str) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    lines = Path(payloads).read_bytes().splitlines()
    acked = {"n": 0}
    done = threading.Event()

    def on_publish(client, userdata, mid, reason_code, properties):
        acked["n"] += 1
        if acked["n"] == len(lines):
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"pub-{os.getpid()}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(user, password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    conn.send("ready")
    conn.recv()  # go
    for sent, line in enumerate(lines):
        # paho's message ids wrap at 65,535: with more than that outstanding, ids collide and
        # messages vanish inside the client. Keep at most 20,000 unacknowledged.
        while sent - acked["n"] > 20_000:
            time.sleep(0.0005)
        client.publish(TOPIC, line, qos=1)
    done.wait(TIMEOUT)
    conn.send({"end": time.time(), "acked": acked["n"]})
    client.disconnect()
    client.loop_stop()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_consumer(
    conn, port: int, password: str, expected: int, receive_max: int, drain: bool
) -> None:
    """Count messages. Persistent session, so in drain mode the broker queues for it."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions

    client_id = f"bare-{os.getpid()}"
    done = threading.Event()
    state = {"n": 0, "t": 0.0}

    def on_message(client, userdata, message):
        state["n"] += 1
        if state["n"] == expected:
            state["t"] = time.time()
            done.set()

    def connect() -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(INGESTOR_USER, password)
        client.on_message = on_message
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = receive_max
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", port, clean_start=False, properties=props)
        client.loop_start()
        return client

    subscribed = threading.Event()
    client = connect()
    client.on_subscribe = lambda *a: subscribed.set()
    client.subscribe(TOPIC, options=SubscribeOptions(qos=1))
    subscribed.wait(10)
    if drain:
        client.disconnect()
        client.loop_stop()
        conn.send("ready")
        conn.recv()  # go: the backlog is queued
        client = connect()
    else:
        conn.send("ready")
    done.wait(TIMEOUT)
    conn.send({"end": state["t"], "messages": state["n"], "readings": None, "cpu": _cpu()})
    client.disconnect()
    client.loop_stop()


def ingest_consumer(
    conn,
    port: int,
    password: str,
    expected: int,
    home: str,
    settings: dict,
    log_level: str,
    drain: bool,
) -> None:
    import logging

    from ingestion.mqtt import IngestConfig, IngestService

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    config = IngestConfig(
        port=port,
        username=INGESTOR_USER,
        password=password,
        home=home,
        client_id=f"ingest-{os.getpid()}",
        known_meters=dict.fromkeys(METERS, SITE),
        meter_registers=dict.fromkeys(METERS, "interval_kwh"),
        **settings,
    )

    def start() -> tuple[IngestService, threading.Thread]:
        service = IngestService(config)
        thread = threading.Thread(target=service.run)
        thread.start()
        return service, thread

    service, thread = start()
    service.subscribed.wait(10)
    if drain:  # the session (and its subscription) exist now: go away, come back later
        service.stop()
        thread.join()
        conn.send("ready")
        conn.recv()  # go
        service, thread = start()
    else:
        conn.send("ready")
    deadline = time.monotonic() + TIMEOUT
    while service.stats.readings_landed < expected and time.monotonic() < deadline:
        time.sleep(0.002)
    end = time.time()
    service.stop()
    thread.join()
    snap = service.stats.snapshot()
    conn.send(
        {
            "end": end,
            "messages": snap["messages_received"],
            "readings": snap["readings_landed"],
            "cpu": _cpu(),
            "files": snap["files_landed"],
            "buffer_full_waits": snap["buffer_full_waits"],
        }
    )


# -- the harness -------------------------------------------------------------------------------
def _recv(conn, what: str, timeout: float = TIMEOUT):
    if not conn.poll(timeout):
        raise RuntimeError(f"timed out waiting for {what}")
    return conn.recv()


def measure(
    kind: str,
    mode: str,
    broker: MosquittoBroker,
    payloads: Path,
    scenario: Scenario,
    workdir: Path,
    settings: dict,
    log_level: str,
) -> dict:
    ctx = mp.get_context("spawn")
    drain = mode == "drain"
    parent, child = ctx.Pipe()
    if kind == "bare":
        target = bare_consumer
        args = (
            child,
            broker.port,
            broker.ingestor_password,
            scenario.messages,
            settings["receive_maximum"],
            drain,
        )
    else:
        target = ingest_consumer
        home = tempfile.mkdtemp(prefix="ingest-", dir=workdir)
        args = (
            child,
            broker.port,
            broker.ingestor_password,
            scenario.readings,
            home,
            settings,
            log_level,
            drain,
        )
    consumer = ctx.Process(target=target, args=args)
    user, password = broker.credentials(GATEWAY_USER)
    pub_parent, pub_child = ctx.Pipe()
    pub = ctx.Process(
        target=publisher, args=(pub_child, broker.port, user, password, str(payloads))
    )
    consumer.start()
    pub.start()
    try:
        if _recv(parent, f"{kind} consumer to subscribe", 60) != "ready":
            raise RuntimeError(f"{kind} consumer failed")
        if _recv(pub_parent, "the publisher to connect", 120) != "ready":
            raise RuntimeError("publisher failed")
        t0 = time.time()
        pub_parent.send("go")
        published = _recv(pub_parent, "the publisher to finish")
        if published["acked"] != scenario.messages:
            raise RuntimeError(
                f"the broker acknowledged {published['acked']} of {scenario.messages} messages"
            )
        if drain:  # everything is queued for the consumer: now it comes back
            t0 = time.time()
            parent.send("go")
        result = _recv(parent, f"the {kind} consumer to finish")
    finally:
        for proc in (consumer, pub):
            proc.join(60)
            if proc.is_alive():
                proc.kill()
    seconds = result["end"] - t0
    return {
        **result,
        "seconds": seconds,
        "publish_seconds": published["end"] - t0 if not drain else None,
        "msg_per_s": scenario.messages / seconds,
        "readings_per_s": scenario.readings / seconds,
        "publisher_bound": (not drain) and seconds <= (published["end"] - t0) * 1.05,
    }


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small volumes, a smoke run")
    p.add_argument(
        "--gateway-readings",
        type=int,
        default=1_000_000,
        help="readings per gateway scenario (default 1,000,000)",
    )
    p.add_argument(
        "--single-messages",
        type=int,
        default=100_000,
        help="messages in the single-reading scenario (default 100,000)",
    )
    p.add_argument(
        "--only",
        choices=["500", "50", "1"],
        action="append",
        help="run only these message sizes (repeatable)",
    )
    p.add_argument("--modes", default="live,drain", help="live, drain or both (default)")
    p.add_argument(
        "--receive-maximum",
        type=int,
        default=10_000,
        help="in-flight window (Receive Maximum) of both consumers; the service's default",
    )
    p.add_argument("--batch-max-readings", type=int, default=50_000)
    p.add_argument("--batch-max-seconds", type=float, default=1.0)
    p.add_argument("--workdir", type=Path, help="keep broker, payloads and landing here")
    p.add_argument("--log-level", default="WARNING", help="the ingest service's log level")
    args = p.parse_args()
    if args.quick:
        args.gateway_readings, args.single_messages = 100_000, 10_000
    scenarios = [
        Scenario("gateway x500", 500, args.gateway_readings // 500),
        Scenario("gateway x50", 50, args.gateway_readings // 50),
        Scenario("single", 1, args.single_messages),
    ]
    if args.only:
        scenarios = [s for s in scenarios if str(s.per_message) in args.only]
    modes = [m for m in args.modes.split(",") if m]
    settings = {
        "receive_maximum": args.receive_maximum,
        "batch_max_readings": args.batch_max_readings,
        "batch_max_seconds": args.batch_max_seconds,
        "dedup_warmup_seconds": 0,
    }
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wattprint-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# Wattprint ingest benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at start; Python {platform.python_version()}; "
        f"broker: mosquitto with deploy/mosquitto/mosquitto.conf"
    )
    print(
        f"# consumers: receive maximum {args.receive_maximum}; ingest batches up to "
        f"{args.batch_max_readings:,} readings / {args.batch_max_seconds} s; workdir {workdir}"
    )
    rows = []
    with MosquittoBroker(workdir / "broker", gateways={GATEWAY_USER: SITE}) as broker:
        for scenario in scenarios:
            payloads = workdir / f"payloads-{scenario.per_message}.jsonl"
            write_payloads(payloads, scenario)
            for mode in modes:
                bare = measure(
                    "bare", mode, broker, payloads, scenario, workdir, settings, args.log_level
                )
                ingest = measure(
                    "ingest", mode, broker, payloads, scenario, workdir, settings, args.log_level
                )
                if bare["messages"] != scenario.messages:
                    raise RuntimeError(f"bare subscriber got {bare['messages']} messages")
                if ingest["readings"] != scenario.readings:
                    raise RuntimeError(f"ingest landed {ingest['readings']} readings")
                rows.append((scenario, mode, bare, ingest))
                print(
                    f"  {mode:<5} {scenario.name:<13} bare {bare['msg_per_s']:>8,.0f} msg/s"
                    f" | ingest {ingest['readings_per_s']:>9,.0f} readings/s "
                    f"({ingest['msg_per_s']:,.0f} msg/s) | load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
            payloads.unlink()

    header = (
        f"{'mode':<6}{'scenario':<14}{'readings':>10}{'messages':>10}{'bare msg/s':>12}"
        f"{'bare rdg/s':>12}{'ingest msg/s':>14}{'ingest rdg/s':>14}{'ingest/bare':>13}"
        f"{'CPU s':>7}{'files':>7}  notes"
    )
    print()
    print(header)
    print("-" * len(header))
    for scenario, mode, bare, ingest in rows:
        notes = []
        if bare["publisher_bound"]:
            notes.append("bare = publisher rate")
        if ingest["publisher_bound"]:
            notes.append("ingest = publisher rate")
        if ingest["buffer_full_waits"]:
            notes.append(f"buffer full x{ingest['buffer_full_waits']}")
        print(
            f"{mode:<6}{scenario.name:<14}{scenario.readings:>10,}{scenario.messages:>10,}"
            f"{bare['msg_per_s']:>12,.0f}{bare['readings_per_s']:>12,.0f}"
            f"{ingest['msg_per_s']:>14,.0f}{ingest['readings_per_s']:>14,.0f}"
            f"{ingest['readings_per_s'] / bare['readings_per_s']:>13.2f}"
            f"{ingest['cpu']:>7.1f}{ingest['files']:>7}  {'; '.join(notes)}"
        )
    print()
    gateway = [(m, i["readings_per_s"]) for s, m, _, i in rows if s.per_message > 1]
    if gateway:
        worst = min(r for _, r in gateway)
        print(
            f"target ≥100,000 readings/s with gateway messages: "
            f"{'met' if worst >= 100_000 else 'NOT met'} (slowest {worst:,.0f}/s)"
        )
    for s, mode, bare, ingest in rows:
        if s.per_message == 1:
            ratio = ingest["msg_per_s"] / bare["msg_per_s"]
            print(
                f"target single-reading rate ≥ half the bare subscriber's ({mode}): "
                f"{'met' if ratio >= 0.5 else 'NOT met'} (ratio {ratio:.2f})"
                + (
                    " — both at the publisher's rate"
                    if bare["publisher_bound"] and ingest["publisher_bound"]
                    else ""
                )
            )
    print("CPU s: CPU time of the ingest process (all its threads) for the whole measurement.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers for the MQTT integration tests: a real Mosquitto broker started from the
shipped config, a landing zone with a meter registry, gateway publishers with persistent
sessions, and the ingestor run in-process (a thread) or as its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import polars as pl
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingestion.landing import LandingZone
from ingestion.mqtt import IngestConfig, IngestService, IngestStats
from ingestion.mqtt.broker import INGESTOR_USER, MosquittoBroker

ROOT = Path(__file__).resolve().parents[2]
SITE_A, SITE_B = "SITE-A", "SITE-B"
GATEWAYS = {"gw-site-a": SITE_A, "gw-site-b": SITE_B}  # broker user → its site
# The meter registry landed for the tests: meter → (site, register, unit)
METERS: dict[str, tuple[str, str, str]] = {
    **{f"A-{i:02d}": (SITE_A, "interval_kwh", "kWh") for i in range(1, 21)},
    "A-POWER": (SITE_A, "power_kw", "kW"),
    "A-WH": (SITE_A, "counter_kwh", "Wh"),
    **{f"B-{i:02d}": (SITE_B, "interval_kwh", "kWh") for i in range(1, 6)},
}
A_METERS = [m for m, (s, r, _) in METERS.items() if s == SITE_A and r == "interval_kwh"]


def topic(site: str = SITE_A, gateway: str = "gw-01") -> str:
    return f"wattprint/{site}/{gateway}/readings"


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


# -- landing zone ------------------------------------------------------------------------------
def make_home(path: Path) -> Path:
    """A Wattprint home whose landing zone holds the test meter registry."""
    zone = LandingZone(path)
    n = len(METERS)
    zone.write(
        "meters",
        pl.DataFrame(
            {
                "meter_id": list(METERS),
                "site_id": [s for s, _, _ in METERS.values()],
                "meter_kind": ["sub"] * n,
                "measures_kind": ["equipment"] * n,
                "measures_id": [f"EQ-{m}" for m in METERS],
                "register": [r for _, r, _ in METERS.values()],
                "unit": [u for _, _, u in METERS.values()],
                "multiplier": [1.0] * n,
                "interval_minutes": [15] * n,
                "installed_at": [datetime(2024, 1, 1, tzinfo=UTC)] * n,
            }
        ),
        batch_id="meters-test",
    )
    return path


def landed(home: Path) -> pl.DataFrame:
    return LandingZone(home).read("readings")


def landed_count(home: Path) -> int:
    """Rows in landed reading files (cheap: Parquet metadata only)."""
    root = home / "landing" / "readings"
    files = [p for p in root.glob("site=*/date=*/*.parquet")]
    return sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in files)


def quarantined(home: Path) -> pl.DataFrame:
    files = sorted((home / "quarantine" / "readings").glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema={"reason": pl.String})
    return pl.concat([pl.read_parquet(p) for p in files], how="diagonal_relaxed")


def quarantine_files(home: Path) -> list[Path]:
    return sorted((home / "quarantine" / "readings").glob("*.parquet"))


# -- payloads ----------------------------------------------------------------------------------
def reading(
    meter: str, ts: datetime | str, value: float = 1.0, unit: str = "kWh", **extra: Any
) -> dict[str, Any]:
    return {
        "meter": meter,
        "ts": ts if isinstance(ts, str) else iso(ts),
        "value": value,
        "unit": unit,
        **extra,
    }


def gateway_message(readings: Iterable[dict[str, Any]], gateway: str = "gw-01") -> bytes:
    return json.dumps({"gateway": gateway, "readings": list(readings)}).encode()


def stream(
    n_messages: int,
    per_message: int,
    start: datetime | None = None,
    meters: list[str] | None = None,
) -> list[tuple[bytes, list[str]]]:
    """`n_messages` gateway messages of `per_message` distinct readings each, with explicit
    ids; returns (payload, raw_ids) pairs."""
    meters = meters or A_METERS
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    out = []
    k = 0
    for m in range(n_messages):
        rows = []
        for _ in range(per_message):
            meter = meters[k % len(meters)]
            ts = start + timedelta(seconds=k // len(meters))
            rows.append(reading(meter, ts, value=float(k % 1000), id=f"r{k:08d}"))
            k += 1
        out.append((gateway_message(rows, gateway=f"gw-{m % 3}"), [r["id"] for r in rows]))
    return out


# -- broker ------------------------------------------------------------------------------------
@contextmanager
def running_broker(workdir: Path, **overrides: str) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker(workdir, gateways=GATEWAYS, overrides=overrides).start()
    try:
        yield broker
    finally:
        if broker.running():
            broker.kill()


class Publisher:
    """A gateway: paho, MQTT v5, QoS 1, persistent session (clean_start=False, session
    expiry), so messages the broker has not acknowledged are sent again after a reconnect —
    also after the broker restarted."""

    def __init__(
        self,
        broker: MosquittoBroker,
        user: str = "gw-site-a",
        client_id: str = "test-gateway-a",
        max_inflight: int = 100,
    ):
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(*broker.credentials(user))
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)  # queue without limit while disconnected
        self.client.reconnect_delay_set(0.1, 1)  # type: ignore[arg-type]
        self.connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: (not rc.is_failure) and self.connected.set()
        self.client.on_disconnect = lambda *a: self.connected.clear()
        # PUBACKs by mid. (MQTTMessageInfo.is_published() raises for a message that was queued
        # while disconnected, even after it has been sent and acknowledged since.)
        self.acked: set[int] = set()
        self.client.on_publish = lambda c, u, mid, rc, p: self.acked.add(mid)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect_async(broker.host, broker.port, clean_start=False, properties=props)
        self.client.loop_start()
        self.infos: list[mqtt.MQTTMessageInfo] = []
        if not self.connected.wait(10):
            raise AssertionError("publisher could not connect")

    def publish(self, payload: bytes | str, to: str | None = None, qos: int = 1) -> None:
        self.infos.append(self.client.publish(to or topic(), payload, qos=qos))

    def all_acked(self) -> bool:
        return all(i.mid in self.acked for i in self.infos)

    def wait_acked(self, timeout: float = 30.0) -> None:
        wait_until(self.all_acked, timeout, "the broker to acknowledge every publish")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the ingestor ------------------------------------------------------------------------------
def ingest_config(broker: MosquittoBroker, home: Path, **overrides: Any) -> IngestConfig:
    settings: dict[str, Any] = {
        "host": broker.host,
        "port": broker.port,
        "username": INGESTOR_USER,
        "password": broker.ingestor_password,
        "home": home,
        "batch_max_seconds": 0.2,
        "reconnect_max_delay": 1,
        **overrides,
    }
    return IngestConfig(**settings)


@dataclass
class InProcessIngestor:
    service: IngestService
    thread: threading.Thread
    result: dict[str, IngestStats] = field(default_factory=dict)

    @property
    def stats(self) -> IngestStats:
        return self.service.stats

    def stop(self) -> IngestStats:
        self.service.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the ingestor did not stop"
        return self.service.stats


@contextmanager
def ingestor(
    broker: MosquittoBroker,
    home: Path,
    after_landing: Callable[[Any], None] | None = None,
    **overrides: Any,
) -> Iterator[InProcessIngestor]:
    service = IngestService(ingest_config(broker, home, **overrides), after_landing=after_landing)
    thread = threading.Thread(target=service.run, name=f"ingest-{service.config.client_id}")
    thread.start()
    running = InProcessIngestor(service, thread)
    try:
        if not service.subscribed.wait(10):
            raise AssertionError("the ingestor did not subscribe")
        yield running
    finally:
        if thread.is_alive():
            running.stop()


def crashing_main(after_batches: int) -> int:
    """`python -m ingestion.mqtt`, except that the process SIGKILLs itself right after its
    `after_batches`-th batch is on disk and before that batch is acknowledged: the worst
    moment to die (run by `IngestorProcess(crash_after_batches=...)`)."""
    from ingestion.mqtt.__main__ import main

    landed_batches = 0

    def die_before_ack(batch: object) -> None:
        nonlocal landed_batches
        landed_batches += 1
        if landed_batches >= after_batches:
            os.kill(os.getpid(), signal.SIGKILL)

    return main(sys.argv[1:], after_landing=die_before_ack)


class IngestorProcess:
    """`python -m ingestion.mqtt` as a child process (for SIGKILL tests)."""

    def __init__(
        self,
        broker: MosquittoBroker,
        home: Path,
        workdir: Path,
        *extra: str,
        crash_after_batches: int | None = None,
    ):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.ready = workdir / "ready"
        self.stats_file = workdir / "stats.json"
        self.ready.unlink(missing_ok=True)
        self.stats_file.unlink(missing_ok=True)
        env = {
            **os.environ,
            "WATTPRINT_MQTT_PASSWORD": broker.ingestor_password,
            "PYTHONPATH": str(ROOT),
        }
        entry = ["-m", "ingestion.mqtt"]
        if crash_after_batches is not None:
            entry = [
                "-c",
                "import sys; from tests.integration.mqtt_fixtures import crashing_main;"
                f" sys.exit(crashing_main({crash_after_batches}))",
            ]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *entry,
                "--home",
                str(home),
                "--host",
                broker.host,
                "--port",
                str(broker.port),
                "--username",
                INGESTOR_USER,
                "--batch-max-seconds",
                "0.2",
                "--ready-file",
                str(self.ready),
                "--stats-file",
                str(self.stats_file),
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "stderr.log", "ab"),  # noqa: SIM115 - the child owns it
        )
        try:
            wait_until(
                lambda: self.ready.exists() or self.proc.poll() is not None,
                30,
                "the ingestor process to subscribe",
            )
        except AssertionError:
            self.kill()
            raise
        if self.proc.poll() is not None:
            raise AssertionError(f"ingestor exited: {self.log()}")

    def log(self) -> str:
        return (self.workdir / "stderr.log").read_text(errors="replace")

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        return json.loads(self.stats_file.read_text())

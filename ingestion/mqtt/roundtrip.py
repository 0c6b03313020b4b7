"""Send readings the live way — gateway messages → MQTT broker → ingestion service → landing
zone — and prove none was lost.

The demo uses it for the last simulated day: instead of writing those readings to the landing
zone directly, it publishes them as the plant's gateways would (one JSON message per gateway per
timestamp, QoS 1), runs `IngestService` in a thread until everything published has landed, and
then compares the raw_ids landed by that service with the raw_ids published.

The messages go to one topic of their own, `wattprint/<site>/demo-<token>/readings`, and the
service subscribes to exactly that topic (the payloads still name the simulated gateway), so
on a broker shared with a real plant or another demo nothing crosses over either way.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import paho.mqtt.client as mqtt
import polars as pl

from ingestion.mqtt.config import IngestConfig
from ingestion.mqtt.service import IngestService
from ingestion.mqtt.topics import readings_topic
from ingestion.simulator.live import gateway_messages


@dataclass(frozen=True)
class RoundTrip:
    published: int  # readings the broker acknowledged
    messages: int
    landed: int  # distinct published raw_ids found in the files the service landed
    missing: int  # published, not landed
    unexpected: int  # landed by the service, never published here
    duplicates: int  # copies the service dropped (re-deliveries)
    quarantined: int
    seconds: float

    @property
    def lossless(self) -> bool:
        return self.missing == 0 and self.unexpected == 0 and self.quarantined == 0


def send_through_mqtt(
    readings: pl.DataFrame,
    home: Path,
    host: str,
    port: int,
    *,
    protocol: str = "5",
    username: str | None = None,
    password: str | None = None,
    timeout: float = 120.0,
) -> RoundTrip:
    """Publish `readings` (landing schema, one site) at QoS 1 and land them through an
    `IngestService` on the same broker; returns the counts. Raises ConnectionError when the
    broker cannot be used (refused, unreachable, subscription denied)."""
    started = time.monotonic()
    token = secrets.token_hex(4)
    sites = readings["site_id"].unique().to_list()
    if len(sites) != 1:
        raise ValueError(f"one site at a time, got {sites}")
    topic = readings_topic(sites[0], f"demo-{token}")
    config = IngestConfig(
        host=host,
        port=port,
        protocol=protocol,
        username=username,
        password=password,
        client_id=f"wattprint-demo-{token}",
        topic_filter=topic,
        home=home,
        # A session for this round trip only: nothing is left queued on the broker after it.
        session_expiry_seconds=0,
        batch_max_seconds=0.5,
        dedup_warmup_seconds=0,
        stats_log_seconds=3600,
    )
    stop = threading.Event()
    service = IngestService(config, stop)
    worker = threading.Thread(target=service.run, name="demo-ingest", daemon=True)
    worker.start()
    try:
        if not service.subscribed.wait(15):
            raise ConnectionError(
                f"the ingestion service could not subscribe at {host}:{port} "
                "(refused, unreachable, or the credentials or ACL do not allow it)"
            )
        published, messages = _publish(readings, topic, host, port, username, password, token)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = service.stats.snapshot()
            handled = snap["readings_landed"] + snap["duplicates"] + snap["quarantined_total"]
            if handled >= published:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(60)
    snap = service.stats.snapshot()
    landed_ids = _landed_raw_ids(home, config.batch_prefix)
    sent_ids = set(readings["raw_id"].to_list())
    return RoundTrip(
        published=published,
        messages=messages,
        landed=len(sent_ids & landed_ids),
        missing=len(sent_ids - landed_ids),
        unexpected=len(landed_ids - sent_ids),
        duplicates=snap["duplicates"],
        quarantined=snap["quarantined_total"],
        seconds=time.monotonic() - started,
    )


def _publish(readings, topic, host, port, username, password, token) -> tuple[int, int]:
    """Every gateway message to `topic` at QoS 1, as fast as the broker acknowledges them;
    returns (readings, messages) acknowledged."""
    # MQTT 3.1.1 on the publishing side works with every broker, the embedded one included.
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"wattprint-demo-gw-{token}",
        protocol=mqtt.MQTTv311,
    )
    if username:
        client.username_pw_set(username, password)
    client.max_inflight_messages_set(100)  # a window of unacknowledged messages, not one
    try:
        client.connect(host, port, keepalive=30)
    except OSError as error:
        raise ConnectionError(f"cannot publish to {host}:{port}: {error}") from error
    client.loop_start()
    sent = messages = 0
    try:
        pending = []
        for message in gateway_messages(readings):
            pending.append((client.publish(topic, message.payload, qos=1), message.readings))
        for info, count in pending:
            info.wait_for_publish(timeout=60)
            if not info.is_published():
                raise ConnectionError(f"the broker at {host}:{port} did not acknowledge a message")
            sent += count
            messages += 1
    finally:
        client.loop_stop()
        client.disconnect()
    return sent, messages


def _landed_raw_ids(home: Path, batch_prefix: str) -> set[str]:
    glob = Path(home) / "landing" / "readings" / "**" / f"{batch_prefix}*.parquet"
    with duckdb.connect() as con:
        try:
            rows = con.execute(f"select distinct raw_id from read_parquet('{glob}')").fetchall()
        except duckdb.IOException:  # no file at all: nothing landed
            return set()
    return {r[0] for r in rows}

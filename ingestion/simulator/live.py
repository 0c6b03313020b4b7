"""The simulator's live mode: publish a simulation's readings over MQTT the way gateways do.

Each gateway sends one JSON message per interval carrying all of its meters' readings
(`wattprint/<site>/<gateway>/readings`, the layout `ingestion.mqtt` documents), in time order.
`speed` compresses time: 1.0 is real time (one interval every 15 minutes), 900.0 sends an
interval a second, None sends as fast as the broker acknowledges. The registry, production,
bills and factors are not telemetry: the caller lands them as files.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import polars as pl

INTERVAL_SECONDS = 900.0


@dataclass(frozen=True)
class GatewayMessage:
    interval_start: object  # datetime (UTC) of the readings' interval
    topic: str
    payload: bytes
    readings: int


def gateway_messages(readings: pl.DataFrame) -> Iterator[GatewayMessage]:
    """One message per gateway per timestamp, in time order. The gateway is the last part of
    the simulator's `source` (sim://<site>/<gateway>)."""
    frame = readings.with_columns(
        pl.col("source").str.split("/").list.last().alias("gateway"),
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts_text"),
    ).sort("ts", "gateway", "meter_id")
    for (ts, site, gateway), group in frame.group_by(
        "ts", "site_id", "gateway", maintain_order=True
    ):
        body = {
            "gateway": gateway,
            "readings": [
                {"meter": m, "ts": t, "value": v, "unit": u, "id": r}
                for m, t, v, u, r in group.select(
                    "meter_id", "ts_text", "value", "unit", "raw_id"
                ).iter_rows()
            ],
        }
        yield GatewayMessage(
            ts, f"wattprint/{site}/{gateway}/readings", json.dumps(body).encode(), group.height
        )


def publish(
    readings: pl.DataFrame,
    *,
    host: str = "127.0.0.1",
    port: int = 1883,
    username: str | None = None,
    password: str | None = None,
    client_id: str = "wattprint-simulator",
    speed: float | None = 900.0,
    stop_event: threading.Event | None = None,
) -> int:
    """Publish at QoS 1; returns the number of readings the broker acknowledged."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if username:
        client.username_pw_set(username, password)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    sent = 0
    previous = None
    try:
        for message in gateway_messages(readings):
            if stop_event is not None and stop_event.is_set():
                break
            if speed and previous is not None and message.interval_start != previous:
                gap = (message.interval_start - previous).total_seconds()
                time.sleep(gap / speed)
            previous = message.interval_start
            info = client.publish(message.topic, message.payload, qos=1)
            # Waiting for the broker's PUBACK is the backpressure: never more than one
            # message in flight, never an unbounded client-side queue.
            info.wait_for_publish(timeout=60)
            if not info.is_published():
                raise ConnectionError(f"the broker did not acknowledge {message.topic}")
            sent += message.readings
    finally:
        client.loop_stop()
        client.disconnect()
    return sent

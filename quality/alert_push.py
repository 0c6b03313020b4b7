"""Pushing alerts to the people who act on them: an MQTT topic and/or a webhook.

Each alert is delivered once per channel: the caller passes the ids already delivered (the
warehouse's quality.alert_deliveries) and records what `deliver` returns. A channel that fails
delivers nothing further in that call and reports the error, so the remaining alerts are
retried on the next run instead of being lost or sent twice.

Message (JSON, one per alert): every ALERT_SCHEMA field, timestamps as ISO-8601 UTC with 'Z'.
MQTT topic: <prefix>/<site_id>/alerts/<rule>, QoS 1, not retained (an alert is an event).
Webhook: HTTP POST of the message with Content-Type application/json; any 2xx is delivered.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int = 1883
    topic_prefix: str = "wattprint"
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, spec: str, username: str | None = None, password: str | None = None):
        """'host[:port][/topic/prefix]', e.g. 'broker.plant.local:1883/wattprint'."""
        address, _, prefix = spec.partition("/")
        host, _, port = address.partition(":")
        if not host:
            raise ValueError(
                f"alert MQTT target {spec!r} has no host (expected host[:port][/prefix])"
            )
        try:
            number = int(port) if port else 1883
        except ValueError as error:
            raise ValueError(
                f"alert MQTT target {spec!r}: port {port!r} is not a number"
            ) from error
        return cls(host, number, prefix.strip("/") or "wattprint", username, password)


@dataclass
class Delivery:
    channel: str  # "mqtt" | "webhook"
    delivered: list[str] = field(default_factory=list)  # alert ids
    error: str | None = None


def alert_messages(alerts: pl.DataFrame) -> list[dict]:
    """The alerts as JSON-ready dicts, in detection order."""
    rows = alerts.sort("detected_at_utc", "alert_id", nulls_last=True).to_dicts()
    return [{k: _jsonable(v) for k, v in row.items()} for row in rows]


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    return value


def pending(alerts: pl.DataFrame, delivered_ids: set[str]) -> pl.DataFrame:
    return alerts.filter(~pl.col("alert_id").is_in(sorted(delivered_ids)))


def push_mqtt(messages: list[dict], target: MqttTarget, timeout_s: float = 10.0) -> Delivery:
    import paho.mqtt.client as mqtt

    result = Delivery("mqtt")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    if target.username:
        client.username_pw_set(target.username, target.password)
    try:
        client.connect(target.host, target.port, keepalive=30)
    except OSError as error:
        result.error = f"cannot reach the alert broker {target.host}:{target.port}: {error}"
        return result
    client.loop_start()
    try:
        for message in messages:
            topic = f"{target.topic_prefix}/{message['site_id']}/alerts/{message['rule']}"
            info = client.publish(topic, json.dumps(message), qos=1)
            info.wait_for_publish(timeout_s)
            if not info.is_published():
                result.error = (f"the alert broker did not acknowledge {message['alert_id']} "
                                f"within {timeout_s:.0f} s (rc={info.rc})")
                break
            result.delivered.append(message["alert_id"])
    finally:
        client.disconnect()
        client.loop_stop()
    return result


def push_webhook(messages: list[dict], url: str, timeout_s: float = 10.0) -> Delivery:
    result = Delivery("webhook")
    for message in messages:
        request = urllib.request.Request(
            url, data=json.dumps(message).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError) as error:
            result.error = f"cannot reach the alert webhook {url}: {error}"
            break
        if not 200 <= status < 300:
            result.error = (
                f"the alert webhook {url} answered HTTP {status} for {message['alert_id']}"
            )
            break
        result.delivered.append(message["alert_id"])
    return result

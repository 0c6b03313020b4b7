"""Health checks of a Wattprint deployment, one function per service, for `wattprint health`.

Each answers one question a service manager or an on-call person asks, with the evidence:
- webserver:   does the Dagster UI answer `GET /server_info`?
- daemon:      has every daemon the instance needs (sensors, backfills, run queue, ...) sent a
               heartbeat recently? (the heartbeats are in the instance's storage)
- broker:      does the MQTT broker accept a connection with these credentials?
- ingest:      has the ingestion service landed a readings file recently?
- publication: is the published warehouse (what BI tools read) recent?
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Health:
    check: str
    ok: bool
    detail: str


def webserver(url: str, timeout: float = 5.0) -> Health:
    endpoint = url.rstrip("/") + "/server_info"
    try:
        with urllib.request.urlopen(endpoint, timeout=timeout) as response:
            body = json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Health("webserver", False, f"{endpoint}: {getattr(error, 'reason', error)}")
    version = body.get("dagster_webserver_version") if isinstance(body, dict) else None
    if not version:
        return Health("webserver", False, f"{endpoint} answered, but not as dagster-webserver")
    return Health("webserver", True, f"{endpoint}: dagster-webserver {version}")


def daemon(
    instance_factory: Callable[[], object] | None = None, max_age_seconds: float = 120.0
) -> Health:
    """Every daemon the instance requires ($DAGSTER_HOME/dagster.yaml decides which) has
    written a heartbeat in the last `max_age_seconds`. Daemons beat every 30 s; Dagster's own
    status tolerates 30 minutes, far too long for a service manager to notice a dead daemon."""
    import dagster as dg

    factory = instance_factory or dg.DagsterInstance.get
    try:
        with factory() as instance:
            required = sorted(instance.get_required_daemon_types())
            beats = instance.get_daemon_heartbeats()
    except Exception as error:  # storage unreachable is the answer, not a crash
        return Health("daemon", False, f"cannot read the instance: {error}")
    if not required:
        return Health("daemon", False, "the instance requires no daemon (an ephemeral instance?)")
    now = time.time()
    late = []
    for name in required:
        beat = beats.get(name)
        if beat is None:
            late.append(f"{name} (no heartbeat)")
        elif now - beat.timestamp > max_age_seconds:
            late.append(f"{name} (last heartbeat {now - beat.timestamp:.0f} s ago)")
    if late:
        return Health("daemon", False, "not alive: " + ", ".join(late))
    return Health("daemon", True, f"{len(required)} daemons alive: {', '.join(required)}")


def broker(
    host: str,
    port: int,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 5.0,
) -> Health:
    """Connect with MQTT v5 and a throw-away client id (never the ingestor's: the broker would
    disconnect the service holding that id) and wait for the CONNACK."""
    import os

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    answered = threading.Event()
    outcome: dict[str, object] = {}

    def on_connect(client, userdata, flags, reason_code, properties):
        outcome["reason"] = reason_code
        answered.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"wattprint-health-{os.getpid()}",
        protocol=mqtt.MQTTv5,
    )
    if username:
        client.username_pw_set(username, password)
    client.on_connect = on_connect
    where = f"{host}:{port}"
    try:
        client.connect(host, port, keepalive=10)
    except OSError as error:
        return Health("broker", False, f"{where}: {error}")
    client.loop_start()
    try:
        if not answered.wait(timeout):
            return Health("broker", False, f"{where}: no CONNACK within {timeout:.0f} s")
        reason = outcome["reason"]
        if reason.is_failure:
            return Health("broker", False, f"{where} refused the connection: {reason}")
        return Health("broker", True, f"{where} accepted {username or 'an anonymous client'}")
    finally:
        client.disconnect()
        client.loop_stop()


def ingest(home: Path, max_age_minutes: float) -> Health:
    """The newest readings file in the landing zone (the service writes one per micro-batch)."""
    readings = home / "landing" / "readings"
    newest = _newest_file(readings)
    if newest is None:
        return Health("ingest", False, f"no readings landed under {readings}")
    age = (time.time() - newest.stat().st_mtime) / 60
    detail = f"newest readings file landed {age:.1f} min ago ({newest.name})"
    return Health("ingest", age <= max_age_minutes, f"{detail}; limit {max_age_minutes:g} min")


def publication(path: Path, max_age_minutes: float) -> Health:
    from orchestration.publishing.snapshot import read_publication

    try:
        meta = read_publication(path)
    except Exception as error:
        return Health("publication", False, f"{path}: {error}")
    if meta is None:
        return Health("publication", False, f"nothing published at {path} yet")
    published = meta["published_at_utc"].replace(tzinfo=UTC)
    age = (datetime.now(UTC) - published).total_seconds() / 60
    return Health(
        "publication",
        age <= max_age_minutes,
        f"published {age:.1f} min ago from run {meta['source_run_id'][:8]}; "
        f"limit {max_age_minutes:g} min",
    )


def _newest_file(readings: Path) -> Path | None:
    """Only the two most recent date folders of each site are looked at: a live plant lands
    into today's, and the landing zone may hold years of history."""
    if not readings.exists():
        return None
    candidates: list[Path] = []
    for site in readings.glob("site=*"):
        days = sorted(site.glob("date=*"))
        for day in days[-2:]:
            candidates += day.glob("*.parquet")
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)

"""The broker we ship (deploy/mosquitto/mosquitto.conf): the tests run this very file, and its
access rules hold — a gateway publishes only under its own site, the ingestor only reads."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingestion.mqtt.broker import INGESTOR_USER, SHIPPED_CONFIG
from tests.integration.mqtt_fixtures import (
    SITE_A,
    SITE_B,
    Publisher,
    ingestor,
    make_home,
    reading,
    running_broker,
    topic,
    wait_until,
)

pytestmark = pytest.mark.integration

REPLACED = {"listener", "persistence_location", "password_file", "acl_file", "log_dest", "user"}


def _directives(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_test_broker_runs_the_shipped_config_with_only_paths_and_port_replaced(tmp_path):
    with running_broker(tmp_path / "broker") as broker:
        rendered = _directives(broker.config_file.read_text())
    shipped = _directives(SHIPPED_CONFIG.read_text())
    keep = [line for line in shipped if line.split()[0] not in REPLACED]
    assert [line for line in rendered if line.split()[0] not in REPLACED] == keep
    for must in (
        "allow_anonymous false",
        "persistence true",
        "autosave_interval 30",
        "max_queued_messages 2000000",
        "max_queued_bytes 4294967296",
    ):
        assert must in shipped


def _connect_result(broker, username, password) -> str:
    done = threading.Event()
    result: dict[str, str] = {}

    def on_connect(client, userdata, flags, rc, props):
        result["rc"] = str(rc)
        done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe", protocol=mqtt.MQTTv5)
    if username is not None:
        client.username_pw_set(username, password)
    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    done.wait(5)
    client.disconnect()
    client.loop_stop()
    return result.get("rc", "no answer")


def test_anonymous_and_wrong_passwords_are_refused(tmp_path):
    with running_broker(tmp_path / "broker") as broker:
        assert _connect_result(broker, None, None) != "Success"
        assert _connect_result(broker, INGESTOR_USER, "wrong") != "Success"
        assert _connect_result(broker, *broker.credentials(INGESTOR_USER)) == "Success"


def test_a_gateway_publishes_only_under_its_site_and_the_ingestor_cannot_publish(tmp_path):
    """The SITE-A gateway's message to a SITE-B topic and the ingestor user's own publish are
    dropped by the broker; only the allowed message (published last on the same connection,
    so it arrives after the others would have) reaches the ingestor."""
    home = make_home(tmp_path / "home")
    ts = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with running_broker(tmp_path / "broker") as broker, ingestor(broker, home) as ing:
        with Publisher(broker, user=INGESTOR_USER, client_id="ingestor-as-gateway") as rogue:
            rogue.publish(json.dumps(reading("A-01", ts, id="from-ingestor-user")))
            rogue.wait_acked()
        with Publisher(broker) as gateway_a:
            gateway_a.publish(json.dumps(reading("B-01", ts, id="other-site")), to=topic(SITE_B))
            gateway_a.publish(json.dumps(reading("A-01", ts, id="allowed")), to=topic(SITE_A))
            gateway_a.wait_acked()
        wait_until(lambda: ing.stats.readings_received >= 1)
        stats = ing.stop()
    assert stats.readings_received == 1 and stats.readings_landed == 1

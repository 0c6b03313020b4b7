"""Alerts reach a real Mosquitto and a real HTTP webhook exactly once per channel, and a
channel that is down delivers nothing and records nothing (retried on the next run)."""

import json
import socket
import subprocess
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import paho.mqtt.client as mqtt
import polars as pl
import pytest

from orchestration.defs.quality.deliveries import deliver_alerts
from orchestration.settings import Settings
from quality.alerts import ALERT_SCHEMA

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alerts(n: int) -> pl.DataFrame:
    rows = [
        {
            "alert_id": f"energy_per_unit:S1:AIR-C02:{i}",
            "site_id": "S1",
            "rule": "energy_per_unit",
            "severity": "warning",
            "equipment_id": "AIR-C02",
            "window_start_utc": datetime(2026, 1, 5, i),
            "window_end_utc": datetime(2026, 1, 5, i + 1),
            "detected_at_utc": datetime(2026, 1, 5, i + 1),
            "excess_kwh": 10.0 * (i + 1),
            "excess_kg_co2e": 4.94 * (i + 1),
            "probable_cause": "AIR-C02 explains 100% of the excess",
        }
        for i in range(n)
    ]
    return pl.DataFrame(rows, schema_overrides={k: v for k, v in ALERT_SCHEMA.items()
                                                if k in rows[0]}).select(
        [pl.col(c) if c in rows[0] else pl.lit(None, dtype=t).alias(c)
         for c, t in ALERT_SCHEMA.items()]
    )


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema quality")
        con.register("a", _alerts(3).to_arrow())
        con.execute("create table quality.alerts as select * from a")
    return path


@pytest.fixture
def broker(tmp_path):
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(5)


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).status == 200:
            type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Webhook.received = []
    _Webhook.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", _Webhook
    server.shutdown()


def _subscribe(port: int, received: list):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="alert-reader")
    ready = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("wattprint/+/alerts/#", qos=1)
    client.on_subscribe = lambda *a: ready.set()
    client.on_message = lambda c, u, m: received.append((m.topic, json.loads(m.payload)))
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert ready.wait(10)
    return client


def _settings(tmp_path, **channels) -> Settings:
    return Settings(home=tmp_path, timezone="UTC", partition_start="2026-01-01", **channels)


def test_each_alert_is_pushed_once_per_channel(tmp_path, warehouse, broker, webhook):
    url, handler = webhook
    received: list = []
    reader = _subscribe(broker, received)
    settings = _settings(tmp_path, alert_mqtt=f"127.0.0.1:{broker}/wattprint", alert_webhook=url)
    with duckdb.connect(str(warehouse)) as con:
        first = deliver_alerts(con, settings)
        again = deliver_alerts(con, settings)
        recorded = con.execute(
            "select channel, count(*) from quality.alert_deliveries group by all order by 1"
        ).fetchall()
    deadline = time.time() + 10
    while len(received) < 3 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more may arrive
    reader.loop_stop()

    assert [(o.channel, len(o.delivered), o.error) for o in first] == [
        ("mqtt", 3, None), ("webhook", 3, None)]
    assert [len(o.delivered) for o in again] == [0, 0]
    assert recorded == [("mqtt", 3), ("webhook", 3)]
    assert sorted(t for t, _ in received) == ["wattprint/S1/alerts/energy_per_unit"] * 3
    assert sorted(m["alert_id"] for _, m in received) == sorted(
        m["alert_id"] for m in handler.received)
    message = next(m for _, m in received if m["alert_id"].endswith(":1"))
    assert message["excess_kwh"] == 20.0 and message["excess_kg_co2e"] == pytest.approx(9.88)
    assert message["window_start_utc"] == "2026-01-05T01:00:00Z"
    assert message["probable_cause"].startswith("AIR-C02")


def test_a_failing_channel_records_nothing_and_retries(tmp_path, warehouse, webhook):
    url, handler = webhook
    handler.status = 503
    dead = _free_port()  # nothing listens there
    settings = _settings(tmp_path, alert_mqtt=f"127.0.0.1:{dead}", alert_webhook=url)
    with duckdb.connect(str(warehouse)) as con:
        outcomes = deliver_alerts(con, settings)
        assert con.execute("select count(*) from quality.alert_deliveries").fetchall() == [(0,)]
        assert "cannot reach the alert broker" in outcomes[0].error
        assert "HTTP 503" in outcomes[1].error
        handler.status = 200
        retried = deliver_alerts(con, _settings(tmp_path, alert_webhook=url))
    assert [(o.channel, len(o.delivered)) for o in retried] == [("webhook", 3)]

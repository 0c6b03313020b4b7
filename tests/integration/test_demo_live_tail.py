"""The demo's live path on a machine with no broker: the last simulated day goes through an
embedded amqtt broker and the ingestion service, and every reading arrives — exactly once,
with the value it was published with."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

from ingestion.mqtt.broker import free_port
from ingestion.mqtt.embedded import EmbeddedBroker, find_broker
from ingestion.simulator import PlantConfig, simulate
from orchestration.cli.live_tail import MqttOptions, simulate_with_live_tail
from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 1, 5)
DAYS = 2


def _landed(home) -> pl.DataFrame:
    glob = home / "landing" / "readings" / "**" / "*.parquet"
    with duckdb.connect() as con:
        return con.sql(
            f"select raw_id, value, landing_batch_id from read_parquet('{glob}', "
            "union_by_name=true)"
        ).pl()


def test_embedded_broker_delivers_every_reading_of_the_last_day(tmp_path):
    settings = configure(home=tmp_path)
    # embedded=True: whatever listens on 127.0.0.1:1883 on this machine is ignored
    tail = simulate_with_live_tail(settings, DAYS, 7, START, MqttOptions(embedded=True))

    truth = simulate(PlantConfig(seed=7, start_date=START, days=DAYS)).readings
    last_day = datetime(2026, 1, 6, tzinfo=ZoneInfo("Asia/Taipei")).astimezone(UTC)
    over_mqtt = truth.filter(pl.col("ts") >= last_day)
    assert over_mqtt.height > 1000
    assert "embedded amqtt broker" in tail.broker and tail.why_embedded == "asked for"
    trip = tail.trip
    assert (trip.published, trip.landed) == (over_mqtt.height, over_mqtt.height)
    assert (trip.missing, trip.unexpected, trip.quarantined, trip.duplicates) == (0, 0, 0, 0)
    assert tail.counts["readings"] == truth.height - over_mqtt.height

    # The landing zone now holds the whole simulation once: files + MQTT, nothing twice, and
    # every value as the simulator produced it.
    landed = _landed(tmp_path)
    assert landed.height == truth.height == landed["raw_id"].n_unique()
    mqtt_rows = landed.filter(pl.col("landing_batch_id").str.starts_with("mqtt-"))
    assert sorted(mqtt_rows["raw_id"]) == sorted(over_mqtt["raw_id"])
    joined = truth.select("raw_id", "value").join(landed, on="raw_id", suffix="_landed")
    assert joined.height == truth.height
    assert (joined["value"] == joined["value_landed"]).all()


def test_no_broker_at_the_address_starts_an_embedded_one():
    port = free_port()  # nothing listens there
    choice = find_broker("127.0.0.1", port)
    try:
        assert choice.embedded is not None and choice.protocol == "3.1.1"
        assert choice.reason == f"no MQTT broker answered at 127.0.0.1:{port}"
        assert (choice.host, choice.port) == (choice.embedded.host, choice.embedded.port)
    finally:
        choice.stop()


def test_a_broker_answering_at_the_address_is_used():
    with EmbeddedBroker() as running:
        choice = find_broker(running.host, running.port)
        assert choice.embedded is None and (choice.host, choice.port) == (
            running.host,
            running.port,
        )

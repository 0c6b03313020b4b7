"""Scaling out: two ingestors (own client ids, one shared-subscription group) split the stream."""

from __future__ import annotations

import re

import pytest

from tests.integration.mqtt_fixtures import (
    Publisher,
    ingestor,
    landed,
    make_home,
    running_broker,
    stream,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_two_ingestors_on_a_shared_subscription_split_the_stream_without_loss_or_double(tmp_path):
    """`$share/wattprint/wattprint/+/+/readings`: each of the 200 messages (10,000 readings)
    goes to exactly one ingestor; both get a share; together they land every reading once."""
    home = make_home(tmp_path / "home")
    messages = stream(200, 50)
    published = {rid for _, ids in messages for rid in ids}
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home, client_id="ingest-a", shared_group="wattprint") as a,
        ingestor(broker, home, client_id="ingest-b", shared_group="wattprint") as b,
        Publisher(broker) as pub,
    ):
        for payload, _ in messages:
            pub.publish(payload)
        pub.wait_acked()
        wait_until(lambda: a.stats.readings_received + b.stats.readings_received >= 10_000)
        stats_a, stats_b = a.stop(), b.stop()
    assert stats_a.messages_received + stats_b.messages_received == 200
    assert stats_a.messages_received > 0 and stats_b.messages_received > 0
    assert stats_a.readings_landed + stats_b.readings_landed == 10_000
    frame = landed(home)
    assert frame.height == 10_000 and set(frame["raw_id"]) == published
    # each file says which ingestor landed it
    files = (home / "landing" / "readings").rglob("mqtt-*.parquet")
    by_client = {re.match(r"(mqtt-.+?)-\d{8}T", p.name).group(1) for p in files}
    assert by_client == {"mqtt-ingest-a", "mqtt-ingest-b"}

"""Memory stays bounded when landing is slower than the gateways, and nothing is dropped."""

from __future__ import annotations

import time

import pytest

from tests.integration.mqtt_fixtures import (
    Publisher,
    ingestor,
    landed,
    make_home,
    running_broker,
    stream,
)

pytestmark = pytest.mark.integration


def test_a_slow_writer_holds_at_most_its_buffer_and_loses_nothing(tmp_path):
    """A writer that takes 0.15 s per batch against a gateway publishing as fast as it can,
    with a small in-flight window (Receive Maximum 20, so the hand-off buffer holds at most
    2 x 20 + 100 messages). A broker honouring the window never sends more; Mosquitto 2.0.11
    overshoots it once it has a backlog, and then the buffer pushes back (the network thread
    waits, TCP holds the rest in the broker). Either way: the buffer never exceeds its bound,
    every reading lands exactly once, and the broker kept what we could not take yet."""
    home = make_home(tmp_path / "home")
    messages = stream(1500, 10)
    published = {rid for _, ids in messages for rid in ids}
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(
            broker, home, after_landing=lambda batch: time.sleep(0.15), receive_maximum=20
        ) as ing,
        Publisher(broker, max_inflight=1000) as pub,
    ):
        bound = ing.service.config.queue_max_messages
        for payload, _ in messages:
            pub.publish(payload)
        most = 0
        deadline = time.monotonic() + 90
        while ing.stats.readings_landed < len(published) and time.monotonic() < deadline:
            most = max(most, ing.service.inbox.qsize())
            time.sleep(0.005)
        stats = ing.stop()
    assert most <= bound == 140
    assert stats.readings_landed == len(published) == 15_000
    frame = landed(home)
    assert frame.height == 15_000 and set(frame["raw_id"]) == published
    assert stats.messages_received == stats.messages_acked == 1500
    print(f"most buffered: {most} of {bound}; buffer full {stats.buffer_full_waits} times")

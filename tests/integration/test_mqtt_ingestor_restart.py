"""The ingestor dies or goes away while gateways keep publishing; the broker keeps its persistent
session (subscription + queued messages) and re-delivers what it never acknowledged.

Guarantee: zero lost and zero double. Every published raw_id lands (the broker re-delivers
anything the ingestor had not acknowledged, and queues what arrives while it is away), and each
lands once: re-delivered copies of readings that had landed but were not yet acknowledged when
the process died are dropped because the restarted ingestor reloads the raw_ids it landed
recently (dedup warm-up). Were that warm-up window exceeded, duplicates could land — still with
exactly the published set of raw_ids, which dbt staging deduplicates; these tests assert both
the exact set and the exact row count.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.mqtt_fixtures import (
    IngestorProcess,
    Publisher,
    ingestor,
    landed,
    landed_count,
    make_home,
    running_broker,
    stream,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_ingestor_killed_mid_stream_then_restarted_loses_nothing_and_doubles_nothing(tmp_path):
    """`python -m ingestion.mqtt` is SIGKILLed while 10,000 readings stream in (some landed and
    not yet acknowledged, some in flight, the rest queued by the broker while it is down), then
    started again with the same client id."""
    home = make_home(tmp_path / "home")
    messages = stream(200, 50)
    published = {rid for _, ids in messages for rid in ids}
    with running_broker(tmp_path / "broker") as broker, Publisher(broker) as pub:
        first = IngestorProcess(broker, home, tmp_path / "ingest-1")
        progress = {"sent": 0}

        def publish_all() -> None:
            for payload, _ in messages:
                pub.publish(payload)
                progress["sent"] += 1
                time.sleep(0.01)

        thread = threading.Thread(target=publish_all)
        thread.start()
        wait_until(lambda: landed_count(home) >= 2000, what="the first batches to land")
        first.kill()
        killed_at = progress["sent"]
        time.sleep(0.5)  # publishing goes on while no ingestor is connected
        second = IngestorProcess(broker, home, tmp_path / "ingest-2")
        thread.join(60)
        pub.wait_acked()
        wait_until(lambda: landed_count(home) >= len(published), 60, "everything to land")
        time.sleep(0.5)  # a straggling duplicate would land now
        stats = second.terminate()
    assert killed_at < len(messages)  # the kill really was mid-stream
    frame = landed(home)
    assert set(frame["raw_id"]) == published  # zero lost
    assert frame.height == len(published) == 10_000, stats  # zero double
    assert stats["readings_received"] == stats["readings_landed"] + stats["duplicates"]


def test_ingestor_dying_between_landing_and_acknowledging_lands_nothing_twice(tmp_path):
    """The worst moment: the process SIGKILLs itself right after its third batch is durably on
    disk and before any message of that batch is acknowledged. The broker re-delivers that
    batch to the restarted ingestor, which recognises every one of those readings (dedup warm-up
    from the files it landed) — so the re-delivered copies are counted as duplicates, not
    landed again."""
    home = make_home(tmp_path / "home")
    messages = stream(120, 50)
    published = {rid for _, ids in messages for rid in ids}
    with running_broker(tmp_path / "broker") as broker, Publisher(broker) as pub:
        first = IngestorProcess(broker, home, tmp_path / "ingest-1", crash_after_batches=3)
        progress = {"sent": 0}

        def publish_all() -> None:
            for payload, _ in messages:
                pub.publish(payload)
                progress["sent"] += 1
                time.sleep(0.01)

        thread = threading.Thread(target=publish_all)
        thread.start()
        assert first.wait(30) == -9  # it died by SIGKILL
        died_at = progress["sent"]
        landed_before = landed_count(home)
        second = IngestorProcess(broker, home, tmp_path / "ingest-2")
        thread.join(60)
        pub.wait_acked()
        wait_until(lambda: landed_count(home) >= len(published), 60, "everything to land")
        time.sleep(0.5)
        stats = second.terminate()
    assert died_at < len(messages)
    frame = landed(home)
    assert set(frame["raw_id"]) == published  # zero lost
    assert frame.height == len(published) == 6000  # zero double
    # the unacknowledged third batch came back and was recognised, reading by reading
    assert 0 < stats["duplicates"] <= landed_before
    assert stats["readings_landed"] == len(published) - landed_before


def test_ingestor_offline_while_publishing_continues_gets_everything_when_back(tmp_path):
    """The ingestor stops cleanly; 5,000 readings are published while it is away, and the broker
    is restarted cleanly (SIGTERM) during the outage — the queued messages survive that, being
    persisted on a clean stop. Back online, the session delivers all of them."""
    home = make_home(tmp_path / "home")
    messages = stream(100, 50)
    with running_broker(tmp_path / "broker") as broker:
        with ingestor(broker, home) as ing:  # the persistent session now exists
            assert ing.stop().readings_received == 0
        with Publisher(broker) as pub:
            for payload, _ in messages[:50]:
                pub.publish(payload)
            pub.wait_acked()
            broker.stop()
            broker.start()
            for payload, _ in messages[50:]:
                pub.publish(payload)
            pub.wait_acked()
        with ingestor(broker, home) as ing:
            wait_until(lambda: ing.stats.readings_received >= 5000)
            stats = ing.stop()
    frame = landed(home)
    assert set(frame["raw_id"]) == {rid for _, ids in messages for rid in ids}
    assert frame.height == stats.readings_landed == 5000
    assert stats.duplicates == 0

"""The broker stops or crashes while readings flow. What survives follows from the shipped
persistence settings (persistence on, autosave every 30 s, written on a clean stop):

- SIGTERM: the broker writes its database and exits. Sessions, subscriptions and queued
  messages survive; publishers re-send what the broker had not acknowledged. Nothing is lost.
- SIGKILL: the broker restarts from its last save. Anything it accepted AND acknowledged since
  then, but had not yet passed on, is lost — the publisher will not re-send a message the broker
  acknowledged. What a publisher had in flight (not acknowledged) is re-sent, because gateways
  publish at QoS 1 with a persistent session. With the ingestor online and keeping up, the broker
  hands each message on as it arrives, so nothing is lost; with the ingestor offline, the queue
  built since the last save is lost (the third test pins that down exactly).
In every case the ingestor lands each reading once: re-sent copies are dropped by raw_id.
"""

from __future__ import annotations

import threading
import time

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


def _publish_in_background(pub: Publisher, payloads: list[bytes], pause: float):
    progress = {"sent": 0}

    def run() -> None:
        for payload in payloads:
            pub.publish(payload)
            progress["sent"] += 1
            time.sleep(pause)

    thread = threading.Thread(target=run, name="gateway")
    thread.start()
    return thread, progress


def _restart_mid_stream(tmp_path, crash: bool) -> None:
    home = make_home(tmp_path / "home")
    messages = stream(200, 50)  # 10,000 readings
    published = {rid for _, ids in messages for rid in ids}
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home) as ing,
        Publisher(broker) as pub,
    ):
        broker.save()  # both sessions are now on disk: "what the broker had persisted"
        thread, progress = _publish_in_background(pub, [p for p, _ in messages], pause=0.01)
        wait_until(lambda: progress["sent"] >= 70, what="part of the stream to be published")
        assert progress["sent"] < len(messages)  # really mid-stream
        if crash:
            broker.kill()
        else:
            broker.stop()
        time.sleep(0.5)  # readings keep coming while the broker is down: the gateway queues
        broker.start()
        thread.join(60)
        pub.wait_acked(60)
        wait_until(
            lambda: ing.stats.readings_landed >= len(published),
            60,
            "every published reading to land",
        )
        stats = ing.stop()
    frame = landed(home)
    assert set(frame["raw_id"]) == published  # zero lost
    assert frame.height == len(published) == 10_000  # zero double
    assert stats.readings_received == stats.readings_landed + stats.duplicates
    assert stats.connects >= 2  # the ingestor did reconnect


def test_broker_clean_stop_mid_stream_loses_nothing_and_doubles_nothing(tmp_path):
    """SIGTERM mid-stream, restart: every reading lands exactly once."""
    _restart_mid_stream(tmp_path, crash=False)


def test_broker_crash_mid_stream_with_ingestor_online_loses_nothing(tmp_path):
    """SIGKILL mid-stream, restart from the last save: the gateway re-sends its unacknowledged
    messages, the ingestor had everything else already; every reading lands exactly once."""
    _restart_mid_stream(tmp_path, crash=True)


def test_broker_crash_loses_the_queue_built_since_its_last_save(tmp_path):
    """With the ingestor offline, the broker queues for its session. Queue A is saved
    (SIGUSR1), queue B is not; SIGKILL: exactly A is delivered when the ingestor returns and
    B is gone — the documented cost of a crash between autosaves (autosave is pushed out to an
    hour here so no timed save interferes)."""
    home = make_home(tmp_path / "home")
    part_a, part_b = stream(20, 10)[:10], stream(20, 10)[10:]
    with running_broker(tmp_path / "broker", autosave_interval="3600") as broker:
        with ingestor(broker, home) as ing:  # create the ingestor's persistent session
            ing.stop()
        with Publisher(broker) as pub:
            for payload, _ in part_a:
                pub.publish(payload)
            pub.wait_acked()
            broker.save()
            for payload, _ in part_b:
                pub.publish(payload)
            pub.wait_acked()
        broker.kill()
        broker.start()
        with ingestor(broker, home) as ing:
            wait_until(lambda: ing.stats.readings_received >= 100)
            time.sleep(1.0)  # anything else would have arrived by now
            stats = ing.stop()
    frame = landed(home)
    assert set(frame["raw_id"]) == {rid for _, ids in part_a for rid in ids}
    assert frame.height == stats.readings_landed == 100

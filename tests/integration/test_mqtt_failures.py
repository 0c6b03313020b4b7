"""When writing fails or the service itself has a bug: nothing is acknowledged before it is
durably on disk, nothing is lost, and the service keeps running."""

from __future__ import annotations

import json
import time

import pytest

from ingestion.landing import LandingZone
from ingestion.mqtt import service as service_module
from tests.integration.mqtt_fixtures import (
    Publisher,
    ingestor,
    landed,
    make_home,
    quarantined,
    running_broker,
    stream,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_a_failing_disk_delays_the_acknowledgement_never_loses_a_reading(tmp_path, monkeypatch):
    """The first two attempts to land a batch fail (disk full, say). The service retries with
    backoff and acknowledges nothing meanwhile; once the write succeeds, every reading is there
    exactly once and every message is acknowledged."""
    home = make_home(tmp_path / "home")
    real_write = LandingZone.write
    failures = {"left": 2}
    acked_while_failing: list[int] = []

    def flaky_write(self, kind, rows, batch_id=None):
        if kind == "readings" and failures["left"]:
            failures["left"] -= 1
            acked_while_failing.append(ing.stats.messages_acked)
            raise OSError(28, "No space left on device")
        return real_write(self, kind, rows, batch_id=batch_id)

    monkeypatch.setattr(LandingZone, "write", flaky_write)
    messages = stream(20, 50)
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home, batch_max_seconds=0.5) as ing,
        Publisher(broker) as pub,
    ):
        for payload, _ in messages:
            pub.publish(payload)
        pub.wait_acked()
        wait_until(lambda: ing.stats.readings_landed >= 1000, what="the retry to succeed")
        stats = ing.stop()
    assert acked_while_failing == [0, 0]
    assert stats.landing_failures == 2
    assert stats.messages_acked == stats.messages_received == 20
    frame = landed(home)
    assert frame.height == 1000
    assert set(frame["raw_id"]) == {rid for _, ids in messages for rid in ids}


def test_a_bug_in_processing_quarantines_the_batch_whole_and_the_service_carries_on(
    tmp_path, monkeypatch
):
    """The first batch makes the processing code raise. Its messages are kept in the quarantine
    (reason internal_error, payload as received) so they can be replayed, they are
    acknowledged, and the next batches land normally."""
    home = make_home(tmp_path / "home")
    real_process = service_module.process
    calls = {"n": 0}

    def buggy_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ZeroDivisionError("a bug")
        return real_process(*args, **kwargs)

    monkeypatch.setattr(service_module, "process", buggy_once)
    first, later = stream(30, 10)[:3], stream(30, 10)[3:]
    with running_broker(tmp_path / "broker") as broker, ingestor(broker, home) as ing:
        with Publisher(broker) as pub:
            for payload, _ in first:
                pub.publish(payload)
            pub.wait_acked()
            wait_until(lambda: ing.stats.readings_received >= 3)
            time.sleep(0.3)
            for payload, _ in later:
                pub.publish(payload)
            pub.wait_acked()
        wait_until(lambda: ing.stats.readings_landed >= 270)
        stats = ing.stop()
    assert stats.quarantined == {"internal_error": 3}
    rows = quarantined(home)
    assert rows["reason"].to_list() == ["internal_error"] * 3
    assert [json.loads(t) for t in rows["original"]] == [json.loads(p) for p, _ in first]
    assert stats.readings_landed == 270 and landed(home).height == 270
    assert stats.messages_acked == 30

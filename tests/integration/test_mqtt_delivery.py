"""The ingestion service against a real Mosquitto running the shipped config: what lands, what
is deduplicated, what is quarantined and where late data goes. Exact counts throughout."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest

from tests.integration.mqtt_fixtures import (
    A_METERS,
    SITE_A,
    SITE_B,
    Publisher,
    gateway_message,
    ingestor,
    iso,
    landed,
    make_home,
    quarantine_files,
    quarantined,
    reading,
    running_broker,
    stream,
    topic,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_gateway_and_single_reading_messages_land_with_the_documented_mapping(tmp_path):
    """20 gateway messages x 50 readings and 100 single-reading messages → exactly 1,100 rows:
    raw_id = given id or "<meter>|<ts ISO UTC>", ts converted to UTC (an offset is honoured),
    site from the topic, source = the topic, quality defaulted to good."""
    home = make_home(tmp_path / "home")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home) as ing,
        Publisher(broker) as pub,
    ):
        expected: dict[str, tuple[str, datetime, float]] = {}
        for m in range(20):  # gateway messages: explicit ids
            rows = []
            for i in range(50):
                ts = base + timedelta(minutes=15 * i)
                rows.append(reading(A_METERS[m], ts, value=m * 100 + i, id=f"gw-{m}-{i}"))
                expected[f"gw-{m}-{i}"] = (A_METERS[m], ts, float(m * 100 + i))
            pub.publish(gateway_message(rows), to=topic(SITE_A, f"gw-{m % 2}"))
        for i in range(100):  # single readings: no id, ts with a +08:00 offset
            ts = base + timedelta(seconds=i)
            local = ts.astimezone(timezone(timedelta(hours=8))).isoformat()
            pub.publish(json.dumps(reading("A-WH", local, value=i, unit="Wh", quality="estimated")))
            expected[f"A-WH|{iso(ts)}"] = ("A-WH", ts, float(i))
        pub.wait_acked()
        wait_until(lambda: ing.stats.readings_received >= 1100, what="1,100 readings")
        stats = ing.stop()

    frame = landed(home)
    assert frame.height == 1100
    assert stats.readings_landed == 1100 and stats.quarantined_total == 0
    assert stats.duplicates == 0 and stats.messages_received == 120
    assert stats.messages_acked == 120
    got = {r["raw_id"]: (r["meter_id"], r["ts"], r["value"]) for r in frame.iter_rows(named=True)}
    assert got == expected
    assert set(frame["site_id"]) == {SITE_A}
    singles = frame.filter(pl.col("meter_id") == "A-WH")
    assert set(singles["quality"]) == {"estimated"}
    assert set(singles["source"]) == {topic(SITE_A, "gw-01")}
    assert set(frame.filter(pl.col("meter_id") != "A-WH")["quality"]) == {"good"}
    assert frame.schema["ts"] == pl.Datetime("us", "UTC")


def test_a_redelivered_reading_lands_once(tmp_path):
    """The same gateway message published twice (in different micro-batches), a message
    repeating an entry, and single readings repeating gateway readings (same meter and ts, no
    id): each distinct raw_id lands once and every extra copy is counted as a duplicate."""
    home = make_home(tmp_path / "home")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    rows = [reading("A-01", base + timedelta(minutes=15 * i), value=i) for i in range(40)]
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home) as ing,
        Publisher(broker) as pub,
    ):
        pub.publish(gateway_message(rows))
        pub.wait_acked()
        wait_until(lambda: ing.stats.readings_received == 40)
        pub.publish(gateway_message(rows))  # a later batch: dedup against recent ids
        pub.publish(gateway_message(rows[:10] + rows[:10]))  # repeats within a message
        for r in rows[30:]:
            pub.publish(json.dumps(r))  # single-reading copies
        pub.wait_acked()
        wait_until(lambda: ing.stats.readings_received == 40 + 40 + 20 + 10)
        stats = ing.stop()
    frame = landed(home)
    assert frame.height == 40
    assert frame["raw_id"].n_unique() == 40
    assert stats.readings_landed == 40
    assert stats.duplicates == 40 + 20 + 10
    assert stats.readings_received == stats.readings_landed + stats.duplicates


def _bad_entries(now: datetime) -> dict[str, list]:
    """reason → bad reading entries to mix into gateway messages (85 in all)."""
    ts = iso(now - timedelta(hours=1))
    return {
        "unknown_meter": [reading("NOPE-1", ts)] * 15,
        "site_mismatch": [reading("B-01", ts)] * 10,  # a SITE-B meter on a SITE-A topic
        "unknown_unit": [reading("A-01", ts, unit="kwh")] * 10,
        "wrong_unit": [reading("A-POWER", ts, unit="kWh")] * 10,  # energy unit, power register
        "non_finite_value": [reading("A-01", ts, value=float("nan"))] * 5
        + [reading("A-01", ts, value=float("inf"))] * 5,
        "negative_value": [reading("A-01", ts, value=-3.0)] * 5,
        "absurd_value": [reading("A-01", ts, value=5e12)] * 5,
        "future_ts": [reading("A-01", iso(now + timedelta(hours=2)))] * 5,
        "bad_ts": [reading("A-01", "yesterday")] * 3 + [reading("A-01", "2026-01-05T00:15:00")] * 2,
        "missing_field": [{"meter": "A-01", "ts": ts, "unit": "kWh"}] * 5,
        "not_a_number": [reading("A-01", ts, value="12.5")] * 5,
    }


def test_bad_messages_are_quarantined_with_reasons_alongside_good_ones(tmp_path):
    """10,000 good readings and 100 bad ones (85 bad entries spread over the gateway messages,
    10 malformed-JSON messages, 5 wrong-shape messages): exactly 10,000 land, each bad one is
    quarantined with its reason, counted per reason, in one file per micro-batch (never one
    per message), and the service keeps running."""
    home = make_home(tmp_path / "home")
    now = datetime.now(UTC)
    bad = _bad_entries(now)
    bad_flat = [(reason, e) for reason, entries in bad.items() for e in entries]
    assert len(bad_flat) == 85
    random.Random(7).shuffle(bad_flat)
    good = stream(100, 100)  # 100 messages x 100 readings
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home, batch_max_seconds=1.0) as ing,
        Publisher(broker) as pub,
    ):
        for m, (payload, _) in enumerate(good):
            doc = json.loads(payload)
            doc["readings"] += [e for _, e in bad_flat[m::100]]
            pub.publish(json.dumps(doc, allow_nan=True))
            if m % 10 == 0:
                pub.publish(b'{"gateway": "gw-01", "readings": [{"meter": "A-01", ')  # cut off
            if m % 20 == 0:
                pub.publish(b'[{"meter": "A-01"}]')  # JSON, but not an object
        pub.wait_acked()
        wait_until(lambda: ing.stats.readings_received == 10_100, what="every reading")
        stats = ing.stop()

    expected = {reason: len(entries) for reason, entries in bad.items()}
    expected.update(malformed_json=10, bad_payload=5)
    assert stats.readings_landed == 10_000
    assert landed(home).height == 10_000
    assert stats.quarantined == dict(sorted(expected.items()))
    rows = quarantined(home)
    assert rows.height == 100
    assert dict(rows.group_by("reason").len().iter_rows()) == expected
    assert rows["detail"].null_count() == 0 and rows["original"].null_count() == 0
    assert set(rows["source"]) == {topic()}
    files = quarantine_files(home)
    assert len(files) == stats.quarantine_files <= stats.batches < 110  # not one per message
    assert stats.messages_acked == stats.messages_received == 115


def test_out_of_order_and_three_day_late_readings_land_in_their_own_date_partition(tmp_path):
    """Readings published shuffled, including ones three days late and ones either side of
    UTC midnight, land in site=<site>/date=<UTC date of ts>, exactly where they belong."""
    home = make_home(tmp_path / "home")
    # `midnight` is yesterday's UTC midnight, so every stamp is in the past whenever this runs
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=1
    )
    stamps = (
        [midnight - timedelta(days=3) + timedelta(hours=h) for h in range(0, 24, 3)]
        + [midnight - timedelta(minutes=15 * i) for i in range(1, 5)]  # just before midnight
        + [midnight + timedelta(minutes=15 * i) for i in range(4)]  # just after
    )
    rng = random.Random(11)
    entries = [reading("A-01", ts, value=i) for i, ts in enumerate(stamps)] + [
        reading("B-01", ts, value=i) for i, ts in enumerate(stamps)
    ]
    rng.shuffle(entries)
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home) as ing,
        Publisher(broker) as pub_a,
        Publisher(broker, user="gw-site-b", client_id="test-gateway-b") as pub_b,
    ):
        for e in entries:
            if e["meter"].startswith("A"):
                pub_a.publish(json.dumps(e), to=topic(SITE_A))
            else:
                pub_b.publish(json.dumps(e), to=topic(SITE_B))
        pub_a.wait_acked()
        pub_b.wait_acked()
        wait_until(lambda: ing.stats.readings_received == len(entries))
        stats = ing.stop()
    assert stats.readings_landed == len(entries) == 32
    for site, meter in ((SITE_A, "A-01"), (SITE_B, "B-01")):
        expected: dict[str, set[str]] = {}
        for ts in stamps:
            expected.setdefault(ts.date().isoformat(), set()).add(f"{meter}|{iso(ts)}")
        root = home / "landing" / "readings" / f"site={site}"
        found = {
            d.name.removeprefix("date="): set(pl.read_parquet(list(d.glob("*.parquet")))["raw_id"])
            for d in root.iterdir()
        }
        assert found == expected
        assert len(expected) == 3  # four days ago, either side of yesterday's midnight

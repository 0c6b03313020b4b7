"""MQTT payloads → landing rows, without a broker: parsing, checks, raw_id, dedup, topics."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from pydantic import ValidationError

from ingestion.mqtt.broker import render_acl, render_config
from ingestion.mqtt.config import IngestConfig
from ingestion.mqtt.dedup import RecentIds
from ingestion.mqtt.payloads import REASONS, Columns, PayloadError, decode
from ingestion.mqtt.pipeline import BatchBuilder, Incoming, process
from ingestion.mqtt.registry import MeterRegistry
from ingestion.mqtt.topics import parse_topic, readings_topic, subscription
from ingestion.mqtt.validate import Limits

REGISTRY = MeterRegistry.build(
    {"M-1": "S1", "M-2": "S1", "M-P": "S1", "M-X": "S2"},
    {"M-1": "counter_kwh", "M-2": "interval_kwh", "M-P": "power_kw", "M-X": "interval_kwh"},
)
TOPIC = "wattprint/S1/gw-01/readings"
NOW = time.time()
RECENT = datetime.fromtimestamp(NOW, UTC).replace(microsecond=0) - timedelta(days=1)


def r(meter="M-1", ts: str | None = None, value=1.5, unit="kWh", **extra):
    return {
        "meter": meter,
        "ts": ts or RECENT.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "value": value,
        "unit": unit,
        **extra,
    }


def run(*payloads, topic=TOPIC, recent=None, limits=None):
    batch = BatchBuilder()
    for p in payloads:
        raw = p if isinstance(p, bytes) else json.dumps(p, allow_nan=True).encode()
        batch.add(Incoming(topic, raw, 1, 1, NOW, 1), NOW)
    return process(batch, REGISTRY, limits or Limits(), recent or RecentIds())


# -- decode -----------------------------------------------------------------------------------
def test_decode_gateway_and_single_reading_messages():
    assert decode(b'{"gateway": "g", "readings": [{"meter": "M-1"}, {"meter": "M-2"}]}') == [
        {"meter": "M-1"},
        {"meter": "M-2"},
    ]
    assert decode(b'  {"meter": "M-1", "value": 1}\n') == [{"meter": "M-1", "value": 1}]
    assert decode('\ufeff{"meter": "M-1"}'.encode()) == [{"meter": "M-1"}]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b'{"meter": "M-1"} trailing', "malformed_json"),
        (b"\xff\xfe\x00", "malformed_json"),
        (b"", "malformed_json"),
        (b"[1, 2]", "bad_payload"),
        (b'"text"', "bad_payload"),
        (b'{"readings": {"meter": "M-1"}}', "bad_payload"),
        (b"[" * 100_000, "malformed_json"),  # too deeply nested
    ],
)
def test_decode_rejects_what_is_not_a_message(payload, reason):
    result = decode(payload)
    assert isinstance(result, PayloadError) and result.reason == reason
    assert result.reason in REASONS


def test_fast_and_exact_paths_give_the_same_columns():
    good = [r(ts=f"2026-01-05T00:{i:02d}:00Z", value=i, id=f"x{i}") for i in range(5)]
    fast, slow = Columns(), Columns()
    fast.add_message(good)
    slow._add_slow(good)
    slow.counts.append(5)
    assert fast == slow
    mixed = Columns()
    mixed.add_message([*good, 7, {"meter": "M-1"}])  # a bad entry forces the exact path
    assert mixed.meter[:5] == fast.meter and mixed.problem[5:] == ["bad_reading", "missing_field"]
    assert mixed.detail[6] == "missing field(s): ts, value, unit"


def test_types_are_checked_not_coerced():
    cols = Columns()
    cols.add_message([r(value=True), r(value="1.5"), r(meter=5), r(id=12), r(id=[1]), r(quality=3)])
    assert cols.problem == [
        "not_a_number",
        "not_a_number",
        "bad_field",
        None,
        "bad_field",
        "bad_field",
    ]
    assert cols.id[3] == "12"  # an integer id is its decimal text


# -- the checks --------------------------------------------------------------------------------
def test_each_problem_gets_its_reason():
    future = (datetime.fromtimestamp(NOW, UTC) + timedelta(hours=1)).isoformat()
    cases = {
        "unknown_meter": r(meter="NOPE"),
        "site_mismatch": r(meter="M-X"),
        "unknown_unit": r(unit="kwh"),
        "wrong_unit": r(meter="M-P", unit="kWh"),
        "bad_ts": r(ts="2026-01-05 nonsense"),
        "future_ts": r(ts=future),
        "old_ts": r(ts="1970-01-01T00:00:00Z"),
        "non_finite_value": r(value=float("inf")),
        "negative_value": r(value=-0.1),
        "absurd_value": r(value=2e10),
        "bad_quality": r(quality="great"),
        "missing_field": {"meter": "M-1", "value": 1, "unit": "kWh"},
        "not_a_number": r(value=10**400),  # too large for a float
    }
    out = run({"readings": list(cases.values())})
    assert out.landed == 0
    assert out.rejected["reason"].to_list() == list(cases)
    assert out.rejected["detail"].null_count() == 0
    assert json.loads(out.rejected["original"][0]) == cases["unknown_meter"]
    assert out.rejected["source_row"].to_list() == [str(i) for i in range(1, 14)]


def test_naive_timestamps_are_rejected_not_guessed():
    out = run(r(ts="2026-01-05T00:15:00"))
    assert out.rejected["reason"].to_list() == ["bad_ts"]


def test_raw_id_and_mapping():
    out = run(
        {
            "gateway": "gw-01",
            "readings": [
                r(ts="2026-01-05T08:15:00+08:00"),
                r(meter="M-2", ts="2026-01-05T00:15:00.25Z", unit="Wh", quality="suspect"),
                r(meter="M-2", ts="2026-01-05T00:30:00Z", id="given-1"),
                r(meter="M-2", ts="2026-01-05T00:45:00Z", id=""),
            ],
        }
    )
    frame = out.readings
    assert frame["raw_id"].to_list() == [
        "M-1|2026-01-05T00:15:00Z",
        "M-2|2026-01-05T00:15:00.250Z",
        "given-1",
        "M-2|2026-01-05T00:45:00Z",
    ]
    assert frame["ts"][0] == datetime(2026, 1, 5, 0, 15, tzinfo=UTC)
    assert frame["site_id"].to_list() == ["S1"] * 4
    assert frame["source"].to_list() == [TOPIC] * 4
    assert frame["quality"].to_list() == ["good", "suspect", "good", "good"]
    assert frame.columns == [
        "raw_id",
        "meter_id",
        "site_id",
        "ts",
        "value",
        "unit",
        "quality",
        "source",
        "received_at",
    ]
    assert frame.schema["received_at"] == pl.Datetime("us", "UTC")


def test_message_level_problems_are_one_row_each_with_the_payload():
    out = run(b"{broken", b"[1]", {"readings": [r()]}, topic="wattprint/S1/readings")
    assert out.rejected["reason"].to_list() == ["bad_topic", "bad_topic", "bad_topic"]
    out = run(b"{broken", r())
    assert out.rejected["reason"].to_list() == ["malformed_json"]
    assert out.rejected["original"].to_list() == ["{broken"]
    assert out.received == 2 and out.landed == 1


def test_duplicates_within_a_batch_and_against_recent_ids():
    recent = RecentIds()
    recent.add(["M-1|2026-01-05T00:00:00Z"])
    out = run(
        {"readings": [r(ts="2026-01-05T00:00:00Z"), r(ts="2026-01-05T00:15:00Z")]},
        r(ts="2026-01-05T09:15:00+09:00"),  # the same instant as the second one
        recent=recent,
    )
    assert out.readings["raw_id"].to_list() == ["M-1|2026-01-05T00:15:00Z"]
    assert out.duplicates == 2
    assert out.received == out.landed + out.duplicates + sum(out.quarantined.values())


def test_recent_ids_are_bounded_oldest_batch_first():
    recent = RecentIds(max_ids=1000)
    for b in range(5):
        recent.add([f"{b}-{i}" for i in range(400)])
    assert len(recent) <= 1000
    assert "4-0" in recent and "0-0" not in recent
    assert recent.unseen(["4-1", "new"]) == [False, True]


# -- topics, settings, broker config -----------------------------------------------------------
def test_topics():
    assert parse_topic("wattprint/S1/gw-01/readings").site == "S1"
    for bad in (
        "wattprint/S1/readings",
        "other/S1/gw/readings",
        "wattprint//gw/readings",
        "wattprint/S1/gw/readings/extra",
    ):
        assert parse_topic(bad) is None
    assert readings_topic("S1", "gw-01") == "wattprint/S1/gw-01/readings"
    with pytest.raises(ValueError):
        readings_topic("S/1", "gw")
    assert subscription(shared_group="ingest") == "$share/ingest/wattprint/+/+/readings"


def test_settings_are_validated():
    cfg = IngestConfig(home="/tmp/x")
    assert cfg.client_id == "wattprint-ingest" and cfg.qos == 1
    assert cfg.subscription == "wattprint/+/+/readings"
    with pytest.raises(ValidationError):
        IngestConfig(shared_group="a/b")
    with pytest.raises(ValidationError):
        IngestConfig(qos=2)  # see IngestConfig.qos: QoS 2 would ack before landing
    with pytest.raises(ValidationError):
        IngestConfig(client_id="")


def test_broker_config_rendering_fails_loudly_on_a_missing_directive(tmp_path):
    with pytest.raises(ValueError, match="acl_file"):
        render_config(
            "listener 1883\npersistence_location /x\npassword_file p\nlog_dest syslog"
            "\nuser mosquitto\n",
            port=1,
            data_dir=tmp_path,
            password_file=tmp_path,
            acl_file=tmp_path,
            log_file=tmp_path,
        )
    acl = render_acl("ing", {"gw-1": "S1"})
    assert "user ing\ntopic read wattprint/+/+/readings" in acl
    assert "user gw-1\ntopic write wattprint/S1/#" in acl

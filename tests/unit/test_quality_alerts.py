"""Alerts: episodes, excess kWh and kgCO2e, and the equipment explaining the deviation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest
from test_quality_plant import SITE, equipment, meters, t

from quality import corrections as c
from quality.alerts import ALERT_SCHEMA, build_alerts
from quality.rules.common import anomalies


def epu(batch: str, eq: str, start: int, excess: float) -> dict:
    return {"rule": "energy_per_unit", "check": "equipment", "severity": "warning",
            "site_id": SITE, "equipment_id": eq, "subject_kind": "batch",
            "subject_id": f"{batch}/{eq}", "window_start_utc": t(start),
            "window_end_utc": t(start + 4), "detected_at_utc": t(start + 5),
            "observed": 1.3, "expected": 1.0, "unit": "kWh/unit", "message": "m",
            "details": json.dumps({"batch_id": batch, "excess_kwh": excess})}


def test_energy_per_unit_episode_names_the_equipment_with_most_of_the_excess() -> None:
    found = anomalies(pl.DataFrame([
        epu("B1", "EQ-A", 8, 3.0), epu("B1", "EQ-B", 8, 1.0), epu("B2", "EQ-A", 16, 4.0),
        # a day later: another episode
        epu("B9", "EQ-B", 8 + 96, 2.0),
        # a batch total inside B1 adds nothing: its equipment already explains it
        {**epu("B1", "EQ-A", 8, 0.0), "check": "batch_total", "equipment_id": None,
         "subject_id": "B1", "details": json.dumps({"batch_id": "B1", "excess_kwh": 4.0})},
    ]))
    alerts = build_alerts(found, equipment=equipment(), meters=meters(), factor=0.5)
    assert alerts.schema == pl.Schema(ALERT_SCHEMA)
    rows = alerts.select("rule", "equipment_id", "process_step", "line_id", "window_start_utc",
                         "window_end_utc", "detected_at_utc", "excess_kwh", "excess_kg_co2e",
                         "cause_share", "anomaly_count").rows()
    assert rows == [
        ("energy_per_unit", "EQ-A", "press", "L1", t(8), t(20), t(13), 8.0, 4.0, 7 / 8, 4),
        ("energy_per_unit", "EQ-B", "oven", "L1", t(104), t(108), t(109), 2.0, 1.0, 1.0, 1),
    ]
    assert alerts["probable_cause"][0].startswith("EQ-A (press) explains 88% of the excess")


def test_metering_alert_takes_its_excess_from_the_overlay() -> None:
    spike = {"rule": "range_spike", "check": "above_capacity", "severity": "critical",
             "site_id": SITE, "meter_id": "M-B", "raw_id": "r", "subject_kind": "reading",
             "subject_id": "r", "window_start_utc": t(7), "window_end_utc": t(8),
             "detected_at_utc": t(8), "observed": 50.0, "expected": 1.1, "unit": "kWh",
             "message": "reading of 50 kWh above capacity"}
    gap = {**spike, "rule": "gaps", "check": "batch_data_missing", "severity": "warning",
           "subject_kind": "batch", "subject_id": "B1", "raw_id": None}
    found = anomalies(pl.DataFrame([spike, gap]))
    decisions = c.overlay(pl.DataFrame([{
        "anomaly_id": found.filter(pl.col("rule") == "range_spike")["anomaly_id"][0],
        "rule": "range_spike", "check": "above_capacity", "action": "estimate",
        "method": "linear_interpolation", "target": "interval", "site_id": SITE,
        "meter_id": "M-B", "interval_start_utc": t(7), "original_value": 50.0,
        "corrected_value": 0.51}]))
    factors = pl.DataFrame({"valid_from_utc": [datetime(2026, 1, 1)],
                            "valid_to_utc": [datetime(2027, 1, 1)],
                            "factor_kg_per_kwh": [0.5]})
    alerts = build_alerts(found, equipment=equipment(), meters=meters(), decisions=decisions,
                          factor=factors)
    assert alerts.select("rule", "meter_id", "equipment_id", "line_id", "excess_kwh",
                         "excess_kg_co2e").rows() == [
        ("gaps", "M-B", "EQ-B", "L1", None, None),
        ("range_spike", "M-B", "EQ-B", "L1", pytest.approx(49.49), pytest.approx(24.745)),
    ]


def test_findings_that_need_no_person_make_no_alert() -> None:
    info = {"rule": "counter_rollover", "check": "rollover", "severity": "info",
            "site_id": SITE, "meter_id": "M-A", "subject_kind": "reading", "subject_id": "x",
            "window_start_utc": t(1), "window_end_utc": t(2), "detected_at_utc": t(2)}
    alerts = build_alerts(anomalies(pl.DataFrame([info])), equipment=equipment(),
                          meters=meters())
    assert alerts.height == 0


def test_episodes_merge_within_the_gap_only() -> None:
    found = anomalies(pl.DataFrame([
        epu("B1", "EQ-A", 8, 1.0), epu("B2", "EQ-A", 8 + 40, 1.0)]))  # 9 h apart
    merged = build_alerts(found, equipment=equipment(), meters=meters(),
                          merge_gap=timedelta(hours=10))
    split = build_alerts(found, equipment=equipment(), meters=meters())
    assert (merged.height, split.height) == (1, 2)


def test_alert_mqtt_target_is_parsed_with_defaults_and_clear_errors():
    from quality.alert_push import MqttTarget

    assert MqttTarget.parse("broker.local") == MqttTarget("broker.local", 1883, "wattprint")
    assert MqttTarget.parse("10.0.0.5:8883/plant/alerts/") == MqttTarget(
        "10.0.0.5", 8883, "plant/alerts")
    with pytest.raises(ValueError, match="port 'x' is not a number"):
        MqttTarget.parse("broker:x")
    with pytest.raises(ValueError, match="no host"):
        MqttTarget.parse(":1883")

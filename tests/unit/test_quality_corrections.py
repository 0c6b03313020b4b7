"""The correction functions on the hand-made plant: exact overlay rows, and raw data untouched."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import polars as pl
import pytest
from test_quality_plant import (
    SITE,
    T0,
    a_kwh,
    b_kwh,
    drop,
    equipment,
    meters,
    production,
    readings,
    set_value,
    t,
    truth,
)

from quality import corrections as c
from quality.evaluation import meter_intervals
from quality.rules import gaps, range_spike, rollover, stuck
from quality.rules.common import anomalies


def ctx_for(r: pl.DataFrame, batches=(("B1", 8, 24, 400),)) -> c.Context:
    base = meter_intervals(r, meters(), equipment())
    return c.Context(base, meters(), equipment(), production(batches))


def interval_rows(o: pl.DataFrame) -> list[tuple]:
    return [tuple(x) for x in o.filter(pl.col("target") == "interval").select(
        "action", "method", "meter_id", "interval_start_utc", "original_value",
        "corrected_value").iter_rows()]


def test_overlay_schema_and_ids() -> None:
    o = c.overlay(pl.DataFrame([{"rule": "gaps", "check": "short_gap", "action": "estimate",
                                 "method": "linear_interpolation", "target": "interval",
                                 "meter_id": "M-B", "interval_start_utc": t(3)}]))
    assert o.schema == pl.Schema(c.OVERLAY_SCHEMA)
    assert o["overlay_id"][0] == "estimate:interval:M-B:20260302T0045Z:gaps:short_gap"


def test_short_interval_gap_is_interpolated() -> None:
    r = drop(readings(), "M-B", [3, 4])
    found = gaps.detect_gaps(r, meters(), equipment(), T0, t(96))
    o = c.estimate_gaps(found, ctx_for(r))
    # neighbours: k=2 reads 0.52, k=5 reads 0.52
    assert interval_rows(o) == [
        ("estimate", "linear_interpolation", "M-B", t(3), None, pytest.approx(0.52)),
        ("estimate", "linear_interpolation", "M-B", t(4), None, pytest.approx(0.52)),
    ]
    assert o["reason"][0] == "2 missing interval(s) estimated by linear_interpolation"


def test_long_interval_gap_by_parent_balance_is_exact_here() -> None:
    r = drop(readings(), "M-B", range(20, 30))
    found = gaps.detect_gaps(r, meters(), equipment(), T0, t(96))
    o = c.estimate_gaps(found, ctx_for(r))
    assert interval_rows(o) == [
        ("estimate", "parent_balance", "M-B", t(k), None, pytest.approx(b_kwh(k), abs=1e-9))
        for k in range(20, 30)]


def test_long_gap_without_parent_uses_the_profile_of_recent_days() -> None:
    r = drop(readings(n=96 * 3), "M-G", range(200, 216))
    found = gaps.detect_gaps(r, meters(), equipment(), T0, t(96 * 3))
    ctx = ctx_for(r)
    o = c.estimate_gaps(found, ctx)
    tr = truth(96 * 3).filter(pl.col("meter_id") == "M-G").with_columns(
        pl.col("interval_start_utc").dt.hour().alias("hour"))
    hist = tr.filter(pl.col("interval_start_utc") < t(200)).group_by("hour").agg(
        pl.col("kwh").median())
    expected = dict(hist.iter_rows())
    assert interval_rows(o) == [
        ("estimate", "profile", "M-G", t(k), None, pytest.approx(expected[t(k).hour]))
        for k in range(200, 216)]


def test_counter_gap_keeps_its_known_total_and_takes_the_parent_shape() -> None:
    # readings k 20..27 missing: the delta k19 → k28 (7.0 kWh) covers 9 intervals, five while
    # B1 runs (1.0) and four after it (0.5); dbt spreads it evenly (7/9 each)
    r = drop(readings(), "M-A", range(20, 28))
    found = gaps.detect_gaps(r, meters(), equipment(), T0, t(96))
    o = c.estimate_gaps(found, ctx_for(r))
    assert interval_rows(o) == [
        ("estimate", "parent_balance_scaled", "M-A", t(k), pytest.approx(7 / 9),
         pytest.approx(a_kwh(k), abs=1e-9)) for k in range(19, 28)]


def test_short_counter_gap_is_the_even_spread() -> None:
    r = drop(readings(), "M-A", [40, 41])  # 3 intervals of 0.5
    found = gaps.detect_gaps(r, meters(), equipment(), T0, t(96))
    o = c.estimate_gaps(found, ctx_for(r))
    assert interval_rows(o) == [
        ("estimate", "linear_interpolation", "M-A", t(k), pytest.approx(0.5),
         pytest.approx(0.5)) for k in (39, 40, 41)]


def test_spikes_quarantine_the_reading_and_estimate_the_interval() -> None:
    r = set_value(set_value(readings(), "M-B", 7, 50.0), "M-A", 40, 999.0)
    found = range_spike.detect_range_spikes(r, meters(), equipment())
    o = c.correct_spikes(found, ctx_for(r))
    assert [tuple(x) for x in o.filter(pl.col("target") == "reading").select(
        "action", "raw_id", "original_value").iter_rows()] == [
        ("quarantine", "M-A|2026-03-02T10:00", 999.0),
        ("quarantine", "M-B|2026-03-02T01:45", 50.0),
    ]
    # between k=6 (0.50) and k=8 (0.52)
    assert interval_rows(o) == [
        ("estimate", "linear_interpolation", "M-B", t(7), 50.0, pytest.approx(0.51))]


def test_rollover_is_a_correct_row_with_the_wrapped_energy() -> None:
    r = readings(counter_start=995.0, rollover=1000.0)
    o = c.correct_rollovers(rollover.detect_rollovers(r, meters(), equipment()))
    assert interval_rows(o) == [
        ("correct", "rollover_modulus", "M-A", t(8), pytest.approx(-999.0), pytest.approx(1.0))]


def test_stuck_run_gets_its_catch_up_spread_back() -> None:
    r = readings()
    frozen = (pl.col("meter_id") == "M-A") & pl.col("ts_utc").is_in([t(10), t(11), t(12)])
    r = r.with_columns(pl.when(frozen).then(pl.lit(105.0)).otherwise(pl.col("value"))
                       .alias("value"))
    found = stuck.detect_stuck(r, meters(), equipment(), production())
    o = c.correct_stuck(found, ctx_for(r))
    assert interval_rows(o) == [
        ("estimate", "parent_balance_scaled", "M-A", t(9), 0.0, pytest.approx(1.0)),
        ("estimate", "parent_balance_scaled", "M-A", t(10), 0.0, pytest.approx(1.0)),
        ("estimate", "parent_balance_scaled", "M-A", t(11), 0.0, pytest.approx(1.0)),
        ("estimate", "parent_balance_scaled", "M-A", t(12), 4.0, pytest.approx(1.0)),
    ]


def _finding(**kw) -> pl.DataFrame:
    base = {"rule": "drift", "check": "meter_drift", "severity": "warning", "site_id": SITE,
            "meter_id": "M-P", "subject_kind": "meter", "subject_id": "M-P",
            "window_start_utc": t(48), "window_end_utc": t(96), "detected_at_utc": t(96),
            "observed": 0.07, "expected": 0.0, "unit": "per week", "message": "m",
            "details": json.dumps({"onset": t(48).isoformat(), "rate_per_day": 0.01})}
    return anomalies(pl.DataFrame([{**base, **kw}]))


def test_drift_rescale_from_the_onset() -> None:
    ctx = ctx_for(readings())
    o = c.correct_drift(_finding(), ctx)
    assert o.height == 48
    first, last = o.row(0, named=True), o.row(47, named=True)
    assert (first["interval_start_utc"], last["interval_start_utc"]) == (t(48), t(95))
    p48 = a_kwh(48) + b_kwh(48) + 0.25
    assert first["original_value"] == pytest.approx(p48)
    assert first["corrected_value"] == pytest.approx(p48 / (1 + 0.01 * 7.5 / 1440))
    p95 = a_kwh(95) + b_kwh(95) + 0.25
    assert last["corrected_value"] == pytest.approx(p95 / (1 + 0.01 * (47 * 15 + 7.5) / 1440))


def test_duplicates_clock_and_row_rejections() -> None:
    found = pl.concat([
        _finding(rule="clock", check="duplicate_conflicting", subject_kind="reading",
                 meter_id="M-B", raw_id="r1", subject_id="r1", observed=0.6, expected=0.51,
                 unit="raw"),
        _finding(rule="clock", check="duplicate_identical", subject_kind="reading",
                 meter_id="M-B", raw_id="r2", subject_id="r2"),
        _finding(rule="clock", check="future_timestamp", subject_kind="reading",
                 meter_id="M-B", raw_id="r3", subject_id="r3"),
        _finding(rule="clock", check="late_arrival", subject_kind="reading", meter_id="M-B",
                 raw_id="r4", subject_id="r4"),
        _finding(rule="factor_file", check="overlap", subject_kind="factor", meter_id=None,
                 subject_id="F|1|2025-01-01T00:00:00Z", message="overlaps F|1|2024"),
        _finding(rule="factor_file", check="implausible_value", subject_kind="factor",
                 meter_id=None, subject_id="F|1|2025-01-01T00:00:00Z", message="too big"),
        _finding(rule="production_data", check="negative_units", subject_kind="batch",
                 meter_id=None, subject_id="B7"),
    ])
    o = c.concat_overlay([c.resolve_duplicates(found), c.quarantine_readings(found),
                          c.reject_rows(found)])
    assert sorted(tuple(x) for x in o.select("action", "method", "target",
                                             pl.coalesce("raw_id", "subject_id")).iter_rows()) \
        == [("flag", "first_received", "reading", "r1"), ("flag", "rerun_day", "reading", "r4"),
            ("quarantine", "none", "batch", "B7"),
            ("quarantine", "none", "factor", "F|1|2025-01-01T00:00:00Z"),  # overlap
            ("quarantine", "none", "factor", "F|1|2025-01-01T00:00:00Z"),  # implausible
            ("quarantine", "none", "reading", "r3")]
    flag = o.filter(pl.col("raw_id") == "r1").row(0, named=True)
    assert (flag["original_value"], flag["corrected_value"]) == (0.6, 0.51)
    rejected = c.reject_factor_rows(found)
    assert rejected.to_dicts() == [{"factor_key": "F|1|2025-01-01T00:00:00Z",
                                    "reasons": "overlaps F|1|2024; too big"}]


def test_apply_overlay_inserts_replaces_removes_and_ranks() -> None:
    base = pl.DataFrame({"meter_id": ["M", "M", "M"], "site_id": [SITE] * 3,
                         "interval_start_utc": [t(0), t(1), t(3)], "kwh": [1.0, 50.0, 2.0],
                         "how_obtained": ["measured"] * 3})
    o = c.overlay(pl.DataFrame([
        {"rule": "range_spike", "check": "x", "action": "estimate", "method": "linear",
         "target": "interval", "site_id": SITE, "meter_id": "M", "interval_start_utc": t(1),
         "original_value": 50.0, "corrected_value": 1.5},
        {"rule": "drift", "check": "x", "action": "estimate", "method": "drift_rescale",
         "target": "interval", "site_id": SITE, "meter_id": "M", "interval_start_utc": t(1),
         "original_value": 50.0, "corrected_value": 49.0},
        {"rule": "gaps", "check": "x", "action": "estimate", "method": "profile",
         "target": "interval", "site_id": SITE, "meter_id": "M", "interval_start_utc": t(2),
         "corrected_value": 1.8},
        {"rule": "range_spike", "check": "x", "action": "quarantine", "method": "none",
         "target": "interval", "site_id": SITE, "meter_id": "M", "interval_start_utc": t(3)},
        {"rule": "clock", "check": "x", "action": "flag", "method": "none",
         "target": "reading", "site_id": SITE, "meter_id": "M", "raw_id": "r"},
    ]))
    out = c.apply_overlay(base, o)
    assert out.rows() == [
        ("M", SITE, t(0), 1.0, "measured"),
        ("M", SITE, t(1), 1.5, "estimate:linear"),
        ("M", SITE, t(2), 1.8, "estimate:profile"),
    ]


def test_decide_then_apply_restores_the_truth_of_the_plant() -> None:
    r = readings()
    r = drop(r, "M-B", range(20, 30))  # long gap
    r = drop(r, "M-B", [50])  # short gap
    r = set_value(r, "M-B", 70, 40.0)  # spike
    frozen = (pl.col("meter_id") == "M-A") & pl.col("ts_utc").is_in([t(10), t(11), t(12)])
    r = r.with_columns(pl.when(frozen).then(pl.lit(105.0)).otherwise(pl.col("value"))
                       .alias("value"))
    found = pl.concat([
        gaps.detect_gaps(r, meters(), equipment(), T0, t(96)),
        range_spike.detect_range_spikes(r, meters(), equipment()),
        stuck.detect_stuck(r, meters(), equipment(), production()),
    ])
    base = meter_intervals(r, meters(), equipment())
    o = c.decide(found, intervals=base, meters=meters(), equipment=equipment(),
                 production=production())
    fixed = c.apply_overlay(base, o)
    tr = truth().join(fixed, on=["meter_id", "interval_start_utc"], how="left")
    assert tr.filter(pl.col("kwh_right").is_null()).height == 0
    worst = tr.filter(pl.col("meter_id").is_in(["M-A", "M-B"])).select(
        (pl.col("kwh_right") - pl.col("kwh")).abs().max()).item()
    # all exact but the short gap at k=50: between 0.51 and 0.50 → 0.505 (truth 0.52)
    assert worst == pytest.approx(0.015)
    assert set(o["action"]) == {"estimate", "quarantine", "alert"}


def test_raw_readings_are_byte_identical_after_the_whole_quality_run() -> None:
    from ingestion.simulator import FaultConfig, PlantConfig, simulate
    from quality.evaluation import run_quality
    from quality.rules.common import stage_readings

    sim = simulate(PlantConfig(seed=3, days=4, faults=FaultConfig.all_on()))

    def snapshot() -> bytes:
        buf = io.BytesIO()
        sim.readings.write_ipc(buf)
        return buf.getvalue()

    before = snapshot()
    readings_all = stage_readings(sim.readings, sim.meters, dedup=False)
    staged = stage_readings(sim.readings, sim.meters)
    staged_before = staged.clone()
    start = sim.truth_equipment_interval["interval_start"].min()
    run = run_quality(readings=staged, readings_all=readings_all, meters=sim.meters,
                      equipment=sim.equipment, production=sim.production, bills=sim.bills,
                      factors=sim.factors, sites=sim.sites, window_start=start,
                      window_end=start + timedelta(days=4), factor=0.494,
                      timezone="Asia/Taipei", use_gx=False)
    assert snapshot() == before
    assert staged.equals(staged_before)
    # the corrections exist — as overlay rows only
    assert run.overlay.height > 0
    assert set(run.overlay["action"]) <= set(c.ACTIONS)
    assert run.intervals_base.height > 0 and run.intervals_corrected.height > 0

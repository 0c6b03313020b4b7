"""The evaluation's transparent path (readings → meter → equipment energy) and its scoring."""

from __future__ import annotations

from datetime import UTC, timedelta

import polars as pl
import pytest
from test_quality_plant import (
    SITE,
    a_kwh,
    b_kwh,
    c_kw,
    drop,
    equipment,
    meters,
    production,
    readings,
    set_value,
    t,
)

from quality.evaluation import (
    SCORED,
    detections,
    equipment_intervals,
    meter_intervals,
    score,
)
from quality.rules.common import anomalies


def kwh_of(frame: pl.DataFrame, key: str, value: str) -> dict:
    return dict(frame.filter(pl.col(key) == value).select("interval_start_utc", "kwh")
                .iter_rows())


def test_meter_intervals_mirror_dbt_and_differ_from_naive() -> None:
    r = readings(counter_start=995.0, rollover=1000.0)  # wraps between k=8 and k=9
    r = drop(r, "M-A", [20, 21])  # a counter gap: 3 intervals of 1.0
    r = set_value(r, "M-A", 40, 500.0)  # an outlier between agreeing neighbours (~22, ~23)
    dbt = meter_intervals(r, meters(), equipment())
    a = kwh_of(dbt, "meter_id", "M-A")
    assert a[t(8)] == pytest.approx(1.0)  # the wrap: −999 + 1000
    assert [a[t(k)] for k in (19, 20, 21)] == [pytest.approx(1.0)] * 3
    assert [a[t(k)] for k in (39, 40)] == [pytest.approx(0.5)] * 2  # the outlier's span spread
    how = dict(dbt.filter(pl.col("meter_id") == "M-A").select("interval_start_utc",
                                                               "how_obtained").iter_rows())
    assert (how[t(18)], how[t(19)], how[t(39)]) == ("measured", "estimated", "estimated")
    assert kwh_of(dbt, "meter_id", "M-C")[t(3)] == pytest.approx(c_kw(3) / 4)
    naive = kwh_of(meter_intervals(r, meters(), equipment(), mode="naive"), "meter_id", "M-A")
    assert naive[t(8)] == pytest.approx(-999.0)
    assert naive[t(21)] == pytest.approx(3.0) and t(19) not in naive
    assert naive[t(39)] > 400 and naive[t(40)] < -400


def test_equipment_intervals_meter_or_allocate_the_residual() -> None:
    base = meter_intervals(readings(), meters(), equipment())
    eq = equipment_intervals(base, meters(), equipment(), production())
    at = {(e, ts): v for e, ts, v in eq.select("equipment_id", "interval_start_utc", "kwh")
          .iter_rows()}
    for k in (3, 10, 30):
        assert at[("EQ-A", t(k))] == pytest.approx(a_kwh(k))
        assert at[("EQ-B", t(k))] == pytest.approx(b_kwh(k))
        assert at[("EQ-C", t(k))] == pytest.approx(c_kw(k) / 4)
        assert at[("EQ-U", t(k))] == pytest.approx(0.25)  # M-P − (A + B)
        assert at[("EQ-L", t(k))] == pytest.approx(0.2)  # M-G − (P + C)
    assert set(eq["how_obtained"]) == {"measured", "allocated"}


def _fault(kind: str, meter: str, a: int, b: int, eq: str | None = None) -> dict:
    return {"fault_id": f"{kind}:{meter}", "fault_type": kind, "meter_id": meter,
            "equipment_id": eq, "start_ts": t(a).replace(tzinfo=UTC),
            "end_ts": t(b).replace(tzinfo=UTC), "details": "{}"}


def _found(rule: str, check: str, meter: str, a: float, b: float, seen: float,
           eq: str | None = None) -> dict:
    return {"rule": rule, "check": check, "severity": "warning", "site_id": SITE,
            "meter_id": meter, "equipment_id": eq, "subject_kind": "reading",
            "subject_id": f"{meter}:{a}", "window_start_utc": t(a), "window_end_utc": t(b),
            "detected_at_utc": t(seen)}


def test_score_precision_recall_and_latency() -> None:
    faults = pl.DataFrame([_fault("spikes", "M-B", 10, 11), _fault("spikes", "M-C", 50, 51),
                           _fault("stuck", "M-A", 20, 27)])
    found = anomalies(pl.DataFrame([
        _found("range_spike", "above_capacity", "M-B", 10, 11, 11.1),
        _found("range_spike", "above_capacity", "M-B", 70, 71, 71.1),  # a false alarm
        _found("stuck_meter", "flat_while_running", "M-A", 19, 26, 21.0),
        _found("stuck_meter", "flat_while_running", "M-A", 19.5, 26, 21.5),  # same detection
    ]))
    s = {r["rule"]: r for r in score(found, faults).iter_rows(named=True)}
    spike = s["range / spike"]
    assert (spike["faults"], spike["found"], spike["detections"], spike["precision"],
            spike["recall"]) == (2, 1, 2, 0.5, 0.5)
    assert spike["latency_median"] == pytest.approx(1.1)
    stuck = s["stuck meter"]
    assert (stuck["detections"], stuck["precision"], stuck["recall"],
            stuck["latency_max"]) == (1, 1.0, 1.0, pytest.approx(1.0))
    assert len(s) == len(SCORED)


def test_detections_merge_findings_of_one_episode() -> None:
    found = anomalies(pl.DataFrame([
        _found("clock", "late_arrival", "M-B", k, k + 1, k + 288) for k in range(24)
    ] + [_found("clock", "late_arrival", "M-B", 200, 201, 488)]))
    d = detections(found, timedelta(hours=1))
    assert d.select("window_start_utc", "window_end_utc", "findings").rows() == [
        (t(0), t(24), 24), (t(200), t(201), 1)]


@pytest.mark.integration
def test_evaluation_meets_its_targets_on_30_simulated_days() -> None:
    """The figures `python -m quality.evaluation` prints, asserted (slow: ~30 s)."""
    from quality.accuracy import truth_per_local_day
    from quality.evaluation import (
        accuracy_summary,
        day_accuracy,
        equipment_days,
        simulate_and_run,
    )
    from quality.rules.common import meter_line

    sim, run, factor, tz = simulate_and_run(30, 7)
    line_meters = meter_line(sim.meters, sim.equipment).filter(
        pl.col("line_id").is_not_null())["meter_id"].to_list()
    scored = score(run.anomalies, sim.faults, truth_meter=sim.truth_meter_interval,
                   line_meters=line_meters)
    for r in scored.iter_rows(named=True):
        assert r["precision"] >= 0.95, r
        assert r["recall"] >= 0.95, r
        if r["latency_target"]:
            assert r["latency_max"] <= r["latency_target"], r
    eqi = equipment_intervals(run.intervals_corrected, sim.meters, sim.equipment,
                              sim.production)
    per_day = day_accuracy(equipment_days(eqi, tz, factor),
                           truth_per_local_day(sim.truth_equipment_interval, tz), sim.equipment)
    s = accuracy_summary(per_day)["all"]
    assert s["kwh_within"] / s["equipment_days"] >= 0.98

"""The Polars rules on the hand-made plant (test_quality_plant): exact findings."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from test_quality_plant import (
    SITE,
    STEP,
    T0,
    drop,
    equipment,
    frame,
    meters,
    production,
    reading,
    readings,
    set_value,
    sites,
    t,
)

from quality.rules import (
    bill_gap,
    clock,
    drift,
    energy_per_unit,
    factor_files,
    gaps,
    production_data,
    range_spike,
    replacement,
    reported,
    rollover,
    stuck,
)
from quality.rules.common import ANOMALY_SCHEMA, meter_capacity_kw, stage_readings

RX = timedelta(minutes=15, seconds=10)  # receipt delay in the plant


def rows(found: pl.DataFrame, *cols: str) -> list[tuple]:
    return [tuple(r) for r in found.select(cols).iter_rows()]


def test_every_rule_returns_the_anomaly_schema() -> None:
    found = gaps.detect_gaps(readings(), meters(), equipment(), T0, t(96))
    assert found.schema == pl.Schema(ANOMALY_SCHEMA)
    assert found.height == 0


def test_meter_capacity_is_everything_below_the_meter() -> None:
    cap = dict(meter_capacity_kw(meters(), equipment()).iter_rows())
    assert cap == {"M-G": 28.0, "M-P": 14.0, "M-A": 8.0, "M-B": 4.0, "M-C": 12.0}


# ---------------------------------------------------------------- gaps


def test_gaps_short_and_long_runs_per_meter() -> None:
    r = drop(drop(readings(), "M-B", [3, 4]), "M-A", range(10, 16))
    found = gaps.detect_gaps(r, meters(), equipment(), T0, t(96))
    assert rows(found, "check", "severity", "meter_id", "equipment_id", "window_start_utc",
                "window_end_utc", "detected_at_utc", "observed") == [
        ("short_gap", "info", "M-B", "EQ-B", t(3), t(5), t(3) + STEP + timedelta(minutes=5),
         2.0),
        ("long_gap", "warning", "M-A", "EQ-A", t(10), t(16),
         t(10) + STEP + timedelta(minutes=5), 6.0),
    ]


def test_gaps_respect_the_service_window() -> None:
    m = meters().with_columns(
        pl.when(pl.col("meter_id") == "M-B").then(pl.lit(t(50))).otherwise(
            pl.col("removed_at_utc")).alias("removed_at_utc"))
    r = readings().filter(~((pl.col("meter_id") == "M-B") & (pl.col("ts_utc") >= t(50))))
    assert gaps.detect_gaps(r, m, equipment(), T0, t(96)).height == 0


def test_batch_with_more_than_10_percent_missing_is_alerted() -> None:
    # B1 runs k 8..23 (16 intervals) on L1 whose meters are M-P, M-A, M-B: 48 readings owed
    r = drop(readings(), "M-B", range(8, 13))  # 5 of 48 = 10.4 %
    found = gaps.detect_batch_gaps(r, meters(), equipment(), production())
    assert rows(found, "check", "subject_id", "meter_id", "window_start_utc", "window_end_utc",
                "detected_at_utc") == [
        ("batch_data_missing", "B1", "M-B", t(8), t(24), t(24) + STEP + timedelta(minutes=5))]
    assert found["observed"][0] == pytest.approx(5 / 48)
    r = drop(readings(), "M-B", range(8, 12))  # 4 of 48 = 8.3 %: fine
    assert gaps.detect_batch_gaps(r, meters(), equipment(), production()).height == 0


# ---------------------------------------------------------------- range / spike


def test_range_spikes_on_every_register() -> None:
    r = readings()
    r = set_value(r, "M-B", 7, 50.0)  # interval kWh above 1.1
    r = set_value(r, "M-C", 30, 100.0)  # power: 25 kWh above 3.3
    r = set_value(r, "M-A", 40, 999.0)  # counter outlier between agreeing neighbours
    found = range_spike.detect_range_spikes(r, meters(), equipment())
    assert rows(found, "check", "meter_id", "raw_id", "window_start_utc", "observed",
                "expected") == [
        ("above_capacity", "M-B", "M-B|2026-03-02T01:45", t(7), 50.0, pytest.approx(1.1)),
        ("above_capacity", "M-C", "M-C|2026-03-02T07:30", t(30), 25.0, pytest.approx(3.3)),
        ("counter_outlier", "M-A", "M-A|2026-03-02T10:00", t(39), 999.0,
         pytest.approx((127.5 + 128.5) / 2)),  # neighbours at k=39 and k=41
    ]
    # an interval reading is known at receipt; an order break when the next reading arrives
    assert found["detected_at_utc"].to_list() == [t(7) + RX, t(30) + RX, t(41) + RX]


def test_counter_above_its_rollover_is_an_outlier_on_sight() -> None:
    r = set_value(readings(), "M-A", 40, 10_000.0)
    found = range_spike.detect_range_spikes(r, meters(), equipment())
    assert rows(found, "check", "raw_id", "detected_at_utc") == [
        ("counter_outlier", "M-A|2026-03-02T10:00", t(40) + RX)]


def test_counter_reset_is_a_negative_delta_not_a_rollover() -> None:
    r = readings()
    later = (pl.col("meter_id") == "M-A") & (pl.col("ts_utc") >= t(60))
    r = r.with_columns(pl.when(later).then(pl.col("value") - 140.0).otherwise(pl.col("value"))
                       .alias("value"))
    found = range_spike.detect_range_spikes(r, meters(), equipment())
    assert rows(found, "check", "meter_id", "window_start_utc", "window_end_utc", "observed") \
        == [("negative_delta", "M-A", t(59), t(60), pytest.approx(0.5 - 140.0))]
    assert rollover.detect_rollovers(r, meters(), equipment()).height == 0


def test_stuck_catch_up_is_not_a_spike_and_a_gap_span_is_judged_over_its_length() -> None:
    r = readings()
    # k=8 reads 104.0; frozen at k 9..11, resumes at 108.0: 4 kWh over 4 intervals
    frozen = (pl.col("meter_id") == "M-A") & pl.col("ts_utc").is_in([t(9), t(10), t(11)])
    r = r.with_columns(pl.when(frozen).then(pl.lit(104.0)).otherwise(pl.col("value"))
                       .alias("value"))
    r = drop(r, "M-A", range(30, 36))  # a 7-interval counter span of 3.5 kWh
    assert range_spike.detect_range_spikes(r, meters(), equipment()).height == 0


# ---------------------------------------------------------------- rollover / replacement


def test_rollover_energy_is_delta_plus_rollover() -> None:
    # 995.0 at k=0, 999.0 at k=8; 1000.0 at k=9 wraps to 0.0
    r = readings(counter_start=995.0, rollover=1000.0)
    found = rollover.detect_rollovers(r, meters(), equipment())
    assert rows(found, "rule", "check", "meter_id", "window_start_utc", "window_end_utc",
                "severity") == [("counter_rollover", "rollover", "M-A", t(8), t(9), "info")]
    assert found["observed"][0] == pytest.approx(0.0 - 999.0)
    assert found["expected"][0] == pytest.approx(1.0)
    assert range_spike.detect_range_spikes(r, meters(), equipment()).height == 0


def test_meter_replacement_without_false_spikes() -> None:
    m = meters().with_columns(
        pl.when(pl.col("meter_id") == "M-A").then(pl.lit(t(50))).otherwise(
            pl.col("removed_at_utc")).alias("removed_at_utc"))
    new = m.filter(pl.col("meter_id") == "M-A").with_columns(
        pl.lit("M-A2").alias("meter_id"), pl.lit(t(50)).alias("installed_at_utc"),
        pl.lit(None, pl.Datetime("us")).alias("removed_at_utc"))
    m = pl.concat([m, new])
    r = readings()
    old = r.filter((pl.col("meter_id") == "M-A") & (pl.col("ts_utc") <= t(50)))
    old_last = old["value"][-1]
    new_rows = r.filter((pl.col("meter_id") == "M-A") & (pl.col("ts_utc") >= t(50))).with_columns(
        pl.lit("M-A2").alias("meter_id"), (pl.col("value") - old_last).alias("value"),
        (pl.col("raw_value") - old_last).alias("raw_value"),
        pl.col("raw_id").str.replace("M-A", "M-A2"))
    stray = r.filter((pl.col("meter_id") == "M-A") & (pl.col("ts_utc") == t(51)))
    r = pl.concat([r.filter(pl.col("meter_id") != "M-A"), old, stray, new_rows])
    found = replacement.detect_replacements(r, m, equipment())
    assert rows(found, "check", "meter_id", "equipment_id", "window_start_utc",
                "window_end_utc", "observed", "expected") == [
        ("replacement", "M-A", "EQ-A", t(50), t(51), 0.0, old_last),
        ("outside_service", "M-A", None, t(51), t(52), stray["value"][0], None),
    ]
    assert json.loads(found["details"][0])["new_meter_id"] == "M-A2"
    assert range_spike.detect_range_spikes(r, m, equipment()).height == 0
    assert rollover.detect_rollovers(r, m, equipment()).height == 0
    assert gaps.detect_gaps(r, m, equipment(), T0, t(96)).height == 0


# ---------------------------------------------------------------- stuck


def _frozen(r: pl.DataFrame) -> pl.DataFrame:
    """M-A repeats its k=9 reading (105.0) at k=10, 11, 12 and resumes at k=13 (109.0)."""
    frozen = (pl.col("meter_id") == "M-A") & pl.col("ts_utc").is_in([t(10), t(11), t(12)])
    return r.with_columns(pl.when(frozen).then(pl.lit(105.0)).otherwise(pl.col("value"))
                          .alias("value"))


def test_stuck_counter_while_its_line_runs() -> None:
    found = stuck.detect_stuck(_frozen(readings()), meters(), equipment(), production())
    assert rows(found, "rule", "check", "meter_id", "equipment_id", "window_start_utc",
                "window_end_utc", "detected_at_utc") == [
        ("stuck_meter", "flat_while_running", "M-A", "EQ-A", t(9), t(12), t(10) + RX)]
    assert range_spike.detect_range_spikes(_frozen(readings()), meters(), equipment()).height \
        == 0
    d = json.loads(found["details"][0])
    assert (d["flat_intervals"], d["batch_id"], d["catch_up_kwh"]) == (3, "B1", 4.0)


def test_flat_counter_without_production_is_not_stuck_for_a_line_meter() -> None:
    found = stuck.detect_stuck(_frozen(readings()), meters(), equipment(),
                               production([("B9", 60, 70, 100)]))
    assert found.height == 0


def test_repeated_register_value_for_two_hours() -> None:
    r = readings()
    rep = (pl.col("meter_id") == "M-C") & pl.col("ts_utc").is_between(t(40), t(47))
    r = r.with_columns(pl.when(rep).then(pl.lit(2.05)).otherwise(pl.col("value")).alias("value"))
    found = stuck.detect_stuck(r, meters(), equipment(), production())
    assert rows(found, "check", "meter_id", "window_start_utc", "window_end_utc") == [
        ("repeated_value", "M-C", t(40), t(48))]
    shorter = r.with_columns(pl.when((pl.col("meter_id") == "M-C") & (pl.col("ts_utc") == t(47)))
                             .then(pl.lit(2.1)).otherwise(pl.col("value")).alias("value"))
    assert stuck.detect_stuck(shorter, meters(), equipment(), production()).height == 0


# ---------------------------------------------------------------- energy per unit


def _eq_intervals(batches, kwh_of) -> pl.DataFrame:
    out = []
    for _, a, e, _units in batches:
        for k in range(a, e):
            out.append({"site_id": SITE, "equipment_id": "EQ-A", "interval_start_utc": t(k),
                        "kwh": kwh_of(k)})
    return pl.DataFrame(out)


def test_energy_per_unit_above_20_percent_of_the_history() -> None:
    # six batches of 4 intervals and 100 units: 1 kWh per interval, the last one 1.5
    batches = [(f"B{i}", 8 * i, 8 * i + 4, 100) for i in range(6)]
    ei = _eq_intervals(batches, lambda k: 1.5 if k >= 40 else 1.0)
    found = energy_per_unit.detect_energy_per_unit(ei, equipment(), production(batches),
                                                   factor=0.5)
    assert rows(found, "check", "equipment_id", "subject_id", "window_start_utc",
                "window_end_utc", "detected_at_utc", "observed", "expected") == [
        ("batch_total", None, "B5", t(40), t(44), t(44) + STEP + timedelta(minutes=5),
         pytest.approx(0.06), pytest.approx(0.04)),
        ("equipment", "EQ-A", "B5/EQ-A", t(40), t(44), t(44) + STEP + timedelta(minutes=5),
         pytest.approx(0.06), pytest.approx(0.04)),
    ]
    d = json.loads(found["details"][1])
    assert d["excess_kwh"] == pytest.approx(2.0)
    assert d["excess_kg_co2e"] == pytest.approx(1.0)
    assert (d["process_step"], d["history_batches"]) == ("press", 5)


def test_energy_per_unit_needs_history_and_a_real_excess() -> None:
    batches = [(f"B{i}", 8 * i, 8 * i + 4, 100) for i in range(6)]
    # +15 %: below the threshold
    ei = _eq_intervals(batches, lambda k: 1.15 if k >= 40 else 1.0)
    assert energy_per_unit.detect_energy_per_unit(ei, equipment(), production(batches)).height \
        == 0
    # only two batches of history
    ei = _eq_intervals(batches[3:], lambda k: 1.5 if k >= 40 else 1.0)
    assert energy_per_unit.detect_energy_per_unit(ei, equipment(),
                                                  production(batches[3:])).height == 0


def test_shared_equipment_is_attributed_by_what_production_adds() -> None:
    # EQ-C (no line): 1 kWh + 2 kWh while L1 runs, over 5 days; L1 runs 8 intervals a day
    days = 5
    batches = [(f"D{d}", 96 * d + 40, 96 * d + 48, 100) for d in range(days)]
    running = {k for _, a, e, _ in batches for k in range(a, e)}
    ei = pl.DataFrame([{"site_id": SITE, "equipment_id": "EQ-C", "interval_start_utc": t(k),
                        "kwh": 1.0 + (2.0 if k in running else 0.0)}
                       for k in range(96 * days)])
    att = energy_per_unit.shared_attribution(ei, equipment(), production(batches))
    # fitted from day 3 on (3 days of history): 2/3 of a running interval goes to L1
    got = att.filter(pl.col("kwh_attributed") > 0).group_by(
        pl.col("interval_start_utc").dt.date()).agg(pl.sum("kwh_attributed")).sort(
        "interval_start_utc")
    assert got["interval_start_utc"].to_list() == [date(2026, 3, 5), date(2026, 3, 6)]
    assert got["kwh_attributed"].to_list() == [pytest.approx(16.0), pytest.approx(16.0)]


# ---------------------------------------------------------------- drift


def _drift_tree(rate_per_day: float, onset_k: int, days: int = 21) -> tuple:
    """G → (P, S); P → (K1, K2) + unmetered 0.1 + 5 % of K1. P reads high from onset_k."""
    ms = meters().filter(pl.col("meter_id") == "M-G").with_columns(
        pl.lit("utility").alias("meter_kind"))
    base = ms.row(0, named=True)
    extra = [{**base, "meter_id": mid, "parent_meter_id": parent, "meter_kind": "sub"}
             for mid, parent in (("P", "M-G"), ("S", "M-G"), ("K1", "P"), ("K2", "P"))]
    ms = pl.concat([ms, pl.DataFrame(extra, schema=ms.schema)])
    out = []
    for k in range(96 * days):
        run = 1.0 if (k % 96) in range(32, 80) else 0.0
        k1 = 2.0 + 3.0 * run + 0.05 * ((k * 7) % 5)
        k2 = 1.0 + 1.0 * run + 0.03 * ((k * 3) % 4)
        p_true = k1 + k2 + 0.1 + 0.05 * k1
        s = 1.5 + 0.02 * (k % 3)
        g = p_true + s + 0.3
        factor = 1 + rate_per_day * max(0.0, (k + 0.5 - onset_k) / 96)
        for mid, v in (("K1", k1), ("K2", k2), ("P", p_true * factor), ("S", s), ("M-G", g)):
            out.append({"meter_id": mid, "site_id": SITE, "interval_start_utc": t(k), "kwh": v})
    return pl.DataFrame(out), ms


def test_drift_found_on_the_meter_both_balances_point_to() -> None:
    intervals, ms = _drift_tree(0.03 / 7, onset_k=96 * 3 + 11)
    found = drift.detect_drift(intervals, ms)
    assert rows(found, "rule", "check", "meter_id") == [("drift", "meter_drift", "P")]
    d = json.loads(found["details"][0])
    onset = datetime.fromisoformat(d["onset"])
    assert abs((onset - t(96 * 3 + 11)).total_seconds()) <= 3600
    assert d["rate_per_week"] == pytest.approx(0.03, rel=0.02)


def test_no_drift_on_a_steady_tree() -> None:
    intervals, ms = _drift_tree(0.0, onset_k=0)
    assert drift.detect_drift(intervals, ms).height == 0


# ---------------------------------------------------------------- bill gap


def test_bill_outside_its_band() -> None:
    g = pl.DataFrame([{"meter_id": "M-G", "site_id": SITE, "interval_start_utc": t(k),
                       "kwh": 1.0} for k in range(192)])
    bills = pl.DataFrame({"bill_id": ["ok", "high"], "site_id": [SITE, SITE],
                          "period_start": [date(2026, 3, 2)] * 2,
                          "period_end": [date(2026, 3, 3)] * 2, "kwh": [192.5, 200.0]})
    found = bill_gap.detect_bill_gaps(bills, g, meters(), sites())
    assert rows(found, "check", "subject_id", "window_start_utc", "window_end_utc") == [
        ("outside_band", "high", T0, t(192))]
    assert found["observed"][0] == pytest.approx(8 / 200)
    narrow = pl.DataFrame({"site_id": [SITE], "band_low": [-0.001], "band_high": [0.001]})
    found = bill_gap.detect_bill_gaps(bills, g, meters(), sites(), bands=narrow)
    assert sorted(found["subject_id"]) == ["high", "ok"]


# ---------------------------------------------------------------- clock: duplicates


def test_duplicates_identical_conflicting_and_two_ids_for_one_instant() -> None:
    base = [reading("M-B", 1, 0.5, "interval_kwh"), reading("M-B", 2, 0.51, "interval_kwh"),
            reading("M-B", 3, 0.52, "interval_kwh")]
    resend = [
        {**base[0], "received_at_utc": t(10)},  # identical copy
        {**base[1], "value": 0.6, "raw_value": 0.6, "received_at_utc": t(11)},  # conflicting
        {**base[2], "raw_id": "other-id", "value": 0.7, "raw_value": 0.7,
         "received_at_utc": t(12)},  # another id, same meter and instant
    ]
    found = clock.detect_duplicates(frame(base + resend))
    assert rows(found, "check", "severity", "raw_id", "detected_at_utc", "observed",
                "expected") == [
        ("duplicate_identical", "info", "M-B|2026-03-02T00:15", t(10), 0.5, 0.5),
        ("duplicate_conflicting", "warning", "M-B|2026-03-02T00:30", t(11), 0.6, 0.51),
        ("conflicting_instant", "warning", "other-id", t(12), 0.7, 0.52),
    ]


def test_no_duplicates_after_staging_dedup() -> None:
    r = readings()
    again = r.head(5).with_columns(pl.col("received_at_utc") + timedelta(hours=1))
    assert clock.detect_duplicates(pl.concat([r, again])).height == 5
    landing = pl.concat([r, again]).rename({"ts_utc": "ts", "received_at_utc": "received_at"})
    staged = stage_readings(landing.drop("register", "raw_value"), meters())
    assert clock.detect_duplicates(staged).height == 0


# ---------------------------------------------------------------- factors, production


def _factor(version: str, start: datetime, end: datetime, value: float = 0.5) -> dict:
    return {"factor_id": "F", "version": version, "method": "location", "region": "TW",
            "energy_carrier": "electricity", "granularity": "annual", "valid_from_utc": start,
            "valid_to_utc": end, "value": value, "unit": "kgCO2e/kWh", "gas": "CO2e",
            "gwp_set": None, "source_document": "doc", "published_at_utc": start}


def test_factor_overlaps_and_coverage_gaps_name_the_rows() -> None:
    y = [datetime(2024 + i, 1, 1) for i in range(5)]
    f = pl.DataFrame([
        _factor("1", y[0], y[1]),
        _factor("1", y[1] - timedelta(days=10), y[2]),  # overlaps the row before (same version)
        _factor("2", y[0], y[2], 0.49),  # a restatement: another version may overlap
        _factor("1", y[3], y[4]),  # leaves 2026 uncovered
    ])
    found = factor_files.detect_factor_windows(f)
    assert rows(found, "check", "subject_id", "window_start_utc", "window_end_utc") == [
        ("overlap", "F|1|2024-12-22T00:00:00Z", y[1] - timedelta(days=10), y[1]),
        ("coverage_gap", "F|1|2027-01-01T00:00:00Z", y[2], y[3]),
    ]
    assert "F|1|2024-01-01T00:00:00Z" in found["message"][0]


def test_overlapping_batches_on_one_line() -> None:
    p = production([("B1", 8, 24, 400), ("B2", 20, 30, 100), ("B3", 30, 40, 100)])
    found = production_data.detect_overlapping_batches(p)
    assert rows(found, "check", "subject_id", "window_start_utc", "window_end_utc") == [
        ("overlapping_batches", "B1", t(20), t(24)),
        ("overlapping_batches", "B2", t(20), t(24)),
    ]


# ---------------------------------------------------------------- reported vs recomputed


def test_reported_emissions_beyond_rounding() -> None:
    r = pl.DataFrame({
        "source_row": [1, 2, 3, 4],
        "interval_start_utc": [t(0), t(1), t(2), t(3)],
        "kwh": [8.0, 10.0, 30.0, 10.0],
        # recomputed at 0.5 t/MWh: 0.004 | 0.005 (a tie) | 0.015 | 0.005 (a tie)
        "reported_tco2": [0.0, 0.01, 0.0, 0.0],
    })
    found = reported.detect_reported_mismatch(r, factor_t_per_mwh=0.5)
    assert found["subject_id"].to_list() == ["3"]
    assert (found["observed"][0], found["expected"][0]) == (0.0, pytest.approx(0.015))


STEEL_CSV = (Path(__file__).parents[2].parent / "shared" / "data" / "steel_industry_2018"
             / "steel_industry_2018_january.csv")


@pytest.mark.skipif(not STEEL_CSV.exists(), reason="steel export not present")
def test_steel_file_flags_exactly_the_47_rows_of_2_january() -> None:
    from ingestion.files.cases.steel import FACTOR_T_PER_MWH, read_reported

    rows_ = read_reported(STEEL_CSV)
    found = reported.detect_reported_mismatch(rows_, factor_t_per_mwh=FACTOR_T_PER_MWH)
    assert found.height == 47
    ids = found["subject_id"].to_list()
    flagged = rows_.filter(pl.col("source_row").cast(pl.String).is_in(ids))
    assert (flagged["printed_ts"][0], flagged["printed_ts"][-1]) == ("2/1/2018 8:15",
                                                                     "2/1/2018 20:30")
    assert set(flagged["source_row"]) == set(range(130, 180)) - {147, 148, 149}
    assert (flagged["reported_tco2"] == 0).all()

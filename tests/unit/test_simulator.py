"""The simulated plant: determinism, the meter tree and its conservation, register arithmetic,
the reference hotspot, production, bills, factors, every fault switch and the landing round trip."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from ingestion.landing.schemas import SCHEMAS
from ingestion.landing.store import LandingZone
from ingestion.simulator import FaultConfig, PlantConfig, Simulation, simulate, write_simulation
from ingestion.simulator.plant import METERS, meter_index

TZ = ZoneInfo("Asia/Taipei")
FAULT_NAMES = [f.name for f in fields(FaultConfig)]


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(PlantConfig())


@pytest.fixture(scope="module")
def faulty() -> Simulation:
    return simulate(PlantConfig(faults=FaultConfig.all_on()))


def kwh_per_raw(meter: dict) -> float:
    return meter["multiplier"] * {"kWh": 1.0, "Wh": 0.001, "MWh": 1000.0}[meter["unit"]]


def interval_energy(readings: pl.DataFrame, meter: dict) -> pl.DataFrame:
    """What a consumer computes from a meter's readings: kWh per interval start."""
    r = readings.filter(pl.col("meter_id") == meter["meter_id"]).sort("ts")
    if meter["register"] == "counter_kwh":
        delta = pl.col("value").diff()
        delta = pl.when(delta < 0).then(delta + meter["rollover_value"]).otherwise(delta)
        return r.select(
            pl.col("ts").shift(1).alias("interval_start"),
            (delta * kwh_per_raw(meter)).alias("kwh"),
        ).slice(1)
    if meter["register"] == "interval_kwh":
        return r.select(pl.col("ts").alias("interval_start"),
                        (pl.col("value") * kwh_per_raw(meter)).alias("kwh"))
    return r.select(pl.col("ts").alias("interval_start"),
                    (pl.col("value") * meter["multiplier"] * 0.25).alias("kwh"))


def truth_of(sim: Simulation, meter_id: str) -> pl.DataFrame:
    return sim.truth_meter_interval.filter(pl.col("meter_id") == meter_id).select(
        "interval_start", "kwh_true")


# --- determinism -----------------------------------------------------------------------------

def test_same_seed_gives_identical_frames():
    a, b = simulate(PlantConfig(days=3)), simulate(PlantConfig(days=3))
    for name in ("sites", "meters", "equipment", "readings", "bills", "production", "factors",
                 "truth_equipment_interval", "faults", "truth_meter_interval"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_different_seed_gives_different_frames():
    a, b = simulate(PlantConfig(days=3, seed=7)), simulate(PlantConfig(days=3, seed=8))
    assert not a.readings.equals(b.readings)
    assert not a.production.equals(b.production)
    assert not a.truth_equipment_interval.equals(b.truth_equipment_interval)


def test_faults_do_not_disturb_the_baseline(sim, faulty):
    """Independent random streams: faults change only what they target."""
    untouched = "L2-REFLOW-01"  # L1-REFLOW-01 carries process_excess
    assert sim.production.equals(faulty.production)
    base = sim.truth_equipment_interval.filter(pl.col("equipment_id") == untouched)
    other = faulty.truth_equipment_interval.filter(pl.col("equipment_id") == untouched)
    assert base.equals(other)


# --- plant and meter tree --------------------------------------------------------------------

def test_meter_registry_shape(sim):
    meters = sim.meters
    assert 30 <= meters.height <= 60
    assert set(meters["register"]) == {"counter_kwh", "interval_kwh", "power_kw"}
    counters = meters.filter(pl.col("register") == "counter_kwh")
    assert "Wh" in counters["unit"].to_list() and (counters["multiplier"] > 1).any()
    assert counters["rollover_value"].null_count() == 0
    root = meters.filter(pl.col("parent_meter_id").is_null())
    assert root["meter_id"].to_list() == ["M-UTIL"]
    assert root["meter_kind"][0] == "utility" and root["register"][0] == "interval_kwh"
    assert set(meters["parent_meter_id"].drop_nulls()) <= set(meters["meter_id"])
    assert (meters["interval_minutes"] == 15).all()
    assert meters["removed_at"].null_count() == meters.height


def test_equipment_registry_rules(sim):
    eq, meters = sim.equipment, sim.meters
    by_id = {m["meter_id"]: m for m in meters.iter_rows(named=True)}
    for e in eq.iter_rows(named=True):
        m = by_id[e["supply_meter_id"]]
        if e["is_metered"]:
            assert m["measures_kind"] == "equipment" and m["measures_id"] == e["equipment_id"]
        else:
            assert m["measures_kind"] != "equipment"
    tx = eq.filter(pl.col("equipment_id") == "TX-LOSSES").row(0, named=True)
    assert tx["equipment_type"] == "transformer_losses" and tx["supply_meter_id"] == "M-UTIL"
    assert not tx["is_metered"]
    unmetered = eq.filter(~pl.col("is_metered")).group_by("supply_meter_id").len()
    assert unmetered["len"].max() <= 3
    assert set(eq.filter(~pl.col("is_metered"))["equipment_type"]) >= {
        "conveyor", "lighting", "aoi", "packing", "transformer_losses"}


def test_each_node_has_unmetered_load_or_zero_residual(sim):
    meters, eq = sim.meters, sim.equipment
    parents = set(meters["parent_meter_id"].drop_nulls())
    with_unmetered = set(eq.filter(~pl.col("is_metered"))["supply_meter_id"])
    truth = sim.truth_meter_interval
    for node in parents - with_unmetered:
        children = meters.filter(pl.col("parent_meter_id") == node)["meter_id"].to_list()
        kids = truth.filter(pl.col("meter_id").is_in(children)).group_by("interval_start").agg(
            pl.col("kwh_true").sum())
        joined = truth_of(sim, node).join(kids, on="interval_start")
        assert (joined["kwh_true"] - joined["kwh_true_right"]).abs().max() < 1e-9, node


def test_truth_is_conserved_through_the_tree(sim):
    total = sim.truth_equipment_interval.group_by("interval_start").agg(pl.col("kwh_true").sum())
    util = truth_of(sim, "M-UTIL").join(total, on="interval_start")
    assert util.height == 14 * 96
    np.testing.assert_allclose(util["kwh_true"], util["kwh_true_right"], rtol=1e-12)
    # and at every node: parent = child meters + unmetered equipment supplied directly
    eq_truth = sim.truth_equipment_interval.join(
        sim.equipment.select("equipment_id", "supply_meter_id", "is_metered"), on="equipment_id")
    for node in sim.meters["parent_meter_id"].drop_nulls().unique():
        children = sim.meters.filter(pl.col("parent_meter_id") == node)["meter_id"].to_list()
        parts = pl.concat([
            sim.truth_meter_interval.filter(pl.col("meter_id").is_in(children))
            .select("interval_start", "kwh_true"),
            eq_truth.filter((pl.col("supply_meter_id") == node) & ~pl.col("is_metered"))
            .select("interval_start", "kwh_true"),
        ]).group_by("interval_start").agg(pl.col("kwh_true").sum())
        joined = truth_of(sim, node).join(parts, on="interval_start")
        np.testing.assert_allclose(joined["kwh_true"], joined["kwh_true_right"], rtol=1e-12)


def test_transformer_losses_are_a_few_kw_plus_a_load_share(sim):
    tx = sim.truth_equipment_interval.filter(pl.col("equipment_id") == "TX-LOSSES")
    kw = tx["kwh_true"] * 4
    assert 8 < kw.mean() < 15
    share = tx["kwh_true"].sum() / sim.truth_equipment_interval["kwh_true"].sum()
    assert 0.015 < share < 0.03


# --- readings from truth ---------------------------------------------------------------------

def test_readings_conform_and_are_unique(sim):
    r = sim.readings
    assert r.schema == pl.Schema(SCHEMAS["readings"])
    assert r["raw_id"].n_unique() == r.height
    assert r["raw_id"][0] == f"{r['meter_id'][0]}|{r['ts'][0].isoformat()}"
    assert (r["quality"] == "good").all()
    lag = (r["received_at"] - r["ts"]).dt.total_seconds()
    assert lag.min() > 900 and lag.max() < 900 + 30
    assert r["source"][0].startswith("sim://TW-HSINCHU-01/gw-")


@pytest.mark.parametrize("register", ["counter_kwh", "interval_kwh", "power_kw"])
def test_every_meter_reconstructs_its_true_energy(sim, register):
    start = sim.truth_meter_interval["interval_start"].min()
    end = start + timedelta(days=14)
    for m in sim.meters.filter(pl.col("register") == register).iter_rows(named=True):
        got = interval_energy(sim.readings, m)
        joined = truth_of(sim, m["meter_id"]).join(got, on="interval_start", how="full",
                                                   coalesce=True)
        assert joined.height == 14 * 96 and joined.null_count().sum_horizontal()[0] == 0
        if register == "counter_kwh":
            tolerance = 0.01 * kwh_per_raw(m) if m["unit"] == "kWh" else 1.0 * kwh_per_raw(m)
            ts = sim.readings.filter(pl.col("meter_id") == m["meter_id"])["ts"]
            assert ts.min() == start and ts.max() == end  # both ends: last interval computable
        elif register == "interval_kwh":
            tolerance = 0.0005 * kwh_per_raw(m)
        else:
            tolerance = 0.005 * 0.25
        err = (joined["kwh"] - joined["kwh_true"]).abs().max()
        assert err <= tolerance + 1e-9, (m["meter_id"], err)


def test_several_counters_roll_over_in_two_weeks(sim):
    wrapped = (
        sim.readings.join(sim.meters.select("meter_id", "register"), on="meter_id")
        .filter(pl.col("register") == "counter_kwh").sort("meter_id", "ts")
        .with_columns(pl.col("value").diff().over("meter_id").alias("d"))
        .filter(pl.col("d") < 0)["meter_id"].unique()
    )
    assert wrapped.len() >= 3, wrapped.to_list()


# --- the reference hotspot -------------------------------------------------------------------

@pytest.mark.parametrize("seed", [7, 21])
def test_reference_hotspot(seed, sim):
    s = sim if seed == 7 else simulate(PlantConfig(seed=seed))
    per_eq = s.truth_equipment_interval.group_by("equipment_id").agg(pl.col("kwh_true").sum())
    share = dict(zip(per_eq["equipment_id"], per_eq["kwh_true"] / per_eq["kwh_true"].sum(),
                     strict=True))
    assert 0.16 <= share.pop("L3-WAVE-01") <= 0.20
    assert max(share.values()) < 0.12
    units = s.production.group_by("line_id").agg(pl.col("good_units").sum())
    l3 = units.filter(pl.col("line_id") == "L3-THT")["good_units"][0] / units["good_units"].sum()
    assert 0.065 <= l3 <= 0.085


def test_allocation_by_registry_weights_is_within_a_few_percent_per_day(sim):
    """A node's residual split by nameplate x load fraction (running vs idle by line status)
    lands near each unmetered equipment's true daily energy."""
    eq = sim.equipment
    running = _running_flags(sim)
    truth = sim.truth_equipment_interval.join(eq, on="equipment_id").join(
        running, on=["line_id", "interval_start"], how="left"
    ).with_columns(
        pl.when(pl.col("line_id").is_null() | pl.col("running").fill_null(False))
        .then(pl.col("running_load_fraction")).otherwise(pl.col("idle_load_fraction"))
        .mul(pl.col("nameplate_kw")).alias("weight"),
        pl.col("interval_start").dt.convert_time_zone("Asia/Taipei").dt.date().alias("day"),
    )
    unmetered = truth.filter(~pl.col("is_metered")).with_columns(
        (pl.col("weight") / pl.col("weight").sum().over("supply_meter_id", "interval_start")
         * pl.col("kwh_true").sum().over("supply_meter_id", "interval_start")).alias("alloc"))
    daily = unmetered.group_by("equipment_id", "day").agg(pl.col("kwh_true", "alloc").sum())
    err = ((daily["alloc"] - daily["kwh_true"]) / daily["kwh_true"]).abs()
    assert err.max() < 0.03


def _running_flags(sim: Simulation) -> pl.DataFrame:
    starts = sim.truth_meter_interval["interval_start"].unique().sort()
    rows = []
    for b in sim.production.iter_rows(named=True):
        k = starts.filter((starts >= b["start_ts"]) & (starts < b["end_ts"]))
        rows.append(pl.DataFrame({"line_id": b["line_id"], "interval_start": k, "running": True}))
    return pl.concat(rows)


# --- production --------------------------------------------------------------------------------

def _shift_start(local):
    """Local start of the shift containing a local instant (A 06, B 14, C 22)."""
    h = local.hour
    day = local.date()
    if 6 <= h < 14:
        return day, 6
    if 14 <= h < 22:
        return day, 14
    return (day if h >= 22 else day - timedelta(days=1)), 22


def test_batches_never_cross_shift_boundaries(sim):
    p = sim.production
    assert p.height > 100 and p["batch_id"].n_unique() == p.height
    for b in p.iter_rows(named=True):
        start = b["start_ts"].astimezone(TZ)
        last = (b["end_ts"] - timedelta(seconds=1)).astimezone(TZ)
        assert b["end_ts"] > b["start_ts"]
        assert _shift_start(start) == _shift_start(last), b["batch_id"]
        expected = {6: "A", 14: "B", 22: "C"}[_shift_start(start)[1]]
        assert b["shift"] == expected
    # no two batches of a line overlap, all inside the run, good units positive
    for _, line in p.group_by("line_id"):
        line = line.sort("start_ts")
        assert (line["start_ts"].shift(-1).drop_nulls() >= line["end_ts"][:-1]).all()
    t0 = sim.truth_meter_interval["interval_start"].min()
    assert p["start_ts"].min() >= t0 and p["end_ts"].max() <= t0 + timedelta(days=14)
    assert (p["good_units"] > 0).all() and (p["scrap_units"] >= 0).all()
    assert set(p["sku"]) == {"PCB-A100", "PCB-B200", "PSU-C300", "CTRL-D400"}


# --- bills and factors -----------------------------------------------------------------------

def test_bills_cover_site_energy_and_exceed_metered_equipment(sim):
    bills = sim.bills
    assert bills.height == 1
    bill = bills.row(0, named=True)
    assert bill["period_start"] == date(2026, 1, 5) and bill["period_end"] == date(2026, 1, 18)
    site = truth_of(sim, "M-UTIL")["kwh_true"].sum()
    assert bill["kwh"] == round(site)
    eq_meters = sim.meters.filter(pl.col("meter_kind") == "equipment")["meter_id"].to_list()
    metered = sim.truth_meter_interval.filter(pl.col("meter_id").is_in(eq_meters))["kwh_true"].sum()
    assert bill["kwh"] > metered
    assert bill["supplier"] == "Taipower" and bill["currency"] == "TWD"
    assert 2.3 < bill["cost"] / bill["kwh"] < 9.4


def test_bills_are_monthly_and_clipped_to_the_run():
    s = simulate(PlantConfig(start_date=date(2026, 1, 20), days=20))
    b = s.bills.sort("period_start")
    assert b["period_start"].to_list() == [date(2026, 1, 20), date(2026, 2, 1)]
    assert b["period_end"].to_list() == [date(2026, 1, 31), date(2026, 2, 8)]
    assert b["kwh"].sum() == pytest.approx(truth_of(s, "M-UTIL")["kwh_true"].sum(), abs=1)


def test_factors(sim):
    f = sim.factors
    annual = f.filter(pl.col("granularity") == "annual").row(0, named=True)
    assert annual["factor_id"] == "TW-MOEA-GRID" and annual["value"] == 0.494
    assert annual["unit"] == "kgCO2e/kWh" and annual["method"] == "location"
    assert annual["valid_from"].astimezone(TZ).isoformat() == "2026-01-01T00:00:00+08:00"
    assert annual["published_at"] < annual["valid_from"]
    hourly = f.filter(pl.col("factor_id") == "TW-GRID-HOURLY-SIM").sort("valid_from")
    assert hourly.height == 14 * 24 and (hourly["unit"] == "gCO2e/kWh").all()
    assert (hourly["valid_to"] - hourly["valid_from"] == timedelta(hours=1)).all()
    assert abs(hourly["value"].mean() - 494) < 10
    by_hour = hourly.group_by(pl.col("valid_from").dt.convert_time_zone("Asia/Taipei").dt.hour()
                              .alias("h")).agg(pl.col("value").mean()).sort("h")
    noon, evening = by_hour["value"][12], by_hour["value"][20]
    assert noon < 0.9 * evening  # the solar dip
    truth = sim.truth_equipment_interval
    np.testing.assert_allclose(truth["kgco2e_true"], truth["kwh_true"] * 0.494)


def test_factors_cover_every_local_year_touched():
    s = simulate(PlantConfig(start_date=date(2025, 12, 30), days=4))
    annual = s.factors.filter(pl.col("granularity") == "annual").sort("valid_from")
    assert annual["version"].to_list() == ["2025.1", "2026.1"]
    assert annual["valid_to"][0] == annual["valid_from"][1]


# --- faults ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FAULT_NAMES)
def test_each_fault_changes_observed_data_and_is_logged(name, sim):
    s = simulate(PlantConfig(faults=FaultConfig.only(name)))
    assert sim.faults.height == 0
    assert s.faults.height >= 1 and set(s.faults["fault_type"]) == {name}
    assert (s.faults["start_ts"] < s.faults["end_ts"]).all()
    assert s.faults["fault_id"].n_unique() == s.faults.height
    for d in s.faults["details"]:
        json.loads(d)
    changed = any(not getattr(s, k).equals(getattr(sim, k))
                  for k in ("readings", "meters", "equipment"))
    assert changed
    assert s.faults["meter_id"].is_in(s.meters["meter_id"].implode()).all()


def _window(faults: pl.DataFrame, fault_type: str, meter_id: str | None = None) -> dict:
    f = faults.filter(pl.col("fault_type") == fault_type)
    if meter_id:
        f = f.filter(pl.col("meter_id") == meter_id)
    return f.row(0, named=True)


def test_gaps_remove_readings_in_the_logged_window(faulty):
    for g in faulty.faults.filter(pl.col("fault_type") == "gaps").iter_rows(named=True):
        r = faulty.readings.filter(pl.col("meter_id") == g["meter_id"])
        assert r.filter((pl.col("ts") >= g["start_ts"]) & (pl.col("ts") < g["end_ts"])).height == 0
        assert r.filter(pl.col("ts") == g["end_ts"]).height == 1


def test_rollover_wraps_in_the_logged_interval(faulty):
    f = _window(faulty.faults, "rollover")
    r = faulty.readings.filter(pl.col("meter_id") == f["meter_id"]).sort("ts")
    before = r.filter(pl.col("ts") == f["start_ts"])["value"][0]
    after = r.filter(pl.col("ts") == f["end_ts"])["value"][0]
    assert before > 0.999 * meter_index()[f["meter_id"]].rollover_value and after < before
    assert r["value"][0] > 0.999 * meter_index()[f["meter_id"]].rollover_value


def test_meter_replacement_updates_the_registry(faulty, sim):
    f = _window(faulty.faults, "meter_replacement")
    new_id = json.loads(f["details"])["new_meter_id"]
    m = faulty.meters
    old = m.filter(pl.col("meter_id") == f["meter_id"]).row(0, named=True)
    new = m.filter(pl.col("meter_id") == new_id).row(0, named=True)
    assert old["removed_at"] == f["start_ts"] == new["installed_at"] and new["removed_at"] is None
    assert new["measures_id"] == old["measures_id"]
    assert new["parent_meter_id"] == old["parent_meter_id"]
    assert m.height == sim.meters.height + 1
    r = faulty.readings
    assert r.filter(pl.col("meter_id") == f["meter_id"])["ts"].max() == f["start_ts"]
    first = r.filter(pl.col("meter_id") == new_id).sort("ts").row(0, named=True)
    assert first["ts"] == f["start_ts"] and first["value"] == 0.0
    eq = faulty.equipment.filter(pl.col("equipment_id") == old["measures_id"])
    assert eq["supply_meter_id"][0] == new_id
    # old + new together still reconstruct the equipment's truth
    for mid in (f["meter_id"], new_id):
        meter = m.filter(pl.col("meter_id") == mid).row(0, named=True)
        joined = truth_of(faulty, mid).join(interval_energy(r, meter), on="interval_start")
        assert joined.height == truth_of(faulty, mid).height
        assert (joined["kwh"] - joined["kwh_true"]).abs().max() <= 0.01 + 1e-9


def test_spikes_are_absurd(faulty, sim):
    for f in faulty.faults.filter(pl.col("fault_type") == "spikes").iter_rows(named=True):
        key = (pl.col("meter_id") == f["meter_id"]) & (pl.col("ts") == f["start_ts"])
        bad, good = faulty.readings.filter(key)["value"][0], sim.readings.filter(key)["value"][0]
        assert bad > 50 * good or bad > meter_index()[f["meter_id"]].rollover_value


def test_stuck_counter_freezes_while_running_then_resumes(faulty, sim):
    f = _window(faulty.faults, "stuck")
    key = pl.col("meter_id") == f["meter_id"]
    r = faulty.readings.filter(key).sort("ts")
    frozen = r.filter((pl.col("ts") >= f["start_ts"] - timedelta(minutes=15))
                      & (pl.col("ts") < f["end_ts"]))["value"]
    assert frozen.n_unique() == 1 and frozen.len() >= 3
    resumed = pl.col("ts") == f["end_ts"]
    assert r.filter(resumed)["value"][0] == sim.readings.filter(key & resumed)["value"][0]
    line = faulty.production.filter((pl.col("line_id") == "L2-SMT")
                                    & (pl.col("start_ts") <= f["start_ts"] - timedelta(minutes=15))
                                    & (pl.col("end_ts") >= f["end_ts"]))
    assert line.height == 1  # the equipment ran throughout


def test_compressor_cycling_raises_true_energy(faulty, sim):
    f = _window(faulty.faults, "compressor_cycling")
    inside = (pl.col("equipment_id") == "AIR-C02") & pl.col("interval_start").is_between(
        f["start_ts"], f["end_ts"], closed="left")
    ratio = (faulty.truth_equipment_interval.filter(inside)["kwh_true"].sum()
             / sim.truth_equipment_interval.filter(inside)["kwh_true"].sum())
    assert ratio == pytest.approx(1.25)


def test_drift_grows(faulty):
    f = _window(faulty.faults, "drift")
    meter = faulty.meters.filter(pl.col("meter_id") == f["meter_id"]).row(0, named=True)
    joined = truth_of(faulty, meter["meter_id"]).join(
        interval_energy(faulty.readings, meter), on="interval_start").with_columns(
        pl.col("interval_start").dt.date().alias("day")
    ).group_by("day").agg(pl.col("kwh").sum() / pl.col("kwh_true").sum()).sort("day")
    ratio = joined["kwh"]
    assert abs(ratio[0] - 1) < 0.005 and ratio[-1] > 1.03
    assert (ratio.diff().drop_nulls() > -0.002).all()


def test_duplicates_share_raw_ids(faulty):
    dup = faulty.readings.filter(pl.col("raw_id").is_duplicated())
    assert dup.height > 0
    per_id = dup.group_by("raw_id", "meter_id").agg(pl.col("value").n_unique().alias("values"))
    identical = per_id.filter(pl.col("values") == 1)["meter_id"].unique().to_list()
    conflicting = per_id.filter(pl.col("values") > 1)["meter_id"].unique().to_list()
    assert set(identical) == {"M-MAIN-PROD", "M-L1"} and conflicting == ["M-L3"]


def test_late_readings_arrive_three_days_later(faulty):
    for f in faulty.faults.filter(pl.col("fault_type") == "late").iter_rows(named=True):
        r = faulty.readings.filter((pl.col("meter_id") == f["meter_id"])
                                   & pl.col("ts").is_between(f["start_ts"], f["end_ts"],
                                                             closed="left"))
        assert r.height > 0
        assert ((r["received_at"] - r["ts"]) >= timedelta(days=3)).all()


def test_fault_config_helpers():
    assert FaultConfig().enabled() == ()
    assert set(FaultConfig.all_on().enabled()) == set(FAULT_NAMES)
    with pytest.raises(ValueError):
        FaultConfig.only("nope")
    with pytest.raises(ValueError):
        PlantConfig(days=0)


# --- landing ---------------------------------------------------------------------------------

def test_write_simulation_round_trips_through_the_landing_zone(tmp_path, faulty):
    counts = write_simulation(faulty, tmp_path)
    zone = LandingZone(tmp_path)
    for kind, frame in faulty.observed().items():
        landed = zone.read(kind)
        assert counts[kind] == frame.height == landed.height, kind
        cols = list(SCHEMAS[kind])
        assert landed.select(cols).sort(cols).equals(frame.select(cols).sort(cols)), kind
    assert zone.read("readings")["landing_batch_id"].n_unique() == 3  # on time, late, re-sends
    truth = tmp_path / "ground_truth"
    assert pl.read_parquet(truth / "equipment_interval.parquet").equals(
        faulty.truth_equipment_interval)
    assert pl.read_parquet(truth / "faults.parquet").equals(faulty.faults)
    plant = json.loads((truth / "plant.json").read_text())
    assert plant["seed"] == 7 and plant["days"] == 14 and plant["start_date"] == "2026-01-05"
    assert set(plant["faults_on"]) == set(FAULT_NAMES)
    # idempotent: the same run lands nothing twice
    again = write_simulation(faulty, tmp_path)
    assert all(again[k] == 0 for k in faulty.observed())
    assert zone.read("readings").height == faulty.readings.height


def test_production_batch_ids_survive_landing(tmp_path):
    s = simulate(PlantConfig(days=1))
    write_simulation(s, tmp_path)
    landed = LandingZone(tmp_path).read("production")
    assert set(landed["batch_id"]) == set(s.production["batch_id"])


def test_plant_description_matches_registry(sim):
    assert {m.meter_id for m in METERS} == set(sim.meters["meter_id"])
    assert sim.sites.row(0, named=True) == {
        "site_id": "TW-HSINCHU-01", "site_name": sim.sites["site_name"][0],
        "timezone": "Asia/Taipei", "grid_region": "TW", "country": "TW",
        "location_factor_granularity": "annual",
    }

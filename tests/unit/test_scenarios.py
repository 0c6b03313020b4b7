"""Reduction measures: the TOU tariff, each measure's arithmetic on a hand-made hourly profile,
and the comparison table on a short simulated run."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.forecasting.scenarios import (
    CompressedAirLeakRepair,
    FlexibleLoadShift,
    HvacControlUpgrade,
    OnSiteSolar,
    TouTariff,
    evaluate_measures,
    hourly_profile,
)


@pytest.mark.parametrize(("local", "price"), [
    (datetime(2026, 1, 5, 17), 8.69),  # Monday peak, non-summer
    (datetime(2026, 1, 5, 10), 5.47),  # Monday mid
    (datetime(2026, 1, 5, 23), 5.47),  # Monday 22-24 mid
    (datetime(2026, 1, 5, 3), 2.32),  # night off-peak
    (datetime(2026, 1, 10, 17), 5.47),  # Saturday: mid, no peak
    (datetime(2026, 1, 11, 17), 2.32),  # Sunday: off-peak all day
    (datetime(2026, 7, 6, 17), 9.39),  # summer peak
])
def test_tou_tariff(local, price):
    out = pl.DataFrame({"local": [local]}).select(TouTariff().price(pl.col("local")))
    assert out.item() == pytest.approx(price)


def _profile(hours: int = 48) -> pl.DataFrame:
    """Four pieces of equipment with constant hourly energy; local clock = UTC + 8."""
    start = datetime(2026, 1, 4, 16)
    rows = []
    kinds = [("AHU", "air_handler", None, "hvac", 10.0, 0.5, 0.6, 5.0),
             ("CH", "chiller", None, "chilled_water", 50.0, 0.2, 0.5, 20.0),
             ("AIR", "air_compressor", None, "compressed_air", 50.0, 0.5, 0.8, 30.0),
             ("FT", "functional_tester", "L4", "functional_test", 20.0, 0.3, 0.7, 10.0)]
    for h in range(hours):
        t = start + timedelta(hours=h)
        for eid, etype, line, step, kw, idle, run, kwh in kinds:
            rows.append({"equipment_id": eid, "equipment_type": etype, "line_id": line,
                         "process_step": step, "nameplate_kw": kw, "idle_load_fraction": idle,
                         "running_load_fraction": run, "hour_utc": t, "kwh": kwh})
    p = pl.DataFrame(rows).with_columns((pl.col("hour_utc") + pl.duration(hours=8)).alias("local"))
    hour = pl.col("local").dt.hour()
    return p.with_columns(
        (400.0 + hour.cast(pl.Float64)).alias("grid_intensity"),  # cleanest at 00h, dirtiest 23h
        pl.lit(0.5).alias("annual_kg_per_kwh"),
        TouTariff().price(pl.col("local")).alias("price"))


def test_hvac_upgrade_scales_fans_by_the_affinity_law():
    p = _profile(24)
    m = HvacControlUpgrade()
    d = m.delta(p).join(p.select("equipment_id", "hour_utc", "local"), on=["equipment_id",
                                                                           "hour_utc"])
    ahu = d.filter(pl.col("equipment_id") == "AHU")
    night = ahu.filter(pl.col("local").dt.hour() == 2)["delta_kwh"][0]
    day = ahu.filter(pl.col("local").dt.hour() == 12)["delta_kwh"][0]
    assert night == pytest.approx(5.0 * (0.8**2.5 - 1))
    assert day == pytest.approx(-5.0 * 0.08)
    assert d.filter(pl.col("equipment_id") == "CH")["delta_kwh"].to_list() == pytest.approx(
        [-20.0 * 0.08] * 24)
    assert d.filter(pl.col("equipment_id") == "FT")["delta_kwh"].sum() == 0


def test_leak_repair_saves_the_flow_share_above_unloaded_power():
    p = _profile(2)
    d = CompressedAirLeakRepair().delta(p).filter(pl.col("equipment_id") == "AIR")
    # (30 kWh − 0.2 x 50 kW x 1 h) x 25% leaks x 70% fixed = 3.5 kWh each hour
    assert d["delta_kwh"].to_list() == pytest.approx([-3.5, -3.5])


def test_load_shift_conserves_energy_cuts_hourly_emissions_and_respects_capacity():
    p = _profile(24)
    m = FlexibleLoadShift(line_id="L4", flexible_share=0.3, hours=4)
    d = m.delta(p).join(p.filter(pl.col("equipment_id") == "FT").select(
        "hour_utc", "grid_intensity", "kwh"), on="hour_utc")
    assert d["delta_kwh"].sum() == pytest.approx(0.0, abs=1e-9)
    assert (d["delta_kwh"] * d["grid_intensity"]).sum() < 0
    # capacity 20 kW x 0.7 = 14 kWh/h: sinks at 10 kWh get at most 4 kWh each
    assert d["delta_kwh"].max() <= 4.0 + 1e-9
    moved = -d.filter(pl.col("delta_kwh") < 0)["delta_kwh"].sum()
    assert moved == pytest.approx(min(0.3 * 4 * 10.0, 4 * 4.0))


def test_solar_yield_over_a_year_and_self_consumption_cap():
    local = pl.datetime_range(datetime(2026, 1, 1), datetime(2027, 1, 1), "1h", closed="left",
                              eager=True)
    pv = OnSiteSolar(kwp=100.0, specific_yield=1_000.0)
    gen = pv.generation(local)
    assert gen.sum() == pytest.approx(100_000.0, rel=0.01)
    assert gen[local.dt.hour().to_numpy() < 6].sum() == 0
    p = _profile(24)
    d = OnSiteSolar(kwp=10_000.0).delta(p)
    site = p.group_by("hour_utc").agg(pl.col("kwh").sum())
    assert (-d["delta_kwh"]).max() <= site["kwh"].max() + 1e-9  # never exports


def test_evaluate_measures_payback_and_bases():
    p = _profile(24 * 7)
    eq = p.unique("equipment_id").select("equipment_id", "equipment_type", "nameplate_kw")
    t = evaluate_measures(p, eq, [CompressedAirLeakRepair(), FlexibleLoadShift(line_id="L4")])
    leak = t.row(0, named=True)
    assert leak["kwh_saved"] == pytest.approx(3.5 * 8760)
    assert leak["payback_months"] == pytest.approx(12 * 400_000 / leak["cost_saving_twd"])
    assert leak["reduction_pct_annual_factor"] == pytest.approx(100 * 3.5 / 65)
    shift = t.row(1, named=True)
    assert shift["kwh_saved"] == pytest.approx(0.0, abs=1e-6)
    assert shift["reduction_pct"] > 0 and shift["reduction_pct_annual_factor"] == pytest.approx(
        0.0, abs=1e-9)


def test_measures_on_the_simulated_plant():
    from models.forecasting.simdata import simulated_marts

    m = simulated_marts(days=14, seed=7)
    profile = hourly_profile(m.energy, m.equipment, m.factors)
    assert profile["grid_intensity"].null_count() == 0 and profile["price"].null_count() == 0
    t = evaluate_measures(profile, m.equipment)
    assert t["measure"].to_list() == ["HVAC control upgrade", "Compressed-air leak repair",
                                      "Shift flexible load (L4-TEST)", "On-site solar PV"]
    assert np.all(t["investment_twd"].to_numpy() > 0)
    hvac, leak = t.row(0, named=True), t.row(1, named=True)
    assert 0.5 < hvac["reduction_pct"] < 10 and 0.5 < leak["reduction_pct"] < 10
    assert leak["payback_months"] < hvac["payback_months"]

"""The simulated plant's fuel meters (ingestion/simulator/fuel.py): readings that add up to the
ground truth, a ground truth in kg CO2e that the Scope 1 library reproduces, and a default plant
that lands no fuel at all."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from ingestion.landing.store import LandingZone
from ingestion.simulator import PlantConfig, simulate, write_simulation
from ingestion.simulator.fuel import GAS_METER, GENSET_METER, build_fuel
from ingestion.simulator.plant import TIMEZONE
from ingestion.simulator.timeline import Timeline
from models.scope2.scope1 import combustion_frame

START = date(2026, 1, 5)  # a Monday


@pytest.fixture(scope="module")
def fuel() -> dict[str, pl.DataFrame]:
    return build_fuel(Timeline.build(START, 3, TIMEZONE), seed=7)


def test_gas_counter_deltas_are_the_true_gas_to_the_registers_resolution(fuel) -> None:
    counter = fuel["readings"].filter(pl.col("meter_id") == GAS_METER).sort("ts")["value"]
    truth = fuel["truth"].filter(pl.col("meter_id") == GAS_METER)["quantity_true"].to_numpy()
    deltas = np.diff(counter.to_numpy())
    assert deltas.shape == truth.shape == (3 * 96,)
    assert np.abs(deltas - truth).max() <= 0.001 + 1e-9
    # standby 1.5 m3/h at night, 7.5 m3/h on a weekday afternoon, 30 % more in January
    assert truth[4 * 3] == pytest.approx(1.5 * 1.3 / 4, rel=0.06)  # 03:00 local
    assert truth[4 * 14] == pytest.approx(7.5 * 1.3 / 4, rel=0.06)  # 14:00 local


def test_the_generator_runs_only_its_monday_test(fuel) -> None:
    litres = fuel["readings"].filter(pl.col("meter_id") == GENSET_METER).sort("ts")
    running = litres.filter(pl.col("value") > 0)
    assert running["value"].to_list() == [15.0, 15.0]
    local = running["ts"].dt.convert_time_zone(TIMEZONE)
    assert local.dt.hour().to_list() == [10, 10]
    assert local.dt.minute().to_list() == [0, 15]
    assert local.dt.weekday().to_list() == [1, 1]


def test_ground_truth_co2e_is_what_the_scope1_library_computes(fuel) -> None:
    truth = fuel["truth"]
    activity = truth.select(
        "site_id",
        pl.col("energy_carrier").alias("fuel"),
        pl.col("quantity_true").alias("quantity"),
        "unit",
        pl.col("interval_start").alias("period_start"),
    ).filter(pl.col("quantity") > 0)
    library = combustion_frame(activity.head(50), fuel["factors"], gwp_set="AR5")
    expected = truth.filter(pl.col("quantity_true") > 0).head(50)["kgco2e_true"].to_list()
    assert library["kg_co2e"].to_list() == pytest.approx(expected, rel=1e-12)
    # diesel: 30 l × (2.676 kg CO2 + 28 × 1.08e-4 kg CH4 + 265 × 2.17e-5 kg N2O) per litre
    diesel = truth.filter(pl.col("energy_carrier") == "diesel")["kgco2e_true"].sum()
    per_litre = 74_100 * 36.12e-6 + 28 * 3 * 36.12e-6 + 265 * 0.6 * 36.12e-6
    assert diesel == pytest.approx(30 * per_litre, rel=1e-12)


def test_fuel_lands_only_when_asked_and_only_once(tmp_path) -> None:
    sim = simulate(PlantConfig(days=1, start_date=START))
    plain = write_simulation(sim, tmp_path / "plain")
    assert not any(name.startswith("fuel_") for name in plain)
    meters = LandingZone(tmp_path / "plain").read("meters")
    assert meters["energy_carrier"].null_count() == meters.height

    first = write_simulation(sim, tmp_path / "fuel", fuel=True)
    assert (first["fuel_meters"], first["fuel_factors"], first["fuel_readings"]) == (2, 6, 97 + 96)
    # the electricity data land exactly as without fuel
    assert {
        k: v
        for k, v in first.items()
        if not k.endswith("fuel_interval") and not k.startswith("fuel_")
    } == plain
    again = write_simulation(sim, tmp_path / "fuel", fuel=True)
    assert again["fuel_readings"] == again["fuel_meters"] == again["fuel_factors"] == 0
    carriers = LandingZone(tmp_path / "fuel").read("meters")["energy_carrier"].drop_nulls()
    assert sorted(carriers.to_list()) == ["diesel", "natural_gas"]

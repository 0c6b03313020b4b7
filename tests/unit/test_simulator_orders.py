"""The simulated order book and planning files: in the landing contract, consistent with the
plant's lines, loaded as documented, and never overwriting a planner's edits."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from ingestion.landing import LandingZone
from ingestion.landing.schemas import SCHEMAS
from ingestion.simulator import PlantConfig, simulate, write_simulation
from ingestion.simulator.planning import HORIZON_DAYS, MEAN_EFFICIENCY, UTILISATION
from ingestion.simulator.plant import EQUIPMENT, LINES


@pytest.fixture(scope="module")
def sim():
    return simulate(PlantConfig(days=3))


def test_orders_conform_and_are_deterministic(sim):
    assert sim.orders.schema == pl.Schema(SCHEMAS["orders"])
    assert sim.orders["order_id"].is_unique().all()
    assert sim.orders.equals(simulate(PlantConfig(days=3)).orders)
    assert not sim.orders.equals(simulate(PlantConfig(days=3, seed=8)).orders)
    assert set(sim.orders["status"]) == {"open", "shipped"}


def test_open_orders_are_due_within_the_week_after_the_snapshot(sim):
    snapshot = sim.orders["snapshot_at"][0]
    open_ = sim.orders.filter(pl.col("status") == "open")
    assert open_["due_ts"].min() > snapshot
    assert open_["due_ts"].max() <= snapshot + timedelta(days=HORIZON_DAYS)
    assert (open_["created_at"] < snapshot).all()
    shipped = sim.orders.filter(pl.col("status") == "shipped")
    assert (shipped["shipped_at"] <= snapshot).all() and shipped["shipped_at"].null_count() == 0


def test_every_order_names_a_work_centre_that_makes_its_sku(sim):
    steps = {}
    for e in EQUIPMENT:
        if e.line_id:
            steps.setdefault(e.line_id, set()).add(e.process_step)
    for row in sim.orders.iter_rows(named=True):
        assert any(
            row["sku"] in line.skus and row["process_step"] in steps[line.line_id] for line in LINES
        ), row


def test_each_work_centre_is_loaded_below_the_documented_utilisation(sim):
    open_ = sim.orders.filter(pl.col("status") == "open")
    for step, kind in (("reflow", "smt"), ("wave_soldering", "tht"), ("functional_test", "test")):
        lines = [line for line in LINES if line.kind == kind]
        rate = {
            sku: sum(
                r * MEAN_EFFICIENCY
                for line in lines
                for s, r in zip(line.skus, line.units_per_hour, strict=True)
                if s == sku
            )
            / sum(sku in line.skus for line in lines)
            for sku in {s for line in lines for s in line.skus}
        }
        mine = open_.filter(pl.col("process_step") == step)
        hours = sum(q / rate[s] for s, q in zip(mine["sku"], mine["quantity"], strict=True))
        capacity = len(lines) * HORIZON_DAYS * 24
        # lots of 50 units round each order by at most 25 units
        slack = sum(25 / rate[s] for s in mine["sku"])
        assert 0.5 * capacity < hours <= UTILISATION * capacity + slack, step


def test_orders_land_and_planning_files_are_kept(tmp_path, sim):
    counts = write_simulation(sim, tmp_path)
    assert counts["orders"] == sim.orders.height
    landed = LandingZone(tmp_path).read("orders")
    assert (
        landed.select(list(SCHEMAS["orders"])).sort("order_id").equals(sim.orders.sort("order_id"))
    )
    assert (tmp_path / "landing" / "orders" / "site=TW-HSINCHU-01").is_dir()
    settings = json.loads((tmp_path / "planning" / "settings.json").read_text())
    assert settings["night_share_bounds"] == [0.2, 0.4] and settings["currency"] == "TWD"
    materials = pl.read_csv(tmp_path / "planning" / "materials.csv")
    assert (
        materials.group_by("sku", "process_step")
        .agg(pl.col("low_carbon").sum())
        .filter(pl.col("low_carbon") != 1)
        .is_empty()
    )  # one low-carbon option per material choice
    # a planner's edit survives a re-run of the same simulation
    (tmp_path / "planning" / "settings.json").write_text('{"horizon_days": 3}')
    again = write_simulation(sim, tmp_path)
    assert again["orders"] == 0
    assert json.loads((tmp_path / "planning" / "settings.json").read_text()) == {"horizon_days": 3}

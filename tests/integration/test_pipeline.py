"""The whole path through Dagster: a simulated plant → landing → a real dbt build in a real
Dagster run on a temporary home → marts checked against ground truth and invariants."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 1, 5)
DAYS = 3
MARTS = (
    "fct_energy_interval",
    "fct_emissions_interval",
    "fct_emissions_daily",
    "fct_reconciliation",
    "fct_product_intensity",
    "fct_batch_energy",
    "rpt_equipment_hotspots",
)


def _snapshot(warehouse) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            name: con.sql(f"select * from marts.{name} order by all").pl() for name in MARTS
        }


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    from orchestration.cli.commands.simulate import simulate_into
    from orchestration.pipeline import run_pipeline

    settings = configure(home=tmp_path_factory.mktemp("wattprint"))
    simulate_into(settings, DAYS, seed=11, start=START)
    outcome = run_pipeline(settings, START, date.fromordinal(START.toordinal() + DAYS - 1))
    assert outcome.success, outcome.error
    return settings, outcome


def test_run_passes_every_blocking_check(plant):
    _, outcome = plant
    blocking = {
        "marts/fct_energy_interval:bill_energy_conserved",
        "intermediate/int_equipment_interval_energy:meter_tree_conserved",
    }
    assert not blocking & set(outcome.failed_checks)


def test_every_billed_kwh_lands_on_equipment(plant):
    settings, _ = plant
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select bill_kwh, reconciled_kwh from marts.fct_reconciliation where is_complete"
        ).fetchall()
    assert rows, "the simulated range has at least one complete bill period"
    for bill_kwh, reconciled_kwh in rows:
        assert float(reconciled_kwh) == pytest.approx(float(bill_kwh), abs=0.01)


def test_figures_match_ground_truth(plant):
    from orchestration.cli.validate import load_report

    settings, _ = plant
    report = load_report(settings)
    assert report.metered.equipment_days > 0 and report.unmetered.equipment_days > 0
    assert report.metered.passed, report.metered
    assert report.unmetered.passed, report.unmetered
    assert abs(report.site_emissions_error) <= 0.001


def test_wave_soldering_is_the_top_hotspot(plant):
    settings, _ = plant
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        top = con.execute(
            "select equipment_id, share_of_site_emissions, share_of_site_production "
            "from marts.rpt_equipment_hotspots order by share_of_site_emissions desc limit 1"
        ).fetchone()
    assert top[0] == "L3-WAVE-01"
    assert 0.15 <= top[1] <= 0.21
    assert 0.06 <= top[2] <= 0.09


def test_rerunning_a_day_gives_identical_marts(plant):
    from orchestration.pipeline import run_pipeline

    settings, _ = plant
    before = _snapshot(settings.warehouse_path)
    middle = date.fromordinal(START.toordinal() + 1)
    assert run_pipeline(settings, middle, middle).success
    after = _snapshot(settings.warehouse_path)
    for name in MARTS:
        assert before[name].equals(after[name]), f"{name} changed on re-run"


def test_conservation_check_fails_when_energy_is_lost(plant, tmp_path):
    """The blocking check is not decorative: take 5 kWh from one interval and it fails."""
    import shutil

    from orchestration.defs.warehouse.checks import bill_energy_conserved
    from orchestration.defs.warehouse.resources import Warehouse

    settings, _ = plant
    tampered = tmp_path / "tampered.duckdb"
    shutil.copy(settings.warehouse_path, tampered)
    healthy = bill_energy_conserved(warehouse=Warehouse(path=str(tampered)))
    assert healthy.passed
    with duckdb.connect(str(tampered)) as con:
        equipment_id, interval_start = con.execute(
            "select equipment_id, interval_start_utc from marts.fct_energy_interval "
            "where bill_id is not null order by all limit 1"
        ).fetchone()
        con.execute(
            "update marts.fct_energy_interval set kwh = kwh - 5 "
            "where equipment_id = ? and interval_start_utc = ?",
            [equipment_id, interval_start],
        )
    broken = bill_energy_conserved(warehouse=Warehouse(path=str(tampered)))
    assert not broken.passed
    assert broken.metadata["bill_periods_unbalanced"].value == 1

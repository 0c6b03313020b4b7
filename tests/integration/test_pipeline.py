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
    "rpt_target_progress",
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


def test_the_run_resolves_the_homes_targets_into_the_progress_mart(plant):
    """A home without targets.json gets the default (the simulated plant's 2025 baseline,
    −4.2 % in 2026); the run resolves it and the run-rate mart tracks it."""
    from models.forecasting.target_config import SIMULATED_BASELINE_2025

    settings, outcome = plant
    assert (settings.home / "targets.json").exists()
    assert "targets/site_targets:targets_resolved" not in outcome.failed_checks
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.sql("select * from marts.rpt_target_progress").pl()
        actual = con.execute(
            "select sum(kg_co2e)::double from marts.fct_emissions_daily where method = 'location'"
        ).fetchone()[0]
    assert rows.height == 2 * 2 * 5  # 2026 and 2027, absolute and per unit, 4 quarters + year
    q1 = rows.filter(
        (pl.col("target_id") == "TW-HSINCHU-01:2026:absolute") & (pl.col("period") == "2026-Q1")
    ).row(0, named=True)
    target = SIMULATED_BASELINE_2025.kg_co2e[0] * (1 - 0.042)
    assert q1["target_kg_co2e"] == pytest.approx(target, rel=1e-12)
    assert q1["days_with_data"] == DAYS, "the three simulated days are complete"
    assert float(q1["actual_kg_co2e"]) == pytest.approx(actual, rel=1e-12)
    assert q1["projected_kg_co2e"] == pytest.approx(actual / DAYS * 90, rel=1e-12)
    assert q1["projected_vs_target_pct"] == pytest.approx(100 * (actual / DAYS * 90 / target - 1))
    later = rows.filter(pl.col("period_start") > START)
    assert set(later["status"]) == {"no_data"}


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

"""Scope 1 through the warehouse: fuel meters of the tiny plant (tests/fixtures/tiny_fuel.py,
whose docstring has the arithmetic) → int_fuel_interval_quantity → fct_scope1_interval /
fct_scope1_daily, checked against the hand computation, against the Scope 1 library
(models/scope2/scope1.py) on the same inputs, and for leaving every electricity figure of the
tiny plant exactly as it is without fuel meters."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dbt.cli.main import dbtRunner

from models.scope2.scope1 import combustion_frame

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "fixtures" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


tiny = _load("tiny_plant")
fuel = _load("tiny_fuel")

# every electricity table of the chain and its marts: must not move by a byte when fuel lands
ELECTRICITY = (
    "staging.stg_landing__meters",
    "staging.stg_landing__readings",
    "intermediate.int_meter_interval_energy",
    "intermediate.int_meter_residual",
    "intermediate.int_equipment_interval_energy",
    "marts.fct_energy_interval",
    "marts.fct_emissions_interval",
    "marts.fct_emissions_daily",
    "marts.fct_reconciliation",
    "marts.fct_scope2_interval",
    "marts.fct_scope2_daily",
    "marts.fct_product_intensity",
    "marts.dim_meter",
)
# lineage columns differ between two homes (batch ids, landing times), never the figures
LINEAGE = ("landing_batch_id", "landed_at_utc")


def _build(home: Path) -> Path:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WATTPRINT_HOME", str(home))
        env.delenv("WATTPRINT_WAREHOUSE", raising=False)
        result = dbtRunner().invoke(
            [
                "build",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(home / "dbt_target"),
                "--log-path",
                str(home / "dbt_logs"),
            ]
        )
    failures = [
        f"{r.node.name}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success, result.exception or failures
    return home / "warehouse.duckdb"


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(tiny plant alone, tiny plant + fuel meters), both built with dbt."""
    plain = tmp_path_factory.mktemp("plain")
    tiny.write_tiny_plant(plain)
    with_fuel = tmp_path_factory.mktemp("fuel")
    tiny.write_tiny_plant(with_fuel)
    fuel.write_tiny_fuel(with_fuel)
    yield _build(plain), _build(with_fuel)


def _frame(path: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(path)) as con:
        return con.sql(sql).pl()


def test_scope1_daily_is_hand_computed(homes: tuple[Path, Path]) -> None:
    daily = _frame(
        homes[1],
        "select site_local_date, energy_carrier, quantity_unit, quantity, kg_co2, kg_ch4, "
        "kg_n2o, kg_co2e, gwp_set, factor_versions, missing_gases "
        "from marts.fct_scope1_daily where quantity > 0 order by all",
    )
    got = {
        (r["site_local_date"], r["energy_carrier"]): float(r["kg_co2e"])
        for r in daily.iter_rows(named=True)
    }
    assert got.keys() == fuel.EXPECTED["kg_co2e_daily"].keys()
    for key, kg in fuel.EXPECTED["kg_co2e_daily"].items():
        assert got[key] == pytest.approx(kg, rel=1e-12), key
    assert float(daily["kg_co2e"].sum()) == pytest.approx(fuel.EXPECTED["kg_co2e_total"], rel=1e-12)
    by_carrier = daily.group_by("energy_carrier").agg(
        pl.col("quantity").sum(),
        pl.col("kg_co2").sum(),
        pl.col("kg_ch4").sum(),
        pl.col("kg_n2o").sum(),
    )
    for row in by_carrier.iter_rows(named=True):
        expected = fuel.EXPECTED["kg_by_gas"][row["energy_carrier"]]
        assert float(row["kg_co2"]) == pytest.approx(expected["CO2"], rel=1e-12)
        assert float(row["kg_ch4"]) == pytest.approx(expected["CH4"], rel=1e-9)
        assert float(row["kg_n2o"]) == pytest.approx(expected["N2O"], rel=1e-9)
    quantities = dict(by_carrier.select("energy_carrier", "quantity").iter_rows())
    assert float(quantities["natural_gas"]) == fuel.EXPECTED["gas_l"]
    assert float(quantities["diesel"]) == fuel.EXPECTED["diesel_l"]
    assert set(daily["quantity_unit"]) == {"l"}
    assert set(daily["gwp_set"]) == {"AR5"}
    assert daily["missing_gases"].null_count() == daily.height
    # the superseded diesel CO2 v1 is never used, the later-published v2 always
    diesel = set(daily.filter(pl.col("energy_carrier") == "diesel")["factor_versions"])
    assert diesel == {"DIESEL-L/ch4@v1,DIESEL-L/co2@v2,DIESEL-L/n2o@v1"}

    estimated = _frame(
        homes[1],
        "select interval_start_utc from marts.fct_scope1_interval "
        "where meter_id = 'M-GAS' and how_obtained = 'estimated' order by 1",
    )["interval_start_utc"].to_list()
    assert estimated == [
        fuel._ts(k).replace(tzinfo=None) for k in fuel.EXPECTED["estimated_gas_intervals"]
    ]


def test_warehouse_equals_the_scope1_library(homes: tuple[Path, Path]) -> None:
    intervals = _frame(
        homes[1],
        "select meter_id, energy_carrier as fuel, interval_start_utc, quantity, quantity_unit, "
        "kg_co2, kg_ch4, kg_n2o, kg_co2e from marts.fct_scope1_interval order by all",
    )
    activity = intervals.select(
        pl.col("meter_id"),
        pl.lit(fuel.SITE).alias("site_id"),
        "fuel",
        pl.col("quantity").cast(pl.Float64),
        pl.col("quantity_unit").alias("unit"),
        pl.col("interval_start_utc").dt.replace_time_zone("UTC").alias("period_start"),
    )
    library = combustion_frame(activity, fuel.factors(), gwp_set="AR5")
    assert library.height == intervals.height == 2 * fuel.INTERVALS
    for column in ("kg_co2", "kg_ch4", "kg_n2o", "kg_co2e"):
        warehouse = intervals[column].cast(pl.Float64).to_list()
        python = library[column].to_list()
        assert warehouse == pytest.approx(python, rel=1e-9, abs=1e-12), column


def test_fuel_meters_leave_every_electricity_figure_unchanged(homes: tuple[Path, Path]) -> None:
    plain, with_fuel = homes
    for table in ELECTRICITY:
        sql = f"select * exclude ({', '.join(c for c in LINEAGE)}) from {table} order by all"
        try:
            a, b = _frame(plain, sql), _frame(with_fuel, sql)
        except duckdb.BinderException:
            sql = f"select * from {table} order by all"
            a, b = _frame(plain, sql), _frame(with_fuel, sql)
        assert a.height > 0, table
        assert a.equals(b), table


def test_a_home_without_fuel_meters_has_an_empty_scope1(homes: tuple[Path, Path]) -> None:
    assert _frame(homes[0], "select count(*) as n from marts.fct_scope1_daily")["n"][0] == 0


def test_inventory_reports_category1_from_the_warehouse(homes: tuple[Path, Path]) -> None:
    from decimal import Decimal

    from orchestration.reporting.inventory import build_inventory, to_markdown
    from orchestration.reporting.periods import parse_period

    period = parse_period("2026-03-02..2026-03-03")
    with duckdb.connect(str(homes[1])) as con:
        inventory = build_inventory(con, fuel.SITE, period)
    assert [(f.fuel, f.unit) for f in inventory.fuel] == [("diesel", "l"), ("natural_gas", "l")]
    assert inventory.scope1_kg == pytest.approx(Decimal(str(fuel.EXPECTED["kg_co2e_total"])))
    text = to_markdown(inventory)
    assert "Scope 1 (Category 1): 0.820 t CO2e" in text
    assert "stationary combustion, natural gas | 384.0 m3 | 0.770" in text
    assert "no fuel data" not in text

    with duckdb.connect(str(homes[0])) as con:
        plain = build_inventory(con, fuel.SITE, period)
    assert plain.fuel == [] and plain.scope1_kg is None
    assert "no fuel data in the warehouse" in to_markdown(plain)

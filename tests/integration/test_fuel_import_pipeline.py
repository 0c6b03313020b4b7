"""Scope 1 from files a user imports: fuel meters, a gas counter export (m3 and litres mixed,
local wall-clock times) and a generator export (litres, interval-end labels) and the fuel
factors go through `wattprint import` onto the tiny plant (tests/fixtures/tiny_plant.py); a
real `dbt build` then gives fct_scope1 figures equal to the hand computation (quantity × factor
× GWP), and `wattprint report inventory` writes a CSV whose Category 1 figure is the sum of
fct_scope1_daily over the period.

Hand computation (AR5: CH4 28, N2O 265), site S1 (Asia/Taipei), local days 2026-03-02 and -03:
    gas counter 5000 + 1.5 k m3 at T0 + 15 min × k, k = 0..192 (odd k written in litres)
        → 1.5 m3 = 1500 l every interval, 144 m3 a local day, 288 m3 in all
        per m3: CO2 1.9 kg, CH4 0.2 g, N2O 0.01 g → CO2e 1.9 + 0.0056 + 0.00265 = 1.90825 kg
        → 274.788 kg CO2e a day, 549.576 kg in all
    generator 8 l in k = 40..43 (10:00–11:00 local on 2026-03-02), 0 l otherwise → 32 l
        per l: CO2 2.68 kg, CH4 0.1 g, N2O 0.02 g → CO2e 2.68 + 0.0028 + 0.0053 = 2.6881 kg
        → 86.0192 kg CO2e on 2026-03-02
    Scope 1 (ISO 14064-1 Category 1): 549.576 + 86.0192 = 635.5952 kg CO2e
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from orchestration.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 16, tzinfo=UTC)  # 2026-03-02 00:00 in Asia/Taipei
LOCAL = timedelta(hours=8)
STEP = timedelta(minutes=15)
GWP = {"CO2": 1, "CH4": 28, "N2O": 265}
# per base unit of the meters' quantity: kg of each gas per m3 of gas, per litre of diesel
GAS_PER_M3 = {"CO2": 1.9, "CH4": 0.0002, "N2O": 0.00001}
DIESEL_PER_L = {"CO2": 2.68, "CH4": 0.0001, "N2O": 0.00002}
GAS_M3_PER_INTERVAL = 1.5
DIESEL_RUNNING = range(40, 44)
DIESEL_L_PER_INTERVAL = 8.0

METERS_CSV = """\
meter_id,site_id,parent_meter_id,meter_kind,measures_kind,measures_id,energy_carrier,register,unit,multiplier,rollover_value,interval_minutes,installed_at
M-BOILER,S1,,sub,area,boiler-house,natural_gas,counter,m3,1,1000000,15,2026-01-01T00:00:00+08:00
M-GENSET,S1,,sub,equipment,EQ-GENSET,diesel,interval,l,1,,15,2026-01-01T00:00:00+08:00
"""
FACTORS_CSV = """\
factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,unit,gas,gwp_set,source_document,published_at
NG-M3/co2,2026.1,fuel,TW,natural_gas,annual,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,1.9,kgCO2/m3,CO2,,Test fuel factors 2026 (natural gas),2026-01-10T00:00:00Z
NG-M3/ch4,2026.1,fuel,TW,natural_gas,annual,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,0.2,gCH4/m3,CH4,,Test fuel factors 2026 (natural gas),2026-01-10T00:00:00Z
NG-M3/n2o,2026.1,fuel,TW,natural_gas,annual,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,0.01,gN2O/m3,N2O,,Test fuel factors 2026 (natural gas),2026-01-10T00:00:00Z
DSL-L/co2,2026.1,fuel,TW,diesel,annual,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,2.68,kgCO2/l,CO2,,Test fuel factors 2026 (diesel),2026-01-10T00:00:00Z
DSL-L/ch4,2026.1,fuel,TW,diesel,annual,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,0.1,gCH4/l,CH4,,Test fuel factors 2026 (diesel),2026-01-10T00:00:00Z
DSL-L/n2o,2026.1,fuel,TW,diesel,annual,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,0.02,gN2O/l,N2O,,Test fuel factors 2026 (diesel),2026-01-10T00:00:00Z
"""  # noqa: E501 - a CSV as a user writes it
GAS_MAPPING = """\
timestamp_column: read_at
timestamp_format: "%Y-%m-%d %H:%M"
register: counter
value_column: index
unit_column: unit
meter_id: M-BOILER
site_id: S1
source_name: boiler-export
"""  # no timezone: the site's (Asia/Taipei) from the landed sites


def _co2e(per_unit: dict[str, float]) -> float:
    return sum(per_unit[gas] * GWP[gas] for gas in GWP)


def _gas_csv() -> str:
    lines = ["read_at,index,unit"]
    for k in range(193):
        local = (T0 + LOCAL + STEP * k).strftime("%Y-%m-%d %H:%M")
        m3 = 5000 + GAS_M3_PER_INTERVAL * k
        lines.append(f"{local},{m3:g},m3" if k % 2 == 0 else f"{local},{m3 * 1000:g},l")
    return "\n".join(lines) + "\n"


def _diesel_csv() -> str:
    lines = ["period_end,litres"]
    for k in range(192):
        end_local = T0 + STEP * (k + 1) + LOCAL  # the interval's end, written in UTC+8
        litres = DIESEL_L_PER_INTERVAL if k in DIESEL_RUNNING else 0.0
        lines.append(f"{end_local:%Y-%m-%dT%H:%M:%S}+08:00,{litres:g}")
    return "\n".join(lines) + "\n"


def _load_tiny_plant():
    spec = importlib.util.spec_from_file_location(
        "tiny_plant", REPO / "tests" / "fixtures" / "tiny_plant.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _cli(home: Path, *argv: str) -> None:
    assert main(["--home", str(home), *argv]) == 0, argv


def _dbt_build(home: Path) -> Path:
    # A subprocess, as in production: dbt-duckdb keeps its connection open in-process, and the
    # report (read-only, as BI tools read) could not open the warehouse afterwards.
    env = {k: v for k, v in os.environ.items() if k != "WATTPRINT_WAREHOUSE"}
    done = subprocess.run(
        [
            DBT_EXECUTABLE,
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(home / "dbt_target"),
            "--log-path",
            str(home / "dbt_logs"),
        ],
        env={**env, "WATTPRINT_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return home / "warehouse.duckdb"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(home, warehouse): the tiny plant + fuel imported through the command line, built."""
    home = tmp_path_factory.mktemp("fuel-import")
    _load_tiny_plant().write_tiny_plant(home)
    files = tmp_path_factory.mktemp("files")
    for name, text in (
        ("meters.csv", METERS_CSV),
        ("factors.csv", FACTORS_CSV),
        ("gas.csv", _gas_csv()),
        ("gas.yaml", GAS_MAPPING),
        ("genset.csv", _diesel_csv()),
    ):
        (files / name).write_text(text, encoding="utf-8")
    _cli(home, "import", "meters", str(files / "meters.csv"))
    _cli(home, "import", "factors", str(files / "factors.csv"))
    _cli(home, "import", "readings", str(files / "gas.csv"), "--mapping", str(files / "gas.yaml"))
    _cli(
        home, "import", "readings", str(files / "genset.csv"),
        "--site", "S1", "--meter", "M-GENSET", "--register", "interval", "--unit", "l",
        "--timestamp-column", "period_end", "--interval-end", "--value-column", "litres",
    )  # fmt: skip
    return home, _dbt_build(home)


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_imported_fuel_gives_hand_computed_scope1(built: tuple[Path, Path]) -> None:
    _, warehouse = built
    gas_day_m3 = GAS_M3_PER_INTERVAL * 96
    diesel_l = DIESEL_L_PER_INTERVAL * len(DIESEL_RUNNING)
    expected = {
        (date(2026, 3, 2), "natural_gas"): (gas_day_m3 * 1000, gas_day_m3 * _co2e(GAS_PER_M3)),
        (date(2026, 3, 3), "natural_gas"): (gas_day_m3 * 1000, gas_day_m3 * _co2e(GAS_PER_M3)),
        (date(2026, 3, 2), "diesel"): (diesel_l, diesel_l * _co2e(DIESEL_PER_L)),
        (date(2026, 3, 3), "diesel"): (0.0, 0.0),
    }
    assert _co2e(GAS_PER_M3) == pytest.approx(1.90825, rel=1e-15)  # the docstring's figures
    assert _co2e(DIESEL_PER_L) == pytest.approx(2.6881, rel=1e-15)
    daily = _rows(
        warehouse,
        "select site_local_date, energy_carrier, quantity_unit, quantity, kg_co2e, "
        "factor_versions, missing_gases from marts.fct_scope1_daily order by all",
    )
    got = {(d, fuel): (float(q), float(kg)) for d, fuel, _, q, kg, _, _ in daily}
    assert got.keys() == expected.keys()
    for key, (quantity, kg) in expected.items():
        assert got[key][0] == quantity, key  # litres, exactly
        assert got[key][1] == pytest.approx(kg, rel=1e-12, abs=1e-12), key
    assert {r[2] for r in daily} == {"l"} and {r[6] for r in daily} == {None}
    assert {r[5] for r in daily if r[1] == "natural_gas"} == {
        "NG-M3/ch4@2026.1,NG-M3/co2@2026.1,NG-M3/n2o@2026.1"
    }
    total = sum(float(r[4]) for r in daily)
    assert total == pytest.approx(635.5952, rel=1e-12)

    # per interval and gas: quantity × factor, the mass of each gas on its own
    per_gas = _rows(
        warehouse,
        "select energy_carrier, sum(quantity), sum(kg_co2), sum(kg_ch4), sum(kg_n2o), count(*), "
        "count(*) filter (where how_obtained = 'measured') "
        "from marts.fct_scope1_interval group by 1 order by 1",
    )
    gas_m3 = GAS_M3_PER_INTERVAL * 192
    assert [(r[0], float(r[1]), r[5], r[6]) for r in per_gas] == [
        ("diesel", diesel_l, 192, 192),
        ("natural_gas", gas_m3 * 1000, 192, 192),
    ]
    for row, quantity, factors in ((per_gas[0], diesel_l, DIESEL_PER_L),
                                   (per_gas[1], gas_m3, GAS_PER_M3)):  # fmt: skip
        for value, gas in zip(row[2:5], ("CO2", "CH4", "N2O"), strict=True):
            assert float(value) == pytest.approx(quantity * factors[gas], rel=1e-12), gas


def test_inventory_csv_category1_is_the_sum_of_fct_scope1_daily(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    home, warehouse = built
    _cli(home, "report", "inventory", "--site", "S1", "--period", "2026-03", "--out", str(tmp_path))
    with open(tmp_path / "inventory-S1-2026-03.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["month"] for r in rows] == ["2026-03", "total"]
    (kg,) = _rows(
        warehouse,
        "select sum(kg_co2e) from marts.fct_scope1_daily where site_id = 'S1' "
        "and site_local_date between '2026-03-01' and '2026-03-31'",
    )[0]
    for row in rows:  # one month: the month row and the total are the same figures
        assert Decimal(row["iso14064_category1_t_co2e"]) * 1000 == kg
        assert row["category1_gwp_set"] == "AR5"
        assert Decimal(row["category1_natural_gas_quantity_l"]) == Decimal(288_000)
        assert Decimal(row["category1_diesel_quantity_l"]) == Decimal(32)
        assert float(row["category1_natural_gas_t_co2e"]) == pytest.approx(0.549576, rel=1e-12)
        assert float(row["category1_diesel_t_co2e"]) == pytest.approx(0.0860192, rel=1e-12)
        assert float(row["category1_diesel_t_ch4"]) == pytest.approx(32 * 0.0001 / 1000)
        assert row["category1_natural_gas_ch4_factor_versions"] == "NG-M3/ch4@2026.1"
        assert row["category1_diesel_co2_factor_versions"] == "DSL-L/co2@2026.1"
        assert row["category1_diesel_n2o_source_documents"] == "Test fuel factors 2026 (diesel)"
        assert row["category1_natural_gas_co2_source_documents"] == (
            "Test fuel factors 2026 (natural gas)"
        )
    assert float(kg) == pytest.approx(635.5952, rel=1e-12)
    # the electricity columns are still first and unchanged in meaning: 1 008 kg (tiny plant)
    assert Decimal(rows[-1]["iso14064_category2_location_t_co2e"]) == Decimal("1.008")
    markdown = (tmp_path / "inventory-S1-2026-03.md").read_text(encoding="utf-8")
    assert "Scope 1 (Category 1): 0.636 t CO2e" in markdown
    assert "| DSL-L/co2@2026.1 | Category 1: diesel, CO2 |" in markdown

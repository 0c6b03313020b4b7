"""A real `dbt build` of the tiny plant into a temporary DuckDB warehouse.

The tiny plant (tests/fixtures/tiny_plant.py) is small enough to compute by hand; its docstring
has the arithmetic. These tests check that the warehouse holds exactly those figures, that the
daily windows Dagster runs reproduce the full build and can be re-run without changing a byte,
and that the conservation tests do fail when conservation is broken.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"


def _load_tiny_plant():
    spec = importlib.util.spec_from_file_location(
        "tiny_plant", REPO / "tests" / "fixtures" / "tiny_plant.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


tiny = _load_tiny_plant()

MARTS = (
    "marts.fct_energy_interval",
    "marts.fct_emissions_interval",
    "marts.fct_emissions_daily",
    "marts.fct_reconciliation",
    "marts.fct_batch_energy",
    "marts.fct_product_intensity",
    "marts.rpt_equipment_hotspots",
    "marts.dim_equipment",
    "intermediate.int_meter_interval_energy",
    "intermediate.int_meter_residual",
    "intermediate.int_equipment_interval_energy",
)


class Warehouse:
    """One Wattprint home with its warehouse, and dbt invoked in-process against it."""

    def __init__(self, home: Path):
        self.home = home
        self.path = home / "warehouse.duckdb"

    def dbt(self, *args: str, window: tuple[str, str] | None = None) -> dbtRunnerResult:
        command = [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(self.home / "dbt_target"),
            "--log-path",
            str(self.home / "dbt_logs"),
        ]
        if window is not None:
            command += [
                "--vars",
                f"{{window_start_utc: '{window[0]}', window_end_utc: '{window[1]}'}}",
            ]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("WATTPRINT_HOME", str(self.home))
            env.delenv("WATTPRINT_WAREHOUSE", raising=False)
            return dbtRunner().invoke(command)

    def build(self, *args: str, window: tuple[str, str] | None = None) -> None:
        result = self.dbt("build", *args, window=window)
        assert result.success, _failures(result)

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.path)) as con:
            return con.sql(sql).fetchall()

    def one(self, sql: str):
        rows = self.query(sql)
        assert len(rows) == 1, rows
        return rows[0] if len(rows[0]) > 1 else rows[0][0]

    def execute(self, sql: str) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute(sql)

    def snapshot(self) -> dict[str, list[tuple]]:
        """Full contents of every daily table and mart, in a stable order."""
        return {table: self.query(f"select * from {table} order by all") for table in MARTS}


def _failures(result: dbtRunnerResult) -> str:
    if result.exception is not None:
        return repr(result.exception)
    return "\n".join(
        f"{r.node.name}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    )


def _test_status(result: dbtRunnerResult, test_name: str) -> str:
    statuses = {r.node.name: str(r.status) for r in result.result}
    assert test_name in statuses, statuses
    return statuses[test_name]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    home = tmp_path_factory.mktemp("wattprint_home")
    tiny.write_tiny_plant(home)
    warehouse = Warehouse(home)
    warehouse.build()  # every model, default vars = all time
    yield warehouse


@pytest.fixture
def scratch(built: Warehouse, tmp_path: Path) -> Warehouse:
    """A private copy of the built home, for tests that tamper with it."""
    home = tmp_path / "home"
    # the parsed project comes along: only the sources (which use WATTPRINT_HOME) are re-parsed
    shutil.copytree(built.home, home, ignore=shutil.ignore_patterns("dbt_logs"))
    warehouse = Warehouse(home)
    # the staging views embed the landing path they were built with: point them at the copy
    result = warehouse.dbt("run", "--select", "path:models/staging")
    assert result.success, _failures(result)
    return warehouse


def test_interval_energy_is_hand_computed(built: Warehouse) -> None:
    rows = built.query(
        """
        select equipment_id, count(*), min(kwh_bottom_up), max(kwh_bottom_up),
               sum(kwh_bottom_up), sum(kwh), min(reconciliation_factor),
               max(reconciliation_factor), count(distinct bill_id)
        from marts.fct_energy_interval group by equipment_id
        """
    )
    got = {r[0]: r[1:] for r in rows}
    assert set(got) == set(tiny.EXPECTED["bottom_up_kwh_per_interval"])
    for equipment, per_interval in tiny.EXPECTED["bottom_up_kwh_per_interval"].items():
        n, lo, hi, bottom_up, reconciled, f_lo, f_hi, bills = got[equipment]
        assert n == tiny.INTERVALS
        assert float(lo) == float(hi) == per_interval  # the press gap is spread evenly
        assert float(bottom_up) == pytest.approx(per_interval * tiny.INTERVALS, abs=1e-9)
        assert float(reconciled) == pytest.approx(
            tiny.EXPECTED["kwh_by_equipment"][equipment], abs=1e-6
        )
        assert f_lo == f_hi == pytest.approx(tiny.EXPECTED["reconciliation_factor"])
        assert bills == 1

    estimated = built.query(
        """
        select interval_start_utc from marts.fct_energy_interval
        where how_obtained = 'estimated' order by 1
        """
    )
    expected = [
        (tiny._ts(k).replace(tzinfo=None),) for k in tiny.EXPECTED["estimated_press_intervals"]
    ]
    assert estimated == expected
    how = dict(
        built.query(
            "select equipment_id, min(how_obtained) from marts.fct_energy_interval group by 1"
        )
    )
    assert how["EQ-CONV"] == how["EQ-LOSS"] == "allocated"
    assert how["EQ-OVEN"] == "measured"


def test_a_home_without_resolved_targets_builds_an_empty_progress_mart(built: Warehouse) -> None:
    # The tiny plant's home never ran the pipeline's targets asset: no resolved_targets.parquet.
    assert not (built.home / "resolved_targets.parquet").exists()
    assert built.one("select count(*) from staging.stg_targets__site_targets") == 0
    assert built.one("select count(*) from marts.rpt_target_progress") == 0


def test_meter_energy_handles_rollover_units_and_duplicates(built: Warehouse) -> None:
    per_meter = dict(
        built.query(
            "select meter_id, sum(kwh) from intermediate.int_meter_interval_energy group by 1"
        )
    )
    # M-LINE wraps twice (k = 5 and 105) and still gives 8 kWh × 192; M-PRESS is in Wh;
    # M-OVEN is in W; M-UTIL's garbled retransmission (999 kWh) is ignored.
    assert {m: float(v) for m, v in per_meter.items()} == {
        "M-UTIL": 1920.0,
        "M-LINE": 1536.0,
        "M-PRESS": 576.0,
        "M-OVEN": 192.0,
    }


def test_emissions_are_hand_computed(built: Warehouse) -> None:
    by_equipment = dict(
        built.query(
            "select equipment_id, sum(kg_co2e) from marts.fct_emissions_interval group by 1"
        )
    )
    for equipment, kg in tiny.EXPECTED["kg_by_equipment"].items():
        assert float(by_equipment[equipment]) == pytest.approx(kg, abs=1e-6)
    factors = built.query(
        "select distinct factor_id, factor_version, factor_kg_per_kwh "
        "from marts.fct_emissions_interval"
    )
    assert factors == [("TW-GRID-2026", "v2", tiny.EXPECTED["factor_kg_per_kwh"])]
    daily = built.query(
        "select site_local_date, sum(kg_co2e), sum(interval_count) "
        "from marts.fct_emissions_daily group by 1 order by 1"
    )
    assert [d for d, _, _ in daily] == list(tiny.LOCAL_DAYS)
    for _, kg, intervals in daily:
        assert float(kg) == pytest.approx(tiny.EXPECTED["kg_per_local_day"], abs=1e-6)
        assert intervals == 96 * 4  # 96 intervals × 4 equipment


def test_reconciliation_and_products_are_hand_computed(built: Warehouse) -> None:
    rec = built.one(
        """
        select bill_kwh, utility_meter_kwh, metered_equipment_kwh, allocated_kwh, bottom_up_kwh,
               residual_kwh, reconciliation_factor, reconciled_kwh, intervals_expected,
               intervals_present, is_complete, is_reconciled
        from marts.fct_reconciliation
        """
    )
    e = tiny.EXPECTED
    assert [float(x) for x in rec[:8]] == pytest.approx(
        [
            e["bill_kwh"],
            e["bottom_up_kwh"],
            e["metered_equipment_kwh"],
            e["allocated_kwh"],
            e["bottom_up_kwh"],
            e["residual_kwh"],
            e["reconciliation_factor"],
            e["bill_kwh"],
        ],
        abs=1e-6,
    )
    assert rec[8:] == (192, 192, True, True)

    batch = built.one(
        "select kwh, kg_co2e, kwh_per_unit, kg_co2e_per_unit from marts.fct_batch_energy"
    )
    assert [float(x) for x in batch] == pytest.approx(
        [e["batch"][k] for k in ("kwh", "kg_co2e", "kwh_per_unit", "kg_co2e_per_unit")], abs=1e-9
    )
    intensity = built.one(
        "select line_id, sku, shift, batches, good_units, kwh, kg_co2e_per_unit "
        "from marts.fct_product_intensity"
    )
    assert intensity[:5] == ("L1", "PCB-A", "day", 1, 1600)
    assert float(intensity[5]) == pytest.approx(e["batch"]["kwh"])
    assert intensity[6] == pytest.approx(e["batch"]["kg_co2e_per_unit"])

    hotspots = built.query(
        """
        select equipment_id, share_of_site_emissions, hotspot_ratio, emissions_rank,
               good_units_through
        from marts.rpt_equipment_hotspots order by emissions_rank
        """
    )
    assert [h[0] for h in hotspots] == ["EQ-CONV", "EQ-PRESS", "EQ-LOSS", "EQ-OVEN"]
    for equipment, share, ratio, _, units in hotspots:
        assert share == pytest.approx(e["emission_shares"][equipment])
        if equipment == "EQ-LOSS":  # a utility: no line, no production share
            assert ratio is None and units is None
        else:
            assert ratio == pytest.approx(share) and units == 1600


def test_energy_is_conserved(built: Warehouse) -> None:
    unbalanced = built.query(
        """
        with equipment as (
            select interval_start_utc, sum(kwh) as kwh
            from intermediate.int_equipment_interval_energy group by 1
        ), utility as (
            select interval_start_utc, kwh from intermediate.int_meter_interval_energy
            where meter_id = 'M-UTIL'
        )
        select * from equipment full join utility using (interval_start_utc)
        where abs(coalesce(equipment.kwh, 0) - coalesce(utility.kwh, 0)) > 0.000001
        """
    )
    assert unbalanced == []
    reconciled = built.one("select sum(kwh) from marts.fct_energy_interval")
    assert abs(float(reconciled) - tiny.EXPECTED["bill_kwh"]) <= 0.01


def test_daily_windows_reproduce_the_full_build_and_rerun_identically(scratch: Warehouse) -> None:
    full = scratch.snapshot()
    for window in tiny.DAY_WINDOWS:
        scratch.build("--select", "tag:daily", window=window)
    assert scratch.snapshot() == full

    # re-running one local day replaces exactly that day, byte for byte
    scratch.build("--select", "tag:daily", window=tiny.DAY_WINDOWS[0])
    assert scratch.snapshot() == full


def test_window_rerun_removes_rows_that_disappeared(scratch: Warehouse) -> None:
    day1 = tiny.DAY_WINDOWS[0]
    scratch.execute(
        f"""
        insert into marts.fct_energy_interval
        select site_id, 'EQ-GHOST', interval_start_utc, kwh, kwh_bottom_up, how_obtained,
               bill_id, reconciliation_factor, source_meter_id
        from marts.fct_energy_interval
        where equipment_id = 'EQ-OVEN' and interval_start_utc = '{day1[0]}'
        """
    )
    scratch.build("--select", "fct_energy_interval", window=day1)
    assert (
        scratch.query("select * from marts.fct_energy_interval where equipment_id = 'EQ-GHOST'")
        == []
    )


def test_corrected_bill_fails_bill_conservation_until_the_period_is_rerun(
    scratch: Warehouse,
) -> None:
    # the supplier re-issues the bill with another kWh after the period was reconciled
    tiny.LandingZone(scratch.home).write("bills", tiny.bill_frame(kwh=2100.0))
    result = scratch.dbt("test", "--select", "assert_bill_periods_conserved")
    assert not result.success
    assert _test_status(result, "assert_bill_periods_conserved") == "fail"

    # re-running one day is not enough: the other day keeps the old factor, so the period
    # still misses the bill and the test fails inside the daily build
    result = scratch.dbt("build", "--select", "tag:daily", window=tiny.DAY_WINDOWS[0])
    assert _test_status(result, "assert_bill_periods_conserved") == "fail"

    # re-running the whole bill period (one window, as a Dagster single-run backfill does)
    # restores conservation
    scratch.build("--select", "tag:daily", window=(tiny.DAY_WINDOWS[0][0], tiny.DAY_WINDOWS[-1][1]))
    assert float(scratch.one("select sum(kwh) from marts.fct_energy_interval")) == pytest.approx(
        2100.0, abs=0.01
    )
    factor = scratch.one("select distinct reconciliation_factor from marts.fct_energy_interval")
    assert factor == pytest.approx(2100.0 / 1920.0)


def test_tampered_equipment_row_fails_energy_conservation(scratch: Warehouse) -> None:
    scratch.execute(
        """
        update intermediate.int_equipment_interval_energy set kwh = kwh + 1
        where equipment_id = 'EQ-CONV' and interval_start_utc = (
            select min(interval_start_utc) from intermediate.int_equipment_interval_energy
        )
        """
    )
    result = scratch.dbt("test", "--select", "assert_equipment_energy_conserved_per_interval")
    assert _test_status(result, "assert_equipment_energy_conserved_per_interval") == "fail"
    rows = scratch.query(
        """
        select count(*) from intermediate.int_equipment_interval_energy
        """
    )
    assert rows == [(tiny.INTERVALS * 4,)]


def test_tampered_meter_row_fails_tree_conservation(scratch: Warehouse) -> None:
    scratch.execute(
        """
        update intermediate.int_meter_residual set residual_kwh = residual_kwh - 0.5
        where meter_id = 'M-LINE' and interval_start_utc = (
            select max(interval_start_utc) from intermediate.int_meter_residual
        )
        """
    )
    result = scratch.dbt("test", "--select", "assert_meter_tree_nodes_conserved")
    assert _test_status(result, "assert_meter_tree_nodes_conserved") == "fail"


def test_missing_factor_fails(scratch: Warehouse) -> None:
    scratch.execute("delete from marts.fct_emissions_interval where equipment_id = 'EQ-OVEN'")
    result = scratch.dbt("test", "--select", "assert_every_energy_interval_has_factor")
    assert _test_status(result, "assert_every_energy_interval_has_factor") == "fail"


def test_bad_window_var_is_a_clear_error(scratch: Warehouse) -> None:
    result = scratch.dbt(
        "run", "--select", "fct_energy_interval", window=("2026-03-02", "2026-03-03")
    )
    assert not result.success
    assert "must be a UTC timestamp" in str(result.exception or "") + _failures(result)


def test_overlapping_factor_windows_fail(scratch: Warehouse) -> None:
    # a second v2 row of the same factor whose validity overlaps the first one
    overlapping = (
        tiny._factors()
        .filter(pl.col("version") == "v2")
        .with_columns(
            pl.col("valid_from").dt.offset_by("5mo"), pl.col("valid_to").dt.offset_by("5mo")
        )
    )
    tiny.LandingZone(scratch.home).write("factors", overlapping)
    result = scratch.dbt("build", "--select", "stg_landing__factors", "int_factor_versions")
    failed = [r.node.name for r in result.result if str(r.status) == "fail"]
    assert any(name.startswith("mutually_exclusive_ranges_int_factor_versions") for name in failed)


def test_a_co2e_total_beats_a_newer_co2_only_figure(scratch: Warehouse) -> None:
    """Publishers such as DESNZ land a CO2e total and its CO2 share for the same region and
    year: the location-based emissions must use the total, however recent the share is."""
    co2_only = (
        tiny._factors()
        .filter(pl.col("version") == "v2")
        .with_columns(
            pl.lit("TW-GRID-2026/co2").alias("factor_id"),
            pl.lit("CO2").alias("gas"),
            pl.lit(0.45).alias("value"),
            pl.col("published_at").dt.offset_by("1mo"),
        )
    )
    tiny.LandingZone(scratch.home).write("factors", co2_only)
    result = scratch.dbt("build", "--select", "stg_landing__factors+", "--exclude", "tag:daily")
    assert result.success, _failures(result)
    result = scratch.dbt("build", "--select", "fct_emissions_interval")
    assert result.success, _failures(result)
    factors = scratch.query(
        "select distinct factor_id, factor_kg_per_kwh from marts.fct_emissions_interval"
    )
    assert factors == [("TW-GRID-2026", 0.5)]

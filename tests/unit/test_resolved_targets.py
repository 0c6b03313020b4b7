"""targets.json resolved for the warehouse (models/forecasting/resolved_targets.py and the
pipeline's targets/site_targets asset): hand-computed period targets, the warehouse baseline
read from a small DuckDB file, what cannot be resolved, and agreement with the forecast-based
view on every quarter's target."""

from __future__ import annotations

import json
from datetime import date, datetime

import dagster as dg
import duckdb
import polars as pl
import pytest

from models.forecasting.resolved_targets import (
    RESOLVED_FILE,
    RESOLVED_SCHEMA,
    empty_frame,
    file_sha256,
    resolve_entry,
    resolve_targets,
    write_resolved,
)
from models.forecasting.target_config import (
    SIMULATED_BASELINE_2025,
    TargetsFile,
    default_targets,
)
from models.forecasting.tracking import progress_row
from orchestration.defs.targets.inputs import warehouse_baseline

SITE = "TW-HSINCHU-01"


def _no_warehouse(site: str, year: int):
    raise AssertionError(f"the warehouse was asked for {site} {year}: the file gives it")


def _resolve(targets: TargetsFile, sites=(SITE,), baseline=_no_warehouse):
    return resolve_targets(
        targets, sites=sites, warehouse_baseline=baseline, targets_sha256="f" * 64
    )


def test_a_given_baseline_resolves_to_its_quarters_and_year_by_hand():
    frame = _resolve(default_targets()).frame
    assert frame.schema == pl.Schema(RESOLVED_SCHEMA)
    assert frame.height == 4 * 5  # 2026 and 2027, absolute and per unit, 4 quarters + the year
    assert frame.select("target_id", "period").is_duplicated().sum() == 0
    q1 = frame.filter(
        (pl.col("target_id") == f"{SITE}:2026:absolute") & (pl.col("period") == "2026-Q1")
    ).row(0, named=True)
    # 533,710 kg in Q1 2025, cut by 4.2 %
    assert q1["target_kg_co2e"] == pytest.approx(533_710 * 0.958)
    assert (q1["period_start"], q1["period_end"]) == (date(2026, 1, 1), date(2026, 3, 31))
    assert (q1["period_kind"], q1["baseline_source"]) == ("quarter", "targets_file")
    assert q1["baseline_good_units"] == 1_454_761
    year = frame.filter(
        (pl.col("target_id") == f"{SITE}:2027:per_unit") & (pl.col("period") == "2027")
    ).row(0, named=True)
    kg, units = sum(SIMULATED_BASELINE_2025.kg_co2e), sum(SIMULATED_BASELINE_2025.units)
    assert year["period_kind"] == "year" and year["period_end"] == date(2027, 12, 31)
    assert year["target_kg_co2e"] == pytest.approx(kg * (1 - 0.084))
    assert year["target_kg_co2e_per_unit"] == pytest.approx(kg / units * (1 - 0.084))
    assert year["baseline_good_units"] == pytest.approx(units)


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_both_views_hold_each_quarter_to_the_same_target(quarter):
    """The run-rate mart reads the resolved rows; forecasting.target_progress computes its
    rows with progress_row. For every entry and quarter they carry the same target."""
    targets = default_targets()
    frame = _resolve(targets).frame
    for entry in targets.targets:
        target = resolve_entry(entry, _no_warehouse)
        start = date(entry.year, 3 * quarter - 2, 1)
        end = datetime(entry.year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
        period = {
            "horizon": "quarter",
            "ts": datetime(start.year, start.month, 1),
            "period_end": end,
            "yhat": 1.0,
            "yhat_lower": 1.0,
            "yhat_upper": 1.0,
            "actual_to_date": 1.0,
            "missing_estimate": 0.0,
            "days_actual": 1,
        }
        row = progress_row(
            entry, target, period, as_of=start, units_to_date=1.0, computed_at=datetime(2026, 1, 1)
        )
        resolved = frame.filter(
            (pl.col("target_id") == entry.target_id) & (pl.col("period") == row["period"])
        ).row(0, named=True)
        assert resolved["target_kg_co2e"] == row["target_kg_co2e"]  # the same float
        assert resolved["target_kg_co2e_per_unit"] == row["target_kg_co2e_per_unit"]
        assert resolved["baseline_kg_co2e"] == row["baseline_kg_co2e"]


# ------------------------------------------------------------------------------------------
# a baseline the file leaves out, from a warehouse


def _warehouse(path) -> None:
    """2025 of site S (Asia/Taipei): one location-based day per quarter, so each quarter's
    baseline is that day scaled to the quarter's days; good units by the batch's LOCAL end."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema staging")
        con.execute(
            "create table marts.fct_emissions_daily (site_id varchar, "
            "site_local_date date, equipment_id varchar, method varchar, "
            "kwh decimal(38, 12), kg_co2e decimal(38, 12))"
        )
        con.execute("""insert into marts.fct_emissions_daily values
            ('S', '2025-01-10', 'E1', 'location', 20, 6),
            ('S', '2025-01-10', 'E2', 'location', 8, 4),
            ('S', '2025-01-10', 'E1', 'market', 20, 99),
            ('S', '2025-04-02', 'E1', 'location', 40, 20),
            ('S', '2025-07-15', 'E1', 'location', 60, 30),
            ('S', '2025-10-01', 'E1', 'location', 10, 5),
            ('S', '2026-01-05', 'E1', 'location', 10, 7)""")
        con.execute("create table staging.stg_landing__sites (site_id varchar, timezone varchar)")
        con.execute(
            "insert into staging.stg_landing__sites values ('S', 'Asia/Taipei'), "
            "('T', 'Asia/Taipei')"
        )
        con.execute(
            "create table staging.stg_landing__production (batch_id varchar, "
            "site_id varchar, end_utc timestamp, good_units bigint)"
        )
        # B1 ends 01:00 local on 10 Jan (17:00 UTC on the 9th); B2 at 00:30 local on 11 Jan,
        # a day without emissions: not counted. Q2..Q4 make 20, 30 and 0 units.
        con.execute("""insert into staging.stg_landing__production values
            ('B1', 'S', '2025-01-09 17:00:00', 100), ('B2', 'S', '2025-01-10 16:30:00', 900),
            ('B3', 'S', '2025-04-02 02:00:00', 20), ('B4', 'S', '2025-07-15 02:00:00', 30)""")


def test_the_warehouse_baseline_scales_each_quarter_by_its_days(tmp_path):
    _warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        b = warehouse_baseline(con, "S", 2025)
        with pytest.raises(ValueError, match="no data for 2024Q1"):
            warehouse_baseline(con, "S", 2024)
        with pytest.raises(ValueError, match="no data for 2025Q1"):
            warehouse_baseline(con, "T", 2025)
    # Q1: 10 kg on 1 of 90 days; Q2: 20 on 1 of 91; Q3: 30 on 1 of 92; Q4: 5 on 1 of 92
    assert b.kg_co2e == pytest.approx((900.0, 1820.0, 2760.0, 460.0))
    assert b.kwh == pytest.approx((28 * 90, 40 * 91, 60 * 92, 10 * 92))
    assert b.units == pytest.approx((100 * 90, 20 * 91, 30 * 92, 0.0))


def test_an_omitted_baseline_is_resolved_from_the_warehouse_and_says_so(tmp_path):
    _warehouse(tmp_path / "w.duckdb")
    targets = TargetsFile.model_validate(
        {
            "targets": [
                {"site_id": "S", "year": 2026, "reduction_pct": 10, "baseline_year": 2025},
                # Q4 2025 made no good unit: no per-unit target for it
                {
                    "site_id": "S",
                    "year": 2026,
                    "reduction_pct": 10,
                    "baseline_year": 2025,
                    "basis": "per_unit",
                },
                {"site_id": "S", "year": 2027, "reduction_pct": 10, "baseline_year": 2024},
                {"site_id": "ELSEWHERE", "year": 2026, "reduction_pct": 10, "baseline_year": 2025},
            ]
        }
    )
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        resolution = resolve_targets(
            targets,
            sites=["S", "T"],
            targets_sha256="abc",
            warehouse_baseline=lambda site, year: warehouse_baseline(con, site, year),
        )
    frame = resolution.frame
    assert frame["target_id"].unique().to_list() == ["S:2026:absolute"]
    assert (frame["baseline_source"] == "warehouse").all()
    assert frame["target_kg_co2e"].to_list() == pytest.approx(
        [810.0, 1638.0, 2484.0, 414.0, 5940.0 * 0.9]
    )
    assert frame["period"].to_list() == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026"]
    assert len(resolution.notes) == 2
    assert "S:2026:per_unit: a per-unit target needs good units" in resolution.notes[0]
    assert resolution.notes[1].startswith("S:2027:absolute: no baseline for 2024")
    assert "no data for 2024Q1" in resolution.notes[1]
    assert resolution.other_sites == ("ELSEWHERE:2026:absolute",)


def test_one_entry_per_site_year_and_basis(tmp_path):
    from models.forecasting.target_config import load_targets

    entry = {"site_id": "S", "year": 2026, "reduction_pct": 4, "baseline_year": 2025}
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({"targets": [entry, {**entry, "reduction_pct": 5}]}))
    with pytest.raises(ValueError, match="more than one entry for S:2026:absolute"):
        load_targets(path)


def test_the_file_is_replaced_whole_and_an_empty_one_keeps_the_columns(tmp_path):
    path = write_resolved(tmp_path / RESOLVED_FILE, empty_frame())
    assert pl.read_parquet(path).schema == pl.Schema(RESOLVED_SCHEMA)
    frame = _resolve(default_targets()).frame
    write_resolved(path, frame)
    assert pl.read_parquet(path).equals(frame)
    assert [p.name for p in tmp_path.iterdir()] == [RESOLVED_FILE]  # no temporary left


# ------------------------------------------------------------------------------------------
# the asset


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home with the small warehouse; load_settings exports DAGSTER_HOME, so set it here
    for monkeypatch to restore."""
    monkeypatch.setenv("WATTPRINT_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    _warehouse(tmp_path / "w.duckdb")
    return tmp_path


def _materialize(home):
    from orchestration.defs.targets.assets import site_targets
    from orchestration.defs.warehouse.resources import Warehouse

    result = dg.materialize(
        [site_targets],
        resources={"warehouse": Warehouse(path=str(home / "w.duckdb"))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    check = result.get_asset_check_evaluations()[0]
    return pl.read_parquet(home / RESOLVED_FILE), check


def test_the_asset_resolves_and_keeps_the_last_good_file_when_targets_json_breaks(home):
    targets = home / "targets.json"
    targets.write_text(
        json.dumps(
            {
                "targets": [
                    {"site_id": "S", "year": 2026, "reduction_pct": 10, "baseline_year": 2025}
                ]
            }
        )
    )
    first, check = _materialize(home)
    assert first["target_kg_co2e"][0] == pytest.approx(810.0)
    assert (first["targets_sha256"] == file_sha256(targets)).all()
    assert check.passed

    targets.write_text(targets.read_text().replace("10", "140"))  # not a valid cut
    kept, check = _materialize(home)
    assert kept.equals(first)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "targets.0.reduction_pct" in check.metadata["error"].value


def test_the_asset_writes_the_default_targets_for_a_home_without_them(home):
    frame, check = _materialize(home)
    # the default file names the simulated plant only: nothing to resolve for S and T
    assert (home / "targets.json").exists()
    assert frame.is_empty() and frame.schema == pl.Schema(RESOLVED_SCHEMA)
    assert check.passed

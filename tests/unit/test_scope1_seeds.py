"""The warehouse's Scope 1 tables of constants equal the Scope 1 library's, and a landing zone
written before meters.energy_carrier existed still gives dbt every column."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ingestion.factors.units import ACTIVITY_TO_BASE
from ingestion.landing.schemas import SCHEMAS, conform, empty_frame
from ingestion.landing.store import LandingZone
from models.scope2.scope1 import GWP_SETS

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


def _rows(name: str) -> list[dict[str, str]]:
    with open(SEEDS / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_fuel_units_seed_is_the_librarys_activity_table() -> None:
    seed = {r["unit"]: (r["base_unit"], float(r["to_base"])) for r in _rows("fuel_units.csv")}
    assert seed == ACTIVITY_TO_BASE  # exact: the same doubles reach DuckDB and Python


def test_gwp_sets_seed_is_the_librarys_gwp_table() -> None:
    seed: dict[str, dict[str, float]] = {}
    for r in _rows("gwp_sets.csv"):
        seed.setdefault(r["gwp_set"], {})[r["gas"]] = float(r["gwp"])
    assert seed == GWP_SETS


def test_an_old_schema_marker_is_brought_up_to_date(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    marker = tmp_path / "landing" / "meters" / "_schema.parquet"
    marker.parent.mkdir(parents=True)
    empty_frame("meters").drop("energy_carrier").write_parquet(marker)  # as landed before
    assert "energy_carrier" not in pl.read_parquet_schema(marker)

    zone.init()

    assert pl.read_parquet_schema(marker) == empty_frame("meters").schema
    assert "energy_carrier" in SCHEMAS["meters"]
    # a marker already current is left alone (no rewrite on every init)
    before = marker.stat().st_mtime_ns
    zone.init()
    assert marker.stat().st_mtime_ns == before


def test_meters_landed_without_a_carrier_read_as_electricity_rows(tmp_path: Path) -> None:
    """A batch landed before the column existed has no energy_carrier: read beside a new
    batch it is null (staging's electricity), the new batch keeps its fuel."""
    zone = LandingZone(tmp_path)
    zone.init()
    meter = {
        "meter_id": "M-OLD",
        "site_id": "S1",
        "meter_kind": "utility",
        "measures_kind": "site",
        "measures_id": "S1",
        "register": "interval_kwh",
        "unit": "kWh",
        "multiplier": 1.0,
        "interval_minutes": 15,
        "installed_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    old = pl.select(**{k: pl.lit(v) for k, v in meter.items()})
    old_batch = zone.kind_root("meters") / "old-batch.parquet"
    # what an older version wrote: every column of its day, energy_carrier not among them
    conform("meters", old).drop("energy_carrier").write_parquet(old_batch)
    gas = dict(meter, meter_id="M-GAS", register="counter", unit="m3")
    zone.write(
        "meters",
        pl.select(**{k: pl.lit(v) for k, v in gas.items()}).with_columns(
            energy_carrier=pl.lit("natural_gas")
        ),
    )
    assert "energy_carrier" not in pl.read_parquet_schema(old_batch)
    read = zone.read("meters").sort("meter_id")
    assert read["meter_id"].to_list() == ["M-GAS", "M-OLD"]
    assert read["energy_carrier"].to_list() == ["natural_gas", None]

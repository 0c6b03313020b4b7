"""Fuel readings from gateways, without a broker: the registry read from the landing zone knows
fuel meters by their energy carrier and unit, a fuel reading in its meter's quantity lands, and
one in another quantity (kWh on a gas meter counting m3, litres on an electricity meter) is
quarantined as wrong_unit with the reason in words."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from ingestion.landing.store import LandingZone
from ingestion.mqtt.dedup import RecentIds
from ingestion.mqtt.pipeline import BatchBuilder, Incoming, process
from ingestion.mqtt.registry import MeterRegistry
from ingestion.mqtt.validate import Limits

TOPIC = "wattprint/S1/gw-utilities-fuel/readings"
NOW = time.time()
TS = datetime.fromtimestamp(NOW, UTC).replace(microsecond=0) - timedelta(hours=2)
TS_TEXT = TS.strftime("%Y-%m-%dT%H:%M:%SZ")

# meter → (energy_carrier, register, unit)
METERS = {
    "M-ELEC": (None, "interval_kwh", "kWh"),
    "M-POWER": ("electricity", "power_kw", "kW"),
    "M-GAS": ("natural_gas", "counter", "m3"),
    "M-GAS-KWH": ("natural_gas", "interval", "kWh"),
    "M-GEN": ("diesel", "interval", "l"),
    "M-LPG": ("lpg", "interval", "kg"),
}


def land_registry(home: Path) -> None:
    n = len(METERS)
    LandingZone(home).write(
        "meters",
        pl.DataFrame(
            {
                "meter_id": list(METERS),
                "site_id": ["S1"] * n,
                "meter_kind": ["sub"] * n,
                "measures_kind": ["site"] * n,
                "measures_id": ["S1"] * n,
                "energy_carrier": [c for c, _, _ in METERS.values()],
                "register": [r for _, r, _ in METERS.values()],
                "unit": [u for _, _, u in METERS.values()],
                "multiplier": [1.0] * n,
                "interval_minutes": [15] * n,
                "installed_at": [datetime(2025, 1, 1, tzinfo=UTC)] * n,
            }
        ),
    )


@pytest.fixture
def registry(tmp_path: Path) -> MeterRegistry:
    land_registry(tmp_path)
    return MeterRegistry.from_landing(tmp_path)


def reading(meter: str, value: float, unit: str, **extra) -> dict:
    return {"meter": meter, "ts": TS_TEXT, "value": value, "unit": unit, **extra}


def run(registry: MeterRegistry, *readings: dict):
    batch = BatchBuilder()
    payload = json.dumps({"gateway": "gw-utilities-fuel", "readings": list(readings)}).encode()
    batch.add(Incoming(TOPIC, payload, 1, 1, NOW, 1), NOW)
    return process(batch, registry, Limits(), RecentIds())


def test_the_landed_registry_knows_fuel_meters_by_carrier_and_unit(registry) -> None:
    assert dict(registry.dimensions) == {
        "M-ELEC": "electric energy",
        "M-POWER": "electric power",
        "M-GAS": "fuel volume",
        "M-GAS-KWH": "fuel energy",
        "M-GEN": "fuel volume",
        "M-LPG": "fuel mass",
    }
    assert registry.descriptions["M-GAS"] == (
        "a natural_gas meter registered in m3 (readings in l or m3)"
    )


def test_fuel_readings_in_their_meters_quantity_land(registry) -> None:
    out = run(
        registry,
        reading("M-GAS", 283415.25, "m3", id="gas-1"),
        reading("M-GAS", 283415250.0, "l", id="gas-2"),  # l and m3 are both volume
        reading("M-GEN", 15.0, "l"),
        reading("M-GAS-KWH", 1.2, "GJ", id="gas-kwh-1"),
        reading("M-GAS-KWH", 3.0, "therm", id="gas-kwh-2"),
        reading("M-LPG", 0.5, "t", id="lpg-1"),
        reading("M-ELEC", 4.0, "kWh", id="elec-1"),
    )
    assert out.rejected.height == 0
    assert out.readings.select("raw_id", "meter_id", "site_id", "ts", "value", "unit").rows() == [
        ("gas-1", "M-GAS", "S1", TS, 283415.25, "m3"),
        ("gas-2", "M-GAS", "S1", TS, 283415250.0, "l"),
        (f"M-GEN|{TS_TEXT}", "M-GEN", "S1", TS, 15.0, "l"),
        ("gas-kwh-1", "M-GAS-KWH", "S1", TS, 1.2, "GJ"),
        ("gas-kwh-2", "M-GAS-KWH", "S1", TS, 3.0, "therm"),
        ("lpg-1", "M-LPG", "S1", TS, 0.5, "t"),
        ("elec-1", "M-ELEC", "S1", TS, 4.0, "kWh"),
    ]
    assert set(out.readings["source"]) == {TOPIC}
    assert set(out.readings["quality"]) == {"good"}


@pytest.mark.parametrize(
    ("entry", "reason", "detail"),
    [
        (
            reading("M-GAS", 10.0, "kWh"),
            "wrong_unit",
            "unit 'kWh' measures energy, but meter 'M-GAS' is a natural_gas meter registered in "
            "m3 (readings in l or m3)",
        ),
        (
            reading("M-ELEC", 4.0, "l"),
            "wrong_unit",
            "unit 'l' measures volume, but meter 'M-ELEC' is an electricity meter with register "
            "interval_kwh (readings in Wh, kWh or MWh)",
        ),
        (
            reading("M-GAS-KWH", 1.0, "m3"),
            "wrong_unit",
            "unit 'm3' measures volume, but meter 'M-GAS-KWH' is a natural_gas meter registered "
            "in kWh (readings in Wh, kWh, MWh, GWh, MJ, GJ, TJ or therm)",
        ),
        (
            reading("M-GEN", 1.0, "kW"),
            "wrong_unit",
            "unit 'kW' measures power, but meter 'M-GEN' is a diesel meter registered in l "
            "(readings in l or m3)",
        ),
        (
            reading("M-POWER", 1.0, "GJ"),
            "wrong_unit",
            "unit 'GJ' measures energy, but meter 'M-POWER' is an electricity meter with "
            "register power_kw (readings in W, kW or MW)",
        ),
        (
            reading("M-GAS", 1.0, "m³"),
            "unknown_unit",
            "unit 'm³' is not one of Wh, kWh, MWh, W, kW, MW (electricity) nor a fuel unit (Wh, "
            "kWh, MWh, GWh, MJ, GJ, TJ, therm, l, m3, kg, t)",
        ),
    ],
)
def test_a_unit_that_does_not_fit_the_meter_is_quarantined_with_its_reason(
    registry, entry: dict, reason: str, detail: str
) -> None:
    good = reading("M-GAS", 283415.25, "m3", id="good")
    out = run(registry, good, entry)
    assert out.readings["raw_id"].to_list() == ["good"]
    assert out.rejected.select("reason", "detail", "source_row", "meter_id", "unit").rows() == [
        (reason, detail, "2", entry["meter"], entry["unit"])
    ]
    assert json.loads(out.rejected["original"][0]) == entry
    assert out.quarantined == {reason: 1}


def test_a_fuel_meter_registered_in_an_unknown_unit_takes_no_reading(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    land_registry(tmp_path)
    meters = (
        zone.read("meters")
        .filter(pl.col("meter_id") == "M-GAS")
        .drop("landing_batch_id", "landed_at")
    )
    zone.write("meters", meters.with_columns(pl.lit("cubic feet").alias("unit")))  # re-landed
    out = run(MeterRegistry.from_landing(tmp_path), reading("M-GAS", 1.0, "m3"))
    assert out.readings.height == 0
    assert out.rejected["reason"].to_list() == ["wrong_unit"]
    assert "registered unit 'cubic feet' is not a fuel unit" in out.rejected["detail"][0]


def test_a_registry_landed_before_energy_carrier_existed_still_loads(tmp_path: Path) -> None:
    """Meter files written before the column existed have no energy_carrier: electricity."""
    folder = tmp_path / "landing" / "meters"
    folder.mkdir(parents=True)
    pl.DataFrame(
        {
            "meter_id": ["OLD-1"],
            "site_id": ["S1"],
            "meter_kind": ["main"],
            "measures_kind": ["site"],
            "measures_id": ["S1"],
            "register": ["interval_kwh"],
            "unit": ["kWh"],
            "multiplier": [1.0],
            "interval_minutes": pl.Series([15], dtype=pl.Int32),
            "installed_at": [datetime(2025, 1, 1, tzinfo=UTC)],
            "landing_batch_id": ["old"],
            "landed_at": [datetime(2025, 1, 1, tzinfo=UTC)],
        }
    ).write_parquet(folder / "old.parquet")
    registry = MeterRegistry.from_landing(tmp_path)
    assert dict(registry.dimensions) == {"OLD-1": "electric energy"}
    out = run(registry, reading("OLD-1", 1.0, "kWh"), reading("OLD-1", 1.0, "l"))
    assert out.readings.height == 1 and out.rejected["reason"].to_list() == ["wrong_unit"]

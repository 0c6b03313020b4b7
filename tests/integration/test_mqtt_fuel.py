"""Fuel readings through a real Mosquitto: a gateway message mixing fuel and electricity
readings lands the ones that fit their meters, exactly, and quarantines the ones that do not
with their reason — the registry's fuel meters are picked up from the landing zone like any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from ingestion.landing import LandingZone
from tests.integration.mqtt_fixtures import (
    SITE_A,
    Publisher,
    gateway_message,
    ingestor,
    iso,
    landed,
    make_home,
    quarantined,
    reading,
    running_broker,
    topic,
    wait_until,
)

pytestmark = pytest.mark.integration


def land_fuel_meters(home) -> None:
    """A boiler gas counter in m3 and a generator's litres, as `wattprint simulate --fuel`
    lands them (ingestion/simulator/fuel.py), in a registry batch of their own."""
    LandingZone(home).write(
        "meters",
        pl.DataFrame(
            {
                "meter_id": ["A-GAS", "A-GEN"],
                "site_id": [SITE_A, SITE_A],
                "meter_kind": ["sub", "sub"],
                "measures_kind": ["site", "site"],
                "measures_id": [SITE_A, SITE_A],
                "energy_carrier": ["natural_gas", "diesel"],
                "register": ["counter", "interval"],
                "unit": ["m3", "l"],
                "multiplier": [1.0, 1.0],
                "rollover_value": [1_000_000.0, None],
                "interval_minutes": [15, 15],
                "installed_at": [datetime(2024, 1, 1, tzinfo=UTC)] * 2,
            }
        ),
        batch_id="meters-fuel",
    )


def test_a_gateway_message_with_fuel_readings_lands_them_and_quarantines_wrong_units(tmp_path):
    home = make_home(tmp_path / "home")
    land_fuel_meters(home)
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    good = [
        reading("A-GAS", ts, value=283415.25, unit="m3", id="gas-0"),
        reading("A-GAS", ts + timedelta(minutes=15), value=283417.125, unit="m3", id="gas-1"),
        reading("A-GEN", ts, value=15.0, unit="l", id="gen-0"),
        reading("A-01", ts, value=2.5, unit="kWh", id="elec-0"),
    ]
    bad = [
        reading("A-GAS", ts, value=12.0, unit="kWh", id="gas-kwh"),  # energy on a m3 counter
        reading("A-01", ts, value=4.0, unit="l", id="elec-litres"),  # litres on electricity
    ]
    with (
        running_broker(tmp_path / "broker") as broker,
        ingestor(broker, home) as ing,
        Publisher(broker) as pub,
    ):
        pub.publish(gateway_message([good[0], bad[0], good[1], good[2], bad[1], good[3]]))
        pub.wait_acked()
        wait_until(lambda: ing.stats.readings_received == 6, what="6 readings")
        stats = ing.stop()

    assert stats.readings_landed == 4 and stats.quarantined == {"wrong_unit": 2}
    rows = (
        landed(home).sort("raw_id").select("raw_id", "meter_id", "site_id", "ts", "value", "unit")
    )
    assert rows.rows() == [
        ("elec-0", "A-01", SITE_A, ts, 2.5, "kWh"),
        ("gas-0", "A-GAS", SITE_A, ts, 283415.25, "m3"),
        ("gas-1", "A-GAS", SITE_A, ts + timedelta(minutes=15), 283417.125, "m3"),
        ("gen-0", "A-GEN", SITE_A, ts, 15.0, "l"),
    ]
    assert set(landed(home)["source"]) == {topic(SITE_A)}
    rejected = quarantined(home).sort("id")
    assert rejected.select("reason", "id", "meter_id", "unit", "ts", "source_row").rows() == [
        ("wrong_unit", "elec-litres", "A-01", "l", iso(ts), "5"),
        ("wrong_unit", "gas-kwh", "A-GAS", "kWh", iso(ts), "2"),
    ]
    assert rejected["detail"].to_list() == [
        "unit 'l' measures volume, but meter 'A-01' is an electricity meter with register "
        "interval_kwh (readings in Wh, kWh or MWh)",
        "unit 'kWh' measures energy, but meter 'A-GAS' is a natural_gas meter registered in m3 "
        "(readings in l or m3)",
    ]

"""Fuel meters and their readings through the file importer: what lands is exactly what dbt's
fuel staging reads (stg_landing__fuel_meters / stg_landing__fuel_readings), and a reading whose
unit does not fit its meter (litres on an electricity meter, kWh on a gas meter counting m3) is
a problem naming its row and column."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ingestion.factors.units import ACTIVITY_TO_BASE
from ingestion.files import ImportRejected, MappingError, ReadingsMapping, import_file
from ingestion.files.units import FUEL_BASE_UNIT
from ingestion.landing.store import LandingZone
from orchestration.cli import main

SEED = Path(__file__).parents[2] / "dbt_project" / "seeds" / "fuel_units.csv"
METERS_HEADER = (
    "meter_id,site_id,parent_meter_id,meter_kind,measures_kind,measures_id,energy_carrier,"
    "register,unit,multiplier,rollover_value,interval_minutes,installed_at"
)
METERS = [
    METERS_HEADER,
    "M-ELEC,S1,,main,site,S1,,interval_kwh,kWh,1,,15,2026-01-01T00:00:00Z",
    "M-GAS,S1,,sub,area,boiler-house,natural_gas,counter,m3,1,100000,15,2026-01-01T00:00:00Z",
    "M-GEN,S1,,sub,equipment,EQ-GENSET,diesel,interval,l,1,,15,2026-01-01T08:00:00+08:00",
]
# gas counter read in Taipei local time (UTC+8), cumulative m3
GAS = [
    "read_at,index_m3",
    "2026-03-02 00:00,1000",
    "2026-03-02 00:15,1002.5",
    "2026-03-02 00:30,1004",
]
# generator: litres per interval, stamped at the interval's END with an offset
DIESEL = [
    "period_end,litres",
    "2026-03-02T08:15:00+08:00,5",
    "2026-03-02T08:30:00+08:00,4.5",
    "2026-03-02T08:45:00+08:00,0",
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def landed(home: Path, kind: str) -> pl.DataFrame:
    frame = LandingZone(home).read(kind).drop("landing_batch_id", "landed_at")
    return frame.sort(frame.columns[:4])


def gas_mapping(**overrides) -> ReadingsMapping:
    settings = dict(
        timestamp_column="read_at",
        timestamp_format="%Y-%m-%d %H:%M",
        timezone="Asia/Taipei",
        value_column="index_m3",
        unit="m3",
        register="counter",
        meter_id="M-GAS",
        site_id="S1",
        source_name="gas-export",
    )
    return ReadingsMapping.build(**{**settings, **overrides})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home whose landed registry has one electricity meter and the two fuel meters."""
    home = tmp_path / "wattprint"
    import_file(home, "meters", write(tmp_path, "meters.csv", METERS))
    return home


def test_the_fuel_units_are_the_seed_and_the_factor_librarys() -> None:
    with open(SEED, encoding="utf-8") as handle:
        seed = {row["unit"]: row["base_unit"] for row in csv.DictReader(handle)}
    assert FUEL_BASE_UNIT == seed == {u: base for u, (base, _) in ACTIVITY_TO_BASE.items()}


def test_fuel_meters_land_with_their_carrier_register_and_unit(home: Path) -> None:
    meters = landed(home, "meters").select(
        "meter_id",
        "parent_meter_id",
        "energy_carrier",
        "register",
        "unit",
        "multiplier",
        "rollover_value",
        "interval_minutes",
        "installed_at",
    )
    assert meters.rows() == [
        ("M-ELEC", None, None, "interval_kwh", "kWh", 1.0, None, 15, utc(2026, 1, 1)),
        ("M-GAS", None, "natural_gas", "counter", "m3", 1.0, 100000.0, 15, utc(2026, 1, 1)),
        ("M-GEN", None, "diesel", "interval", "l", 1.0, None, 15, utc(2026, 1, 1)),
    ]


def test_gas_counter_in_m3_and_diesel_in_litres_land_exactly(tmp_path: Path, home: Path) -> None:
    gas = import_file(home, "readings", write(tmp_path, "gas.csv", GAS), gas_mapping())
    diesel_mapping = ReadingsMapping.build(
        timestamp_column="period_end",
        interval_semantics="end",
        value_column="litres",
        unit="l",
        register="interval",
        meter_id="M-GEN",
        site_id="S1",
        source_name="genset-export",
    )
    diesel = import_file(home, "readings", write(tmp_path, "diesel.csv", DIESEL), diesel_mapping)
    assert (gas.rows_landed, diesel.rows_landed) == (3, 3)
    rows = landed(home, "readings").sort("raw_id")
    assert rows["raw_id"].to_list() == [
        "gas-export|M-GAS|2|2026-03-01T16:00:00Z",
        "gas-export|M-GAS|3|2026-03-01T16:15:00Z",
        "gas-export|M-GAS|4|2026-03-01T16:30:00Z",
        "genset-export|M-GEN|2|2026-03-02T00:00:00Z",
        "genset-export|M-GEN|3|2026-03-02T00:15:00Z",
        "genset-export|M-GEN|4|2026-03-02T00:30:00Z",
    ]
    assert rows.select("meter_id", "site_id", "ts", "value", "unit", "quality").rows() == [
        # the counter at its instants (local midnight = 16:00 UTC the day before)
        ("M-GAS", "S1", utc(2026, 3, 1, 16), 1000.0, "m3", None),
        ("M-GAS", "S1", utc(2026, 3, 1, 16, 15), 1002.5, "m3", None),
        ("M-GAS", "S1", utc(2026, 3, 1, 16, 30), 1004.0, "m3", None),
        # interval-end labels land as the interval's start
        ("M-GEN", "S1", utc(2026, 3, 2, 0), 5.0, "l", None),
        ("M-GEN", "S1", utc(2026, 3, 2, 0, 15), 4.5, "l", None),
        ("M-GEN", "S1", utc(2026, 3, 2, 0, 30), 0.0, "l", None),
    ]
    assert set(rows["source"]) == {str(tmp_path / "gas.csv"), str(tmp_path / "diesel.csv")}


def test_kwh_on_a_gas_meter_counting_m3_is_rejected_naming_row_and_column(
    tmp_path: Path, home: Path
) -> None:
    path = write(
        tmp_path,
        "gas.csv",
        [
            "read_at,index,unit",
            "2026-03-02 00:00,1000,m3",
            "2026-03-02 00:15,1002500,l",
            "2026-03-02 00:30,10450,kWh",
        ],
    )
    mapping = gas_mapping(value_column="index", unit=None, unit_column="unit")
    with pytest.raises(ImportRejected) as caught:
        import_file(home, "readings", path, mapping)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (4, "unit", "kWh")
    assert problem.reason == (
        "unit 'kWh' (energy) does not fit meter 'M-GAS': a natural_gas meter registered in m3 "
        "(readings in l or m3)"
    )
    assert "row 4, column 'unit' (value 'kWh'): unit 'kWh' (energy) does not fit" in str(
        caught.value
    )
    assert landed(home, "readings").height == 0
    (record,) = (home / "quarantine" / "readings").glob("*.file.json")
    assert "does not fit meter 'M-GAS'" in json.loads(record.read_text())["reason"]

    # the same file with quarantine_bad_rows: m3 and litres (same quantity) land, kWh does not
    report = import_file(home, "readings", path, mapping, quarantine_bad_rows=True)
    assert (report.rows_landed, report.rows_quarantined) == (2, 1)
    assert landed(home, "readings").select("value", "unit").rows() == [
        (1000.0, "m3"),
        (1002500.0, "l"),
    ]
    quarantined = pl.read_parquet(report.quarantine_path)
    assert quarantined.select("source_row", "unit").rows() == [("4", "kWh")]
    assert quarantined["reason"][0].startswith("column unit: unit 'kWh' (energy) does not fit")


def test_litres_on_an_electricity_meter_are_rejected_naming_row_and_column(
    tmp_path: Path, home: Path
) -> None:
    path = write(
        tmp_path,
        "litres.csv",
        ["ts,meter,litres", "2026-03-02T00:00:00Z,M-GEN,5", "2026-03-02T00:00:00Z,M-ELEC,4"],
    )
    mapping = ReadingsMapping.build(
        timestamp_column="ts",
        value_column="litres",
        unit="l",
        register="interval",
        meter_id_column="meter",
        site_id="S1",
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(home, "readings", path, mapping)
    (problem,) = caught.value.problems
    # the unit is the mapping's, so the column named is the one that picks the meter
    assert (problem.row, problem.column, problem.value) == (3, "meter", "M-ELEC")
    assert problem.reason == (
        "unit 'l' (volume) does not fit meter 'M-ELEC': an electricity meter with register "
        "interval_kwh (readings in Wh, kWh or MWh)"
    )


def test_one_meter_and_unit_from_the_mapping_that_do_not_fit_reject_the_file(
    tmp_path: Path, home: Path
) -> None:
    with pytest.raises(
        ImportRejected,
        match="not imported, nothing was landed: the mapping's "
        "meter and unit do not fit the meter registry: unit 'kWh' \\(energy\\) "
        "does not fit meter 'M-GAS'",
    ):
        import_file(home, "readings", write(tmp_path, "g.csv", GAS), gas_mapping(unit="kWh"))
    assert landed(home, "readings").height == 0


def test_fuel_readings_need_their_meter_in_the_registry(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "new.csv", ["ts,meter,m3", "2026-03-02T00:00:00Z,M-GAS-2,7"])
    mapping = ReadingsMapping.build(
        timestamp_column="ts",
        value_column="m3",
        unit="m3",
        register="counter",
        meter_id_column="meter",
        site_id="S1",
    )
    with pytest.raises(
        ImportRejected,
        match=r"row 2, column 'meter' \(value 'M-GAS-2'\): meter "
        "'M-GAS-2' is not in the landed meter registry",
    ):
        import_file(home, "readings", path, mapping)


def test_a_fuel_meter_read_with_another_register_is_a_problem(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "gen.csv", ["ts,meter,l", "2026-03-02T00:00:00Z,M-GEN,7"])
    mapping = ReadingsMapping.build(
        timestamp_column="ts",
        value_column="l",
        unit="l",
        register="counter",
        meter_id_column="meter",
        site_id="S1",
    )
    with pytest.raises(
        ImportRejected,
        match="meter 'M-GEN' \\(diesel\\) has register interval, "
        "but the mapping reads the values as counter",
    ):
        import_file(home, "readings", path, mapping)


def test_a_negative_fuel_counter_reading_is_a_problem(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "g.csv", [*GAS, "2026-03-02 00:45,-1"])
    with pytest.raises(
        ImportRejected, match="row 5, column 'index_m3' .*negative reading of a fuel counter"
    ):
        import_file(home, "readings", path, gas_mapping())


def test_electricity_readings_land_as_before_fuel_meters_existed(
    tmp_path: Path, home: Path
) -> None:
    """kWh for the registered electricity meter and for a meter not (yet) registered both land,
    as they always did; only a reading whose unit does not fit its registered meter is new."""
    lines = ["ts,meter,kwh", "2026-03-02T00:00:00Z,M-ELEC,4", "2026-03-02T00:00:00Z,M-NEW,2"]
    path = write(tmp_path, "e.csv", lines)
    mapping = dict(
        timestamp_column="ts", value_column="kwh", unit="kWh", meter_id_column="meter", site_id="S1"
    )
    assert import_file(home, "readings", path, mapping).rows_landed == 2
    power = dict(mapping, unit="kW", register="power_kw")
    with pytest.raises(
        ImportRejected,
        match=r"row 2, column 'meter'.*unit 'kW' \(power\) does "
        "not fit meter 'M-ELEC'",
    ):
        import_file(home, "readings", path, power)


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        (
            "M-1,S1,,main,site,S1,,counter,kWh,1,,15,2026-01-01T00:00:00Z",
            "register",
            "register counter is a fuel meter's",
        ),
        (
            "M-1,S1,,main,site,S1,,interval_kwh,l,1,,15,2026-01-01T00:00:00Z",
            "unit",
            "l is a fuel unit, but this is an electricity meter",
        ),
        (
            "M-1,S1,,main,site,S1,electricity,interval_kwh,m3,1,,15,2026-01-01T00:00:00Z",
            "unit",
            "m3 is a fuel unit, but this is an electricity meter",
        ),
        (
            "M-1,S1,,sub,area,b,natural_gas,counter_kwh,m3,1,,15,2026-01-01T00:00:00Z",
            "register",
            "a fuel meter (energy_carrier natural_gas) has register counter or interval",
        ),
        (
            "M-1,S1,,sub,area,b,natural_gas,counter,kW,1,,15,2026-01-01T00:00:00Z",
            "unit",
            "not a fuel quantity unit for a natural_gas meter",
        ),
        (
            "M-1,S1,M-ELEC,sub,area,b,natural_gas,counter,m3,1,,15,2026-01-01T00:00:00Z",
            "parent_meter_id",
            "a fuel meter has no parent meter",
        ),
        (
            "M-1,S1,,sub,area,b,Natural Gas,counter,m3,1,,15,2026-01-01T00:00:00Z",
            "energy_carrier",
            "an energy carrier is lower-case letters",
        ),
    ],
)
def test_bad_fuel_meter_rows_name_row_and_column(
    tmp_path: Path, line: str, column: str, reason: str
) -> None:
    home = tmp_path / "wattprint"
    with pytest.raises(ImportRejected) as caught:
        import_file(home, "meters", write(tmp_path, "m.csv", [METERS_HEADER, line]))
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, column)]
    assert reason in caught.value.problems[0].reason
    assert f"row 2, column {column!r}" in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            dict(register="interval", unit="kW"),
            re.escape("register interval (a fuel meter) needs a fuel quantity unit"),
        ),
        (
            dict(unit="m3"),
            re.escape(
                "register interval_kwh needs an energy unit, not m3 (a fuel "
                "meter's register: counter or interval)"
            ),
        ),
        (dict(register="counter", interval_semantics="end"), "counter readings are instants"),
        (
            dict(unit="m³"),
            r"unknown unit 'm³'; expected one of .* \(fuel, register counter or "
            r"interval\)",
        ),
    ],
)
def test_bad_fuel_mappings_name_the_setting(overrides: dict, message: str) -> None:
    settings = dict(
        timestamp_column="ts",
        value_column="v",
        unit="m3",
        meter_id="M",
        site_id="S1",
        register="interval_kwh",
    )
    with pytest.raises(MappingError, match=message):
        ReadingsMapping.build(**{**settings, **overrides})


def test_the_command_line_imports_fuel_meters_and_readings(tmp_path: Path, capsys) -> None:
    home = tmp_path / "wattprint"
    meters = write(tmp_path, "meters.csv", METERS)
    gas = write(tmp_path, "gas.csv", GAS)
    assert main(["--home", str(home), "import", "meters", str(meters)]) == 0
    flags = [
        "--site",
        "S1",
        "--meter",
        "M-GAS",
        "--timestamp-column",
        "read_at",
        "--timestamp-format",
        "%Y-%m-%d %H:%M",
        "--timezone",
        "Asia/Taipei",
        "--value-column",
        "index_m3",
        "--register",
        "counter",
    ]
    code = main(["--home", str(home), "import", "readings", str(gas), *flags, "--unit", "kWh"])
    err = capsys.readouterr().err
    assert code == 2 and "does not fit meter 'M-GAS'" in err and "Traceback" not in err
    assert main(["--home", str(home), "import", "readings", str(gas), *flags, "--unit", "m3"]) == 0
    assert "3 of 3 row(s) landed" in capsys.readouterr().out
    assert landed(home, "readings")["value"].to_list() == [1000.0, 1002.5, 1004.0]

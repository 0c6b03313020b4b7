"""Factor loaders against the real publisher files in ../shared/data (expected numbers read by
hand from the file, with the line they are on; header = line 1), unit conversions, detection
and landing."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ingestion.factors import (
    FactorFileRejected,
    csv_format,
    desnz,
    detect_publisher,
    egrid,
    electricitymaps,
    ember,
    land_factor_file,
    read_factor_file,
    tw_kr_official,
    units,
)
from ingestion.landing.schemas import SCHEMAS
from ingestion.landing.store import LandingZone

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
FACTORS = DATA / "emission_factors"
DESNZ = FACTORS / "uk_desnz_2022_electricity.csv"
EGRID = FACTORS / "us_egrid2022_subregion_co2_lb_per_mwh.csv"
EMBER = FACTORS / "ember_country_grid_intensity_latest.csv"
TWKR = FACTORS / "tw_kr_official_grid_factors.csv"
GB2021 = DATA / "grid_intensity_gb_hourly" / "GB_2021_hourly.csv"
GB2022 = DATA / "grid_intensity_gb_hourly" / "GB_2022_hourly.csv"
SEED = ROOT / "dbt_project" / "seeds" / "unit_conversions.csv"

pytestmark = pytest.mark.skipif(not FACTORS.exists(), reason="shared data not available")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def row_at(loaded, line: int) -> dict:
    """The factor row that comes from `line` of the file."""
    return loaded.frame.row(loaded.source_rows.index(line), named=True)


def assert_conforms(frame: pl.DataFrame) -> None:
    assert dict(frame.schema) == SCHEMAS["factors"]


# --- DESNZ 2022 -----------------------------------------------------------------------------


def test_desnz_total_and_per_gas_rows():
    loaded = desnz.read(DESNZ)
    assert_conforms(loaded.frame)
    assert loaded.frame.height == 8 and not loaded.skipped
    # line 2: 2022,Scope 2,UK electricity,...,kWh,kg CO2e,0.19338
    total = row_at(loaded, 2)
    assert total["value"] == 0.19338 and total["unit"] == "kgCO2e/kWh" and total["gas"] == "CO2e"
    assert (total["method"], total["energy_carrier"], total["region"]) == (
        "location",
        "electricity",
        "UK",
    )
    assert (total["valid_from"], total["valid_to"]) == (utc(2022, 1, 1), utc(2023, 1, 1))
    # lines 3-5: kg CO2e of CO2 0.19121, of CH4 0.0008, of N2O 0.00137 — they add up to line 2
    shares = {row_at(loaded, line)["gas"]: row_at(loaded, line)["value"] for line in (3, 4, 5)}
    assert shares == {"CO2": 0.19121, "CH4": 0.0008, "N2O": 0.00137}
    assert sum(shares.values()) == pytest.approx(0.19338, abs=1e-12)
    ids = {row_at(loaded, line)["factor_id"] for line in (2, 3, 4, 5)}
    assert len(ids) == 4  # each share its own series: never deduplicated into the total
    assert row_at(loaded, 3)["factor_id"] == total["factor_id"] + "/co2"
    # line 6: Scope 3 T&D losses 0.01769 — its own carrier, never the Scope 2 grid factor
    td = row_at(loaded, 6)
    assert td["value"] == 0.01769 and td["energy_carrier"] == "electricity_td_losses"


def test_desnz_fuel_rows_and_skips(tmp_path):
    path = tmp_path / "desnz_fuels.csv"
    path.write_text(
        "year,Scope,Level 1,Level 2,Level 3,UOM,GHG/Unit,factor,ID\n"
        "2022,Scope 1,Fuels,Gaseous fuels,Natural gas,kWh (Gross CV),kg CO2e,0.18254,\n"
        "2022,Scope 1,Fuels,Gaseous fuels,Natural gas,kWh (Gross CV),kg CO2e of CH4,0.00027,\n"
        "2022,Scope 1,Fuels,Liquid fuels,Diesel (average biofuel blend),litres,kg CO2e,2.51206,\n"
        "2022,Scope 1,Fuels,Gaseous fuels,LPG,tonnes,kg CO2e,2939.29,\n"
        "2022,Scope 3,Business travel- air,Flights,Domestic,passenger.km,kg CO2e,0.24587,\n"
    )
    loaded = desnz.read(path, gwp_set="AR4")
    by_line = {line: row_at(loaded, line) for line in loaded.source_rows}
    assert by_line[2]["energy_carrier"] == "natural_gas" and by_line[2]["method"] == "fuel"
    assert by_line[2]["factor_id"].endswith("/kwh_gross_cv")
    assert by_line[3]["gas"] == "CH4" and by_line[3]["gwp_set"] == "AR4"
    assert by_line[2]["gwp_set"] is None  # the total is already CO2e
    assert (by_line[4]["energy_carrier"], by_line[4]["unit"]) == ("diesel", "kgCO2e/l")
    assert (by_line[5]["energy_carrier"], by_line[5]["unit"]) == ("lpg", "kgCO2e/t")
    assert [p.row for p in loaded.skipped] == [6]  # air travel is not an energy carrier


# --- eGRID 2022 -----------------------------------------------------------------------------


def test_egrid_is_lb_co2_per_mwh_co2_only():
    loaded = egrid.read(EGRID)
    assert_conforms(loaded.frame)
    assert loaded.frame.height == 28
    us = row_at(loaded, 2)  # line 2: US,823.149,2022
    assert (us["region"], us["value"], us["unit"], us["gas"]) == (
        "US",
        823.149,
        "lbCO2/MWh",
        "CO2",
    )
    assert us["gwp_set"] is None
    assert (us["valid_from"], us["valid_to"]) == (utc(2022, 1, 1), utc(2023, 1, 1))
    assert us["published_at"] == utc(2024, 1, 30)
    rfce = row_at(loaded, 19)  # line 19: RFCE,657.386,2022
    assert (rfce["region"], rfce["value"]) == ("RFCE", 657.386)
    # lb/MWh → kg/kWh: × 0.45359237 / 1000
    assert units.to_base(rfce["value"], rfce["unit"]) == (
        pytest.approx(657.386 * 0.45359237 / 1000, rel=1e-15),
        "kgCO2/kWh",
    )
    assert units.to_base(rfce["value"], rfce["unit"])[0] == pytest.approx(0.2981853, abs=1e-7)
    assert row_at(loaded, 18)["value"] == 1593.481  # line 18: PRMS, the highest


# --- Ember ----------------------------------------------------------------------------------


def test_ember_grams_per_kwh_one_year_per_country():
    loaded = ember.read(EMBER)
    assert_conforms(loaded.frame)
    assert loaded.frame.height == 222
    kor = row_at(loaded, 187)  # line 187: KOR,KOR,South Korea,2024,415.65
    assert (kor["region"], kor["value"], kor["unit"], kor["gas"]) == (
        "KOR",
        415.65,
        "gCO2/kWh",
        "CO2",
    )
    assert (kor["valid_from"], kor["valid_to"]) == (utc(2024, 1, 1), utc(2025, 1, 1))
    assert units.to_kg_per_kwh(kor["value"], kor["unit"]) == pytest.approx(0.41565)
    assert row_at(loaded, 211)["value"] == 215.79  # line 211: GBR ... 2024,215.79
    tkm = row_at(loaded, 206)  # line 206: TKM ... 2023,1306.3 — the highest, still plausible
    assert tkm["valid_from"] == utc(2023, 1, 1)
    assert row_at(loaded, 220)["region"] == "World"  # line 220: aggregate without a code
    assert row_at(loaded, 39)["value"] == 0.0  # line 39: CAF 2022, 0 g/kWh


# --- Electricity Maps GB hourly -------------------------------------------------------------


def test_electricitymaps_direct_hourly_utc_hour_starts():
    loaded = electricitymaps.read(GB2021)
    assert_conforms(loaded.frame)
    frame = loaded.frame
    assert frame.height == 8760
    first = row_at(loaded, 2)  # line 2: 2021-01-01 00:00:00, ..., 156.05 (direct), 233.77
    assert (first["valid_from"], first["valid_to"]) == (utc(2021, 1, 1, 0), utc(2021, 1, 1, 1))
    assert (first["value"], first["unit"], first["gas"]) == (156.05, "gCO2eq/kWh", "CO2e")
    assert (first["granularity"], first["region"]) == ("hourly", "GB")
    assert row_at(loaded, 4358)["value"] == 164.16  # line 4358: 2021-07-01 12:00, 164.16
    assert row_at(loaded, 4358)["valid_from"] == utc(2021, 7, 1, 12)
    assert frame.get_column("factor_id").unique().to_list() == [
        electricitymaps.FACTOR_IDS["direct"]
    ]


def test_electricitymaps_lifecycle_is_a_separate_series():
    loaded = electricitymaps.read(GB2021, basis="lifecycle")
    assert row_at(loaded, 2)["value"] == 233.77  # line 2, life-cycle column
    assert row_at(loaded, 2)["factor_id"] == electricitymaps.FACTOR_IDS["lifecycle"]


def test_electricitymaps_estimated_hours_are_flagged():
    loaded = electricitymaps.read(GB2021)
    # lines 7837-7839: 2021-11-23 11:00-13:00, Data estimated = true, TIME_SLICER_AVERAGE
    assert loaded.flags["estimated_hours"] == [utc(2021, 11, 23, h) for h in (11, 12, 13)]
    estimated = row_at(loaded, 7838)
    assert estimated["value"] == 231.82
    assert "ESTIMATED (ESTIMATED_TIME_SLICER_AVERAGE)" in estimated["source_document"]
    assert "ESTIMATED" not in row_at(loaded, 2)["source_document"]
    assert electricitymaps.read(GB2022).flags["estimated_hours"] == []
    assert row_at(electricitymaps.read(GB2022), 3971)["value"] == 158.2  # 2022-06-15 09:00


# --- Taiwan and Korea -----------------------------------------------------------------------


def test_taiwan_local_calendar_year_and_late_announcement():
    loaded = tw_kr_official.read(TWKR)
    assert_conforms(loaded.frame)
    tw2023 = row_at(loaded, 8)  # line 8: TW,2023,0.494,kgCO2e/kWh,... (announced 2024-04-26)
    assert (tw2023["factor_id"], tw2023["region"], tw2023["value"], tw2023["unit"]) == (
        "TW-MOEA-GRID",
        "TW",
        0.494,
        "kgCO2e/kWh",
    )
    # Asia/Taipei is UTC+8: local 2023-01-01 00:00 = 2022-12-31 16:00 UTC
    assert (tw2023["valid_from"], tw2023["valid_to"]) == (
        utc(2022, 12, 31, 16),
        utc(2023, 12, 31, 16),
    )
    assert tw2023["published_at"] == utc(2024, 4, 25, 16)  # 2024-04-26 00:00 Taipei
    tw2017 = row_at(loaded, 2)  # line 2: TW,2017,0.554 — no date: assumed 1 July 2018 Taipei
    assert tw2017["value"] == 0.554 and tw2017["published_at"] == utc(2018, 6, 30, 16)
    assert tw2017["published_at"] > tw2017["valid_to"]  # announced after the year it covers
    assert any("ASSUMED" in note for note in loaded.notes)


def test_korea_t_per_mwh_seoul_year_and_multi_year_rows():
    loaded = tw_kr_official.read(TWKR)
    kr2023 = row_at(loaded, 13)  # line 13: KR,2023,0.4173,tCO2eq/MWh,... (published 2025-12-18)
    assert (kr2023["region"], kr2023["value"], kr2023["unit"]) == ("KR", 0.4173, "tCO2eq/MWh")
    assert (kr2023["valid_from"], kr2023["valid_to"]) == (
        utc(2022, 12, 31, 15),
        utc(2023, 12, 31, 15),
    )  # Asia/Seoul is UTC+9
    assert kr2023["published_at"] == utc(2025, 12, 17, 15)
    assert row_at(loaded, 11)["value"] == 0.4509  # line 11: KR,2021 (same announcement)
    assert row_at(loaded, 11)["published_at"] == utc(2025, 12, 17, 15)
    assert units.to_kg_per_kwh(0.4173, "tCO2eq/MWh") == pytest.approx(0.4173)
    # lines 9, 10: "2014-2016 avg", "2020-2022 avg" — which years they apply to is not stated
    assert [p.row for p in loaded.skipped] == [9, 10]
    landed_avg = tw_kr_official.read(TWKR, multi_year_windows={"2014-2016 avg": (2021, 2025)})
    avg = row_at(landed_avg, 9)
    assert (avg["value"], avg["factor_id"]) == (0.45941, "KR-GRID-2014_2016_AVG")
    assert (avg["valid_from"], avg["valid_to"]) == (utc(2020, 12, 31, 15), utc(2025, 12, 31, 15))


# --- units ----------------------------------------------------------------------------------


def test_unit_constants_and_conversions():
    assert units.KG_PER_LB == 0.45359237
    assert pytest.approx(2.20462262185) == units.LB_PER_KG
    assert units.lb_per_mwh_to_kg_per_kwh(1000.0) == pytest.approx(0.45359237)
    assert units.to_kg_per_kwh(823.149, "lbCO2/MWh") == pytest.approx(0.373374105773)
    assert units.to_kg_per_kwh(156.05, "gCO₂eq/kWh") == pytest.approx(0.15605)
    assert units.to_kg_per_kwh(0.4, "tCO2eq/MWh") == pytest.approx(0.4)
    assert units.to_kg_per_kwh(0.5, "kgCO2e/MJ") == pytest.approx(1.8)
    assert units.to_base(2939.29, "kgCO2e/t") == (pytest.approx(2.93929), "kgCO2e/kg")
    assert units.to_base(1.0, "kgCO2/m3") == (pytest.approx(0.001), "kgCO2/l")
    assert units.energy_to_kwh(1.0, "therm") == pytest.approx(29.3071, abs=1e-4)
    assert units.energy_to_kwh(400, "MWh") == 400_000
    for bad in ("kgCO2/mWh", "kgCO2e", "kgSO2/kWh", "stone/kWh"):
        with pytest.raises(units.UnknownUnit):
            units.parse_unit(bad)


def test_python_conversions_agree_with_the_dbt_seed():
    with open(SEED, newline="") as handle:
        seed = [r for r in csv.DictReader(handle) if r["to_unit"] == "kgCO2e/kWh"]
    assert seed
    for row in seed:
        assert units.multiplier(row["from_unit"]) == pytest.approx(float(row["multiplier"]))


# Units the loaders land that the seed does not convert yet (rows to add are in the report).
NOT_IN_SEED_YET = {"gCO2eq/kWh", "tCO2eq/MWh"}


def test_every_landed_electricity_unit_is_in_the_seed_or_listed():
    with open(SEED, newline="") as handle:
        seeded = {r["from_unit"] for r in csv.DictReader(handle)}
    used = set()
    for reader, path in (
        (desnz.read, DESNZ),
        (egrid.read, EGRID),
        (ember.read, EMBER),
        (tw_kr_official.read, TWKR),
        (electricitymaps.read, GB2022),
    ):
        used |= set(reader(path).frame.get_column("unit").unique().to_list())
    assert used - seeded <= NOT_IN_SEED_YET


# --- detection, Wattprint CSV, landing ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "publisher"),
    [
        (DESNZ, "desnz"),
        (EGRID, "egrid"),
        (EMBER, "ember"),
        (TWKR, "tw_kr_official"),
        (GB2021, "electricitymaps"),
    ],
)
def test_detect_publisher(path, publisher):
    assert detect_publisher(path) == publisher


def test_unknown_file_is_rejected(tmp_path):
    path = tmp_path / "what.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(FactorFileRejected, match="not a factor file"):
        detect_publisher(path)


WATTPRINT_HEADER = (
    "factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,"
    "unit,gas,gwp_set,source_document,published_at\n"
)


def test_wattprint_csv_reads_and_rejects_bad_rows_by_line(tmp_path):
    good = tmp_path / "supplier.csv"
    good.write_text(
        WATTPRINT_HEADER + "SUP-1,2023.1,supplier,KR,electricity,annual,2023-01-01T00:00:00+09:00,"
        "2024-01-01T00:00:00+09:00,0.38,kgCO2e/kWh,CO2e,,Supplier disclosure 2023,"
        "2024-03-01T00:00:00Z\n"
    )
    loaded = read_factor_file(good)
    assert loaded.publisher == "wattprint" and loaded.source_rows == [2]
    assert loaded.frame.row(0, named=True)["valid_from"] == utc(2022, 12, 31, 15)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        WATTPRINT_HEADER + "SUP-1,1,supplier,KR,electricity,annual,2023-01-01T00:00:00+09:00,"
        "2024-01-01T00:00:00+09:00,0.38,kgCO2e/kWh,CO2e,,doc,2024-03-01T00:00:00Z\n"
        "SUP-2,1,supplier,KR,electricity,annual,2023-01-01T00:00:00,"  # no offset
        "2024-01-01T00:00:00+09:00,abc,kgCO2e/kWh,CO2e,,doc,2024-03-01T00:00:00Z\n"
    )
    with pytest.raises(FactorFileRejected) as info:
        csv_format.read(bad)
    assert info.value.bad_rows == [3]


def test_land_factor_file_lands_once(tmp_path):
    report = land_factor_file(tmp_path, DESNZ)
    assert (report.publisher, report.rows_loaded, report.rows_landed) == ("desnz", 8, 8)
    landed = LandingZone(tmp_path).read("factors")
    assert landed.height == 8
    assert set(landed.get_column("landing_batch_id").to_list()) == {report.batch_id}
    again = land_factor_file(tmp_path, DESNZ, publisher="desnz")
    assert (again.rows_landed, again.already_landed, again.batch_id) == (0, 8, None)
    assert LandingZone(tmp_path).read("factors").height == 8
    assert "DESNZ" in report.summary() or "desnz" in report.summary()

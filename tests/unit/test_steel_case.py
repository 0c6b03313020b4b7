"""The steel case on the real UCI export (shared/data/steel_industry_2018), as published."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from ingestion.files.cases.steel import (
    FACTOR_T_PER_MWH,
    compare_with_reported,
    land_steel_case,
)
from ingestion.landing.store import LandingZone

STEEL_CSV = (
    Path(__file__).parents[2].parent
    / "shared"
    / "data"
    / "steel_industry_2018"
    / "steel_industry_2018_january.csv"
)
SEOUL = ZoneInfo("Asia/Seoul")

pytestmark = pytest.mark.skipif(not STEEL_CSV.exists(), reason=f"{STEEL_CSV} not present")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list, pl.DataFrame]:
    before = hashlib.sha256(STEEL_CSV.read_bytes()).hexdigest()
    home = tmp_path_factory.mktemp("steel")
    reports = land_steel_case(home, STEEL_CSV)
    assert hashlib.sha256(STEEL_CSV.read_bytes()).hexdigest() == before  # read, never touched
    readings = LandingZone(home).read("readings").sort("ts")
    return home, reports, readings


@pytest.fixture(scope="module")
def emissions(case) -> pl.DataFrame:
    """What the dbt pipeline will compute later: kgCO2 = kWh × 0.4585 kgCO2/kWh."""
    _, _, readings = case
    return readings.select(
        pl.col("ts").alias("interval_start_utc"),
        (pl.col("value") * FACTOR_T_PER_MWH).alias("kgco2e"),
    )


def local(ts: datetime) -> datetime:
    return ts.astimezone(SEOUL).replace(tzinfo=None)


def test_lands_registry_factor_and_every_reading(case) -> None:
    home, reports, readings = case
    assert [(r.kind, r.rows_landed, r.rows_quarantined) for r in reports] == [
        ("sites", 1, 0),
        ("meters", 1, 0),
        ("equipment", 1, 0),
        ("factors", 1, 0),
        ("readings", 2976, 0),
    ]
    assert readings.height == 2976
    assert set(readings["meter_id"]) == {"STEEL-MAIN"}
    assert set(readings["site_id"]) == {"KR-GWANGYANG-STEEL"}
    assert readings["raw_id"].n_unique() == 2976


def test_first_and_last_interval(case) -> None:
    _, reports, readings = case
    first, last = readings["ts"][0], readings["ts"][-1]
    assert first == datetime(2017, 12, 31, 15, 0, tzinfo=UTC)
    assert local(first) == datetime(2018, 1, 1, 0, 0)
    assert local(last) == datetime(2018, 1, 31, 23, 45)
    assert reports[-1].time_span == (first, last)
    # every quarter hour of the month exactly once: the 00:00 rows went to the day's end
    steps = readings["ts"].diff().drop_nulls().unique().to_list()
    assert [s.total_seconds() for s in steps] == [900.0]
    # the file's last row, "31/01/2018 00:00" = 24:00, is the interval starting 23:45
    assert readings.filter(pl.col("ts") == last)["raw_id"][0].endswith("|2977|2018-01-31T14:45:00Z")


def test_registry_rows(case) -> None:
    home, _, _ = case
    zone = LandingZone(home)
    site = zone.read("sites").row(0, named=True)
    assert (
        site["site_id"],
        site["timezone"],
        site["grid_region"],
        site["country"],
        site["location_factor_granularity"],
    ) == ("KR-GWANGYANG-STEEL", "Asia/Seoul", "KR", "KR", "annual")
    meter = zone.read("meters").row(0, named=True)
    assert (meter["meter_id"], meter["register"], meter["unit"], meter["measures_id"]) == (
        "STEEL-MAIN",
        "interval_kwh",
        "kWh",
        "STEEL-PLANT",
    )
    assert local(meter["installed_at"]) == datetime(2017, 12, 31)
    factor = zone.read("factors").row(0, named=True)
    assert (
        factor["factor_id"],
        factor["version"],
        factor["value"],
        factor["unit"],
        factor["gas"],
    ) == ("KR-STEEL-UCI", "2018.1", 0.4585, "tCO2/MWh", "CO2")
    assert local(factor["valid_from"]) == datetime(2018, 1, 1)
    assert local(factor["valid_to"]) == datetime(2019, 1, 1)
    assert "Steel Industry Energy Consumption" in factor["source_document"]


def test_reported_co2_matches_except_the_2_january_defect(case, emissions) -> None:
    result = compare_with_reported(emissions, STEEL_CSV)
    assert result.rows == result.rows_compared == 2976
    assert result.mismatch_count == 47
    assert result.missing_count == 0
    assert result.matches_within_tolerance == 2976 - 47
    assert result.matches_exact_rounding == 2976 - 47  # no row sits on a rounding tie
    # the defect, as printed (interval-end labels) and as interval starts in Seoul
    assert result.mismatch_span == ("2/1/2018 8:15", "2/1/2018 20:30")
    first, last = result.mismatch_span_local
    assert (first.replace(tzinfo=None), last.replace(tzinfo=None)) == (
        datetime(2018, 1, 2, 8, 0),
        datetime(2018, 1, 2, 20, 15),
    )
    mism = result.mismatches
    assert mism["reported_tco2"].to_list() == [0.0] * 47
    assert (mism["kwh"] > 0).all()
    # every interval of the printed span reports 0; 3 of its 50 rows are too small to round
    # above 0 and so agree anyway (kWh × 0.4585 / 1000 < 0.005)
    assert set(mism["source_row"]) <= set(range(130, 180))
    assert sorted(set(range(130, 180)) - set(mism["source_row"])) == [147, 148, 149]  # 12:30-13:00
    assert result.summary().count("47 do not") == 1


def test_totals(case, emissions) -> None:
    _, _, readings = case
    result = compare_with_reported(emissions, STEEL_CSV)
    expected = readings["value"].sum() * FACTOR_T_PER_MWH / 1000
    assert result.total_tco2_unrounded == pytest.approx(expected, rel=1e-12)
    assert result.total_tco2_unrounded == pytest.approx(57.880256, abs=1e-6)
    assert result.total_kwh == pytest.approx(126238.29)
    assert result.total_tco2_reported == pytest.approx(53.99)  # rounding + defect understate


def test_comparison_accepts_naive_utc_and_several_rows_per_interval(case, emissions) -> None:
    split = pl.concat(
        [
            emissions.with_columns(pl.col("kgco2e") * 0.25),
            emissions.with_columns(pl.col("kgco2e") * 0.75),
        ]
    ).with_columns(pl.col("interval_start_utc").dt.replace_time_zone(None))
    result = compare_with_reported(split, STEEL_CSV)
    assert result.mismatch_count == 47
    assert result.matches_exact_rounding == 2929


def test_comparison_reports_intervals_without_a_figure(emissions) -> None:
    result = compare_with_reported(emissions.slice(10), STEEL_CSV)
    assert result.missing_count == 10
    assert result.rows_compared == 2966

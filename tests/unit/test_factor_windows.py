"""Validity windows (overlaps and gaps per series, also against what is already landed) and
plausible bounds per unit: a bad file is rejected before anything lands, naming its rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from ingestion.factors import FactorFileRejected, land_factor_file, validate
from ingestion.factors.common import build_frame
from ingestion.landing.store import LandingZone

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
TWKR = DATA / "emission_factors" / "tw_kr_official_grid_factors.csv"
GB2022 = DATA / "grid_intensity_gb_hourly" / "GB_2022_hourly.csv"

HEADER = (
    "factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,"
    "unit,gas,gwp_set,source_document,published_at\n"
)


def line(
    start: str,
    end: str,
    value: float = 0.5,
    *,
    factor_id: str = "SUP-A",
    version: str = "1",
    unit: str = "kgCO2e/kWh",
    gas: str = "CO2e",
    granularity: str = "annual",
) -> str:
    return (
        f"{factor_id},{version},supplier,KR,electricity,{granularity},{start},{end},{value},"
        f"{unit},{gas},,Supplier disclosure,2024-03-01T00:00:00Z\n"
    )


Y = {y: f"{y}-01-01T00:00:00+09:00" for y in range(2019, 2026)}


def write(tmp_path: Path, *lines: str, name: str = "factors.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines))
    return path


def rejected(tmp_path: Path, path: Path, **options) -> FactorFileRejected:
    with pytest.raises(FactorFileRejected) as info:
        land_factor_file(tmp_path / "home", path, **options)
    assert LandingZone(tmp_path / "home").read("factors").height == 0  # nothing landed
    return info.value


def test_contiguous_windows_land(tmp_path):
    path = write(tmp_path, line(Y[2021], Y[2022]), line(Y[2022], Y[2023]), line(Y[2023], Y[2024]))
    report = land_factor_file(tmp_path / "home", path)
    assert report.rows_landed == 3


def test_overlapping_windows_are_rejected_naming_both_rows(tmp_path):
    path = write(
        tmp_path,
        line(Y[2021], Y[2022]),  # line 2
        line(Y[2022], "2023-07-01T00:00:00+09:00", 0.6),  # line 3
        line("2023-01-01T00:00:00+09:00", Y[2024], 0.7),  # line 4: overlaps line 3
    )
    err = rejected(tmp_path, path)
    assert err.bad_rows == [4]
    assert "overlaps row 3" in err.problems[0].reason
    assert "SUP-A v1" in err.problems[0].reason
    assert "row 4" in str(err)
    quarantined = list((tmp_path / "home" / "quarantine" / "factors").glob("*.file.json"))
    assert len(quarantined) == 1 and err.quarantined_at


def test_nested_window_names_the_row_it_overlaps(tmp_path):
    path = write(
        tmp_path,
        line(Y[2020], Y[2024]),  # line 2: four years
        line(Y[2021], Y[2022]),  # line 3: inside line 2
        line(Y[2022], Y[2023]),  # line 4: inside line 2, not line 3
    )
    err = rejected(tmp_path, path)
    assert err.bad_rows == [3, 4]
    assert all("overlaps row 2" in p.reason for p in err.problems)


def test_gap_is_rejected_naming_the_rows_around_it(tmp_path):
    path = write(tmp_path, line(Y[2020], Y[2021]), line(Y[2022], Y[2023]))  # 2021 missing
    err = rejected(tmp_path, path)
    assert err.bad_rows == [3]
    reason = err.problems[0].reason
    assert "gap in validity" in reason and "between row 2 and row 3" in reason
    assert "2020-12-31 15:00 UTC … 2021-12-31 15:00 UTC" in reason
    report = land_factor_file(tmp_path / "home", path, allow_gaps=True)
    assert report.rows_landed == 2


def test_windows_are_per_series(tmp_path):
    path = write(
        tmp_path,
        line(Y[2021], Y[2022], 0.5),
        line(Y[2021], Y[2022], 0.4, version="2"),  # a new version of the same window
        line(Y[2021], Y[2022], 0.01, factor_id="SUP-A/ch4", gas="CH4"),  # another gas
        line(Y[2023], Y[2024], 0.5, factor_id="SUP-B"),  # another factor: no gap with SUP-A
    )
    assert land_factor_file(tmp_path / "home", path).rows_landed == 4


def test_exact_repeat_lands_once_but_a_different_repeat_is_an_overlap(tmp_path):
    same = write(tmp_path, line(Y[2021], Y[2022]), line(Y[2021], Y[2022]), name="same.csv")
    assert land_factor_file(tmp_path / "home", same).rows_landed == 1
    different = write(
        tmp_path, line(Y[2021], Y[2022], 0.5), line(Y[2021], Y[2022], 0.6), name="diff.csv"
    )
    with pytest.raises(FactorFileRejected) as info:
        land_factor_file(tmp_path / "other", different)
    assert set(info.value.bad_rows) == {2, 3}


def test_overlap_with_an_already_landed_factor_names_the_batch(tmp_path):
    first = write(tmp_path, line(Y[2021], Y[2022], 0.5), name="first.csv")
    landed = land_factor_file(tmp_path / "home", first)
    corrected = write(tmp_path, line(Y[2021], Y[2022], 0.55), name="corrected.csv")
    with pytest.raises(FactorFileRejected) as info:
        land_factor_file(tmp_path / "home", corrected)
    assert landed.batch_id in info.value.problems[0].reason
    assert "needs a new version" in info.value.problems[0].reason
    as_new_version = write(
        tmp_path, line(Y[2021], Y[2022], 0.55, version="2"), name="corrected_v2.csv"
    )
    assert land_factor_file(tmp_path / "home", as_new_version).rows_landed == 1
    extended = write(tmp_path, line(Y[2021], Y[2022]), line(Y[2022], Y[2023]), name="next.csv")
    report = land_factor_file(tmp_path / "home", extended)
    assert (report.rows_landed, report.already_landed) == (1, 1)


def test_real_taiwan_file_with_a_year_removed_is_rejected(tmp_path):
    lines = TWKR.read_text().splitlines(keepends=True)
    assert lines[3].startswith("TW,2019,")
    gapped = tmp_path / "tw_gap.csv"
    gapped.write_text("".join(lines[:3] + lines[4:]))  # drop TW 2019 (line 4)
    err = rejected(tmp_path, gapped)
    assert err.bad_rows == [4]  # now TW 2020, right after the hole
    assert "TW-MOEA-GRID" in err.problems[0].reason
    assert "2018-12-31 16:00 UTC … 2019-12-31 16:00 UTC" in err.problems[0].reason


def test_real_hourly_file_with_a_conflicting_hour_is_rejected(tmp_path):
    lines = GB2022.read_text(encoding="utf-8").splitlines(keepends=True)[:25]  # header + 1 day
    fields = lines[5].split(",")  # line 6: 2022-01-01 04:00:00
    assert fields[0] == "2022-01-01 04:00:00"
    fields[4] = "999.0"  # the same hour again with another direct intensity, as line 26
    path = tmp_path / "GB_conflict.csv"
    path.write_text("".join([*lines, ",".join(fields)]), encoding="utf-8")
    err = rejected(tmp_path, path, publisher="electricitymaps")
    assert err.bad_rows == [26]
    assert "overlaps row 6" in err.problems[0].reason


# --- bounds per unit ------------------------------------------------------------------------


def frame_of(**overrides) -> pl.DataFrame:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    record = {
        "factor_id": "F",
        "version": "1",
        "method": "location",
        "region": "XX",
        "energy_carrier": "electricity",
        "granularity": "annual",
        "valid_from": start,
        "valid_to": start + timedelta(days=365),
        "value": 0.4,
        "unit": "kgCO2e/kWh",
        "gas": "CO2e",
        "source_document": "test",
        "published_at": start,
    }
    return build_frame([record | overrides])


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"value": 415.65, "unit": "kgCO2/kWh", "gas": "CO2"}, "value"),  # Ember g as kg
        ({"value": 823.149, "unit": "lbCO2/kWh", "gas": "CO2"}, "value"),  # eGRID per kWh
        ({"value": -0.1}, "value"),
        ({"value": 0.5, "unit": "kgCH4/kWh", "gas": "CH4"}, "value"),  # 0.5 kg CH4/kWh
        (
            {"value": 25.0, "unit": "kgCO2e/l", "energy_carrier": "diesel", "method": "fuel"},
            "value",
        ),
        ({"unit": "kgCO2e/mWh"}, "unit"),
        ({"value": 0.4, "unit": "lbCO2/MWh", "gas": "CO2e"}, "gas"),  # CO2 labelled CO2e
        ({"method": "grid"}, "method"),
        ({"granularity": "hourly"}, "valid_to"),  # hourly factor with a year-long window
        ({"value": float("nan")}, "value"),
    ],
)
def test_implausible_or_inconsistent_values_are_rejected(overrides, column):
    checked = validate(frame_of(**overrides), [7])
    assert not checked.ok
    assert checked.problems[0].row == 7
    assert column in {p.column for p in checked.problems}


@pytest.mark.parametrize(
    "overrides",
    [
        {"value": 823.149, "unit": "lbCO2/MWh", "gas": "CO2"},
        {"value": 1306.3, "unit": "gCO2/kWh", "gas": "CO2"},  # Ember's highest (TKM)
        {"value": 0.0},  # a zero-carbon grid (Ember CAF) or a renewable contract
        {"value": 0.4173, "unit": "tCO2eq/MWh"},
        {"value": 2.51206, "unit": "kgCO2e/l", "energy_carrier": "diesel", "method": "fuel"},
        {"value": 0.00027, "unit": "kgCO2e/kWh", "gas": "CH4", "method": "fuel"},
        {"value": 1.0e-5, "unit": "kgCH4/kWh", "gas": "CH4", "method": "fuel"},
    ],
)
def test_plausible_values_pass(overrides):
    assert validate(frame_of(**overrides)).ok

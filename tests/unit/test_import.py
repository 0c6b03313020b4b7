"""File importer: time semantics, validation of the whole file, quarantine, formats."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from ingestion.files import ImportRejected, MappingError, ReadingsMapping, import_file
from ingestion.landing.store import LandingZone

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
BERLIN = ZoneInfo("Europe/Berlin")


# --------------------------------------------------------------------------- helpers


def data_files(home: Path) -> list[Path]:
    """Every landed data file (the zero-row `_schema.parquet` markers are not data)."""
    root = Path(home) / "landing"
    return sorted(p for p in root.rglob("*.parquet") if p.name != "_schema.parquet")


def quarantine_files(home: Path, kind: str, suffix: str) -> list[Path]:
    return sorted((Path(home) / "quarantine" / kind).glob(f"*{suffix}"))


def write(tmp_path: Path, name: str, lines: list[str], *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\n".join(lines) + "\n").encode())
    return path


def iso_mapping(**overrides) -> ReadingsMapping:
    settings = dict(
        timestamp_column="ts",
        timezone="Europe/Berlin",
        value_column="kwh",
        unit="kWh",
        meter_id="M1",
        site_id="S1",
        source_name="test",
    )
    settings.update(overrides)
    return ReadingsMapping.build(**settings)


def landed(home: Path, kind: str = "readings") -> pl.DataFrame:
    return LandingZone(home).read(kind).sort("ts" if kind == "readings" else pl.first())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wattprint"


# --------------------------------------------------------------------------- time semantics


def test_interval_end_labels_land_as_interval_start(home: Path) -> None:
    mapping = ReadingsMapping.build(
        timestamp_column="Zeitstempel",
        timestamp_format="%d.%m.%Y %H:%M",
        timezone="Europe/Berlin",
        interval_semantics="end",
        value_column="Wirkenergie",
        unit="kWh",
        meter_id_column="Zaehler",
        site_id="DE-BER-01",
    )
    report = import_file(home, "readings", FIXTURES / "readings_interval_end.csv", mapping)
    rows = landed(home)
    # "05.01.2026 00:15" (CET, UTC+1) closes the interval that starts 00:00 local = 23:00 UTC
    assert rows["ts"].to_list() == [
        utc(2026, 1, 4, 23, 0),
        utc(2026, 1, 4, 23, 15),
        utc(2026, 1, 4, 23, 30),
        utc(2026, 1, 4, 23, 45),
    ]
    assert rows["value"].to_list() == [1.25, 1.5, 1.75, 2.0]
    assert set(rows["meter_id"]) == {"M-L1"}
    assert report.rows_landed == 4
    assert report.time_span == (utc(2026, 1, 4, 23, 0), utc(2026, 1, 4, 23, 45))


def test_interval_start_labels_are_kept(home: Path) -> None:
    mapping = ReadingsMapping.build(
        timestamp_column="Zeitstempel",
        timestamp_format="%d.%m.%Y %H:%M",
        timezone="Europe/Berlin",
        interval_semantics="start",
        value_column="Wirkenergie",
        unit="kWh",
        meter_id_column="Zaehler",
        site_id="DE-BER-01",
    )
    import_file(home, "readings", FIXTURES / "readings_interval_end.csv", mapping)
    assert landed(home)["ts"][0] == utc(2026, 1, 4, 23, 15)


def test_iso_timestamps_with_offsets_need_no_time_zone(home: Path) -> None:
    mapping = iso_mapping(timezone=None)
    import_file(home, "readings", FIXTURES / "readings_iso.csv", mapping)
    assert landed(home)["ts"].to_list() == [
        utc(2026, 1, 4, 23, 0),
        utc(2026, 1, 4, 23, 15),
        utc(2026, 1, 4, 23, 30),
        utc(2026, 1, 4, 23, 45),
    ]


def _local_day(day: date, tz: ZoneInfo) -> list[datetime]:
    """UTC starts of every quarter hour of a local day."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
    out = []
    while start < end:
        out.append(start)
        start += timedelta(minutes=15)
    return out


@pytest.mark.parametrize(
    ("day", "quarters"),
    [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100), (date(2026, 6, 1), 96)],
)
def test_dst_days_with_interval_start_labels(
    tmp_path: Path, home: Path, day: date, quarters: int
) -> None:
    starts = _local_day(day, BERLIN)
    assert len(starts) == quarters
    lines = ["ts,kwh"] + [
        f"{s.astimezone(BERLIN):%Y-%m-%d %H:%M},{i}" for i, s in enumerate(starts)
    ]
    path = write(tmp_path, "dst.csv", lines)
    report = import_file(home, "readings", path, iso_mapping())
    rows = landed(home)
    assert report.rows_landed == quarters
    assert rows["ts"].to_list() == starts  # repeated 02:xx labels read in file order
    assert rows["value"].to_list() == [float(i) for i in range(quarters)]


@pytest.mark.parametrize(("day", "quarters"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_dst_days_with_interval_end_labels_and_midnight_ends_day(
    tmp_path: Path, home: Path, day: date, quarters: int
) -> None:
    starts = _local_day(day, BERLIN)
    lines = ["Zeit;kWh"]
    for i, s in enumerate(starts):
        end = (s + timedelta(minutes=15)).astimezone(BERLIN)
        if (end.hour, end.minute) == (0, 0):  # printed as 00:00 of the same date
            label = f"{end - timedelta(days=1):%d.%m.%Y} 00:00"
        else:
            label = f"{end:%d.%m.%Y %H:%M}"
        lines.append(f"{label};{i}")
    if quarters == 92:
        assert lines[8].startswith("29.03.2026 03:00")  # 01:45-02:00 CET ends at 03:00 CEST
    else:  # the 02:00 label comes twice: end of 01:45-02:00 CEST, then of 02:45-03:00 CEST
        assert [line[11:16] for line in lines[8:14]] == [
            "02:00",
            "02:15",
            "02:30",
            "02:45",
            "02:00",
            "02:15",
        ]
    assert lines[-1].startswith(f"{day:%d.%m.%Y} 00:00")
    mapping = ReadingsMapping.build(
        timestamp_column="Zeit",
        timestamp_format="%d.%m.%Y %H:%M",
        timezone="Europe/Berlin",
        interval_semantics="end",
        midnight_ends_day=True,
        value_column="kWh",
        unit="kWh",
        meter_id="M1",
        site_id="S1",
        delimiter=";",
    )
    report = import_file(home, "readings", write(tmp_path, "e.csv", lines), mapping)
    assert report.rows_landed == quarters
    assert landed(home)["ts"].to_list() == starts


def test_midnight_ends_day(tmp_path: Path, home: Path) -> None:
    lines = ["date,Usage_kWh", "1/1/2018 23:45,3.6", "1/1/2018 0:00,3.4", "2/1/2018 0:15,3.2"]
    path = write(tmp_path, "steel_like.csv", lines)
    settings = dict(
        timestamp_column="date",
        timestamp_format="%d/%m/%Y %H:%M",
        timezone="Asia/Seoul",
        interval_semantics="end",
        value_column="Usage_kWh",
        unit="kWh",
        meter_id="M",
        site_id="S",
    )
    import_file(home, "readings", path, ReadingsMapping.build(midnight_ends_day=True, **settings))
    seoul = ZoneInfo("Asia/Seoul")
    local = [t.astimezone(seoul).replace(tzinfo=None) for t in landed(home)["ts"]]
    assert local == [
        datetime(2018, 1, 1, 23, 30),
        datetime(2018, 1, 1, 23, 45),
        datetime(2018, 1, 2, 0, 0),
    ]
    # without the flag the same row would be read as the first interval end of 1 January
    other = home.parent / "other"
    import_file(other, "readings", path, ReadingsMapping.build(**settings))
    firsts = LandingZone(other).read("readings").sort("ts")["ts"][0]
    assert firsts.astimezone(seoul).replace(tzinfo=None) == datetime(2017, 12, 31, 23, 45)


def test_time_zone_defaults_to_the_landed_site(home: Path) -> None:
    import_file(home, "sites", FIXTURES / "sites.csv")
    mapping = ReadingsMapping.build(
        timestamp_column="Zeitstempel",
        timestamp_format="%d.%m.%Y %H:%M",
        interval_semantics="end",
        value_column="Wirkenergie",
        unit="kWh",
        meter_id_column="Zaehler",
        site_id="DE-BER-01",
    )
    import_file(home, "readings", FIXTURES / "readings_interval_end.csv", mapping)
    assert landed(home)["ts"][0] == utc(2026, 1, 4, 23, 0)


def test_naive_timestamps_without_any_time_zone_are_refused(home: Path) -> None:
    mapping = ReadingsMapping.build(
        timestamp_column="Zeitstempel",
        timestamp_format="%d.%m.%Y %H:%M",
        value_column="Wirkenergie",
        unit="kWh",
        meter_id_column="Zaehler",
        site_id="NOWHERE",
    )
    with pytest.raises(ImportRejected, match="no UTC offset.*timezone"):
        import_file(home, "readings", FIXTURES / "readings_interval_end.csv", mapping)
    assert data_files(home) == []


def test_raw_id_is_stable_across_imports(tmp_path: Path) -> None:
    mapping = iso_mapping(timezone=None)
    ids = []
    for name in ("a", "b"):
        import_file(tmp_path / name, "readings", FIXTURES / "readings_iso.csv", mapping)
        ids.append(LandingZone(tmp_path / name).read("readings").sort("ts")["raw_id"].to_list())
    assert ids[0] == ids[1]
    assert ids[0][0] == "test|M1|2|2026-01-04T23:00:00Z"
    assert len(set(ids[0])) == 4


def test_exact_duplicate_rows_land_once(tmp_path: Path, home: Path) -> None:
    path = write(
        tmp_path,
        "d.csv",
        ["ts,kwh", "2026-01-05 00:00,1", "2026-01-05 00:00,1.0", "2026-01-05 00:15,2"],
    )
    report = import_file(home, "readings", path, iso_mapping())
    assert (report.rows_read, report.rows_landed, report.duplicates_skipped) == (3, 2, 1)
    assert "landed once" in report.summary()


# --------------------------------------------------------------------------- bad input

GOOD_LINES = ["ts,kwh", "2026-01-05 00:00,1.0", "2026-01-05 00:15,1.1"]


@pytest.mark.parametrize(
    ("bad_line", "rows", "column", "reason"),
    [
        ("2026-01-05 00:30,abc", [4], "kwh", "not a number"),
        ("2026-01-05 00:30,", [4], "kwh", "required value is missing"),
        (",1.2", [4], "ts", "required value is missing"),
        ("2026-01-05 00:30,NaN", [4], "kwh", "not a finite number"),
        ("2026-01-05 00:30,-inf", [4], "kwh", "not a finite number"),
        ("2026-01-05 00:30,-0.5", [4], "kwh", "negative energy on an interval register"),
        ("05/01/2026 00:30,1.2", [4], "ts", "not an ISO-8601 timestamp"),
        ("2026-01-05 00:15,9.9", [3, 4], "ts", "different values"),
        ("2026-03-29 02:30,1.2", [4], "ts", "does not exist in Europe/Berlin"),
        ("2026-01-05 00:30,1.2,surplus", [4], None, "row has 3 fields but the header has 2"),
    ],
)
def test_bad_readings_reject_the_whole_file(
    tmp_path: Path, home: Path, bad_line: str, rows: list[int], column: str | None, reason: str
) -> None:
    path = write(tmp_path, "bad.csv", [*GOOD_LINES, bad_line])
    with pytest.raises(ImportRejected) as caught:
        import_file(home, "readings", path, iso_mapping())
    err = caught.value
    assert [p.row for p in err.problems] == rows
    assert {p.column for p in err.problems} == {column}
    assert all(reason in p.reason for p in err.problems)
    message = str(err)
    assert f"row {rows[0]}" in message and reason in message
    if column:
        assert f"column {column!r}" in message
    assert "nothing was landed" in message
    assert data_files(home) == []  # nothing partial
    (record,) = quarantine_files(home, "readings", ".file.json")
    assert json.loads(record.read_text())["source"] == str(path)


def test_unknown_unit_in_a_unit_column(tmp_path: Path, home: Path) -> None:
    path = write(
        tmp_path, "u.csv", ["ts,kwh,unit", "2026-01-05 00:00,1,kWh", "2026-01-05 00:15,1,kwh"]
    )  # milli/Mega matter: exact
    mapping = iso_mapping(unit=None, unit_column="unit")
    with pytest.raises(ImportRejected, match=r"row 3, column 'unit' \(value 'kwh'\): unknown"):
        import_file(home, "readings", path, mapping)
    assert data_files(home) == []


def test_unknown_unit_in_the_mapping() -> None:
    with pytest.raises(MappingError, match="unknown unit 'kwhh'"):
        iso_mapping(unit="kwhh")


@pytest.mark.parametrize(
    ("kind", "header", "line", "column", "reason"),
    [
        (
            "factors",
            "factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,"
            "unit,source_document,published_at",
            "F,1,location,DE,electricity,annual,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z,0.3,"
            "kgCO2e/kWh,doc,2026-01-01T00:00:00Z",
            "valid_to",
            "valid_to is not after valid_from",
        ),
        (
            "factors",
            "factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,"
            "unit,source_document,published_at",
            "F,1,location,DE,electricity,annual,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,0.3,"
            "kg CO2e per kWh,doc,2026-01-01T00:00:00Z",
            "unit",
            "unknown unit",
        ),
        (
            "bills",
            "bill_id,site_id,period_start,period_end,kwh",
            "B1,S1,2026-02-01,2026-01-31,100",
            "period_end",
            "period_end is before period_start",
        ),
        (
            "bills",
            "bill_id,site_id,period_start,period_end,kwh",
            "B1,S1,2026-02-01,2026-02-28,1.000.000",
            "kwh",
            "not a number",
        ),
        (
            "meters",
            "meter_id,site_id,meter_kind,measures_kind,measures_id,register,unit,multiplier,"
            "interval_minutes,installed_at",
            "M1,S1,sub,line,L1,interval_kwh,kwh,1,15,2026-01-01T00:00:00Z",
            "unit",
            "unknown unit",
        ),
        (
            "meters",
            "meter_id,site_id,meter_kind,measures_kind,measures_id,register,unit,multiplier,"
            "interval_minutes,installed_at",
            "M1,S1,sub,line,L1,interval_kwh,kWh,1,15,2026-01-01T00:00:00",
            "installed_at",
            "no UTC offset",
        ),
        (
            "sites",
            "site_id,timezone,grid_region,country,location_factor_granularity",
            "S1,Europe/Berlinn,DE,DE,annual",
            "timezone",
            "not an IANA time zone",
        ),
    ],
)
def test_bad_table_rows_reject_the_whole_file(
    tmp_path: Path, home: Path, kind: str, header: str, line: str, column: str, reason: str
) -> None:
    path = write(tmp_path, f"{kind}.csv", [header, line])
    with pytest.raises(ImportRejected) as caught:
        import_file(home, kind, path)
    assert (2, column) in {(p.row, p.column) for p in caught.value.problems}
    assert reason in str(caught.value) and f"row 2, column {column!r}" in str(caught.value)
    assert data_files(home) == []
    assert quarantine_files(home, kind, ".file.json")


def test_row_numbers_count_file_lines(tmp_path: Path, home: Path) -> None:
    lines = [
        "ts,kwh,note",
        "2026-01-05 00:00,1.0,ok",
        "",
        '2026-01-05 00:15,1.1,"two',
        'lines"',
        "2026-01-05 00:30,bad,x",
    ]
    path = write(tmp_path, "lines.csv", lines, bom=True)
    with pytest.raises(ImportRejected) as caught:
        import_file(home, "readings", path, iso_mapping())
    assert [(p.row, p.column) for p in caught.value.problems] == [(6, "kwh")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"ts,kwh\n2026-01-05 00:00,1\xff\n", "not UTF-8"),
        (b"PAR1 this is not really parquet", "cannot read Parquet"),
    ],
)
def test_unreadable_files_are_rejected(
    tmp_path: Path, home: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(ImportRejected, match=reason):
        import_file(home, "readings", path, iso_mapping())
    assert data_files(home) == []
    assert quarantine_files(home, "readings", ".file.json")


def test_missing_columns_unknown_kind_and_missing_mapping(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "r.csv", ["time,kwh", "2026-01-05 00:00,1"])
    with pytest.raises(ImportRejected, match="missing required column.*ts.*the file has: time"):
        import_file(home, "readings", path, iso_mapping())
    with pytest.raises(ImportRejected, match="missing required column.*grid_region"):
        import_file(home, "sites", write(tmp_path, "s.csv", ["site_id,timezone", "S,UTC"]))
    with pytest.raises(ImportRejected, match="unknown kind 'invoices'"):
        import_file(home, "invoices", path)
    with pytest.raises(ImportRejected, match="readings need a ReadingsMapping"):
        import_file(home, "readings", path)
    assert data_files(home) == []


# --------------------------------------------------------------------------- quarantine mode


def test_quarantine_bad_rows_lands_the_good_ones(tmp_path: Path, home: Path) -> None:
    lines = [*GOOD_LINES, "2026-01-05 00:30,abc", "2026-01-05 00:45,1.3", "2026-01-05 01:00,-2"]
    path = write(tmp_path, "mixed.csv", lines)
    report = import_file(home, "readings", path, iso_mapping(), quarantine_bad_rows=True)
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (5, 3, 2)
    assert landed(home)["value"].to_list() == [1.0, 1.1, 1.3]
    quarantined = pl.read_parquet(report.quarantine_path).sort("source_row")
    assert quarantined["source_row"].to_list() == ["4", "6"]
    assert quarantined["kwh"].to_list() == ["abc", "-2"]
    assert "column kwh: not a number" in quarantined["reason"][0]
    assert "negative energy" in quarantined["reason"][1]
    assert set(quarantined["source"]) == {str(path)}
    assert report.quarantine_path.stem == report.batch_id  # one batch id links both sides
    assert "2 quarantined" in report.summary() and "row 4" in report.summary()


def test_a_bad_row_does_not_make_its_twin_a_conflict(tmp_path: Path, home: Path) -> None:
    path = write(
        tmp_path, "twin.csv", [*GOOD_LINES, "2026-01-05 00:30,n/a", "2026-01-05 00:30,1.2"]
    )
    report = import_file(home, "readings", path, iso_mapping(), quarantine_bad_rows=True)
    assert [p.row for p in report.problems] == [4]
    assert landed(home)["value"].to_list() == [1.0, 1.1, 1.2]


def test_quarantine_bad_rows_still_rejects_unreadable_files(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "r.csv", ["nothing,useful", "1,2"])
    with pytest.raises(ImportRejected, match="missing required column"):
        import_file(home, "readings", path, iso_mapping(), quarantine_bad_rows=True)


# --------------------------------------------------------------------------- Parquet


def test_parquet_readings_with_naive_local_times(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "r.parquet"
    pl.DataFrame(
        {
            "end": [datetime(2026, 7, 1, 0, 15), datetime(2026, 7, 1, 0, 30)],
            "energy": [2.5, 3.0],
        }
    ).write_parquet(path)
    mapping = iso_mapping(timestamp_column="end", value_column="energy", interval_semantics="end")
    report = import_file(home, "readings", path, mapping)
    assert report.rows_landed == 2
    assert landed(home)["ts"].to_list() == [utc(2026, 6, 30, 22, 0), utc(2026, 6, 30, 22, 15)]
    assert landed(home)["raw_id"][0] == "test|M1|1|2026-06-30T22:00:00Z"  # Parquet rows from 1


def test_parquet_readings_with_aware_times_and_bad_values(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "r.parquet"
    ny = ZoneInfo("America/New_York")
    pl.DataFrame(
        {
            "ts": [datetime(2026, 1, 5, 0, 0, tzinfo=ny), datetime(2026, 1, 5, 0, 15, tzinfo=ny)],
            "kwh": [1.0, float("nan")],
        }
    ).write_parquet(path)
    with pytest.raises(ImportRejected, match=r"row 2, column 'kwh'.*not a finite number"):
        import_file(home, "readings", path, iso_mapping())
    report = import_file(home, "readings", path, iso_mapping(), quarantine_bad_rows=True)
    assert landed(home)["ts"].to_list() == [utc(2026, 1, 5, 5, 0)]
    assert report.rows_quarantined == 1


def test_parquet_factors(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "f.parquet"
    pl.read_csv(FIXTURES / "factors.csv", infer_schema=False).with_columns(
        pl.col("valid_from", "valid_to").str.to_datetime(time_zone="UTC"),
        pl.col("value").cast(pl.Float64),
    ).write_parquet(path)
    report = import_file(home, "factors", path)
    assert report.rows_landed == 3
    factors = landed(home, "factors").filter(pl.col("version") == "2025.1")
    assert factors["published_at"].to_list() == [utc(2025, 6, 29, 22)]  # +02:00 → UTC


# --------------------------------------------------------------------------- registry, bills,
# factors


def test_registry_bills_and_factors_csv(home: Path) -> None:
    reports = {
        kind: import_file(home, kind, FIXTURES / f"{kind}.csv")
        for kind in ("sites", "meters", "equipment", "bills", "factors")
    }
    assert {k: r.rows_landed for k, r in reports.items()} == {
        "sites": 2,
        "meters": 3,
        "equipment": 2,
        "bills": 2,
        "factors": 3,
    }
    zone = LandingZone(home)
    sites = zone.read("sites").sort("site_id")
    assert sites["site_id"].to_list() == ["DE-BER-01", "TW-TPE-01"]  # BOM gone from the header
    assert sites["site_name"][1] == "Taipei plant, building 2"
    meters = zone.read("meters").sort("meter_id")
    assert meters["installed_at"].to_list() == [
        utc(2025, 1, 1),
        utc(2026, 3, 1, 9),
        utc(2024, 12, 31, 23),
    ]
    assert meters["meter_id"].to_list() == ["M-L1", "M-L1B", "M-UTIL"]
    assert meters["removed_at"].to_list() == [utc(2026, 3, 1, 9), None, None]
    assert meters.schema["interval_minutes"] == pl.Int32
    assert meters["multiplier"].to_list() == [40.0, 1.0, 1.0]
    equipment = zone.read("equipment").sort("equipment_id")
    assert equipment["is_metered"].to_list() == [False, True]
    assert equipment["line_id"].to_list() == [None, "L1"]
    bills = zone.read("bills").sort("bill_id")
    assert bills["period_end"].to_list() == [date(2026, 1, 31), date(2026, 2, 28)]
    assert bills["cost"].to_list() == [41234.10, None]
    assert (home / "landing" / "bills" / "site=DE-BER-01").is_dir()
    factors = zone.read("factors").sort("version")
    assert factors["unit"].to_list() == ["lbCO2/MWh", "kgCO2e/kWh", "gCO2e/kWh"]
    assert reports["factors"].time_span == (utc(2022, 1, 1, 8), utc(2026, 12, 31, 23))
    assert reports["bills"].time_span == (date(2026, 1, 1), date(2026, 2, 28))
    assert "billing periods 2026-01-01 … 2026-02-28" in reports["bills"].summary()


def test_column_rename_for_other_kinds(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "s.csv", ["id,tz,region,cc,gran", "S1,Asia/Seoul,KR,KR,annual"])
    rename = {
        "site_id": "id",
        "timezone": "tz",
        "grid_region": "region",
        "country": "cc",
        "location_factor_granularity": "gran",
    }
    import_file(home, "sites", path, rename)
    assert LandingZone(home).read("sites")["timezone"].to_list() == ["Asia/Seoul"]


def test_conflicting_registry_rows_are_problems(tmp_path: Path, home: Path) -> None:
    path = write(
        tmp_path,
        "s.csv",
        [
            "site_id,timezone,grid_region,country,location_factor_granularity",
            "S1,Asia/Seoul,KR,KR,annual",
            "S1,Asia/Tokyo,JP,JP,annual",
        ],
    )
    with pytest.raises(ImportRejected, match="appears 2 times.*rows 2, 3"):
        import_file(home, "sites", path)


def test_production_csv_keeps_its_own_batch_id(home: Path, tmp_path: Path) -> None:
    """production.batch_id is the plant's batch/order id, not the landing batch."""
    path = write(
        tmp_path,
        "p.csv",
        [
            "batch_id,site_id,line_id,sku,start_ts,end_ts,good_units,scrap_units,shift",
            "ORD-1,DE-BER-01,L1,SKU,2026-01-05T06:00:00+01:00,2026-01-05T08:00:00+01:00,10,1,A",
            "ORD-2,DE-BER-01,L1,SKU,2026-01-05T08:00:00+01:00,2026-01-05T07:00:00+01:00,-3,,A",
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(home, "production", path)
    assert [(p.row, p.column) for p in caught.value.problems] == [
        (3, "end_ts"),
        (3, "good_units"),
    ]
    report = import_file(home, "production", path, quarantine_bad_rows=True)
    rows = LandingZone(home).read("production")
    assert rows["batch_id"].to_list() == ["ORD-1"]
    assert rows["landing_batch_id"].to_list() == [report.batch_id]
    assert rows["start_ts"].to_list() == [utc(2026, 1, 5, 5)]
    assert (home / "landing" / "production" / "site=DE-BER-01" / "date=2026-01-05").is_dir()


# --------------------------------------------------------------------------- mappings


def test_mapping_from_yaml_json_and_flags(tmp_path: Path) -> None:
    yaml_path = tmp_path / "m.yaml"
    yaml_path.write_text(iso_mapping(interval_semantics="end").to_yaml())
    assert ReadingsMapping.from_file(yaml_path) == iso_mapping(interval_semantics="end")
    json_path = tmp_path / "m.json"
    json_path.write_text(json.dumps({**iso_mapping().model_dump(by_alias=True)}))
    assert ReadingsMapping.from_file(json_path) == iso_mapping()
    assert ReadingsMapping.from_file(yaml_path, meter_id="M9").meter_id == "M9"
    flags = dict(
        timestamp_column="ts",
        value_column="kwh",
        unit="kWh",
        meter_id="M1",
        site_id="S1",
        timezone=None,
        timestamp_format=None,
        interval_minutes=None,
    )
    built = ReadingsMapping.from_flags(**flags)
    assert (built.interval_minutes, built.interval_semantics, built.timezone) == (15, "start", None)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(meter_id_column="meter"), "exactly one of meter_id"),
        (dict(midnight_ends_day=True), "midnight_ends_day describes interval-END labels"),
        (dict(timezone="Mars/Olympus"), "not an IANA time zone"),
        (dict(unit="kW"), "needs an energy unit"),
        (dict(register="counter_kwh", interval_semantics="end"), "counter readings are instants"),
        (dict(timestamp_colum="x"), "timestamp_colum: not a known setting"),
        (dict(interval_minutes=0), "interval_minutes"),
    ],
)
def test_bad_mappings_name_the_setting(overrides: dict, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        iso_mapping(**overrides)


def test_bad_mapping_given_as_dict_is_a_rejection(home: Path) -> None:
    with pytest.raises(ImportRejected, match="invalid readings mapping"):
        import_file(home, "readings", FIXTURES / "readings_iso.csv", {"timestamp_column": "ts"})


# --------------------------------------------------------------------------- order books

ORDERS_HEADER = (
    "order_id,site_id,sku,process_step,quantity,due_ts,priority,status,created_at,shipped_at,"
    "snapshot_at"
)


def test_an_order_book_lands_with_typed_columns(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "orders.csv", [
        ORDERS_HEADER,
        "O-1,S1,SKU-A,reflow,1200,2026-01-09T08:00:00Z,2,open,2026-01-02T01:00:00Z,,2026-01-05T00:00:00Z",
        "O-2,S1,SKU-B,,300,2026-01-04T08:00:00Z,,shipped,2026-01-01T01:00:00Z,2026-01-03T22:00:00Z,2026-01-05T00:00:00Z",
    ])
    report = import_file(home, "orders", path)
    rows = landed(home, "orders").sort("order_id")
    assert report.rows_landed == 2
    assert rows["quantity"].to_list() == [1200, 300]
    assert rows["due_ts"][0] == utc(2026, 1, 9, 8)
    assert rows["process_step"].to_list() == ["reflow", None]


def test_a_bad_order_book_is_rejected_naming_rows(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "orders.csv", [
        ORDERS_HEADER,
        "O-1,S1,SKU-A,reflow,0,2026-01-09T08:00:00Z,1,open,2026-01-02T01:00:00Z,,2026-01-05T00:00:00Z",
        "O-2,S1,SKU-B,,300,2026-01-04T08:00:00Z,1,lost,2026-01-01T01:00:00Z,,2026-01-05T00:00:00Z",
        "O-3,S1,SKU-B,,300,2026-01-04T08:00:00Z,1,shipped,2026-01-01T01:00:00Z,,2026-01-05T00:00:00Z",
    ])
    with pytest.raises(ImportRejected) as caught:
        import_file(home, "orders", path)
    message = str(caught.value)
    assert "row 2, column 'quantity'" in message and "quantity above 0" in message
    assert "row 3, column 'status'" in message
    assert "row 4, column 'shipped_at'" in message
    landed_files = [
        p for p in home.rglob("*.parquet") if "orders" in p.parts and p.name != "_schema.parquet"
    ]
    assert landed_files == []  # the whole file or nothing

"""The landing-zone contract: whole files, Hive partitions, no overwrite, quarantine with reason."""

from datetime import UTC, datetime

import polars as pl
import pytest

from ingestion.landing import LandingZone
from ingestion.landing.schemas import conform


def _readings(n: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "raw_id": [f"r{i}" for i in range(n)],
            "meter_id": ["M1"] * n,
            "site_id": ["S1"] * n,
            "ts": [datetime(2026, 1, 1, 23, 45, tzinfo=UTC)]
            + [datetime(2026, 1, 2, tzinfo=UTC)] * (n - 1),
            "value": [1.5] * n,
            "unit": ["kWh"] * n,
            "received_at": [datetime(2026, 1, 2, 0, 1, tzinfo=UTC)] * n,
        }
    )


def test_readings_land_in_site_and_utc_date_partitions(tmp_path):
    zone = LandingZone(tmp_path)
    result = zone.write("readings", _readings(), batch_id="b1")
    assert result.rows_landed == 3
    assert sorted(p.relative_to(tmp_path).as_posix() for p in result.files) == [
        "landing/readings/site=S1/date=2026-01-01/b1.parquet",
        "landing/readings/site=S1/date=2026-01-02/b1.parquet",
    ]
    landed = zone.read("readings")
    assert landed.height == 3
    assert set(landed["landing_batch_id"]) == {"b1"}
    assert landed.schema["ts"] == pl.Datetime("us", "UTC")


def test_every_kind_has_a_schema_file_so_readers_never_find_nothing(tmp_path):
    zone = LandingZone(tmp_path)
    zone.init()
    for kind in ("sites", "meters", "equipment", "readings", "bills", "production", "factors"):
        assert (tmp_path / "landing" / kind / "_schema.parquet").exists()
        assert zone.read(kind).height == 0


def test_a_batch_is_never_overwritten(tmp_path):
    zone = LandingZone(tmp_path)
    zone.write("readings", _readings(), batch_id="b1")
    with pytest.raises(FileExistsError):
        zone.write("readings", _readings(), batch_id="b1")
    assert zone.read("readings").height == 3


def test_missing_required_column_is_named(tmp_path):
    with pytest.raises(ValueError, match="missing required column\\(s\\): value"):
        conform("readings", _readings().drop("value"))
    assert not list((tmp_path).rglob("*.parquet"))


def test_uncastable_value_fails_before_anything_lands(tmp_path):
    zone = LandingZone(tmp_path)
    bad = _readings().with_columns(pl.lit("twelve").alias("value"))
    with pytest.raises(Exception):  # noqa: B017 - polars raises its own cast error type
        zone.write("readings", bad)
    assert zone.read("readings").height == 0


def test_no_temporary_files_are_left_behind(tmp_path):
    LandingZone(tmp_path).write("readings", _readings())
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_quarantine_keeps_rows_with_reason_and_source(tmp_path):
    zone = LandingZone(tmp_path)
    rejected = _readings(1).with_columns(
        pl.lit("value is negative").alias("reason"), pl.lit(7).alias("source_row")
    )
    path = zone.quarantine_rows("readings", rejected, source="upload.csv")
    kept = pl.read_parquet(path)
    assert kept["reason"].to_list() == ["value is negative"]
    assert kept["source"].to_list() == ["upload.csv"]
    assert kept["source_row"].to_list() == ["7"]


def test_quarantined_rows_need_a_reason(tmp_path):
    with pytest.raises(ValueError, match="reason"):
        LandingZone(tmp_path).quarantine_rows("readings", _readings(1), source="x")


def test_unreadable_file_is_recorded(tmp_path):
    record = LandingZone(tmp_path).quarantine_file("readings", "/data/broken.csv", "not a CSV")
    assert '"reason": "not a CSV"' in record.read_text()

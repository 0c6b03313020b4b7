"""Publishing the warehouse: what is copied, the atomic swap, and what a failure leaves behind.

Small DuckDB files made here; the whole pipeline with a reader process running is in
tests/integration/test_warehouse_publishing.py."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.publishing.snapshot import (
    SourceLocked,
    TableDocs,
    publish,
    published_path,
    read_publication,
)


def _warehouse(path: Path, kwh: float) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists staging")
        con.execute("create schema if not exists quality")
        con.execute("create or replace table marts.fct_energy (day date, kwh decimal(38,12))")
        con.execute(
            "insert into marts.fct_energy values (date '2026-01-05', ?), (date '2026-01-06', ?)",
            [kwh, 2 * kwh],
        )
        con.execute("create or replace view staging.raw as select 42 as internal")
        con.execute("create or replace view quality.alerts as select 'spike' as rule")
    return path


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def test_publishes_the_public_schemas_as_tables_with_their_provenance(tmp_path, home):
    source = _warehouse(tmp_path / "warehouse.duckdb", 10.0)
    moment = datetime(2026, 1, 7, 3, 4, 5, tzinfo=UTC)
    publication = publish(
        source,
        published_path(home),
        run_id="run-1",
        first_day=date(2026, 1, 5),
        last_day=date(2026, 1, 6),
        docs={("marts", "fct_energy"): TableDocs("Energy per day.", {"kwh": "Energy [kWh]"})},
        now=moment,
    )
    assert publication.path == home / "published" / "wattprint.duckdb"
    assert [(t.schema, t.name, t.rows) for t in publication.tables] == [
        ("marts", "fct_energy", 2),
        ("quality", "alerts", 1),
    ]
    with duckdb.connect(str(publication.path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        assert tables == [
            ("marts", "fct_energy"),
            ("meta", "publication"),
            ("meta", "published_tables"),
            ("quality", "alerts"),  # a view in the warehouse, a table in the snapshot
        ]
        assert con.execute("select sum(kwh) from marts.fct_energy").fetchone()[0] == 30
        kind = con.execute(
            "select data_type, comment from duckdb_columns() where column_name = 'kwh'"
        ).fetchone()
        assert kind == ("DECIMAL(38,12)", "Energy [kWh]")
    assert read_publication(publication.path) == {
        "published_at_utc": datetime(2026, 1, 7, 3, 4, 5),
        "source_run_id": "run-1",
        "source_warehouse": str(source),
        "days_recomputed_from": date(2026, 1, 5),
        "days_recomputed_to": date(2026, 1, 6),
        "table_count": 2,
        "row_count": 3,
    }
    # Read-only for everyone, and nothing else left in the folder (no temp file, no WAL).
    assert publication.path.stat().st_mode & 0o777 == 0o444
    assert [p.name for p in publication.path.parent.iterdir()] == ["wattprint.duckdb"]


def test_an_open_reader_keeps_its_snapshot_and_a_new_one_sees_the_next(tmp_path, home):
    source = _warehouse(tmp_path / "warehouse.duckdb", 10.0)
    target = published_path(home)
    publish(source, target, run_id="run-1")
    reader = duckdb.connect(str(target), read_only=True)
    try:
        _warehouse(source, 100.0)  # the next run rewrites the warehouse ...
        publish(source, target, run_id="run-2")  # ... and publishes while the reader is open
        assert reader.execute("select sum(kwh) from marts.fct_energy").fetchone()[0] == 30
        assert reader.execute("select source_run_id from meta.publication").fetchone()[0] == (
            "run-1"
        )
    finally:
        reader.close()
    with duckdb.connect(str(target), read_only=True) as fresh:
        assert fresh.execute("select sum(kwh) from marts.fct_energy").fetchone()[0] == 300
    assert read_publication(target)["source_run_id"] == "run-2"


def test_a_failed_publication_leaves_the_previous_one_in_place(tmp_path, home):
    source = _warehouse(tmp_path / "warehouse.duckdb", 10.0)
    target = published_path(home)
    publish(source, target, run_id="run-1")
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        publish(tmp_path / "missing.duckdb", target, run_id="run-2")
    assert read_publication(target)["source_run_id"] == "run-1"
    assert [p.name for p in target.parent.iterdir()] == ["wattprint.duckdb"]


_HOLD_WRITE_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_waits_for_another_writer_then_publishes(tmp_path, home):
    source = _warehouse(tmp_path / "warehouse.duckdb", 10.0)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITE_LOCK, str(source), "1.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        publication = publish(source, published_path(home), run_id="run-1", lock_wait_seconds=30)
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert publication.rows == 3
    assert waited > 0.5, "it did wait for the writer"


def test_gives_up_with_a_clear_error_when_the_writer_keeps_the_lock(tmp_path, home):
    source = _warehouse(tmp_path / "warehouse.duckdb", 10.0)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITE_LOCK, str(source), "10"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SourceLocked, match="stayed locked"):
            publish(source, published_path(home), run_id="run-1", lock_wait_seconds=0.5)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert not published_path(home).exists()

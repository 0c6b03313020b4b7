"""Publish the warehouse's public schemas as a read-only snapshot file, swapped in atomically.

A DuckDB file has one writer process or many readers, never both: while a pipeline run writes
`warehouse.duckdb`, a BI tool opening it gets a lock error, and between two dbt statements it
could see some days recomputed and others not. Readers therefore never open the warehouse.
After a run has passed its checks, `publish` copies the public schemas into a new file next to
the published one and renames it over `published/wattprint.duckdb`:

- the rename is atomic (same directory, same file system): a reader opening the path gets the
  old file or the new one, whole;
- a reader that already has the old file open keeps reading it (its inode lives on until the
  reader closes it), so a long query or a BI session sees one consistent publication;
- the snapshot records when and from which run it was made, in `meta.publication`.

Only the source is read (read-only): publishing never takes the warehouse's write lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

# What readers get: the marts, plus the schemas other parts of Wattprint publish when they
# exist in the warehouse (audit trace, data quality, forecasts, plans). Staging and intermediate
# are internal: views over landing files and the steps of the computation.
PUBLIC_SCHEMAS = ("marts", "audit", "quality", "forecasting", "planning")
META_SCHEMA = "meta"
PUBLISHED_DIR = "published"
PUBLISHED_NAME = "wattprint.duckdb"

# How long to wait for another process (a second run) to release the warehouse's write lock.
DEFAULT_LOCK_WAIT_SECONDS = 120.0


def published_path(home: Path) -> Path:
    """The stable path readers open: `<home>/published/wattprint.duckdb`."""
    return home / PUBLISHED_DIR / PUBLISHED_NAME


@dataclass(frozen=True)
class TableDocs:
    """Descriptions a snapshot carries as DuckDB comments (BI tools and `DESCRIBE` show them)."""

    description: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    rows: int


@dataclass(frozen=True)
class Publication:
    path: Path
    published_at_utc: datetime
    source_run_id: str
    tables: tuple[PublishedTable, ...]
    size_bytes: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


class SourceLocked(RuntimeError):
    """The warehouse stayed locked by another writer for longer than we were told to wait."""


def publish(
    warehouse: Path,
    target: Path,
    *,
    run_id: str,
    first_day: date | None = None,
    last_day: date | None = None,
    schemas: Iterable[str] = PUBLIC_SCHEMAS,
    docs: Mapping[tuple[str, str], TableDocs] | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
    now: datetime | None = None,
) -> Publication:
    """Copy `schemas` (those that exist) of `warehouse` into a fresh file and swap it in at
    `target`. `first_day`/`last_day`: the site-local days the source run recomputed (recorded
    for readers who want to know what changed)."""
    started = time.monotonic()
    published_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same directory as the target, so the final rename cannot cross a file system.
    staging = target.with_name(f".{target.name}.{os.getpid()}.{run_id[:12]}.tmp")
    _remove(staging)
    try:
        with _open_source(warehouse, lock_wait_seconds) as con:
            con.execute(f"attach '{_sql_path(staging)}' as snapshot (read_only false)")
            tables = _copy_tables(con, list(schemas), docs or {})
            _write_meta(con, tables, published_at, run_id, warehouse, first_day, last_day)
            # Everything in the main file, no WAL beside it: readers open it read-only.
            con.execute("checkpoint snapshot")
            con.execute("detach snapshot")
        if Path(f"{staging}.wal").exists():
            raise RuntimeError(f"{staging}.wal is left after checkpoint; not publishing")
        staging.chmod(0o444)
        _fsync(staging)
        os.replace(staging, target)
        _fsync(target.parent)
    finally:
        _remove(staging)
    return Publication(
        path=target,
        published_at_utc=published_at,
        source_run_id=run_id,
        tables=tuple(tables),
        size_bytes=target.stat().st_size,
        seconds=time.monotonic() - started,
    )


def read_publication(path: Path) -> dict | None:
    """The `meta.publication` row of a published file, or None when nothing is published yet."""
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"select * from {META_SCHEMA}.publication")
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


class _open_source:
    """A read-only connection to the warehouse, waiting out another process's write lock."""

    def __init__(self, warehouse: Path, wait_seconds: float):
        self.warehouse = warehouse
        self.wait_seconds = wait_seconds
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        if not self.warehouse.exists():
            raise FileNotFoundError(f"no warehouse at {self.warehouse}: run the pipeline first")
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.2
        while True:
            try:
                self.con = duckdb.connect(str(self.warehouse), read_only=True)
                return self.con
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise SourceLocked(
                        f"{self.warehouse} stayed locked by another writer for "
                        f"{self.wait_seconds:.0f} s: {error}"
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def __exit__(self, *exc) -> None:
        if self.con is not None:
            self.con.close()


def _copy_tables(
    con: duckdb.DuckDBPyConnection,
    schemas: list[str],
    docs: Mapping[tuple[str, str], TableDocs],
) -> list[PublishedTable]:
    # Tables and views alike become tables: a reader's query must not depend on anything
    # outside the snapshot (views over landing files, other schemas).
    found = con.execute(
        """
        select table_schema, table_name
        from information_schema.tables
        where table_catalog = current_database() and table_schema in (select unnest(?))
        order by table_schema, table_name
        """,
        [schemas],
    ).fetchall()
    tables = []
    for schema in sorted({s for s, _ in found}):
        con.execute(f'create schema snapshot."{schema}"')
    for schema, name in found:
        qualified = f'"{schema}"."{name}"'
        con.execute(f"create table snapshot.{qualified} as select * from {qualified}")
        rows = con.execute(f"select count(*) from snapshot.{qualified}").fetchone()[0]
        tables.append(PublishedTable(schema, name, rows))
        _comment(con, schema, name, docs.get((schema, name)))
    return tables


def _comment(
    con: duckdb.DuckDBPyConnection, schema: str, name: str, table_docs: TableDocs | None
) -> None:
    if table_docs is None:
        return
    qualified = f'snapshot."{schema}"."{name}"'
    if table_docs.description:
        con.execute(f"comment on table {qualified} is {_sql_text(table_docs.description)}")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() "
            "where database_name = 'snapshot' and schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    for column, text in table_docs.columns.items():
        if column in existing and text:
            con.execute(f'comment on column {qualified}."{column}" is {_sql_text(text)}')


def _write_meta(
    con: duckdb.DuckDBPyConnection,
    tables: list[PublishedTable],
    published_at: datetime,
    run_id: str,
    warehouse: Path,
    first_day: date | None,
    last_day: date | None,
) -> None:
    con.execute(f"create schema snapshot.{META_SCHEMA}")
    con.execute(
        f"""
        create table snapshot.{META_SCHEMA}.publication (
            published_at_utc timestamp not null,
            source_run_id varchar not null,
            source_warehouse varchar not null,
            days_recomputed_from date,
            days_recomputed_to date,
            table_count integer not null,
            row_count bigint not null
        )
        """
    )
    con.execute(
        f"insert into snapshot.{META_SCHEMA}.publication values (?, ?, ?, ?, ?, ?, ?)",
        [
            published_at,
            run_id,
            str(warehouse),
            first_day,
            last_day,
            len(tables),
            sum(t.rows for t in tables),
        ],
    )
    con.execute(
        f"create table snapshot.{META_SCHEMA}.published_tables "
        "(table_schema varchar, table_name varchar, row_count bigint)"
    )
    if tables:
        con.executemany(
            f"insert into snapshot.{META_SCHEMA}.published_tables values (?, ?, ?)",
            [(t.schema, t.name, t.rows) for t in tables],
        )
    con.execute(
        f"comment on table snapshot.{META_SCHEMA}.publication is "
        "'When this snapshot was published (UTC), from which Dagster run, and which "
        "site-local days that run recomputed.'"
    )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _sql_text(text: str) -> str:
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


def _remove(path: Path) -> None:
    for candidate in (path, Path(f"{path}.wal")):
        if candidate.exists():
            candidate.chmod(0o644)
            candidate.unlink()


def _fsync(path: Path) -> None:
    """Flush a file or a directory entry, so a crash cannot leave a renamed but empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

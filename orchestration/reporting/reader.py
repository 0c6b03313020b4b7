"""A read-only connection for reports: the warehouse itself when it can be opened, else the
published copy (a running pipeline holds the warehouse's write lock; the published copy is
never locked)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

PUBLISHED = Path("published") / "wattprint.duckdb"


class NoWarehouse(RuntimeError):
    """Nothing has been computed yet, or the warehouse cannot be opened."""


@contextmanager
def open_reader(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    warehouse = home / "warehouse.duckdb"
    published = home / PUBLISHED
    candidates = [p for p in (warehouse, published) if p.exists()]
    if not candidates:
        raise NoWarehouse(
            f"no warehouse under {home}: run `wattprint run` (or `wattprint demo`) first"
        )
    errors = []
    for path in candidates:
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as error:  # locked by a writer
            errors.append(f"{path}: {error}")
            continue
        try:
            yield con
        finally:
            con.close()
        return
    raise NoWarehouse("the warehouse cannot be opened: " + "; ".join(errors))


def one(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple | None:
    """The first row of a query (None without rows). Fetches the whole result: DuckDB keeps a
    connection busy until a result is consumed."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        one(
            con,
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        )[0]
    )

"""Writing the forecasting tables and the fitted models.

Tables go to the warehouse's `forecasting` schema in one short write transaction after every
read has closed (the pattern of the quality asset): the single DuckDB writer is held for a few
row swaps, not for the Prophet fits. Models go to $WATTPRINT_HOME/models/forecasting/ — one
file per series and model, replaced atomically, named so a forecast row's `model_version`
(a hash of the file's content) identifies the file that made it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from models.forecasting.batch import SeriesResult

SCHEMA = "forecasting"


@contextmanager
def writer(path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """One write transaction on the warehouse: all of a run's tables change together or not at
    all, and readers never see a forecast without its backtest."""
    con = duckdb.connect(path)
    try:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute("begin transaction")
        yield con
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ? order by ordinal_position",
        [SCHEMA, table],
    ).fetchall()
    return [r[0] for r in rows] or None


def _create(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *, replaceable: bool
) -> None:
    """Create the table from the frame's schema if it does not exist. A table whose columns
    differ from this code's is recreated when it only holds the latest run's rows
    (`replaceable`); a table that accumulates history is never dropped: that is an error."""
    have = _columns(con, table)
    if have == frame.columns:
        return
    if have is not None and not replaceable:
        raise RuntimeError(
            f"{SCHEMA}.{table} has columns {have}, this version writes "
            f"{frame.columns}: migrate or rename the old table"
        )
    con.register("_empty", frame.head(0).to_arrow())
    con.execute(f"create or replace table {SCHEMA}.{table} as select * from _empty")
    con.unregister("_empty")


def replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, column: str, values: list[str]
) -> None:
    """Replace the rows whose `column` is one of `values` (a run's horizon group) by `frame`."""
    _create(con, table, frame, replaceable=True)
    marks = ", ".join("?" for _ in values)
    con.execute(f"delete from {SCHEMA}.{table} where {column} in ({marks})", values)
    _insert(con, table, frame)


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """The whole table replaced by the frame (a result recomputed from scratch each run)."""
    con.register("_rows", frame.to_arrow())
    con.execute(f"create or replace table {SCHEMA}.{table} as select * from _rows")
    con.unregister("_rows")


def upsert(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, keys: list[str]
) -> None:
    """Insert the frame, replacing rows with the same keys (a day's progress re-computed)."""
    _create(con, table, frame, replaceable=False)
    if frame.height:
        con.register("_keys", frame.select(keys).unique().to_arrow())
        match = " and ".join(f"t.{k} = _keys.{k}" for k in keys)
        con.execute(f"delete from {SCHEMA}.{table} as t using _keys where {match}")
        con.unregister("_keys")
    _insert(con, table, frame)


def insert_new(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    key: str,
    ddl: str | None = None,
) -> int:
    """Insert the rows whose `key` is not in the table yet; returns how many were new. A row
    already there is left as it was (its consumer may have acted on it)."""
    if ddl:
        con.execute(ddl)
    else:
        _create(con, table, frame, replaceable=False)
    if not frame.height:
        return 0
    con.register("_rows", frame.to_arrow())
    new = con.execute(
        f"select count(*) from _rows where {key} not in (select {key} from {SCHEMA}.{table})"
    ).fetchall()[0][0]
    con.execute(
        f"insert into {SCHEMA}.{table} by name select * from _rows "
        f"where {key} not in (select {key} from {SCHEMA}.{table})"
    )
    con.unregister("_rows")
    return int(new)


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    if not frame.height:
        return
    con.register("_rows", frame.to_arrow())
    con.execute(f"insert into {SCHEMA}.{table} by name select * from _rows")
    con.unregister("_rows")


def model_dir(home: Path) -> Path:
    return home / "models" / "forecasting"


def _slug(series_id: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "_", series_id.replace("/", "__"))


def save_models(home: Path, results: list[SeriesResult]) -> dict[tuple[str, str], str]:
    """Write every fitted model (Prophet's model_to_json inside the provider's envelope, see
    models/forecasting/provider.py); returns (series_id, model name) → path."""
    out = {}
    for r in results:
        for name, text in r.models.items():
            folder = model_dir(home) / r.freq
            folder.mkdir(parents=True, exist_ok=True)
            suffix = "" if name == "horizon" else f".{name}"
            path = folder / f"{_slug(r.series_id)}{suffix}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(path)
            out[(r.series_id, name)] = str(path)
    return out


def with_model_paths(
    forecasts: pl.DataFrame, backtests: pl.DataFrame, paths: dict[tuple[str, str], str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fill model_path: the horizon model for hourly/daily rows and the backtest, the
    year-end model for the month/quarter/year totals."""

    def lookup(series: str, horizon: str) -> str | None:
        name = "horizon" if horizon in ("hourly", "daily") else "year_end"
        return paths.get((series, name))

    forecasts = forecasts.with_columns(
        pl.struct("series_id", "horizon")
        .map_elements(lambda r: lookup(r["series_id"], r["horizon"]), return_dtype=pl.String)
        .alias("model_path")
    )
    backtests = backtests.with_columns(
        pl.col("series_id")
        .map_elements(lambda s: paths.get((s, "horizon")), return_dtype=pl.String)
        .alias("model_path")
    )
    return forecasts, backtests

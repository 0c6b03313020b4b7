"""The warehouse as a Dagster resource: read-only connections for checks and reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration.settings import load_settings


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file dbt builds (by default the one under $WATTPRINT_HOME)."""

    path: str | None = None

    def resolved_path(self) -> str:
        # Resolved at use, not at import: the command line and tests point WATTPRINT_HOME at a
        # home after the definitions have been loaded.
        return self.path or str(load_settings().warehouse_path)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # Read-only: checks run after dbt has closed the file, and must never take the write lock
        # from a run that follows.
        connection = duckdb.connect(self.resolved_path(), read_only=True)
        try:
            yield connection
        finally:
            connection.close()

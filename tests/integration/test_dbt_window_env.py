"""The daily window travels in the environment (WATTPRINT_WINDOW_START_UTC/_END_UTC), as the
Dagster assets pass it: dbt computes exactly that window, keeps its saved parse (a window in
--vars made it re-parse the whole project on every run), and unit tests keep their own window."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import DBT_EXECUTABLE

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"


def _load_tiny_plant():
    spec = importlib.util.spec_from_file_location(
        "tiny_plant", REPO / "tests" / "fixtures" / "tiny_plant.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


tiny = _load_tiny_plant()


def _dbt(home: Path, target: Path, *args: str, window: tuple[str, str] | None = None) -> str:
    env = {**os.environ, "WATTPRINT_HOME": str(home)}
    env.pop("WATTPRINT_WAREHOUSE", None)
    for name in ("WATTPRINT_WINDOW_START_UTC", "WATTPRINT_WINDOW_END_UTC"):
        env.pop(name, None)
    if window is not None:
        env["WATTPRINT_WINDOW_START_UTC"], env["WATTPRINT_WINDOW_END_UTC"] = window
    result = subprocess.run(
        [DBT_EXECUTABLE, *args, "--target-path", str(target), "--log-path", str(target)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def _rows_per_window(warehouse: Path, table: str) -> list[int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [
            con.execute(
                f"select count(*) from {table} where interval_start_utc >= ? "
                "and interval_start_utc < ?",
                list(window),
            ).fetchone()[0]
            for window in tiny.DAY_WINDOWS
        ]


def test_window_in_the_environment(tmp_path):
    """Also: a malformed window there is a clear error."""
    home, target = tmp_path / "home", tmp_path / "target"
    tiny.write_tiny_plant(home)
    warehouse = home / "warehouse.duckdb"
    _dbt(home, target, "build")  # all time; leaves the saved parse in target/
    full = _rows_per_window(warehouse, "marts.fct_energy_interval")
    assert all(n > 0 for n in full)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.fct_energy_interval")

    # the first day's window only: the second day stays empty, the first is rebuilt whole
    out = _dbt(home, target, "build", "--select", "fct_energy_interval", window=tiny.DAY_WINDOWS[0])
    assert _rows_per_window(warehouse, "marts.fct_energy_interval") == [full[0], 0]
    assert "Unable to do partial parsing" not in out
    # its unit test ran, and with the all-time window its overrides pin, not the first day's
    assert "PASS fct_energy_interval::bill_reconciliation_factor" in out
    unit_sql = next((target / "compiled").rglob("bill_reconciliation_factor.sql")).read_text()
    pinned = "interval_start_utc >= cast('1900-01-01 00:00:00' as timestamp)"
    first_day = f"interval_start_utc >= cast('{tiny.DAY_WINDOWS[0][0]}' as timestamp)"
    assert pinned in unit_sql and first_day not in unit_sql
    model_sql = (target / "compiled/wattprint/models/marts/fct_energy_interval.sql").read_text()
    assert first_day in model_sql and pinned not in model_sql

    # a malformed window in the environment is named in the error
    env = {**os.environ, "WATTPRINT_HOME": str(home)}
    env.update(WATTPRINT_WINDOW_START_UTC="2026-03-02", WATTPRINT_WINDOW_END_UTC="2026-03-03")
    result = subprocess.run(
        [DBT_EXECUTABLE, "compile", "--select", "fct_energy_interval", "--target-path",
         str(target), "--log-path", str(target)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "WATTPRINT_WINDOW_START_UTC must be a UTC timestamp" in result.stdout

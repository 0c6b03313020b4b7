"""Property: whatever the rollover value, CT ratio, unit, starting point and gaps, the dbt
counter arithmetic (int_meter_interval_energy) conserves energy — every meter's interval kWh sum
to exactly what it consumed — and intervals with a reading at both ends are exact.

Hypothesis draws whole fleets of counters; each example is one real `dbt run` on a temporary
DuckDB warehouse, so the number of examples is small and each fleet is large.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.landing import LandingZone
from orchestration.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
INTERVALS = 96
UNIT_TO_KWH = {"kWh": Decimal(1), "Wh": Decimal("0.001")}

counter = st.fixed_dictionaries(
    {
        # register range in raw units, and where in it the counter starts
        "rollover": st.sampled_from([100, 999, 10_000, 99_999]),
        "start_fraction": st.floats(0.0, 0.999),
        "multiplier": st.sampled_from([1, 8, 40]),
        "unit": st.sampled_from(["kWh", "Wh"]),
        # consumption per interval in hundredths of a raw unit (the register's resolution);
        # bounded so that one interval never advances more than half the register range
        "consumption": st.lists(st.integers(0, 4_000), min_size=INTERVALS, max_size=INTERVALS),
        # readings lost to outages: interior instants only, so every meter has both ends
        "missing": st.sets(st.integers(1, INTERVALS - 1), max_size=12),
    }
)


def _unambiguous(consumption: list[int], missing: set[int], register_range: int) -> list[int]:
    """Scale consumption so that between two readings that exist the counter advances less than
    half its range. Beyond that a fall is physically ambiguous — a rollover or a reset look the
    same — and the model treats a small fall as a reset; that case is not this property's."""
    steps = list(consumption)
    limit = register_range // 2 - 1
    present = [k for k in range(INTERVALS + 1) if k not in missing]
    for a, b in zip(present, present[1:], strict=False):
        total = sum(steps[a:b])
        if total > limit:
            for j in range(a, b):
                steps[j] = steps[j] * limit // total
    return steps


def _fleet_frames(fleet: list[dict]) -> dict[str, pl.DataFrame]:
    site = pl.DataFrame(
        {
            "site_id": ["S1"],
            "timezone": ["Asia/Taipei"],
            "grid_region": ["TW"],
            "country": ["TW"],
            "location_factor_granularity": ["annual"],
        }
    )
    meters, equipment, readings = [], [], []
    for i, m in enumerate(fleet):
        meter_id, eq_id = f"M{i:02d}", f"EQ{i:02d}"
        rollover = m["rollover"]
        steps = _unambiguous(m["consumption"], m["missing"], rollover * 100)
        m["steps"] = steps
        meters.append(
            {
                "meter_id": meter_id,
                "site_id": "S1",
                "parent_meter_id": None,
                "meter_kind": "utility",
                "measures_kind": "equipment",
                "measures_id": eq_id,
                "register": "counter_kwh",
                "unit": m["unit"],
                "multiplier": float(m["multiplier"]),
                "rollover_value": float(rollover),
                "interval_minutes": 15,
                "installed_at": T0 - timedelta(days=30),
                "removed_at": None,
            }
        )
        equipment.append(
            {
                "equipment_id": eq_id,
                "site_id": "S1",
                "equipment_type": "press",
                "nameplate_kw": 1e6,
                "is_metered": True,
                "supply_meter_id": meter_id,
                "idle_load_fraction": 0.1,
                "running_load_fraction": 0.8,
            }
        )
        position = int(m["start_fraction"] * rollover * 100)  # hundredths of a raw unit
        for k in range(INTERVALS + 1):
            if k not in m["missing"]:
                readings.append(
                    {
                        "raw_id": f"{meter_id}|{k}",
                        "meter_id": meter_id,
                        "site_id": "S1",
                        "ts": T0 + k * STEP,
                        "value": (position % (rollover * 100)) / 100,
                        "unit": m["unit"],
                        "received_at": T0 + (k + 1) * STEP,
                    }
                )
            if k < INTERVALS:
                position += steps[k]
    return {
        "sites": site,
        "meters": pl.DataFrame(meters),
        "equipment": pl.DataFrame(equipment),
        "readings": pl.DataFrame(readings),
    }


def _dbt(home, *args: str) -> None:
    # A subprocess, as in production: dbt-duckdb keeps its connection open in-process, and the
    # test then could not open the warehouse read-only.
    done = subprocess.run(
        [
            DBT_EXECUTABLE,
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(home / "target"),
            "--log-path",
            str(home / "logs"),
        ],
        env={**os.environ, "WATTPRINT_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fleet=st.lists(counter, min_size=8, max_size=16))
def test_counter_energy_is_conserved_through_rollovers_and_gaps(fleet, tmp_path_factory):
    home = tmp_path_factory.mktemp("counters")
    zone = LandingZone(home)
    for kind, frame in _fleet_frames(fleet).items():
        zone.write(kind, frame)
    _dbt(home, "seed")
    _dbt(home, "run", "--select", "+int_meter_interval_energy")

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select meter_id, interval_start_utc, kwh from intermediate.int_meter_interval_energy"
        ).fetchall()
    by_meter: dict[str, dict[datetime, Decimal]] = {}
    for meter_id, start, kwh in rows:
        by_meter.setdefault(meter_id, {})[start.replace(tzinfo=UTC)] = Decimal(kwh)

    for i, m in enumerate(fleet):
        scale = Decimal(m["multiplier"]) * UNIT_TO_KWH[m["unit"]] / 100
        truth = [Decimal(s) * scale for s in m["steps"]]
        got = by_meter.get(f"M{i:02d}", {})
        # conservation: the sum over the day is exactly what the meter consumed
        assert sum(got.values(), Decimal(0)) == pytest.approx(sum(truth), abs=Decimal("1e-6"))
        # exactness where both ends of an interval were read
        for k, true_kwh in enumerate(truth):
            if k not in m["missing"] and k + 1 not in m["missing"]:
                assert got[T0 + k * STEP] == pytest.approx(true_kwh, abs=Decimal("1e-6")), (i, k)

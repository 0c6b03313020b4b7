"""The landing sensor requests runs for exactly the site-local days new files touch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl
import pytest

from ingestion.landing import LandingZone
from ingestion.simulator import PlantConfig, simulate
from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 1, 5)
DAYS = 6


def _ranges(result) -> list[tuple[str, str]]:
    return [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in result.run_requests
    ]


def _tick(cursor: str | None):
    from orchestration.defs.landing.sensors import landing_sensor

    with dg.instance_for_test() as instance:
        return landing_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


def _late_reading(sim, day_offset: int) -> pl.DataFrame:
    """One reading of a meter re-sent for a day in the middle, arriving 3 days late."""
    row = (
        sim.readings.filter(
            pl.col("ts") == datetime(2026, 1, 5, 4, 0, tzinfo=UTC) + timedelta(days=day_offset)
        )
        .head(1)
        .with_columns(
            (pl.col("raw_id") + "|late").alias("raw_id"),
            (pl.col("ts") + timedelta(days=3)).alias("received_at"),
        )
    )
    assert row.height == 1
    return row


@pytest.fixture
def plant(tmp_path):
    configure(home=tmp_path, timezone="Asia/Taipei", partition_start="2025-01-01")
    sim = simulate(PlantConfig(seed=3, start_date=START, days=DAYS))
    zone = LandingZone(tmp_path)
    for kind in ("sites", "meters", "equipment", "readings", "production", "factors"):
        zone.write(kind, getattr(sim, kind))
    return sim, zone


def test_first_tick_covers_the_landed_days_then_nothing(plant):
    first = _tick(None)
    assert _ranges(first) == [("2026-01-05", "2026-01-10")]
    again = _tick(first.cursor)
    assert isinstance(again, dg.SkipReason)


def test_late_reading_reruns_its_day_and_no_other(plant):
    sim, zone = plant
    cursor = _tick(None).cursor
    zone.write("readings", _late_reading(sim, day_offset=2))  # 2026-01-07 12:00 local
    result = _tick(cursor)
    assert _ranges(result) == [("2026-01-07", "2026-01-07")]
    assert result.run_requests[0].run_key.startswith("wattprint_pipeline:2026-01-07..2026-01-07:")


def test_late_reading_inside_a_billed_period_reruns_the_whole_period(plant):
    """The bill's reconciliation factor is computed over all its days: they all change."""
    sim, zone = plant
    zone.write("bills", sim.bills)
    cursor = _tick(None).cursor
    zone.write("readings", _late_reading(sim, day_offset=2))
    assert _ranges(_tick(cursor)) == [("2026-01-05", "2026-01-10")]


def test_factor_and_instrument_files_are_left_to_the_factor_sensor(plant):
    """A factor version changes emissions, not energy: the factor sensor re-runs only the
    emission models of the changed windows (tests/integration/test_factor_restatement.py), so
    the landing sensor must not also start a whole-pipeline run for it."""
    sim, zone = plant
    cursor = _tick(None).cursor
    update = (
        sim.factors.filter(pl.col("granularity") == "annual")
        .head(1)
        .with_columns(
            pl.lit("2026.2").alias("version"),
            pl.lit(datetime(2026, 1, 7, 16, tzinfo=UTC)).alias("valid_from"),  # 8 Jan local
            pl.lit(datetime(2026, 1, 8, 16, tzinfo=UTC)).alias("valid_to"),
        )
    )
    zone.write("factors", update)
    assert isinstance(_tick(cursor), dg.SkipReason)

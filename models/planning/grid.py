"""Grid carbon intensity on the planning grid: the real GB hourly series, or a synthetic shape.

The Electricity Maps GB export has one row per UTC hour with the direct (combustion) and the
life-cycle intensity in gCO2e/kWh. Location-based Scope 2 uses the direct figure, so that is the
default; each 15-minute slot takes the value of the UTC hour it starts in, converted to kg/kWh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

DIRECT = "Carbon intensity gCO₂eq/kWh (direct)"
LIFE_CYCLE = "Carbon intensity gCO₂eq/kWh (Life cycle)"
DEFAULT_GB_2022 = Path("/work/shared/data/grid_intensity_gb_hourly/GB_2022_hourly.csv")


def load_hourly(path: Path | str, column: str = DIRECT) -> pl.DataFrame:
    """(hour_utc, kg_per_kwh) from an Electricity Maps hourly export."""
    frame = pl.read_csv(path, columns=["Datetime (UTC)", column])
    return frame.select(
        pl.col("Datetime (UTC)")
        .str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC")
        .alias("hour_utc"),
        (pl.col(column).cast(pl.Float64) / 1000.0).alias("kg_per_kwh"),
    ).drop_nulls()


def slot_intensity(
    hourly: pl.DataFrame, start: datetime, n_slots: int, slot_minutes: int = 15
) -> np.ndarray:
    """kgCO2e/kWh of each slot: the value of the UTC hour the slot starts in."""
    lookup = dict(zip(hourly["hour_utc"].to_list(), hourly["kg_per_kwh"].to_list(), strict=True))
    out = np.empty(n_slots)
    start_utc = start.astimezone(UTC)
    for i in range(n_slots):
        s = start_utc + timedelta(minutes=slot_minutes * i)
        hour = s.replace(minute=0, second=0, microsecond=0)
        if hour not in lookup:
            raise KeyError(f"no grid intensity for {hour.isoformat()}")
        out[i] = lookup[hour]
    return out


def synthetic_intensity(
    start: datetime, n_slots: int, slot_minutes: int, rng: np.random.Generator
) -> np.ndarray:
    """A GB-like daily shape (low overnight, a midday solar dip, an evening peak) with weather:
    used for small test instances so tests need no data file."""
    hours = np.array(
        [(start + timedelta(minutes=slot_minutes * i)).astimezone(UTC).hour for i in range(n_slots)]
    )
    level = rng.uniform(0.12, 0.24)
    shape = (
        1.0
        + 0.25 * np.exp(-0.5 * ((hours - 18.0) / 2.0) ** 2)
        - 0.15 * np.exp(-0.5 * ((hours - 13.0) / 2.5) ** 2)
        - 0.12 * np.exp(-0.5 * ((hours - 3.5) / 2.5) ** 2)
    )
    weather = np.interp(
        np.arange(n_slots), np.linspace(0, n_slots, 6), rng.uniform(0.8, 1.2, size=6)
    )
    # the GB export is hourly: keep the noise constant within an hour like the real series
    hour_index = (np.arange(n_slots) * slot_minutes) // 60
    hourly_noise = rng.normal(0, 0.03, size=hour_index[-1] + 1)[hour_index]
    raw = level * shape * weather * (1 + hourly_noise)
    return np.round(raw, 4)

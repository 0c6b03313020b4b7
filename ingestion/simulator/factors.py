"""Emission factors: the annual location-based grid factor and a simulated hourly intensity.

- `TW-MOEA-GRID` (annual, kgCO2e/kWh): one row per local calendar year the run touches, valid
  from local 1 January 00:00 to the next (stored UTC), published the December before. 0.494 for
  2026 (modelled on the MOEA Energy Administration announcement); other years are scaled.
- `TW-GRID-HOURLY-SIM` (hourly, gCO2e/kWh): one row per UTC hour of the run. Daily shape: a
  solar dip around local noon, an evening peak when solar fades and gas/coal ramp; plus day-to-day
  weather and small hourly noise; each day's mean is close to the annual factor x 1000.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from ingestion.landing.schemas import conform
from ingestion.simulator.plant import GRID_REGION, TIMEZONE
from ingestion.simulator.randomness import rng
from ingestion.simulator.timeline import Timeline

ANNUAL_ID = "TW-MOEA-GRID"
HOURLY_ID = "TW-GRID-HOURLY-SIM"
ANNUAL_2026 = 0.494
SOURCE_ANNUAL = "Simulated, modelled on the MOEA Energy Administration announcement"
SOURCE_HOURLY = "Simulated hourly grid intensity (Wattprint simulator), shaped on a Taiwan-like mix"


def annual_value(year: int) -> float:
    """kgCO2e/kWh: 0.494 in 2026, 2% lower per later year (decarbonising grid)."""
    return round(ANNUAL_2026 * (1 - 0.02 * (year - 2026)), 3)


def _local(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)


def annual_factors(years: list[int]) -> pl.DataFrame:
    return pl.DataFrame([
        {
            "factor_id": ANNUAL_ID, "version": f"{year}.1", "method": "location",
            "region": GRID_REGION, "energy_carrier": "electricity", "granularity": "annual",
            "valid_from": _local(date(year, 1, 1)), "valid_to": _local(date(year + 1, 1, 1)),
            "value": annual_value(year), "unit": "kgCO2e/kWh", "gas": "CO2e", "gwp_set": None,
            "source_document": SOURCE_ANNUAL, "published_at": _local(date(year - 1, 12, 15), 10),
        }
        for year in years
    ])


def hourly_factors(timeline: Timeline, seed: int) -> pl.DataFrame:
    r = rng(seed, "factors/hourly")
    # Whole UTC hours covering the run (zones with :30/:45 offsets start mid-hour).
    starts = pl.datetime_range(
        timeline.start_utc.replace(minute=0), timeline.end_utc, timedelta(hours=1),
        closed="left", time_unit="us", time_zone="UTC", eager=True,
    )
    local = starts.dt.convert_time_zone(TIMEZONE)
    hour = (local.dt.hour() + 0.5).to_numpy()
    year = local.dt.year().to_numpy()
    solar = np.clip(np.sin(np.pi * (hour - 6.0) / 12.0), 0, None)  # 06-18 local
    evening = np.exp(-0.5 * ((hour - 20.0) / 2.0) ** 2)
    night = np.exp(-0.5 * ((hour - 3.5) / 2.5) ** 2)
    shape = 1.0 - 0.16 * solar + 0.07 * evening - 0.02 * night
    if shape.size % 24 == 0:  # whole local days: make each day's mean exactly the base
        shape = shape / shape.reshape(-1, 24).mean(axis=1).repeat(24)
    else:
        shape = shape / shape.mean()
    n_days = int(np.ceil(shape.size / 24))
    daily = np.repeat(r.normal(0.0, 0.025, n_days), 24)[: shape.size]
    noise = r.normal(0.0, 0.01, shape.size)
    base = np.array([annual_value(int(y)) * 1000.0 for y in year])
    values = np.round(base * shape * (1.0 + daily + noise), 1)
    valid_to = starts + timedelta(hours=1)
    return pl.DataFrame({
        "factor_id": HOURLY_ID, "version": "sim.1", "method": "location", "region": GRID_REGION,
        "energy_carrier": "electricity", "granularity": "hourly",
        "valid_from": starts, "valid_to": valid_to, "value": values, "unit": "gCO2e/kWh",
        "gas": "CO2e", "gwp_set": None, "source_document": SOURCE_HOURLY,
        # a real-time intensity feed publishes a few minutes after the hour closes
        "published_at": valid_to + timedelta(minutes=5),
    })


def build_factors(timeline: Timeline, seed: int) -> pl.DataFrame:
    years = sorted({int(y) for y in np.unique(timeline.local_year)})
    return conform("factors", pl.concat(
        [conform("factors", annual_factors(years)), conform("factors", hourly_factors(timeline,
                                                                                       seed))]))


def annual_factor_per_interval(timeline: Timeline) -> np.ndarray:
    """kgCO2e/kWh of the annual factor valid at each interval (by local calendar year)."""
    years, inverse = np.unique(timeline.local_year, return_inverse=True)
    return np.array([annual_value(int(y)) for y in years])[inverse]

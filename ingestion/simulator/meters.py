"""Meter readings from the truth: what each register would have reported.

A meter's true energy is the sum of the true energy of every equipment supplied through it
(`plant.downstream_matrix`), so the tree conserves energy by construction; the utility meter
includes the transformer losses.

Registers:
- counter_kwh: one reading at every 15-minute boundary of the meter's service window, both ends
  included (so the last interval is computable). Raw value = cumulative energy / kwh_per_raw
  from a random start, truncated to the register resolution, wrapping to 0 at rollover_value
  (the wrap modulus is rollover_value itself, as the contract says).
- interval_kwh: ts = interval start, value = kWh / kwh_per_raw rounded to 0.001.
- power_kw: ts = interval start, value = average kW over the interval rounded to 0.01.

received_at = ts + 15 min + 1-20 s of gateway latency; quality 'good'; raw_id =
f"{meter_id}|{ts isoformat}" (stable, the dedup key); source = sim://<site>/<gateway>.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from ingestion.landing.schemas import UTC_TS, conform
from ingestion.simulator.plant import SITE_ID, Meter, downstream_matrix
from ingestion.simulator.randomness import rng
from ingestion.simulator.timeline import Timeline

INTERVAL_US = int(timedelta(minutes=15).total_seconds() * 1_000_000)

OBS_SCHEMA = {
    "meter_id": pl.String(),
    "ts": UTC_TS,
    "value": pl.Float64(),
    "unit": pl.String(),
    "quality": pl.String(),
    "received_at": UTC_TS,
}


@dataclass(frozen=True)
class Observation:
    """How one registry meter observes its logical meter's energy."""

    meter: Meter
    source_meter_id: str  # whose true energy it sees (a replacement sees its predecessor's)
    k_from: int = 0  # first interval in service
    k_to: int | None = None  # one past the last interval in service (None: to the end)
    start_counts: int | None = None  # counter start in register steps (None: random)
    drift: np.ndarray | None = None  # multiplicative reading error per interval


def decimals(resolution: float) -> int:
    return max(0, int(round(-np.log10(resolution)))) if resolution < 1 else 0


def rollover_counts(meter: Meter) -> int | None:
    if meter.rollover_value is None:
        return None
    return int(round(meter.rollover_value / meter.resolution))


def counter_counts(kwh: np.ndarray, meter: Meter, start_counts: int) -> np.ndarray:
    """Unwrapped register position, in resolution steps, at each boundary of `kwh`'s span.
    Truncation (floor) is what a register display does; the error per reading is < 1 step."""
    cum_raw = np.concatenate(([0.0], np.cumsum(kwh))) / meter.kwh_per_raw
    return start_counts + np.floor(cum_raw / meter.resolution).astype(np.int64)


def meter_truth(equipment_kwh: np.ndarray, meter_ids: list[str]) -> np.ndarray:
    """True kWh per logical meter and interval, shape (len(meter_ids), n)."""
    return downstream_matrix(meter_ids) @ equipment_kwh


def observe(obs: Observation, kwh: np.ndarray, timeline: Timeline, seed: int) -> pl.DataFrame:
    """The readings one meter reports for its service window (before observation faults)."""
    m = obs.meter
    k_to = timeline.n if obs.k_to is None else obs.k_to
    seen = kwh[obs.k_from:k_to]
    if obs.drift is not None:
        seen = seen * obs.drift[obs.k_from:k_to]
    if m.register == "counter_kwh":
        start = obs.start_counts
        ro = rollover_counts(m)
        if start is None:
            start = int(rng(seed, f"meters/start/{m.meter_id}").integers(0, ro or 10**9))
        counts = counter_counts(seen, m, start)
        if ro is not None:
            counts = np.mod(counts, ro)
        values = np.round(counts * m.resolution, decimals(m.resolution))
        k_idx = np.arange(obs.k_from, k_to + 1)
    elif m.register == "interval_kwh":
        values = np.round(seen / m.kwh_per_raw, 3)
        k_idx = np.arange(obs.k_from, k_to)
    elif m.register == "power_kw":
        scale = m.multiplier * {"kW": 1.0, "W": 0.001, "MW": 1000.0}[m.unit]
        values = np.round(seen / 0.25 / scale, 2)
        k_idx = np.arange(obs.k_from, k_to)
    else:
        raise ValueError(f"{m.meter_id}: unknown register {m.register!r}")
    latency_us = rng(seed, f"meters/latency/{m.meter_id}").integers(1_000_000, 20_000_000,
                                                                   k_idx.size)
    ts_us = _epoch_us(timeline) + k_idx * INTERVAL_US
    return pl.DataFrame({
        "meter_id": pl.Series([m.meter_id] * k_idx.size, dtype=pl.String),
        "ts": pl.Series(ts_us, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "value": values.astype(float),
        "unit": m.unit,
        "quality": "good",
        "received_at": pl.Series(ts_us + INTERVAL_US + latency_us, dtype=pl.Int64)
        .cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
    }, schema=OBS_SCHEMA)


def _epoch_us(timeline: Timeline) -> int:
    return (timeline.start_utc - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def finalize(readings: pl.DataFrame, gateways: dict[str, str]) -> pl.DataFrame:
    """Add the identity and provenance columns and conform to the landing schema."""
    return conform("readings", readings.with_columns(
        (pl.col("meter_id") + "|" + pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%:z"))
        .alias("raw_id"),
        pl.lit(SITE_ID).alias("site_id"),
        pl.col("meter_id")
        .replace_strict({m: f"sim://{SITE_ID}/{g}" for m, g in gateways.items()},
                        return_dtype=pl.String)
        .alias("source"),
    ))


def truth_frame(meter_ids: list[str], kwh: np.ndarray, windows: dict[str, tuple[int, int]],
                timeline: Timeline) -> pl.DataFrame:
    """True kWh per registry meter per interval while it is in service (long format)."""
    parts = []
    starts = timeline.starts()
    for i, mid in enumerate(meter_ids):
        a, b = windows.get(mid, (0, timeline.n))
        parts.append(pl.DataFrame({
            "site_id": SITE_ID, "meter_id": mid, "interval_start": starts[a:b],
            "kwh_true": kwh[i, a:b],
        }))
    return pl.concat(parts)


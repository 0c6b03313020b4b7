"""Fault injection: where and when each switched-on fault strikes, applying it, and its log.

Targets are fixed meters (so a reader of `faults.parquet` can predict them); the windows are
placed at fractions of the run with a seeded jitter, so they exist for any run length.

Faults and their fixed targets:
- gaps: M-L1-PLACE-01 (counter), M-CHW-CH02 (interval) — readings with start <= ts < end missing.
- rollover: M-L3-INSERT-01 — the counter starts just below its rollover value and wraps early.
- meter_replacement: M-L4-FT-01 → M-L4-FT-01B — old meter removed at T (its final reading at T),
  new meter installed at T reading 0; the equipment registry points at the new meter.
- spikes: M-HVAC-AHU-02 (counter: 10 x rollover), M-L4-FT-02 (interval: x100),
  M-L1-AOI-01 (power: x100) — one absurd value each, same raw_id as the reading it replaces.
- stuck: M-L2-PLACE-01 — the counter repeats its value for up to 2 h inside a running L2 batch,
  then resumes at the true cumulative value.
- compressor_cycling: AIR-C02 — TRUE energy x1.25 for ~2 days (so truth and meters both rise).
- process_excess: L1-REFLOW-01 — TRUE energy x1.4 during three ordinary-length L1-SMT batches
  (a worn heater zone, a door left open): non-value-adding energy of those batches, which the
  step energy labels must rank first; one log row per batch, its id in `details`.
- drift: M-L2 — reads high by +3% per week from the fault start to the end of the run.
- duplicates: M-MAIN-PROD and M-L1 re-sent identically for 2 h; M-L3 re-sent for 1 h, 1 h later,
  with values 5-15% higher (conflicting, same raw_id).
- late: M-MAIN-UTIL and M-CHW for 6 h — received_at = ts + 3 days (+ latency).

Log semantics (start_ts < end_ts always, UTC): gaps, late, duplicates, cycling: the affected
window [start, end); rollover: the 15-minute interval in which the register wraps;
meter_replacement: T (old meter removed, new installed) to T + 15 min (first interval the new
meter measures); spikes: the spiked reading's ts to ts + 15 min; stuck: first frozen reading to
the first resumed reading; drift: drift start to the end of the run. `details` is JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np
import polars as pl

from ingestion.landing.schemas import UTC_TS
from ingestion.simulator.config import FaultConfig
from ingestion.simulator.meters import counter_counts, rollover_counts
from ingestion.simulator.plant import Meter, meter_index
from ingestion.simulator.randomness import rng
from ingestion.simulator.timeline import Timeline

FAULTS_SCHEMA = {
    "fault_id": pl.String(),
    "fault_type": pl.String(),
    "meter_id": pl.String(),
    "equipment_id": pl.String(),
    "start_ts": UTC_TS,
    "end_ts": UTC_TS,
    "details": pl.String(),
}

CYCLING_FACTOR = 1.25
EXCESS_FACTOR = 1.4
EXCESS_EQUIPMENT, EXCESS_LINE, EXCESS_BATCHES = "L1-REFLOW-01", "L1-SMT", 3
DRIFT_PER_WEEK = 0.03
LATE_BY = timedelta(days=3)


@dataclass(frozen=True)
class Replacement:
    old_meter_id: str
    new_meter: Meter
    k: int  # boundary index of the swap


@dataclass
class FaultPlan:
    config: FaultConfig
    cycling: tuple[str, int, int, float] | None = None
    excess: list[tuple[str, int, int, float]] = field(default_factory=list)  # as cycling
    rollover: tuple[str, int] | None = None  # meter, boundary index where it wraps
    replacement: Replacement | None = None
    drift: dict[str, np.ndarray] = field(default_factory=dict)
    gaps: list[tuple[str, int, int]] = field(default_factory=list)
    spikes: list[tuple[str, int]] = field(default_factory=list)
    stuck: list[tuple[str, int, int]] = field(default_factory=list)  # meter, last good k, resume k
    dup_identical: list[tuple[str, int, int]] = field(default_factory=list)
    dup_conflicting: list[tuple[str, int, int]] = field(default_factory=list)
    late: list[tuple[str, int, int]] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)


def _place(r: np.random.Generator, n: int, frac: float, length: int) -> tuple[int, int]:
    """A window of about `length` intervals near `frac` of the run, kept inside it."""
    length = max(1, min(length, n // 8))
    jitter = int(r.integers(-(n // 40), n // 40 + 1)) if n >= 40 else 0
    start = int(np.clip(round(n * frac) + jitter, 1, max(1, n - length - 1)))
    return start, start + length


def _equipment_of(meter_id: str) -> str | None:
    m = meter_index().get(meter_id)
    return m.measures_id if m is not None and m.measures_kind == "equipment" else None


def plan_faults(config: FaultConfig, timeline: Timeline, seed: int,
                production: pl.DataFrame) -> FaultPlan:
    n = timeline.n
    plan = FaultPlan(config)
    at = timeline.at

    def log(fault_type: str, meter_id: str | None, start_k: int, end_k: int, **details) -> None:
        equipment = details.pop("equipment_id", None) or (_equipment_of(meter_id)
                                                          if meter_id else None)
        plan.log.append({
            "fault_id": "", "fault_type": fault_type,
            "meter_id": meter_id, "equipment_id": equipment,
            "start_ts": at(start_k), "end_ts": at(end_k),
            "details": json.dumps(details, sort_keys=True, default=str),
        })

    if config.gaps:
        r = rng(seed, "faults/gaps")
        for meter_id, frac, length in (("M-L1-PLACE-01", 0.22, 24), ("M-CHW-CH02", 0.62, 16)):
            a, b = _place(r, n, frac, length)
            plan.gaps.append((meter_id, a, b))
            log("gaps", meter_id, a, b, missing_intervals=b - a,
                register=meter_index()[meter_id].register)

    if config.rollover:
        r = rng(seed, "faults/rollover")
        k = int(np.clip(min(32, n // 4) + int(r.integers(-4, 5)), 2, n))
        plan.rollover = ("M-L3-INSERT-01", k)
        # logged by the engine once the start value (which needs the truth) is known

    if config.meter_replacement:
        r = rng(seed, "faults/meter_replacement")
        k, _ = _place(r, n, 0.45, 1)
        old = meter_index()["M-L4-FT-01"]
        new = replace(old, meter_id="M-L4-FT-01B")
        plan.replacement = Replacement(old.meter_id, new, k)
        log("meter_replacement", old.meter_id, k, k + 1, new_meter_id=new.meter_id,
            new_counter_start=0.0, note="old meter's final reading is at start_ts")

    if config.spikes:
        r = rng(seed, "faults/spikes")
        for meter_id, frac in (("M-HVAC-AHU-02", 0.3), ("M-L4-FT-02", 0.5), ("M-L1-AOI-01", 0.7)):
            k, _ = _place(r, n, frac, 1)
            plan.spikes.append((meter_id, k))
            log("spikes", meter_id, k, k + 1, register=meter_index()[meter_id].register)

    if config.stuck:
        r = rng(seed, "faults/stuck")
        meter_id, line = "M-L2-PLACE-01", "L2-SMT"
        step = pl.duration(minutes=15)
        runs = production.filter(pl.col("line_id") == line).select(
            ((pl.col("start_ts") - pl.lit(timeline.start_utc)) / step).cast(pl.Int64).alias("a"),
            ((pl.col("end_ts") - pl.lit(timeline.start_utc)) / step).cast(pl.Int64).alias("b"),
        ).filter((pl.col("b") - pl.col("a") >= 4) & (pl.col("b") < n))
        later = runs.filter(pl.col("a") >= n // 5)
        runs = later if later.height else runs
        if runs.height:
            a, b = runs.row(int(r.integers(runs.height)))
            ks, ke = a, a + min(8, b - a)  # frozen readings at ks+1 .. ke-1, all inside the batch
            plan.stuck.append((meter_id, ks, ke))
            log("stuck", meter_id, ks + 1, ke, frozen_readings=ke - ks - 1,
                note="readings after start repeat the reading at start - 15 min until end_ts")

    if config.compressor_cycling:
        r = rng(seed, "faults/compressor_cycling")
        a, b = _place(r, n, 0.55, 192)
        plan.cycling = ("AIR-C02", a, b, CYCLING_FACTOR)
        log("compressor_cycling", "M-AIR-C02", a, b, equipment_id="AIR-C02",
            true_energy_factor=CYCLING_FACTOR, note="a real rise: part of the ground truth")

    if config.process_excess:
        step = pl.duration(minutes=15)
        batches = production.filter(pl.col("line_id") == EXCESS_LINE).select(
            "batch_id",
            ((pl.col("start_ts") - pl.lit(timeline.start_utc)) / step).cast(pl.Int64).alias("a"),
            ((pl.col("end_ts") - pl.lit(timeline.start_utc)) / step).cast(pl.Int64).alias("b"),
        ).filter((pl.col("a") >= n // 3) & (pl.col("b") <= n))
        # after the first third of the run, so each batch has a history to be compared with;
        # ordinary batches from the middle of the length ranking: not the longest (their noise
        # in kg is the largest) nor the shortest (under an hour, they set no benchmark)
        ranked = batches.sort(pl.col("b") - pl.col("a"), "batch_id")
        middle = max(0, ranked.height // 2 - EXCESS_BATCHES // 2)
        for batch_id, a, b in ranked.slice(middle, EXCESS_BATCHES).iter_rows():
            plan.excess.append((EXCESS_EQUIPMENT, a, b, EXCESS_FACTOR))
            log("process_excess", "M-L1-REFLOW-01", a, b, equipment_id=EXCESS_EQUIPMENT,
                batch_id=batch_id, true_energy_factor=EXCESS_FACTOR,
                note="a real rise: part of the ground truth")

    if config.drift:
        r = rng(seed, "faults/drift")
        k0, _ = _place(r, n, 0.1, 1)
        per_interval = DRIFT_PER_WEEK / (7 * 96)
        factor = 1.0 + per_interval * np.clip(np.arange(n) - k0 + 0.5, 0, None)
        plan.drift["M-L2"] = factor
        log("drift", "M-L2", k0, n, rate_per_week=DRIFT_PER_WEEK,
            final_error=round(float(factor[-1] - 1.0), 4))

    if config.duplicates:
        r = rng(seed, "faults/duplicates")
        a, b = _place(r, n, 0.35, 8)
        for meter_id in ("M-MAIN-PROD", "M-L1"):
            plan.dup_identical.append((meter_id, a, b))
            log("duplicates", meter_id, a, b, kind="identical",
                note="the same rows sent twice (same raw_id, value and received_at)")
        a, b = _place(r, n, 0.75, 4)
        plan.dup_conflicting.append(("M-L3", a, b))
        log("duplicates", "M-L3", a, b, kind="conflicting",
            note="re-sent 1 h later with a value 5-15% higher, same raw_id")

    if config.late:
        r = rng(seed, "faults/late")
        for meter_id, frac in (("M-MAIN-UTIL", 0.4), ("M-CHW", 0.8)):
            a, b = _place(r, n, frac, 24)
            plan.late.append((meter_id, a, b))
            log("late", meter_id, a, b, received_after=str(LATE_BY))
    return plan


def rollover_start_counts(meter: Meter, kwh: np.ndarray, k: int) -> int:
    """Start the register just below rollover so that it wraps to exactly 0 at boundary k."""
    ro = rollover_counts(meter)
    assert ro is not None, f"{meter.meter_id} has no rollover value"
    return ro - int(counter_counts(kwh, meter, 0)[k])


def log_rollover(plan: FaultPlan, timeline: Timeline, meter: Meter, start_counts: int) -> None:
    meter_id, k = plan.rollover
    plan.log.append({
        "fault_id": "", "fault_type": "rollover", "meter_id": meter_id,
        "equipment_id": _equipment_of(meter_id),
        "start_ts": timeline.at(k - 1), "end_ts": timeline.at(k),
        "details": json.dumps({
            "start_value": round(start_counts * meter.resolution, 2),
            "rollover_value": meter.rollover_value,
        }, sort_keys=True),
    })


def apply_to_readings(readings: pl.DataFrame, plan: FaultPlan, timeline: Timeline,
                      seed: int) -> pl.DataFrame:
    """Observation faults on the readings (meter_id, ts, value, unit, quality, received_at)."""
    at = timeline.at
    meters = meter_index()

    def window(meter_id: str, a: int, b: int) -> pl.Expr:
        return (pl.col("meter_id") == meter_id) & (pl.col("ts") >= at(a)) & (pl.col("ts") < at(b))

    for meter_id, ks, ke in plan.stuck:
        frozen = readings.filter((pl.col("meter_id") == meter_id) & (pl.col("ts") == at(ks)))
        readings = readings.with_columns(
            pl.when(window(meter_id, ks + 1, ke)).then(pl.lit(frozen["value"][0]))
            .otherwise(pl.col("value")).alias("value"))

    for meter_id, k in plan.spikes:
        m = meters[meter_id]
        absurd = (pl.lit(10.0 * m.rollover_value) if m.register == "counter_kwh"
                  else pl.col("value") * 100.0)
        readings = readings.with_columns(
            pl.when(window(meter_id, k, k + 1)).then(absurd).otherwise(pl.col("value"))
            .alias("value"))

    for meter_id, a, b in plan.gaps:
        readings = readings.filter(~window(meter_id, a, b))

    for meter_id, a, b in plan.late:
        readings = readings.with_columns(
            pl.when(window(meter_id, a, b))
            .then(pl.col("received_at") + LATE_BY - timedelta(minutes=15))
            .otherwise(pl.col("received_at")).alias("received_at"))

    extra = []
    for meter_id, a, b in plan.dup_identical:
        extra.append(readings.filter(window(meter_id, a, b)))
    r = rng(seed, "faults/duplicates/values")
    for meter_id, a, b in plan.dup_conflicting:
        rows = readings.filter(window(meter_id, a, b))
        bump = r.uniform(1.05, 1.15, rows.height)
        extra.append(rows.with_columns(
            (pl.col("value") * pl.Series(bump)).round(2).alias("value"),
            (pl.col("received_at") + timedelta(hours=1)).alias("received_at"),
        ))
    # Re-sends come after the originals: first occurrence of a raw_id = the original.
    return pl.concat([readings, *extra]) if extra else readings


def faults_frame(plan: FaultPlan) -> pl.DataFrame:
    """The fault log. fault_id = type:meter:start, stable whichever other faults are on."""
    rows = sorted(plan.log, key=lambda row: (row["start_ts"], row["fault_type"],
                                             row["meter_id"] or ""))
    for row in rows:
        row["fault_id"] = f"{row['fault_type']}:{row['meter_id']}:{row['start_ts']:%Y%m%dT%H%MZ}"
    return pl.DataFrame(rows, schema=FAULTS_SCHEMA)

"""From what was published and what readers saw to latencies, and where the time went.

A reading is *in* a publication when the interval it belongs to holds its energy: a counter
reading at t closes the span [t - 15 s, t), so it belongs to the interval starting at
(t - 1) // 900 * 900, and once it is in, that interval's kWh for the meter's equipment is at
least C(t) - C(interval start). Counters rise by ≥ 0.008 kWh per tick and are published with 3
decimals, so the kWh a publication shows names exactly the last tick it includes (a kWh that
names no tick is counted as a mismatch: a wrong figure, not a late one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np

from benchmarks.latency.live import Publication
from benchmarks.latency.plant import BenchPlant

INTERVAL = 900
TOLERANCE_KWH = 1e-6


def interval_of(tick: int) -> int:
    return (tick - 1) // INTERVAL * INTERVAL


@dataclass
class Inclusion:
    # (tick, probe index) → index of the first publication that includes the reading
    first: dict[tuple[int, int], int]
    probes: list[str]  # equipment ids, one per probe meter
    mismatches: int  # (publication, equipment, interval) whose kWh names no tick


def first_inclusion(
    plant: BenchPlant, ticks: list[int], publications: list[Publication]
) -> Inclusion:
    equipment = plant.equipment_nodes
    probes = [n.measures_id for n in equipment]
    columns = [plant.meter_ids.index(n.meter_id) for n in equipment]
    first: dict[tuple[int, int], int] = {}
    mismatches = 0
    for start in sorted({interval_of(t) for t in ticks}):
        instants = np.arange(start, start + INTERVAL + 1, 15)  # the start and the 60 ticks
        counters = plant.counters(instants)[:, columns]
        energy = counters[1:] - counters[0]  # energy after each tick: shape (60, probes)
        live = [t for t in ticks if interval_of(t) == start]
        for p, publication in enumerate(publications):
            for j, equipment_id in enumerate(probes):
                if all((t, j) in first for t in live):
                    continue
                kwh = publication.energy.get((equipment_id, start))
                if kwh is None:
                    continue
                hits = np.flatnonzero(np.abs(energy[:, j] - kwh) < TOLERANCE_KWH)
                if hits.size == 0:
                    mismatches += 1
                    continue
                last_tick = start + 15 * (int(hits[0]) + 1)
                for t in live:
                    if t <= last_tick:
                        first.setdefault((t, j), p)
    return Inclusion(first, probes, mismatches)


def landed_times(home: Path) -> dict[int, float]:
    """Tick → when its last reading landed (the MQTT service's landed_at), epoch seconds."""
    glob = home / "landing" / "readings" / "**" / "mqtt-*.parquet"
    with duckdb.connect() as con:
        rows = con.execute(
            f"select epoch(ts)::bigint, epoch(max(landed_at)) from read_parquet('{glob}') "
            "group by 1"
        ).fetchall()
    return {int(t): float(landed) for t, landed in rows}


@dataclass(frozen=True)
class RunTiming:
    run_id: str
    job: str
    status: str
    created: float
    started: float | None
    ended: float | None
    steps: dict[str, tuple[float, float]]  # step key → (start, end)

    @property
    def daily_end(self) -> float | None:
        return self.steps.get("dbt_daily", (None, None))[1]


def run_timings(
    instance: dg.DagsterInstance, job_names: tuple[str, ...], since: float
) -> list[RunTiming]:
    """Every run of the jobs created at or after `since`, oldest first."""
    records = [
        record
        for job_name in job_names
        for record in instance.get_run_records(filters=dg.RunsFilter(job_name=job_name))
    ]
    timings = []
    for record in records:
        if record.create_timestamp.timestamp() < since:
            continue
        steps = {
            s.step_key: (s.start_time, s.end_time)
            for s in instance.get_run_step_stats(record.dagster_run.run_id)
            if s.start_time and s.end_time
        }
        timings.append(
            RunTiming(
                record.dagster_run.run_id,
                record.dagster_run.job_name,
                record.dagster_run.status.value,
                record.create_timestamp.timestamp(),
                record.start_time,
                record.end_time,
                steps,
            )
        )
    return sorted(timings, key=lambda r: r.created)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; +inf entries (never seen) count as the slowest."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(np.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]

"""Landing a simulation: observed data through `LandingZone.write`, ground truth beside it.

Observed kinds land as batches named `sim-<config fingerprint>-<kind>[-late|-resend]`, so
writing the same run twice is a no-op (a batch already present is skipped, not duplicated) and
two different runs never collide. Readings land in up to three batches, like a real gateway
feed would: the on-time stream, the late arrivals (received > 1 day after ts) and the re-sends
(second and later occurrences of a raw_id). One simulated plant per home: two runs with
different seeds in the same home would land conflicting readings under the same raw_ids.

Ground truth goes to `<home>/ground_truth/` (outside the landing zone, which the platform
reads): equipment_interval.parquet, meter_interval.parquet, faults.parquet, plant.json —
overwritten atomically on every call.

The planner's files for the simulated plant go to `<home>/planning/` (settings.json,
materials.csv; see planning.py) only when absent, so a planner's edits survive a re-run.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import polars as pl

from ingestion.landing.store import LandingZone
from ingestion.simulator import plant
from ingestion.simulator.engine import Simulation
from ingestion.simulator.fuel import build_fuel
from ingestion.simulator.planning import planning_files
from ingestion.simulator.timeline import Timeline

LATE_AFTER = timedelta(days=1)


def _batch_exists(zone: LandingZone, kind: str, batch_id: str) -> bool:
    return any(zone.kind_root(kind).rglob(f"{batch_id}.parquet"))


def _write_atomic(target: Path, write) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def reading_batches(readings: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Split readings the way they would arrive: on time, late, re-sent."""
    first = readings.filter(pl.col("raw_id").is_first_distinct())
    late = (pl.col("received_at") - pl.col("ts")) > LATE_AFTER
    return {
        "readings": first.filter(~late),
        "readings-late": first.filter(late),
        "readings-resend": readings.filter(~pl.col("raw_id").is_first_distinct()),
    }


def write_simulation(sim: Simulation, home: Path | str, fuel: bool = False) -> dict[str, int]:
    """Land the observed data and write the ground truth. Returns rows written per kind
    (0 for a kind whose batch was already landed) and per ground-truth file. `fuel` adds the
    boiler's gas meter and the generator's diesel meter (Scope 1, see fuel.py) as their own
    batches, with `ground_truth/fuel_interval.parquet`."""
    home = Path(home)
    zone = LandingZone(home)
    zone.init()
    prefix = f"sim-{sim.config.fingerprint()}"
    counts: dict[str, int] = {}
    for kind, frame in sim.observed().items():
        parts = reading_batches(frame) if kind == "readings" else {kind: frame}
        counts[kind] = 0
        for name, part in parts.items():
            batch_id = f"{prefix}-{name}"
            if part.height == 0 or _batch_exists(zone, kind, batch_id):
                continue
            counts[kind] += zone.write(kind, part, batch_id=batch_id).rows_landed

    truth = home / "ground_truth"
    truth.mkdir(parents=True, exist_ok=True)
    for name, frame in (
        ("equipment_interval", sim.truth_equipment_interval),
        ("meter_interval", sim.truth_meter_interval),
        ("faults", sim.faults),
    ):
        _write_atomic(truth / f"{name}.parquet", lambda p, f=frame: f.write_parquet(p))
        counts[f"truth_{name}"] = frame.height
    if fuel:
        counts.update(_write_fuel(sim, zone, prefix, truth))
    description = {
        **sim.config.to_json_dict(),
        "site_id": plant.SITE_ID,
        "timezone": plant.TIMEZONE,
        "batch_prefix": prefix,
        "meters": sim.meters.height,
        "equipment": sim.equipment.height,
        "planned_stops": sim.planned_stops,
    }
    _write_atomic(truth / "plant.json",
                  lambda p: p.write_text(json.dumps(description, indent=2, sort_keys=True)))
    planning = home / "planning"
    planning.mkdir(exist_ok=True)
    for name, text in planning_files().items():
        if not (planning / name).exists():
            _write_atomic(planning / name, lambda p, t=text: p.write_text(t))
    return counts


def _write_fuel(sim: Simulation, zone: LandingZone, prefix: str, truth: Path) -> dict[str, int]:
    config = sim.config
    frames = build_fuel(
        Timeline.build(config.start_date, config.days, plant.TIMEZONE), config.seed
    )
    counts = {}
    for kind in ("meters", "factors", "readings"):
        batch_id = f"{prefix}-fuel-{kind}"
        landed = 0
        if not _batch_exists(zone, kind, batch_id):
            landed = zone.write(kind, frames[kind], batch_id=batch_id).rows_landed
        counts[f"fuel_{kind}"] = landed
    _write_atomic(truth / "fuel_interval.parquet", lambda p: frames["truth"].write_parquet(p))
    counts["truth_fuel_interval"] = frames["truth"].height
    return counts

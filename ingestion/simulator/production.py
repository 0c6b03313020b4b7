"""The production schedule: batches per line and shift, and which intervals each line runs.

Shifts are site-local (A 06-14, B 14-22, C 22-06). Within a shift a line starts after a short
handover, runs batches of one SKU each, and idles through changeovers between them; a batch is
cut short rather than run across a shift boundary. A few planned stops (maintenance, 4 h at the
start of a shift) leave a line idle. Batches start and end on the 15-minute grid, so "the line is
running in interval i" is unambiguous — the same flag the allocation profile uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from ingestion.landing.schemas import conform
from ingestion.simulator.plant import LINES, SITE_ID
from ingestion.simulator.randomness import rng
from ingestion.simulator.timeline import Timeline

PLANNED_STOP_INTERVALS = 16  # 4 h


@dataclass(frozen=True)
class Schedule:
    batches: pl.DataFrame  # production rows, landing schema
    running: np.ndarray  # bool (n_lines, n): line runs a batch in the interval
    planned_stops: list[dict]  # line_id, start_ts, end_ts (for the ground-truth notes)


def build_schedule(timeline: Timeline, seed: int) -> Schedule:
    windows = timeline.shift_windows()
    running = np.zeros((len(LINES), timeline.n), dtype=bool)
    rows: dict[str, list] = {k: [] for k in (
        "batch_id", "line_id", "sku", "start", "end", "good_units", "scrap_units", "shift")}
    stops = []
    full = [i for i, w in enumerate(windows) if w.full]
    for li, line in enumerate(LINES):
        r = rng(seed, f"production/{line.line_id}")
        # About one planned stop per line per week, none in runs shorter than 3 days.
        n_stops = min(len(full), max(1, round(timeline.days / 7))) if timeline.days >= 3 else 0
        stop_windows = set(r.choice(full, size=n_stops, replace=False).tolist()) if n_stops \
            else set()
        sku_i = int(r.integers(len(line.skus)))
        for wi, w in enumerate(windows):
            cursor = w.start + int(r.integers(0, 2))  # handover at shift change
            if wi in stop_windows:
                stops.append({"line_id": line.line_id, "start": w.start,
                              "end": w.start + PLANNED_STOP_INTERVALS})
                cursor = w.start + PLANNED_STOP_INTERVALS
            seq = 0
            lo, hi = line.batch_intervals
            while w.end - cursor >= lo:
                length = min(int(r.integers(lo, hi + 1)), w.end - cursor)
                if r.random() > 0.4:  # keep the SKU 40% of the time: fewer changeovers
                    sku_i = int(r.integers(len(line.skus)))
                hours = length * 0.25
                good = int(line.units_per_hour[sku_i] * hours * r.uniform(0.86, 0.97))
                scrap = int(r.binomial(good, line.scrap_rate / (1 - line.scrap_rate)))
                seq += 1
                rows["batch_id"].append(
                    f"{line.line_id}-{w.shift_date:%Y%m%d}-{w.shift}{seq:02d}")
                rows["line_id"].append(line.line_id)
                rows["sku"].append(line.skus[sku_i])
                rows["start"].append(cursor)
                rows["end"].append(cursor + length)
                rows["good_units"].append(good)
                rows["scrap_units"].append(scrap)
                rows["shift"].append(w.shift)
                running[li, cursor:cursor + length] = True
                cursor += length + int(r.integers(line.changeover_intervals[0],
                                                  line.changeover_intervals[1] + 1))
    step = pl.duration(minutes=15)
    frame = pl.DataFrame(rows).with_columns(
        pl.lit(SITE_ID).alias("site_id"),
        (pl.lit(timeline.start_utc) + step * pl.col("start")).alias("start_ts"),
        (pl.lit(timeline.start_utc) + step * pl.col("end")).alias("end_ts"),
    ).sort("start_ts", "line_id")
    planned = [
        {"line_id": s["line_id"],
         "start_ts": (timeline.start_utc + s["start"] * timedelta(minutes=15)).isoformat(),
         "end_ts": (timeline.start_utc + s["end"] * timedelta(minutes=15)).isoformat()}
        for s in stops
    ]
    return Schedule(conform("production", frame), running, planned)

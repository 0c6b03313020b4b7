"""True energy per equipment per 15-minute interval — the ground truth everything is judged by.

Line equipment draws nameplate x (running_lf while its line runs a batch, idle_lf otherwise).
Site utilities follow what drives them: compressors the compressed-air demand of running lines,
chillers the outdoor temperature and process heat, air handlers the time of day, the nitrogen
generator the SMT reflow ovens; lighting, exhaust, pumps and the server room are near-constant.
Transformer losses are a no-load loss plus a share of the site load.

Every load gets independent, zero-mean multiplicative noise per interval (a few %), so the
registry's load fractions are honest weights: allocating a node's residual by
nameplate x load fraction lands within a few % per day of the truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingestion.simulator.plant import (
    EQUIPMENT,
    LINES,
    TX_LOAD_LOSS_SHARE,
    TX_NO_LOAD_KW,
    Equipment,
)
from ingestion.simulator.randomness import rng
from ingestion.simulator.timeline import Timeline

NOISE_SD = {"line": 0.03, "constant": 0.02}  # others: 0.03
HOURS_PER_INTERVAL = 0.25


def outdoor_temperature(timeline: Timeline, seed: int) -> np.ndarray:
    """Outdoor dry-bulb °C, Hsinchu-like: seasonal mean (~15.5 °C in January, ~29.5 °C in July),
    a diurnal swing peaking mid-afternoon, and multi-day weather fronts (AR(1) daily anomalies)."""
    r = rng(seed, "weather")
    seasonal = 22.5 - 7.0 * np.cos(2 * np.pi * (timeline.local_doy - 20) / 365.25)
    diurnal = 3.5 * np.cos(2 * np.pi * (timeline.local_hour - 14.0) / 24.0)
    n_days = timeline.days + 2
    shocks = r.normal(0.0, 1.8, n_days)
    fronts = np.empty(n_days)
    fronts[0] = shocks[0]
    for d in range(1, n_days):  # a handful of days: the loop is cheap and reads clearly
        fronts[d] = 0.7 * fronts[d - 1] + shocks[d] * np.sqrt(1 - 0.7**2)
    day_pos = np.arange(timeline.n) / 96.0
    weather = np.interp(day_pos, np.arange(n_days) - 0.5, fronts)
    return seasonal + diurnal + weather


def _demand(running: np.ndarray, attr: str) -> np.ndarray:
    weights = np.array([getattr(line, attr) for line in LINES])
    return weights @ running / weights.sum()


def load_fraction(eq: Equipment, ctx: dict[str, np.ndarray]) -> np.ndarray:
    """Share of nameplate drawn per interval, before noise."""
    p = eq.profile
    if p == "line":
        run = ctx["running"][ctx["line_index"][eq.line_id]]
        return eq.idle_lf + (eq.running_lf - eq.idle_lf) * run
    if p == "constant":
        return np.full(ctx["n"], eq.running_lf)
    if p == "compressor_lead":  # VSD machine: base load plus most of the swing
        return 0.50 + 0.35 * ctx["air"]
    if p == "compressor_trim":  # trims the peaks, unloads when the lines stop
        return 0.15 + 0.55 * ctx["air"]
    if p == "chiller_lead":
        return np.clip(0.40 + 0.018 * (ctx["temp"] - 15.0) + 0.15 * ctx["heat"], 0.15, 1.0)
    if p == "chiller_lag":
        return np.clip(0.12 + 0.020 * (ctx["temp"] - 15.0) + 0.12 * ctx["heat"], 0.03, 1.0)
    if p == "ahu":  # fans ramp up with office hours and outdoor heat
        return np.clip(0.55 + 0.12 * ctx["daytime"] + 0.01 * (ctx["temp"] - 15.0), 0.4, 1.0)
    if p == "nitrogen":  # N2 blanket for the two reflow ovens
        return 0.30 + 0.50 * ctx["smt"]
    raise ValueError(f"{eq.equipment_id}: unknown load profile {p!r}")


def equipment_truth(
    timeline: Timeline,
    running: np.ndarray,
    seed: int,
    rises: Sequence[tuple[str, int, int, float]] = (),
) -> np.ndarray:
    """True kWh, shape (len(EQUIPMENT), n), rows in EQUIPMENT order.

    `rises` = (equipment_id, first interval, end interval, factor) windows: the compressor-
    cycling and process-excess faults, real rises in energy (short-cycling on a leak, a worn
    heater), so they are part of the truth.
    """
    n = timeline.n
    hour = timeline.local_hour
    run = running.astype(float)
    smt_rows = [i for i, line in enumerate(LINES) if line.kind == "smt"]
    ctx = {
        "n": n,
        "running": run,
        "line_index": {line.line_id: i for i, line in enumerate(LINES)},
        "air": _demand(run, "air_weight"),
        "heat": _demand(run, "heat_weight"),
        "smt": run[smt_rows].mean(axis=0),
        "temp": outdoor_temperature(timeline, seed),
        "daytime": np.clip((hour - 7.0) / 2.0, 0, 1) * np.clip((20.0 - hour) / 2.0, 0, 1),
    }
    # One draw for the whole matrix, independent of which faults are on.
    noise = rng(seed, "physics/noise").standard_normal((len(EQUIPMENT), n))
    kw = np.zeros((len(EQUIPMENT), n))
    tx_row = None
    for j, eq in enumerate(EQUIPMENT):
        if eq.profile == "transformer":
            tx_row = j
            continue
        sd = NOISE_SD.get(eq.profile, 0.03)
        kw[j] = eq.nameplate_kw * load_fraction(eq, ctx) * (1.0 + sd * noise[j])
    for eq_id, a, b, factor in rises:
        j = next(i for i, e in enumerate(EQUIPMENT) if e.equipment_id == eq_id)
        kw[j, a:b] *= factor
    if tx_row is not None:
        kw[tx_row] = TX_NO_LOAD_KW + TX_LOAD_LOSS_SHARE * kw.sum(axis=0)
    return kw * HOURS_PER_INTERVAL

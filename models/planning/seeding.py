"""Heuristic plans: the current practice (first-in-first-out) and seeds for the optimizer.

- FIFO: orders in arrival order, each on the line that finishes it first, as early as possible;
  standard material, with low-carbon material given in arrival order until the minimum share is
  met (a plant that must meet the 30 % rule does the simplest thing that meets it).
- EDD: the same list scheduling in due-date order (priority breaks ties).
- Greedy low-carbon / low-cost: due-date order; each order goes to the (line, start) with the least
  block emissions (or energy cost) within a look-ahead window that still meets its due date and
  keeps the night share under its cap; low-carbon material where it saves the most per unit of
  extra cost.
Every seed then goes through a feasibility descent (`polish.improve` on the constraint violation).
"""

from __future__ import annotations

import numpy as np

from models.planning.decoder import canonical, decode, genome
from models.planning.tables import Tables


def _cheapest_standard(tb: Tables) -> np.ndarray:
    cost = np.where(
        np.arange(tb.material_cost.shape[1])[None, :] < tb.n_materials[:, None],
        tb.material_cost,
        np.inf,
    )
    return np.argmin(cost, axis=1)


def materials_min_low_carbon(tb: Tables, rank: np.ndarray) -> np.ndarray:
    """Cheapest material everywhere, then the cheapest low-carbon option for orders in `rank`
    order until the low-carbon share reaches its minimum."""
    mat = _cheapest_standard(tb)
    share = (tb.material_low_carbon[np.arange(tb.n), mat] * tb.quantity).sum() / tb.total_units
    for o in rank:
        if share >= tb.low_carbon_min - 1e-12:
            break
        lc = [k for k in range(tb.n_materials[o]) if tb.material_low_carbon[o, k]]
        if lc and not tb.material_low_carbon[o, mat[o]]:
            mat[o] = min(lc, key=lambda k: tb.material_cost[o, k])
            share += tb.quantity[o] / tb.total_units
    return mat


def materials_all_low_carbon(tb: Tables) -> np.ndarray:
    mat = _cheapest_standard(tb)
    for o in range(tb.n):
        lc = [k for k in range(tb.n_materials[o]) if tb.material_low_carbon[o, k]]
        if lc:
            mat[o] = min(lc, key=lambda k: tb.material_kg[o, k])
    return mat


def carbon_value_rank(tb: Tables) -> np.ndarray:
    """Orders by kgCO2e saved per extra currency unit when switched to low-carbon material."""
    std = _cheapest_standard(tb)
    lc = materials_all_low_carbon(tb)
    idx = np.arange(tb.n)
    saved = tb.material_kg[idx, std] - tb.material_kg[idx, lc]
    extra = np.maximum(tb.material_cost[idx, lc] - tb.material_cost[idx, std], 1e-9)
    return np.argsort(-saved / extra, kind="stable")


def list_schedule(tb: Tables, sequence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(line, start) with each order in `sequence` on the line that completes it first."""
    T = tb.T
    free = np.zeros(tb.n_lines, dtype=np.int64)
    last = np.full(tb.n_lines, -1)
    line = np.zeros(tb.n, dtype=np.int64)
    start = np.full(tb.n, T - 1, dtype=np.int64)
    for o in sequence:
        best = None
        for ln in np.flatnonzero(tb.eligible[o]):
            gap = tb.changeover[last[ln], tb.sku_index[o]] if last[ln] >= 0 else 0
            t = tb.next_start[o, ln, min(free[ln] + gap, T)]
            key = (t + tb.p[o, ln] if t < T else np.inf, tb.kwh[o, ln], ln)
            if best is None or key < best[0]:
                best = (key, ln, t)
        _, ln, t = best
        line[o] = ln
        if t < T:
            start[o] = t
            free[ln] = t + tb.p[o, ln]
            last[ln] = tb.sku_index[o]
    return line, start


def edd_sequence(tb: Tables) -> np.ndarray:
    prio = np.array([o.priority for o in tb.instance.orders])
    return np.lexsort((np.arange(tb.n), -prio, tb.due_slot))


def fifo_plan(tb: Tables) -> np.ndarray:
    """The current practice: arrival order, earliest completion, minimum low-carbon material."""
    seq = np.arange(tb.n)
    line, start = list_schedule(tb, seq)
    return canonical(tb, genome(line, materials_min_low_carbon(tb, seq), start))[0]


def edd_plan(tb: Tables, materials: np.ndarray | None = None) -> np.ndarray:
    seq = edd_sequence(tb)
    line, start = list_schedule(tb, seq)
    mat = materials if materials is not None else materials_min_low_carbon(tb, seq)
    return canonical(tb, genome(line, mat, start))[0]


def greedy_plan(
    tb: Tables, key: str = "carbon", window_slots: int = 32, materials: np.ndarray | None = None
) -> np.ndarray:
    """Due-date order; each order at its cheapest (emissions or energy cost) block within the
    window after its line's earliest start, keeping due dates and the night cap when possible."""
    table = tb.energy_kg if key == "carbon" else tb.energy_cost
    T = tb.T
    cap = tb.night_bounds[1] * tb.total_units
    free = np.zeros(tb.n_lines, dtype=np.int64)
    last = np.full(tb.n_lines, -1)
    line = np.zeros(tb.n, dtype=np.int64)
    start = np.full(tb.n, T - 1, dtype=np.int64)
    night = 0.0
    remaining = np.where(tb.eligible, tb.p, np.iinfo(np.int64).max).min(axis=1).astype(float)
    left = remaining.sum()
    for o in edd_sequence(tb):
        # delay an order only by a share of the slack the rest of the book leaves, so waiting
        # for a cleaner hour never pushes later orders out of the horizon
        slack = (T * tb.n_lines - free.sum() - left) / tb.n_lines
        delay = int(max(0, min(window_slots, 0.5 * slack)))
        left -= remaining[o]
        cands = []
        for ln in np.flatnonzero(tb.eligible[o]):
            gap = tb.changeover[last[ln], tb.sku_index[o]] if last[ln] >= 0 else 0
            t0 = tb.next_start[o, ln, min(free[ln] + gap, T)]
            if t0 >= T:
                continue
            ts = np.arange(t0, min(t0 + delay + 1, T))
            ts = ts[tb.valid[o, ln, ts]]
            for t in ts:
                on_time = t + tb.p[o, ln] <= tb.due_slot[o]
                over_cap = night + tb.night_units[o, ln, t] > cap
                cands.append((not on_time, over_cap, table[o, ln, t], t, ln))
        if not cands:
            continue
        best = min(cands)
        if best[0]:  # nothing meets the due date: finish as early as possible instead
            best = min(cands, key=lambda c: (c[3] + tb.p[o, c[4]], c[1], c[2]))
        t, ln = best[3], best[4]
        line[o], start[o] = ln, t
        free[ln] = t + tb.p[o, ln]
        last[ln] = tb.sku_index[o]
        night += tb.night_units[o, ln, t]
    if materials is None:
        materials = materials_min_low_carbon(tb, carbon_value_rank(tb))
    return canonical(tb, genome(line, materials, start))[0]


def seeds(tb: Tables, fixed_materials: np.ndarray | None = None) -> np.ndarray:
    """Distinct heuristic plans, each pushed to feasibility by a violation descent."""
    from models.planning.polish import improve

    mats = [materials_min_low_carbon(tb, carbon_value_rank(tb)), materials_all_low_carbon(tb)]
    if fixed_materials is not None:
        mats = [fixed_materials]
    plans = [fifo_plan(tb)]
    if fixed_materials is not None:
        plans[0][tb.n : 2 * tb.n] = fixed_materials
    for m in mats:
        plans.append(edd_plan(tb, m))
        for key in ("carbon", "cost"):
            for window in (16, 48, 96):
                plans.append(greedy_plan(tb, key, window, m))
    plans = np.unique(np.array(plans), axis=0)
    zero = lambda d: np.zeros(len(d.CV))  # noqa: E731 - feasibility only
    fixed = fixed_materials is not None
    repaired = [
        improve(
            tb, x, zero, max_passes=20, t_stride=4, fixed_materials=fixed, stop_when_feasible=True
        )
        for x in plans
    ]
    out = np.unique(np.concatenate([plans, np.array(repaired)]), axis=0)
    d = decode(tb, out)
    # feasible ones first so a truncated initial population keeps them
    return out[np.argsort(d.CV, kind="stable")]

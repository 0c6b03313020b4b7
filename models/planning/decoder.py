"""Decode genomes into schedules and their figures, a whole population at once.

Each line's orders are placed in desired-start order (ties by order index), each at the first
valid slot >= max(desired start, previous end + changeover). The loop runs over the n order
positions and is vectorised across the population, so a generation of 200 plans of 50 orders is
50 small numpy steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.planning.tables import Tables

# shares are sums of fractional units: a bound met to within rounding counts as met (the exact
# solver uses the same tolerance)
SHARE_TOL = 1e-9


@dataclass(frozen=True)
class Decoded:
    line: np.ndarray  # (P, n) line index actually used
    material: np.ndarray  # (P, n)
    start: np.ndarray  # (P, n) actual start slot, T if not placed
    placed: np.ndarray  # (P, n) bool
    on_time: np.ndarray  # (P, n) bool
    kg_energy: np.ndarray  # (P,)
    kg_material: np.ndarray
    cost_energy: np.ndarray
    cost_material: np.ndarray
    kwh: np.ndarray
    night_share: np.ndarray
    low_carbon_share: np.ndarray
    unplaced_share: np.ndarray
    on_time_share: np.ndarray  # priority-weighted D
    late_hours: np.ndarray  # priority-weighted lateness, hours (unplaced orders count to T)
    night_bounds: tuple[float, float]
    low_carbon_min: float

    @property
    def kg_co2e(self) -> np.ndarray:
        return self.kg_energy + self.kg_material

    @property
    def cost(self) -> np.ndarray:
        return self.cost_energy + self.cost_material

    @property
    def F(self) -> np.ndarray:
        return np.column_stack([self.kg_co2e, self.cost, 1.0 - self.on_time_share])

    @property
    def G(self) -> np.ndarray:
        lo, hi = self.night_bounds
        return np.column_stack(
            [
                lo - self.night_share - SHARE_TOL,
                self.night_share - hi - SHARE_TOL,
                self.low_carbon_min - self.low_carbon_share - SHARE_TOL,
                self.unplaced_share,
            ]
        )

    @property
    def CV(self) -> np.ndarray:
        return np.maximum(self.G, 0.0).sum(axis=1)

    @property
    def feasible(self) -> np.ndarray:
        return self.CV <= 0.0


def split(X: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return X[:, :n], X[:, n : 2 * n], X[:, 2 * n : 3 * n]


def decode(tb: Tables, X: np.ndarray) -> Decoded:
    X = np.atleast_2d(np.asarray(X, dtype=np.int64))
    P, n, T = X.shape[0], tb.n, tb.T
    line_g, mat_g, desired = split(X, n)
    rows = np.arange(P)
    cols = np.arange(n)[None, :]
    line = tb.line_map[cols, np.clip(line_g, 0, tb.n_lines - 1)]
    mat = np.clip(mat_g, 0, tb.n_materials[None, :] - 1)
    desired = np.clip(desired, 0, T - 1)

    order = np.argsort(desired * n + cols, axis=1, kind="stable")
    free = np.zeros((P, tb.n_lines), dtype=np.int64)
    last_sku = np.full((P, tb.n_lines), -1, dtype=np.int64)
    start = np.full((P, n), T, dtype=np.int64)
    for k in range(n):
        o = order[:, k]
        ln = line[rows, o]
        sku = tb.sku_index[o]
        prev = last_sku[rows, ln]
        gap = np.where(prev >= 0, tb.changeover[np.maximum(prev, 0), sku], 0)
        t0 = np.minimum(np.maximum(desired[rows, o], free[rows, ln] + gap), T)
        t = tb.next_start[o, ln, t0]
        ok = t < T
        start[rows, o] = t
        free[rows, ln] = np.where(ok, t + tb.p[o, ln], free[rows, ln])
        last_sku[rows, ln] = np.where(ok, sku, prev)

    placed = start < T
    s_c = np.minimum(start, T - 1)
    kg_e = np.where(placed, tb.energy_kg[cols, line, s_c], 0.0).sum(axis=1)
    cost_e = np.where(placed, tb.energy_cost[cols, line, s_c], 0.0).sum(axis=1)
    night_u = np.where(placed, tb.night_units[cols, line, s_c], 0.0).sum(axis=1)
    kwh = np.where(placed, tb.kwh[cols, line], 0.0).sum(axis=1)
    kg_m = tb.material_kg[cols, mat].sum(axis=1)
    cost_m = tb.material_cost[cols, mat].sum(axis=1)
    lc_units = (tb.material_low_carbon[cols, mat] * tb.quantity[None, :]).sum(axis=1)
    end = np.where(placed, start + tb.p[cols, line], T)
    on_time = placed & (end <= tb.due_slot[None, :])
    lateness = np.maximum(end - tb.due_slot[None, :], 0) * tb.slot_hours
    Q = tb.total_units
    d = Decoded(
        line=line,
        material=mat,
        start=start,
        placed=placed,
        on_time=on_time,
        kg_energy=kg_e,
        kg_material=kg_m,
        cost_energy=cost_e,
        cost_material=cost_m,
        kwh=kwh,
        night_share=night_u / Q,
        low_carbon_share=lc_units / Q,
        unplaced_share=((~placed) * tb.quantity[None, :]).sum(axis=1) / Q,
        on_time_share=(on_time * tb.weight[None, :]).sum(axis=1),
        late_hours=(lateness * tb.weight[None, :]).sum(axis=1) * tb.n,
        night_bounds=tb.night_bounds,
        low_carbon_min=tb.low_carbon_min,
    )
    return d


def canonical(tb: Tables, X: np.ndarray, with_decoded: bool = False):
    """The genome with eligible lines, valid materials and actual starts (unplaced keep theirs).
    Decoding is idempotent on it, so `with_decoded` also returns its figures."""
    X = np.atleast_2d(np.asarray(X, dtype=np.int64)).copy()
    d = decode(tb, X)
    n = tb.n
    X[:, :n] = d.line
    X[:, n : 2 * n] = d.material
    X[:, 2 * n :] = np.where(d.placed, d.start, np.clip(X[:, 2 * n :], 0, tb.T - 1))
    return (X, d) if with_decoded else X


def genome(line, material, start) -> np.ndarray:
    return np.concatenate([np.asarray(line), np.asarray(material), np.asarray(start)]).astype(
        np.int64
    )

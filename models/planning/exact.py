"""The true optimum of the decision rule's FV on small instances, to prove the optimizer finds it.

`solve_milp` is a time-indexed MILP solved by HiGHS (scipy.optimize.milp): x[o,l,t] = order o
starts on line l at slot t, y[o,k] = order o uses material k, u[o] = order o is on time. FV is
linear in these, and so is every constraint:
  each order starts once and has one material; u[o] <= sum of its on-time starts;
  at most one block covers a slot of a line; two orders of different SKUs on a line are apart by
  at least the changeover (pairwise windows: exact when changeovers obey the triangle
  inequality, as `PlanningInstance` requires); night share within bounds; low-carbon share >= min.
`enumerate_best` tries every (line, material, start) combination; only for toy instances.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from time import perf_counter

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from models.planning.decision import Baseline, Weights, fitness
from models.planning.decoder import SHARE_TOL, canonical, decode, genome
from models.planning.tables import Tables

# scales the objective so HiGHS's absolute gap (1e-6) is far below any FV difference that matters
_SCALE = 1e4


@dataclass(frozen=True)
class ExactResult:
    fv: float  # FV of the optimum, re-evaluated by the decoder
    milp_fv: float  # FV the MILP reported (must agree with fv)
    x: np.ndarray  # canonical genome of the optimum
    seconds: float
    status: str


def solve_milp(
    tb: Tables, baseline: Baseline, weights: Weights, time_limit_s: float = 120.0
) -> ExactResult | None:
    """The FV-optimal feasible plan, or None if the instance has no feasible plan."""
    began = perf_counter()
    n, L, T = tb.n, tb.n_lines, tb.T
    ca = weights.alpha / baseline.kg_co2e
    cb = weights.beta / baseline.cost
    cg = weights.gamma / baseline.on_time_reference

    xs = np.argwhere(tb.valid)  # (o, l, t)
    nx = len(xs)
    x_index = -np.ones((n, L, T), dtype=np.int64)
    x_index[xs[:, 0], xs[:, 1], xs[:, 2]] = np.arange(nx)
    ys = [(o, k) for o in range(n) for k in range(tb.n_materials[o])]
    ny = len(ys)
    nv = nx + ny + n
    o_, l_, t_ = xs[:, 0], xs[:, 1], xs[:, 2]

    c = np.zeros(nv)
    c[:nx] = ca * tb.energy_kg[o_, l_, t_] + cb * tb.energy_cost[o_, l_, t_]
    for j, (o, k) in enumerate(ys):
        c[nx + j] = ca * tb.material_kg[o, k] + cb * tb.material_cost[o, k]
    c[nx + ny :] = -cg * tb.weight

    rows, cols, vals, lo, hi = [], [], [], [], []

    def add(entries, lb, ub):
        r = len(lo)
        for col, val in entries:
            rows.append(r)
            cols.append(col)
            vals.append(val)
        lo.append(lb)
        hi.append(ub)

    p_of = tb.p[o_, l_]
    for o in range(n):
        add([(j, 1.0) for j in np.flatnonzero(o_ == o)], 1, 1)
        add([(nx + j, 1.0) for j, (oo, _) in enumerate(ys) if oo == o], 1, 1)
        on_time = np.flatnonzero((o_ == o) & (t_ + p_of <= tb.due_slot[o]))
        add([(nx + ny + o, 1.0)] + [(j, -1.0) for j in on_time], -np.inf, 0)
    # one block per slot and line
    cover: dict[tuple[int, int], list[int]] = {}
    for j in range(nx):
        for tau in range(t_[j], t_[j] + p_of[j]):
            cover.setdefault((l_[j], tau), []).append(j)
    for js in cover.values():
        if len(js) > 1:
            add([(j, 1.0) for j in js], -np.inf, 1)
    # changeovers between orders of different SKUs
    for ln in range(L):
        for o, o2 in itertools.permutations(range(n), 2):
            s12 = tb.changeover[tb.sku_index[o], tb.sku_index[o2]]
            s21 = tb.changeover[tb.sku_index[o2], tb.sku_index[o]]
            if o > o2 or (s12 == 0 and s21 == 0):
                continue
            if not (tb.eligible[o, ln] and tb.eligible[o2, ln]):
                continue
            p1, p2 = tb.p[o, ln], tb.p[o2, ln]
            for t in np.flatnonzero(tb.valid[o, ln]):
                a, b = max(0, t - p2 - s21 + 1), min(T - 1, t + p1 + s12 - 1)
                win = x_index[o2, ln, a : b + 1]
                win = win[win >= 0]
                if len(win):
                    add([(x_index[o, ln, t], 1.0)] + [(j, 1.0) for j in win], -np.inf, 1)
    Q = tb.total_units
    night = tb.night_units[o_, l_, t_]
    lo_n, hi_n = tb.night_bounds
    add(
        [(j, night[j]) for j in range(nx) if night[j] > 0],
        (lo_n - SHARE_TOL) * Q,
        (hi_n + SHARE_TOL) * Q,
    )
    lc = [(nx + j, tb.quantity[o]) for j, (o, k) in enumerate(ys) if tb.material_low_carbon[o, k]]
    add(lc, (tb.low_carbon_min - SHARE_TOL) * Q, np.inf)

    A = coo_matrix((vals, (rows, cols)), shape=(len(lo), nv)).tocsr()
    res = milp(
        c * _SCALE,
        constraints=LinearConstraint(A, lo, hi),
        integrality=np.ones(nv),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0, "time_limit": time_limit_s, "presolve": True},
    )
    if res.x is None:
        return None
    z = np.rint(res.x).astype(np.int64)
    line, mat, start = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    for j in np.flatnonzero(z[:nx]):
        line[o_[j]], start[o_[j]] = l_[j], t_[j]
    for j in np.flatnonzero(z[nx : nx + ny]):
        mat[ys[j][0]] = ys[j][1]
    x = genome(line, mat, start)
    xc = canonical(tb, x)[0]
    if not np.array_equal(xc[2 * n :], start):
        raise AssertionError("the decoder does not reproduce the MILP schedule")
    d = decode(tb, xc)
    if not d.feasible[0]:
        raise AssertionError("the MILP optimum violates a constraint of the decoder")
    fv = float(fitness(d.kg_co2e, d.cost, d.on_time_share, baseline, weights)[0])
    milp_fv = weights.alpha + weights.beta - float(res.fun) / _SCALE
    status = "optimal" if res.status == 0 else f"status {res.status}: {res.message}"
    return ExactResult(fv, milp_fv, xc, perf_counter() - began, status)


def enumerate_best(
    tb: Tables, baseline: Baseline, weights: Weights, max_plans: int = 2_000_000
) -> ExactResult | None:
    """Brute force over every (line, material, start) per order: toy instances only."""
    began = perf_counter()
    options = []
    for o in range(tb.n):
        opts = [
            (ln, k, t)
            for ln in range(tb.n_lines)
            for t in np.flatnonzero(tb.valid[o, ln])
            for k in range(tb.n_materials[o])
        ]
        options.append(opts)
    total = int(np.prod([len(x) for x in options]))
    if total > max_plans:
        raise ValueError(f"{total} plans: too many to enumerate")
    rows = [
        genome([c[0] for c in combo], [c[1] for c in combo], [c[2] for c in combo])
        for combo in itertools.product(*options)
    ]
    X = np.array(rows)
    d = decode(tb, X)
    # a combination the decoder has to shift is not the schedule it names: skip it
    exact = d.feasible & np.all(d.start == X[:, 2 * tb.n :], axis=1)
    if not exact.any():
        return None
    fv = np.where(exact, fitness(d.kg_co2e, d.cost, d.on_time_share, baseline, weights), -np.inf)
    j = int(np.argmax(fv))
    return ExactResult(float(fv[j]), float(fv[j]), X[j], perf_counter() - began, "enumerated")

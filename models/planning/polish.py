"""Deterministic best-improvement local search on one plan, lexicographic on (constraint
violation, -FV). Used twice: to make heuristic seeds feasible (FV ignored) and to refine the
decision rule's pick from the NSGA-II front (the memetic step that lifts the hit rate).

Neighbourhood of a plan, all evaluated as one batch through the vectorised decoder:
relocate one order to any (line, start slot), switch one order's material, switch the materials
of two orders at once (keeps the low-carbon share when it is tight), swap two orders' (line, start),
insert one order before another, and (small instances) shift a run of consecutive orders on a
line together. Past a local optimum on a small instance: every joint relocation of two orders
and every block shift followed by a relocation (a tight night-share bound often makes one move
pay only together with another).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.planning.decoder import Decoded, canonical, decode
from models.planning.tables import Tables

Score = Callable[[Decoded], np.ndarray]  # higher is better, per row
_CHUNK = 8192
# block shifts join the single moves on instances up to this many orders
SMALL_N = 12
_EPS = 1e-12


def neighbours(tb: Tables, x: np.ndarray, t_stride: int = 1, fixed_materials: bool = False):
    """Candidate genomes around x (rows), in a fixed order so the search is deterministic."""
    n, T = tb.n, tb.T
    line, mat, start = x[:n], x[n : 2 * n], x[2 * n :]
    out = []
    grid = np.arange(0, T, t_stride)
    for o in range(n):
        near = start[o] + np.arange(-t_stride, t_stride + 1)
        starts = np.unique(np.concatenate([grid, near[(near >= 0) & (near < T)]]))
        for ln in np.flatnonzero(tb.eligible[o]):
            c = np.repeat(x[None, :], len(starts), axis=0)
            c[:, o] = ln
            c[:, 2 * n + o] = starts
            out.append(c)
    if not fixed_materials:
        for o in range(n):
            for k in range(tb.n_materials[o]):
                if k != mat[o]:
                    c = x.copy()
                    c[n + o] = k
                    out.append(c[None, :])
        for o in range(n):
            for o2 in range(o + 1, n):
                for k in range(tb.n_materials[o]):
                    for k2 in range(tb.n_materials[o2]):
                        if k != mat[o] and k2 != mat[o2]:
                            c = x.copy()
                            c[n + o], c[n + o2] = k, k2
                            out.append(c[None, :])
    if n <= SMALL_N:
        out.append(block_shifts(tb, x))
    for o in range(n):
        for o2 in range(o + 1, n):
            c = x.copy()
            c[o], c[o2] = line[o2], line[o]
            c[2 * n + o], c[2 * n + o2] = start[o2], start[o]
            out.append(c[None, :])
    # insert o just before o2 on o2's line (o2 and what follows are pushed by the decoder);
    # a plain relocation cannot express it when the two would tie on the desired start
    for o in range(n):
        for o2 in range(n):
            if o != o2 and tb.eligible[o, line[o2]] and start[o2] + 1 < T:
                c = x.copy()
                c[o], c[2 * n + o], c[2 * n + o2] = line[o2], start[o2], start[o2] + 1
                out.append(c[None, :])
    return np.concatenate(out, axis=0)


def block_shifts(tb: Tables, x: np.ndarray, max_shift: int = 6) -> np.ndarray:
    """Shift a run of consecutive orders on a line (two or more) together by 1..max_shift
    slots either way: moves a whole stretch of the line to cleaner or cheaper hours."""
    n, T = tb.n, tb.T
    d = decode(tb, x[None, :])
    out = []
    for ln in range(tb.n_lines):
        on = np.flatnonzero((d.line[0] == ln) & d.placed[0])
        on = on[np.argsort(d.start[0, on])]
        for i in range(len(on)):
            for j in range(i + 2, len(on) + 1):
                for delta in range(-max_shift, max_shift + 1):
                    if delta:
                        c = x.copy()
                        c[2 * n + on[i:j]] = np.clip(c[2 * n + on[i:j]] + delta, 0, T - 1)
                        out.append(c)
    return np.array(out).reshape(-1, len(x))


def pair_relocations(tb: Tables, x: np.ndarray, limit: int) -> np.ndarray | None:
    """Every (line, start) for two orders at once; None if there would be more than `limit`."""
    n, T = tb.n, tb.T
    slots = [
        np.array([(ln, t) for ln in np.flatnonzero(tb.eligible[o]) for t in range(T)])
        for o in range(n)
    ]
    total = sum(len(slots[a]) * len(slots[b]) for a in range(n) for b in range(a + 1, n))
    if total > limit:
        return None
    out = []
    for a in range(n):
        for b in range(a + 1, n):
            sa, sb = slots[a], slots[b]
            c = np.repeat(x[None, :], len(sa) * len(sb), axis=0)
            c[:, a] = np.repeat(sa[:, 0], len(sb))
            c[:, 2 * n + a] = np.repeat(sa[:, 1], len(sb))
            c[:, b] = np.tile(sb[:, 0], len(sa))
            c[:, 2 * n + b] = np.tile(sb[:, 1], len(sa))
            out.append(c)
    # a block shift followed by one relocation
    for b in block_shifts(tb, x):
        for a in range(n):
            sa = slots[a]
            c = np.repeat(b[None, :], len(sa), axis=0)
            c[:, a] = sa[:, 0]
            c[:, 2 * n + a] = sa[:, 1]
            out.append(c)
    return np.concatenate(out) if out else None


def _evaluate(tb: Tables, X: np.ndarray, score: Score) -> tuple[np.ndarray, np.ndarray]:
    cv, sc = [], []
    for i in range(0, len(X), _CHUNK):
        d = decode(tb, X[i : i + _CHUNK])
        cv.append(d.CV)
        sc.append(score(d))
    return np.concatenate(cv), np.concatenate(sc)


def improve(
    tb: Tables,
    x: np.ndarray,
    score: Score,
    max_passes: int = 100,
    t_stride: int = 1,
    fixed_materials: bool = False,
    stop_when_feasible: bool = False,
    pair_moves: bool = False,
    max_pair_candidates: int = 300_000,
) -> np.ndarray:
    """Best-improvement descent from x: fewer violations first, then a higher score. With
    `pair_moves`, a local optimum is escaped by the best joint relocation of two orders, when
    there are at most `max_pair_candidates` of them (small instances)."""
    x = canonical(tb, x)[0]
    cv, sc = (v[0] for v in _evaluate(tb, x[None, :], score))
    for _ in range(max_passes):
        if stop_when_feasible and cv <= 0:
            break
        cand = neighbours(tb, x, t_stride, fixed_materials)
        ccv, csc = _evaluate(tb, cand, score)
        best_cv = ccv.min()
        if best_cv < cv - _EPS:
            pool = np.flatnonzero(ccv <= best_cv + _EPS)
        elif best_cv <= cv + _EPS:
            pool = np.flatnonzero((ccv <= cv + _EPS) & (csc > sc + _EPS))
        else:
            break
        if len(pool):
            j = pool[np.argmax(csc[pool])]
            x = canonical(tb, cand[j])[0]
            cv, sc = ccv[j], csc[j]
            continue
        if cv > 0 or not pair_moves:
            break
        # a local optimum for single moves: try every joint relocation of two orders (exact
        # two-order re-insertion), when the instance is small enough for it
        cand = pair_relocations(tb, x, max_pair_candidates)
        if cand is None:
            break
        ccv, csc = _evaluate(tb, cand, score)
        ok = np.flatnonzero((ccv <= _EPS) & (csc > sc + _EPS))
        if len(ok) == 0:
            break
        j = ok[np.argmax(csc[ok])]
        x = canonical(tb, cand[j])[0]
        cv, sc = ccv[j], csc[j]
    return x

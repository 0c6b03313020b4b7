"""pymoo operators for the (line, material, desired start) genome: seeded sampling, a two-point
crossover over orders (whole orders change hands, as in the reference study), a vectorised
mutation whose moves mirror what a planner does (nudge, move to another time, another line,
another material, swap two orders), and a callback that remembers the best-FV feasible plan seen.
"""

from __future__ import annotations

import numpy as np
from pymoo.core.callback import Callback
from pymoo.core.crossover import Crossover
from pymoo.core.mutation import Mutation
from pymoo.core.sampling import Sampling
from pymoo.core.survival import Survival
from pymoo.operators.survival.rank_and_crowding.metrics import get_crowding_function
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from pymoo.util.randomized_argsort import randomized_argsort

from models.planning.tables import Tables

# move probabilities for a mutated order: nudge, anywhere, line, material, swap
MOVES = np.array([0.35, 0.15, 0.2, 0.15, 0.15])
MAX_NUDGE = 8


def _random_eligible_line(tb: Tables, orders: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    counts = tb.eligible[orders].sum(axis=1)
    pick = (rng.random(len(orders)) * counts).astype(np.int64)
    # the pick-th eligible line of each order
    rank = np.cumsum(tb.eligible[orders], axis=1) - 1
    return np.argmax((rank == pick[:, None]) & tb.eligible[orders], axis=1)


def mutate(
    X: np.ndarray,
    tb: Tables,
    xl: np.ndarray,
    xu: np.ndarray,
    prob_var: float,
    rng: np.random.Generator,
) -> np.ndarray:
    X = X.copy()
    P, n, T = X.shape[0], tb.n, tb.T
    hit = rng.random((P, n)) < prob_var
    # every child changes somewhere: an unchanged copy of a parent is a duplicate pymoo would
    # throw away and mate again for
    none = ~hit.any(axis=1)
    hit[np.flatnonzero(none), rng.integers(0, n, size=none.sum())] = True
    kind = rng.choice(len(MOVES), size=(P, n), p=MOVES / MOVES.sum())
    rows, orders = np.nonzero(hit)
    kinds = kind[rows, orders]
    starts = X[rows, 2 * n + orders]

    m = kinds == 0
    step = rng.integers(1, MAX_NUDGE + 1, size=m.sum()) * rng.choice([-1, 1], size=m.sum())
    X[rows[m], 2 * n + orders[m]] = np.clip(starts[m] + step, 0, T - 1)
    m = kinds == 1
    X[rows[m], 2 * n + orders[m]] = rng.integers(0, T, size=m.sum())
    m = kinds == 2
    X[rows[m], orders[m]] = _random_eligible_line(tb, orders[m], rng)
    m = kinds == 3
    span = tb.n_materials[orders[m]]
    X[rows[m], n + orders[m]] = (rng.random(m.sum()) * span).astype(np.int64)
    for r, o in zip(rows[kinds == 4], orders[kinds == 4], strict=True):
        o2 = rng.integers(n)
        for seg in (0, 2):
            a, b = seg * n + o, seg * n + o2
            X[r, a], X[r, b] = X[r, b], X[r, a]
    return np.clip(X, xl, xu)


class SeededSampling(Sampling):
    """The heuristic seeds first, then mutated copies of them, then random plans."""

    def __init__(self, seeds: np.ndarray, mutated_share: float = 0.5):
        super().__init__()
        self.seeds = np.atleast_2d(seeds)
        self.mutated_share = mutated_share

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        tb: Tables = problem.tables
        rng = random_state
        seeds = self.seeds[:n_samples]
        n_mut = int(round((n_samples - len(seeds)) * self.mutated_share))
        n_rand = n_samples - len(seeds) - n_mut
        base = seeds[np.arange(n_mut) % len(seeds)]
        mutated = mutate(base, tb, problem.xl, problem.xu, max(0.2, 2.0 / tb.n), rng)
        n = tb.n
        rand = np.empty((n_rand, 3 * n), dtype=np.int64)
        rand[:, :n] = (
            np.column_stack([_random_eligible_line(tb, np.full(n_rand, o), rng) for o in range(n)])
            if n_rand
            else rand[:, :n]
        )
        rand[:, n : 2 * n] = (rng.random((n_rand, n)) * tb.n_materials).astype(np.int64)
        # random order with some idle time: desired starts in the first half of the horizon
        rand[:, 2 * n :] = rng.integers(0, max(1, tb.T // 2), size=(n_rand, n))
        X = np.concatenate([seeds, mutated, np.clip(rand, problem.xl, problem.xu)])
        return X


class OrderTwoPointCrossover(Crossover):
    """Two cut points over the order index; the orders between them swap all three genes."""

    def __init__(self, prob: float = 0.8):
        super().__init__(2, 2, prob=prob)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        _, n_matings, n_var = X.shape
        n = n_var // 3
        cuts = np.sort(random_state.integers(0, n + 1, size=(n_matings, 2)), axis=1)
        idx = np.arange(n)[None, :]
        mask_orders = (idx >= cuts[:, :1]) & (idx < cuts[:, 1:])
        mask = np.tile(mask_orders, (1, 3))
        a, b = X[0].copy(), X[1].copy()
        a[mask], b[mask] = X[1][mask], X[0][mask]
        return np.stack([a, b])


class PlanMutation(Mutation):
    def __init__(self, prob_var: float | None = None):
        super().__init__(prob=1.0)
        self.order_prob = prob_var

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        tb: Tables = problem.tables
        pv = self.order_prob if self.order_prob is not None else max(0.05, 1.0 / tb.n)
        return mutate(np.asarray(X, dtype=np.int64), tb, problem.xl, problem.xu, pv, random_state)


class BestFitnessArchive(Callback):
    """Keeps the feasible plan with the highest FV over all generations (NSGA-II's crowding can
    drop it from a large first front)."""

    def __init__(self, fv_of_F):
        super().__init__()
        self.fv_of_F = fv_of_F
        self.best_x: np.ndarray | None = None
        self.best_fv = -np.inf

    def notify(self, algorithm):
        for pop in (algorithm.pop, algorithm.off):
            if pop is None or len(pop) == 0 or pop.get("F") is None:
                continue
            F, cv = pop.get("F"), pop.get("CV").ravel()
            if F.size == 0:
                continue
            fv = np.where(cv <= 0, self.fv_of_F(F), -np.inf)
            j = int(np.argmax(fv))
            if fv[j] > self.best_fv:
                self.best_fv = float(fv[j])
                self.best_x = np.asarray(pop[j].X, dtype=np.int64).copy()


class EliteSurvival(Survival):
    """NSGA-II survival with the reference study's elitism: the best `elite_share` of feasible
    plans by FV always survive, the rest is chosen by rank and crowding as usual (feasible
    first, then the least violating). The decision rule is known before the search, so the
    region it will pick from is never starved."""

    def __init__(self, fv_of_F, elite_share: float = 0.3):
        super().__init__(filter_infeasible=False)
        self.fv_of_F = fv_of_F
        self.elite_share = elite_share
        self.nds = NonDominatedSorting()
        self.crowding = get_crowding_function("cd")

    def _rank_and_crowd(self, F: np.ndarray, idx: np.ndarray, need: int, random_state):
        """Up to `need` of idx by rank then crowding; their rank and crowding distance."""
        picked, ranks, crowds = [], [], []
        if len(idx) == 0 or need <= 0:
            return np.array([], dtype=int), np.array([]), np.array([])
        for r, front in enumerate(self.nds.do(F[idx], n_stop_if_ranked=need)):
            members = idx[front]
            if len(members) > need:
                cd = self.crowding.do(F[members], n_remove=len(members) - need)
                keep = randomized_argsort(
                    cd, order="descending", method="numpy", random_state=random_state
                )[:need]
                members, cd = members[keep], cd[keep]
            else:
                cd = self.crowding.do(F[members], n_remove=0)
            picked.append(members)
            ranks.append(np.full(len(members), r))
            crowds.append(cd)
            need -= len(members)
            if need <= 0:
                break
        return np.concatenate(picked), np.concatenate(ranks), np.concatenate(crowds)

    def _do(self, problem, pop, *args, n_survive=None, random_state=None, **kwargs):
        F, cv = pop.get("F"), pop.get("CV").ravel()
        feasible = cv <= 0
        fv = np.where(feasible, self.fv_of_F(F), -np.inf)
        k = min(int(self.elite_share * n_survive), int(feasible.sum()))
        elite = np.argsort(-fv, kind="stable")[:k]
        rest = np.setdiff1d(np.flatnonzero(feasible), elite)
        kept, _, _ = self._rank_and_crowd(F, rest, n_survive - k, random_state)
        chosen = np.concatenate([elite, kept]).astype(int)
        if len(chosen) < n_survive:
            infeasible = np.flatnonzero(~feasible)
            infeasible = infeasible[np.argsort(cv[infeasible], kind="stable")]
            chosen = np.concatenate([chosen, infeasible[: n_survive - len(chosen)]])
        survivors = pop[chosen]
        # rank and crowding over the survivors, for the binary tournament
        rank = np.full(len(chosen), np.inf)
        crowd = np.zeros(len(chosen))
        feas_s = np.flatnonzero(feasible[chosen])
        idx, r, c = self._rank_and_crowd(F[chosen], feas_s, len(feas_s), random_state)
        rank[idx], crowd[idx] = r, c
        survivors.set("rank", rank, "crowding", crowd)
        return survivors

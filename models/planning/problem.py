"""A planning instance (plain data) and the pymoo `Problem` over it.

The genome of a plan holds three integer genes per order, stored as three segments of length n:
``[line_0..line_{n-1}, material_0..material_{n-1}, start_0..start_{n-1}]``. `start` is the
*desired* start slot; the decoder (`decoder.py`) places each line's orders in desired-start order,
each at the first slot >= its desired start that respects the previous order's end plus the
changeover and the line's availability. Any feasible non-overlapping schedule is reached by setting
the desired starts to its actual starts, so the encoding loses no plan; the repair writes actual
starts back (Lamarckian), which makes genomes canonical and duplicate elimination meaningful.

Objectives (all minimised): F0 emissions kgCO2e (energy x grid intensity + embodied material),
F1 cost (energy x tariff + material), F2 priority-weighted late share (1 - on-time share D).
Constraints, real pymoo ``G <= 0`` rather than penalties: G0/G1 night-shift share of units within
its bounds, G2 low-carbon material share of units >= its minimum, G3 share of units that cannot
be placed in the horizon (> 0 means some order does not fit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair

N_OBJ = 3
N_CONSTR = 4
OBJECTIVES = ("kg_co2e", "cost", "late_share")
CONSTRAINTS = ("night_share_min", "night_share_max", "low_carbon_share_min", "unplaced_share")


@dataclass(frozen=True)
class Order:
    """An open order. `due` is timezone-aware; `priority` weighs it in the on-time share."""

    order_id: str
    sku: str
    quantity: int
    due: datetime
    priority: float = 1.0


@dataclass(frozen=True)
class MaterialOption:
    """A material an SKU can be made from, per unit of product."""

    name: str
    kg_co2e_per_unit: float
    cost_per_unit: float
    low_carbon: bool = False


@dataclass(frozen=True)
class Line:
    """A production line; `unavailable` lists [start, end) windows (maintenance, no crew)."""

    line_id: str
    unavailable: tuple[tuple[datetime, datetime], ...] = ()


@dataclass(frozen=True)
class ShiftCalendar:
    """Shifts in local time as (name, start hour, end hour); one of them is the night shift."""

    timezone: str = "Europe/London"
    shifts: tuple[tuple[str, int, int], ...] = (("A", 6, 14), ("B", 14, 22), ("C", 22, 6))
    night_shift: str = "C"
    night_share_bounds: tuple[float, float] = (0.2, 0.4)

    def shift_of_hour(self, hour: int) -> str:
        for name, start, end in self.shifts:
            inside = start <= hour < end if start < end else (hour >= start or hour < end)
            if inside:
                return name
        raise ValueError(f"hour {hour} is in no shift of {self.shifts}")


@dataclass(frozen=True)
class PlanningInstance:
    """Everything the planner needs, as plain data.

    rates: (sku, line_id) -> units/hour; a missing pair means the line cannot make the SKU.
    kwh_per_unit: (sku, line_id) -> measured kWh per unit (summed over the steps on that line).
    intensity: kgCO2e/kWh per slot; tariff: currency/kWh per slot (both length n_slots).
    changeover_minutes: (sku_from, sku_to) -> minutes; unlisted pairs of different SKUs take
    `default_changeover_minutes`, same SKU none. Values must satisfy the triangle inequality
    (the exact solver checks changeovers pairwise, the decoder between neighbours).
    """

    orders: tuple[Order, ...]
    lines: tuple[Line, ...]
    rates: Mapping[tuple[str, str], float]
    kwh_per_unit: Mapping[tuple[str, str], float]
    materials: Mapping[str, tuple[MaterialOption, ...]]
    start: datetime
    n_slots: int
    intensity: np.ndarray
    tariff: np.ndarray
    slot_minutes: int = 15
    calendar: ShiftCalendar = field(default_factory=ShiftCalendar)
    changeover_minutes: Mapping[tuple[str, str], float] = field(default_factory=dict)
    default_changeover_minutes: float = 0.0
    low_carbon_min_share: float = 0.3
    currency: str = "GBP"
    name: str = "instance"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        for arr, label in ((self.intensity, "intensity"), (self.tariff, "tariff")):
            if len(arr) != self.n_slots:
                raise ValueError(f"{label} has {len(arr)} values for {self.n_slots} slots")
        for order in self.orders:
            if not self.materials.get(order.sku):
                raise ValueError(f"no material option for SKU {order.sku}")
            if not any((order.sku, line.line_id) in self.rates for line in self.lines):
                raise ValueError(f"no line can make SKU {order.sku}")

    def slot_start(self, slot: int) -> datetime:
        return self.start + timedelta(minutes=self.slot_minutes * slot)


class PlanningProblem(Problem):
    """Integer genome (line, material, desired start per order) -> F (3) and G (4)."""

    def __init__(self, tables, fixed_materials: np.ndarray | None = None):
        # imported here to keep this module free of a cycle: tables imports the data classes
        from models.planning.decoder import decode

        self.tables = tables
        self._decode = decode
        n = tables.n
        xl = np.zeros(3 * n, dtype=int)
        xu = np.concatenate(
            [np.full(n, tables.n_lines - 1), tables.n_materials - 1, np.full(n, tables.T - 1)]
        )
        if fixed_materials is not None:
            xl[n : 2 * n] = fixed_materials
            xu[n : 2 * n] = fixed_materials
        super().__init__(n_var=3 * n, n_obj=N_OBJ, n_ieq_constr=N_CONSTR, xl=xl, xu=xu, vtype=int)

        # the repair decodes every offspring anyway: keep its figures for the evaluation
        self.cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def _evaluate(self, X, out, *args, **kwargs):
        X = np.rint(X).astype(np.int64)
        F = np.empty((len(X), N_OBJ))
        G = np.empty((len(X), N_CONSTR))
        missing = []
        for i, row in enumerate(X):
            hit = self.cache.get(row.tobytes())
            if hit is None:
                missing.append(i)
            else:
                F[i], G[i] = hit
        if missing:
            plans = self._decode(self.tables, X[missing])
            F[missing], G[missing] = plans.F, plans.G
        self.cache.clear()
        out["F"], out["G"] = F, G


class PlanRepair(Repair):
    """Maps genes into their domain and writes the decoded (actual) starts back."""

    def _do(self, problem, X, **kwargs):
        from models.planning.decoder import canonical  # noqa: I001 - avoids an import cycle

        X = np.rint(np.asarray(X, dtype=float)).astype(np.int64)
        X = np.clip(X, problem.xl, problem.xu)
        X, plans = canonical(problem.tables, X, with_decoded=True)
        F, G = plans.F, plans.G
        # a plan with an unplaced order can decode differently once canonical: not cached
        for i in np.flatnonzero(plans.placed.all(axis=1)):
            problem.cache[X[i].tobytes()] = (F[i], G[i])
        return X

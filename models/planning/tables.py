"""Compile a `PlanningInstance` into the arrays the decoder, the heuristics and the exact solver
share: per (order, line, start slot) the emissions, cost and night-shift units of the whole block,
and where the next feasible start is. Everything slot-dependent is precomputed once, so evaluating
a plan is table look-ups and a sequential pass per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

import numpy as np

from models.planning.problem import PlanningInstance

# a start at T means "not placed"
BIG = 10**9


@dataclass(frozen=True)
class Tables:
    instance: PlanningInstance
    n: int  # orders
    n_lines: int
    T: int  # slots
    slot_hours: float
    quantity: np.ndarray  # (n,) units
    total_units: float
    eligible: np.ndarray  # (n, L) bool
    line_map: np.ndarray  # (n, L) gene -> an eligible line (identity where eligible)
    p: np.ndarray  # (n, L) slots an order takes on a line (BIG where ineligible)
    kwh: np.ndarray  # (n, L) kWh of the whole order on a line
    valid: np.ndarray  # (n, L, T) a block may start here (fits, line available)
    next_start: np.ndarray  # (n, L, T+1) first valid start >= t, T if none
    energy_kg: np.ndarray  # (n, L, T) kgCO2e of the block's energy
    energy_cost: np.ndarray  # (n, L, T)
    night_units: np.ndarray  # (n, L, T)
    n_materials: np.ndarray  # (n,)
    material_kg: np.ndarray  # (n, K) embodied kgCO2e of the whole order
    material_cost: np.ndarray  # (n, K)
    material_low_carbon: np.ndarray  # (n, K) bool
    due_slot: np.ndarray  # (n,) on time iff start + p <= due_slot
    weight: np.ndarray  # (n,) priority weights summing to 1
    sku_index: np.ndarray  # (n,)
    changeover: np.ndarray  # (n_sku, n_sku) slots
    night: np.ndarray  # (T,) bool: slot in the night shift
    shift_of_slot: tuple[str, ...]  # (T,)
    shift_day_of_slot: tuple[str, ...]  # (T,) local date the shift started on
    night_bounds: tuple[float, float]
    low_carbon_min: float


def slot_shifts(instance: PlanningInstance) -> tuple[list[str], list[str]]:
    """Shift name and shift date (local date the shift began) of every slot."""
    tz = ZoneInfo(instance.calendar.timezone)
    names, days = [], []
    for t in range(instance.n_slots):
        local = instance.slot_start(t).astimezone(tz)
        name = instance.calendar.shift_of_hour(local.hour)
        day = local.date()
        # the night shift that began yesterday evening belongs to yesterday's shift date
        start_hour = next(s for n_, s, _ in instance.calendar.shifts if n_ == name)
        if local.hour < start_hour:
            day = day.fromordinal(day.toordinal() - 1)
        names.append(name)
        days.append(day.isoformat())
    return names, days


def _block_sums(values: np.ndarray, per_slot: np.ndarray, last: np.ndarray, p: np.ndarray):
    """For each (order, line, start t): sum of per_slot * values over the first p-1 slots plus
    last * values at slot t+p-1, with zeros where the block would run past the horizon."""
    T = len(values)
    cum = np.concatenate([[0.0], np.cumsum(values)])
    t = np.arange(T)[None, None, :]
    pp = np.minimum(p, T + 1)[:, :, None]
    end = t + pp  # exclusive
    fits = end <= T
    end_c = np.where(fits, end, T)
    last_idx = np.clip(end_c - 1, 0, T - 1)
    full = cum[np.maximum(end_c - 1, t)] - cum[t]
    total = per_slot[:, :, None] * full + last[:, :, None] * values[last_idx]
    return np.where(fits, total, 0.0), fits


def compile_instance(instance: PlanningInstance) -> Tables:
    orders, lines = instance.orders, instance.lines
    n, L, T = len(orders), len(lines), instance.n_slots
    slot_h = instance.slot_minutes / 60.0
    q = np.array([o.quantity for o in orders], dtype=float)

    eligible = np.zeros((n, L), dtype=bool)
    per_slot = np.zeros((n, L))
    e_unit = np.zeros((n, L))
    for i, o in enumerate(orders):
        for j, line in enumerate(lines):
            rate = instance.rates.get((o.sku, line.line_id))
            if rate and rate > 0:
                eligible[i, j] = True
                per_slot[i, j] = rate * slot_h
                e_unit[i, j] = instance.kwh_per_unit[(o.sku, line.line_id)]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(eligible, np.ceil(q[:, None] / np.where(eligible, per_slot, 1) - 1e-9), BIG)
    p = p.astype(np.int64)
    last = np.where(eligible, q[:, None] - (np.minimum(p, BIG) - 1) * per_slot, 0.0)

    line_map = np.zeros((n, L), dtype=np.int64)
    for i in range(n):
        ok = np.flatnonzero(eligible[i])
        for g in range(L):
            line_map[i, g] = g if eligible[i, g] else ok[g % len(ok)]

    # availability: a block is valid only if all its slots are available on the line
    available = np.ones((L, T), dtype=bool)
    for j, line in enumerate(lines):
        for a, b in line.unavailable:
            for t in range(T):
                s = instance.slot_start(t)
                if s < b and s + (instance.slot_start(1) - instance.start) > a:
                    available[j, t] = False
    blocked = np.concatenate([np.zeros((L, 1)), np.cumsum(~available, axis=1)], axis=1)

    tt = np.arange(T)[None, None, :]
    pp = np.minimum(p, T + 1)[:, :, None]
    fits = (tt + pp <= T) & eligible[:, :, None]
    end_c = np.where(fits, tt + pp, tt)
    line_idx = np.arange(L)[None, :, None]
    free = blocked[line_idx, end_c] - blocked[line_idx, tt] == 0
    valid = fits & free

    cand = np.where(valid, tt, T)
    next_start = np.concatenate(
        [np.minimum.accumulate(cand[:, :, ::-1], axis=2)[:, :, ::-1], np.full((n, L, 1), T)],
        axis=2,
    ).astype(np.int64)

    units_kwh_slot = per_slot * e_unit  # kWh in a full slot
    last_kwh = last * e_unit
    intensity = np.asarray(instance.intensity, dtype=float)
    tariff = np.asarray(instance.tariff, dtype=float)
    shift_names, shift_days = slot_shifts(instance)
    night = np.array([s == instance.calendar.night_shift for s in shift_names])
    energy_kg, _ = _block_sums(intensity, units_kwh_slot, last_kwh, p)
    energy_cost, _ = _block_sums(tariff, units_kwh_slot, last_kwh, p)
    night_units, _ = _block_sums(night.astype(float), per_slot, last, p)
    energy_kg = np.where(valid, energy_kg, 0.0)
    energy_cost = np.where(valid, energy_cost, 0.0)
    night_units = np.where(valid, night_units, 0.0)

    K = max(len(instance.materials[o.sku]) for o in orders)
    n_mat = np.array([len(instance.materials[o.sku]) for o in orders], dtype=np.int64)
    mat_kg = np.zeros((n, K))
    mat_cost = np.zeros((n, K))
    mat_lc = np.zeros((n, K), dtype=bool)
    for i, o in enumerate(orders):
        for k, m in enumerate(instance.materials[o.sku]):
            mat_kg[i, k] = m.kg_co2e_per_unit * o.quantity
            mat_cost[i, k] = m.cost_per_unit * o.quantity
            mat_lc[i, k] = m.low_carbon

    slot_s = instance.slot_minutes * 60
    due_slot = np.array(
        [
            math.floor(
                (o.due.astimezone(UTC) - instance.start.astimezone(UTC)).total_seconds() / slot_s
                + 1e-9
            )
            for o in orders
        ],
        dtype=np.int64,
    )
    w = np.array([o.priority for o in orders], dtype=float)
    w = w / w.sum()

    skus = sorted({o.sku for o in orders})
    sku_index = np.array([skus.index(o.sku) for o in orders], dtype=np.int64)
    chg = np.zeros((len(skus), len(skus)), dtype=np.int64)
    for a, sa in enumerate(skus):
        for b, sb in enumerate(skus):
            if sa != sb:
                minutes = instance.changeover_minutes.get(
                    (sa, sb), instance.default_changeover_minutes
                )
                chg[a, b] = math.ceil(minutes / instance.slot_minutes - 1e-9)

    return Tables(
        instance=instance,
        n=n,
        n_lines=L,
        T=T,
        slot_hours=slot_h,
        quantity=q,
        total_units=float(q.sum()),
        eligible=eligible,
        line_map=line_map,
        p=p,
        kwh=q[:, None] * e_unit,
        valid=valid,
        next_start=next_start,
        energy_kg=energy_kg,
        energy_cost=energy_cost,
        night_units=night_units,
        n_materials=n_mat,
        material_kg=mat_kg,
        material_cost=mat_cost,
        material_low_carbon=mat_lc,
        due_slot=due_slot,
        weight=w,
        sku_index=sku_index,
        changeover=chg,
        night=night,
        shift_of_slot=tuple(shift_names),
        shift_day_of_slot=tuple(shift_days),
        night_bounds=instance.calendar.night_share_bounds,
        low_carbon_min=instance.low_carbon_min_share,
    )

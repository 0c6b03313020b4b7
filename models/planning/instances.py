"""Build planning instances: a realistic factory week, small instances for the exact check, and
instances from warehouse frames (orders, rates, measured energy per unit, materials).

The synthetic factory is a machining-and-heat-treatment plant with three lines of different age
(the old line slower and hungrier), eight SKUs in three families, a standard and a low-carbon
material per family (virgin vs recycled metal), changeovers of 15 minutes within a family and an
hour across families, and an order book loaded to about two thirds of the week's capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from models.planning.grid import synthetic_intensity
from models.planning.problem import Line, MaterialOption, Order, PlanningInstance, ShiftCalendar
from models.planning.tariffs import slot_tariff

TIMEZONE = "Europe/London"

# family -> (standard, low-carbon) material per unit of product
FAMILY_MATERIALS = {
    "BRK": (
        MaterialOption("steel BF-BOF", 2.3, 3.10),
        MaterialOption("steel EAF recycled", 0.9, 3.55, low_carbon=True),
    ),
    "HSG": (
        MaterialOption("aluminium primary", 4.8, 5.40),
        MaterialOption("aluminium recycled", 1.6, 6.35, low_carbon=True),
    ),
    "SHF": (
        MaterialOption("alloy steel", 3.1, 4.20),
        MaterialOption("alloy steel low-CO2", 1.9, 4.75, low_carbon=True),
    ),
}
# sku -> (family, units/hour on the reference line, kWh/unit on the reference line)
SKUS = {
    "BRK-100": ("BRK", 60.0, 4.0),
    "BRK-200": ("BRK", 48.0, 5.5),
    "BRK-300": ("BRK", 40.0, 6.5),
    "HSG-110": ("HSG", 30.0, 11.0),
    "HSG-220": ("HSG", 26.0, 13.5),
    "HSG-330": ("HSG", 22.0, 15.0),
    "SHF-050": ("SHF", 36.0, 8.0),
    "SHF-075": ("SHF", 32.0, 9.5),
}
# line -> (speed factor, energy factor, families it can make)
LINES = {
    "L1": (0.85, 1.25, ("BRK", "HSG")),
    "L2": (1.00, 1.00, ("BRK", "HSG", "SHF")),
    "L3": (1.15, 0.85, ("HSG", "SHF")),
}


def local_datetime(day: date, hour: int, tz: str = TIMEZONE) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _changeovers(skus) -> dict[tuple[str, str], float]:
    return {
        (a, b): (15.0 if SKUS[a][0] == SKUS[b][0] else 60.0) for a in skus for b in skus if a != b
    }


def _tables_for(lines: Mapping[str, tuple[float, float, tuple[str, ...]]], skus):
    rates, kwh = {}, {}
    for sku in skus:
        family, rate, energy = SKUS[sku]
        for line_id, (speed, efactor, families) in lines.items():
            if family in families:
                rates[(sku, line_id)] = rate * speed
                kwh[(sku, line_id)] = round(energy * efactor, 3)
    return rates, kwh


def _snap_due(t: datetime, start: datetime, end: datetime, tz: str) -> datetime:
    """Round a due time up to the next shift end (06, 14 or 22 local), within the horizon."""
    local = t.astimezone(ZoneInfo(tz))
    for k in range(0, 3 * 24):
        cand = (local + timedelta(hours=k)).replace(minute=0, second=0, microsecond=0)
        if cand >= local and cand.hour in (6, 14, 22):
            return min(max(cand.astimezone(UTC), start), end)
    return end


def week_instance(
    seed: int = 0,
    week_start: date = date(2022, 3, 7),
    n_orders: int = 50,
    intensity: np.ndarray | None = None,
    utilisation: float = 0.65,
    slot_minutes: int = 15,
) -> PlanningInstance:
    """A realistic factory week from Monday 06:00 local: `n_orders` orders on three lines.

    `intensity` (kg/kWh per slot) defaults to a synthetic GB-like series; pass the real one from
    `grid.slot_intensity` for figures that mean something."""
    rng = np.random.default_rng(seed)
    start = local_datetime(week_start, 6)
    T = 7 * 24 * 60 // slot_minutes
    end = start + timedelta(minutes=slot_minutes * T)
    skus = list(SKUS)
    rates, kwh = _tables_for(LINES, skus)
    lines = (
        Line("L1", unavailable=((start + timedelta(days=2), start + timedelta(days=2, hours=8)),)),
        Line("L2"),
        Line("L3"),
    )
    capacity_h = len(lines) * T * slot_minutes / 60 - 8
    mean_hours = utilisation * capacity_h / n_orders
    orders, cum_h = [], 0.0
    for i in range(n_orders):
        sku = skus[rng.integers(len(skus))]
        ref_rate = SKUS[sku][1]
        hours = rng.uniform(0.4, 1.6) * mean_hours
        qty = int(max(20, round(hours * ref_rate / 10.0) * 10))
        cum_h += qty / ref_rate
        # due after this order's share of the book at ~80% of the line capacity, with slack
        finish_h = cum_h / (len(lines) * 0.8)
        due_h = finish_h * rng.uniform(0.75, 1.3) + rng.uniform(2, 10)
        due = _snap_due(start + timedelta(hours=due_h), start, end, TIMEZONE)
        priority = float(rng.choice([1.0, 2.0, 3.0], p=[0.7, 0.2, 0.1]))
        orders.append(Order(f"SO-{i + 1:03d}", sku, qty, due, priority))
    if intensity is None:
        intensity = synthetic_intensity(start, T, slot_minutes, rng)
    return PlanningInstance(
        orders=tuple(orders),
        lines=lines,
        rates=rates,
        kwh_per_unit=kwh,
        materials={s: FAMILY_MATERIALS[SKUS[s][0]] for s in skus},
        start=start,
        n_slots=T,
        intensity=np.asarray(intensity, dtype=float),
        tariff=slot_tariff(start, T, slot_minutes, TIMEZONE),
        slot_minutes=slot_minutes,
        calendar=ShiftCalendar(timezone=TIMEZONE),
        changeover_minutes=_changeovers(skus),
        name=f"week {week_start.isoformat()} seed {seed}",
    )


def small_instance(seed: int, slot_minutes: int = 30, hours: int = 24) -> PlanningInstance:
    """4-6 orders on two lines over a day: small enough for the exact MILP in about a second,
    rich enough to have every constraint and trade-off of the week (materials, night share,
    changeovers, due dates, line efficiency, availability)."""
    rng = np.random.default_rng(10_000 + seed)
    day = date(2022, 1, 3) + timedelta(days=int(rng.integers(0, 360)))
    start = local_datetime(day, int(rng.choice([6, 10, 14])))
    T = hours * 60 // slot_minutes
    end = start + timedelta(hours=hours)
    n_orders = int(rng.integers(4, 7))
    skus = list(rng.choice(list(SKUS), size=int(rng.integers(2, 4)), replace=False))
    # both lines make everything in the small case, with different speed and energy
    every = ("BRK", "HSG", "SHF")
    lines_spec = {"L1": (0.85, 1.25, every), "L2": (1.0, 1.0, every)}
    rates, kwh = _tables_for(lines_spec, skus)
    target_h = rng.uniform(0.5, 0.75) * 2 * hours / n_orders
    orders, cum_h = [], 0.0
    for i in range(n_orders):
        sku = skus[rng.integers(len(skus))]
        qty = int(max(10, round(rng.uniform(0.5, 1.5) * target_h * SKUS[sku][1] / 10) * 10))
        cum_h += qty / SKUS[sku][1]
        due_h = cum_h / 2 * rng.uniform(0.8, 1.6) + rng.uniform(1, 6)
        due = _snap_due(start + timedelta(hours=due_h), start, end, TIMEZONE)
        orders.append(Order(f"O{i + 1}", sku, qty, due, float(rng.choice([1.0, 2.0]))))
    unavailable = ()
    if rng.random() < 0.3:
        a = start + timedelta(hours=int(rng.integers(2, hours - 4)))
        unavailable = ((a, a + timedelta(hours=2)),)
    return PlanningInstance(
        orders=tuple(orders),
        lines=(Line("L1", unavailable=unavailable), Line("L2")),
        rates=rates,
        kwh_per_unit=kwh,
        materials={s: FAMILY_MATERIALS[SKUS[s][0]] for s in skus},
        start=start,
        n_slots=T,
        intensity=synthetic_intensity(start, T, slot_minutes, rng),
        tariff=slot_tariff(start, T, slot_minutes, TIMEZONE),
        slot_minutes=slot_minutes,
        calendar=ShiftCalendar(timezone=TIMEZONE),
        changeover_minutes=_changeovers(skus),
        name=f"small {seed} ({n_orders} orders)",
    )


def energy_per_unit(frame: pl.DataFrame) -> dict[tuple[str, str], float]:
    """(sku, line_id) -> kWh/unit from measured energy.

    Accepts either batch rows like the warehouse's `fct_batch_energy` (sku, line_id, kwh,
    good_units), or per-step figures (sku, line_id, [step,] kwh_per_unit). Batches are pooled as
    sum(kWh) / sum(good units) per step, so a small batch does not weigh like a big one; a
    product's figure on a line is the sum over its steps (the step-based energy label)."""
    keys = ["sku", "line_id"] + (["step"] if "step" in frame.columns else [])
    if {"kwh", "good_units"} <= set(frame.columns):
        per_step = (
            frame.filter(pl.col("good_units") > 0)
            .group_by(keys)
            .agg((pl.col("kwh").cast(pl.Float64).sum() / pl.col("good_units").sum()).alias("k"))
        )
    elif "kwh_per_unit" in frame.columns:
        per_step = frame.group_by(keys).agg(
            pl.col("kwh_per_unit").cast(pl.Float64).median().alias("k")
        )
    else:
        raise ValueError("need (kwh, good_units) or kwh_per_unit columns")
    total = per_step.group_by(["sku", "line_id"]).agg(pl.col("k").sum())
    return {(r["sku"], r["line_id"]): float(r["k"]) for r in total.iter_rows(named=True)}


def from_frames(
    orders: pl.DataFrame,
    rates: pl.DataFrame,
    energy: pl.DataFrame,
    materials: pl.DataFrame,
    start: datetime,
    intensity: np.ndarray,
    n_slots: int | None = None,
    slot_minutes: int = 15,
    tariff: np.ndarray | None = None,
    calendar: ShiftCalendar | None = None,
    changeover_minutes: Mapping[tuple[str, str], float] | None = None,
    default_changeover_minutes: float = 0.0,
    unavailable: Mapping[str, tuple[tuple[datetime, datetime], ...]] | None = None,
    name: str = "from frames",
) -> PlanningInstance:
    """An instance from plain frames.

    orders: order_id, sku, quantity, due (tz-aware datetime), [priority]
    rates: sku, line_id, units_per_hour
    energy: see `energy_per_unit` (e.g. `fct_batch_energy` rows)
    materials: sku, material, kg_co2e_per_unit, cost_per_unit, low_carbon
    """
    calendar = calendar or ShiftCalendar()
    n_slots = n_slots or len(intensity)
    kwh = energy_per_unit(energy)
    rate_map = {
        (r["sku"], r["line_id"]): float(r["units_per_hour"]) for r in rates.iter_rows(named=True)
    }
    missing = [k for k in rate_map if k not in kwh]
    if missing:
        raise ValueError(f"no measured energy per unit for {missing}")
    mats: dict[str, list[MaterialOption]] = {}
    for r in materials.iter_rows(named=True):
        mats.setdefault(r["sku"], []).append(
            MaterialOption(
                r["material"],
                float(r["kg_co2e_per_unit"]),
                float(r["cost_per_unit"]),
                bool(r["low_carbon"]),
            )
        )
    order_list = tuple(
        Order(
            str(r["order_id"]),
            r["sku"],
            int(r["quantity"]),
            r["due"],
            float(r.get("priority") or 1.0),
        )
        for r in orders.iter_rows(named=True)
    )
    line_ids = sorted({k[1] for k in rate_map})
    unavailable = unavailable or {}
    return PlanningInstance(
        orders=order_list,
        lines=tuple(Line(lid, unavailable=tuple(unavailable.get(lid, ()))) for lid in line_ids),
        rates=rate_map,
        kwh_per_unit=kwh,
        materials={k: tuple(v) for k, v in mats.items()},
        start=start,
        n_slots=n_slots,
        intensity=np.asarray(intensity, dtype=float)[:n_slots],
        tariff=(
            np.asarray(tariff, dtype=float)[:n_slots]
            if tariff is not None
            else slot_tariff(start, n_slots, slot_minutes, calendar.timezone)
        ),
        slot_minutes=slot_minutes,
        calendar=calendar,
        changeover_minutes=dict(changeover_minutes or {}),
        default_changeover_minutes=default_changeover_minutes,
        name=name,
    )

"""The planner's answer: the Pareto front, the recommended plan's schedule per line and shift,
and its deltas against the current plan."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from models.planning.decision import Baseline, Weights, fitness
from models.planning.decoder import decode
from models.planning.tables import Tables


@dataclass(frozen=True)
class PlanResult:
    instance: str
    weights: Weights  # after the on-time adaptation
    baseline: Baseline  # the current (FIFO) plan
    current: dict[str, float]  # KPIs of the current plan
    recommended: dict[str, float]  # KPIs of the recommended plan
    deltas: dict[str, float]  # carbon_pct, cost_pct, on_time_pp (recommended vs current)
    front: pl.DataFrame  # one row per feasible non-dominated plan
    schedule: pl.DataFrame  # the recommended plan: line, shift, order, sku, units, ...
    current_schedule: pl.DataFrame
    genome: np.ndarray
    current_genome: np.ndarray
    seconds: float
    nsga_seconds: float
    n_evals: int

    def summary(self) -> str:
        c, r, d = self.current, self.recommended, self.deltas
        return (
            f"{self.instance}: carbon {c['kg_co2e']:,.0f} -> {r['kg_co2e']:,.0f} kg "
            f"({d['carbon_pct']:+.1f}%), cost {c['cost']:,.0f} -> {r['cost']:,.0f} "
            f"({d['cost_pct']:+.1f}%), on time {100 * c['on_time_share']:.1f}% -> "
            f"{100 * r['on_time_share']:.1f}% ({d['on_time_pp']:+.1f} pp); front of "
            f"{self.front.height}, {self.seconds:.1f} s"
        )


def kpis(tb: Tables, x: np.ndarray, baseline: Baseline, weights: Weights) -> dict[str, float]:
    d = decode(tb, x)
    return {
        "kg_co2e": float(d.kg_co2e[0]),
        "kg_co2e_energy": float(d.kg_energy[0]),
        "kg_co2e_material": float(d.kg_material[0]),
        "cost": float(d.cost[0]),
        "cost_energy": float(d.cost_energy[0]),
        "cost_material": float(d.cost_material[0]),
        "kwh": float(d.kwh[0]),
        "on_time_share": float(d.on_time_share[0]),
        "on_time_orders": float(d.on_time[0].mean()),
        "late_hours_weighted": float(d.late_hours[0]),
        "night_share": float(d.night_share[0]),
        "low_carbon_share": float(d.low_carbon_share[0]),
        "feasible": float(d.feasible[0]),
        "fv": float(fitness(d.kg_co2e, d.cost, d.on_time_share, baseline, weights)[0]),
    }


def schedule_frame(tb: Tables, x: np.ndarray) -> pl.DataFrame:
    """One row per (line, shift, order) segment of the plan, in local time."""
    inst = tb.instance
    tz = ZoneInfo(inst.calendar.timezone)
    d = decode(tb, x)
    rows = []
    for o, order in enumerate(inst.orders):
        if not d.placed[0, o]:
            continue
        ln, s, m = int(d.line[0, o]), int(d.start[0, o]), int(d.material[0, o])
        p = int(tb.p[o, ln])
        rate_units = inst.rates[(order.sku, inst.lines[ln].line_id)] * tb.slot_hours
        e_unit = inst.kwh_per_unit[(order.sku, inst.lines[ln].line_id)]
        for t in range(s, s + p):
            # full slots at the line's rate, the remainder in the last one
            units = rate_units if t < s + p - 1 else order.quantity - (p - 1) * rate_units
            rows.append(
                {
                    "line_id": inst.lines[ln].line_id,
                    "shift_day": tb.shift_day_of_slot[t],
                    "shift": tb.shift_of_slot[t],
                    "order_id": order.order_id,
                    "sku": order.sku,
                    "material": inst.materials[order.sku][m].name,
                    "slot": t,
                    "units": units,
                    "kwh": units * e_unit,
                    "kg_co2e_energy": units * e_unit * float(inst.intensity[t]),
                    "energy_cost": units * e_unit * float(inst.tariff[t]),
                }
            )
    if not rows:
        return pl.DataFrame()
    slots = pl.DataFrame(rows)
    return (
        slots.group_by(["line_id", "shift_day", "shift", "order_id", "sku", "material"])
        .agg(
            pl.col("slot").min().alias("first_slot"),
            (pl.col("slot").max() + 1).alias("end_slot"),
            pl.col("units").sum(),
            pl.col("kwh").sum(),
            pl.col("kg_co2e_energy").sum(),
            pl.col("energy_cost").sum(),
        )
        .with_columns(
            pl.col("first_slot")
            .map_elements(
                lambda t: inst.slot_start(t).astimezone(tz),
                return_dtype=pl.Datetime(time_zone=inst.calendar.timezone),
            )
            .alias("start_local"),
            pl.col("end_slot")
            .map_elements(
                lambda t: inst.slot_start(t).astimezone(tz),
                return_dtype=pl.Datetime(time_zone=inst.calendar.timezone),
            )
            .alias("end_local"),
        )
        .sort(["line_id", "first_slot"])
    )


def front_frame(F: np.ndarray, fv: np.ndarray, best: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "member": np.arange(len(F)),
            "kg_co2e": F[:, 0],
            "cost": F[:, 1],
            "on_time_share": 1.0 - F[:, 2],
            "fv": fv,
            "recommended": np.arange(len(F)) == best,
        }
    )


def build_result(tb: Tables, current: np.ndarray, baseline: Baseline, weights: Weights, opt):
    x = opt.X[opt.best]
    cur = kpis(tb, current, baseline, weights)
    rec = kpis(tb, x, baseline, weights)
    deltas = {
        "carbon_pct": 100.0 * (rec["kg_co2e"] / cur["kg_co2e"] - 1.0),
        "cost_pct": 100.0 * (rec["cost"] / cur["cost"] - 1.0),
        "on_time_pp": 100.0 * (rec["on_time_share"] - cur["on_time_share"]),
    }
    return PlanResult(
        instance=tb.instance.name,
        weights=weights,
        baseline=baseline,
        current=cur,
        recommended=rec,
        deltas=deltas,
        front=front_frame(opt.F, opt.fv, opt.best),
        schedule=schedule_frame(tb, x),
        current_schedule=schedule_frame(tb, current),
        genome=x,
        current_genome=current,
        seconds=opt.seconds,
        nsga_seconds=opt.nsga_seconds,
        n_evals=opt.n_evals,
    )

"""What the planner needs from the simulated plant beyond its telemetry: the order book, and the
planning settings and material options an engineer would write down once.

Order book (landing kind `orders`, one snapshot as of the run's end). The plant's work centres
are its line kinds, each identified by the process step only its lines have: SMT lines
(`reflow`), the THT line (`wave_soldering`) and the test line (`functional_test`). Production
orders are per operation, as an MES dispatch list holds them: an SMT order of PCB-A100 can run on
L1-SMT or L2-SMT, never on the test line.
- Open orders: for the week after the snapshot, each work centre is loaded to about
  `UTILISATION` of its capacity (at the lines' historical speed) with orders of 5-12 hours; due
  times follow the book's cumulative load at 80 % speed with slack, rounded up to a shift end
  (06, 14 or 22 local) and capped at the week's end, as in `models.planning.instances`.
- Shipped orders: the run's delivery record, about one order per 9 line-hours, on time with
  probability `ON_TIME_P` (late by 2-36 h otherwise). They are not reconciled with the batches
  (the simulated batches carry no order ids); they exist so the planner can read the plant's
  recent on-time delivery.

Planning files (`<home>/planning/`, see `models/planning/plant.py` for the format):
- `settings.json`: the shift calendar (A 06-14, B 14-22, C 22-06, C the night shift), night-shift
  bounds 20-40 %, low-carbon material share >= 30 %, and the same simulated Taipower three-stage
  time-of-use tariff the bills are priced with (`bills.RATES`).
- `materials.csv`: per SKU and operation, a standard and a low-carbon option for the material
  whose source can be chosen — solder alloy with mined or recycled tin at SMT and wave
  soldering, primary or recycled aluminium heat sinks for the PSU. Embodied figures are
  illustrative (a few grams of solder at ~20 kgCO2e/kg mined vs ~6 recycled; a 50 g heat sink
  at ~16 vs ~4 kgCO2e/kg), in kgCO2e and TWD per unit of product.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from ingestion.landing.schemas import conform
from ingestion.simulator.bills import CURRENCY, RATES, TARIFF
from ingestion.simulator.plant import LINES, SITE_ID, TIMEZONE
from ingestion.simulator.randomness import rng
from ingestion.simulator.timeline import Timeline

HORIZON_DAYS = 7
UTILISATION = 0.65
ON_TIME_P = 0.9
# the simulated lines reach 86-97 % of their nominal speed (production.py)
MEAN_EFFICIENCY = 0.915
SHIFT_ENDS = (6, 14, 22)
# line kind -> the process step that identifies its work centre
WORK_CENTRES = {"smt": "reflow", "tht": "wave_soldering", "test": "functional_test"}

# (sku, process step) -> ((material, kgCO2e/unit, TWD/unit, low carbon), ...)
MATERIALS: dict[tuple[str, str], tuple[tuple[str, float, float, bool], ...]] = {
    ("PCB-A100", "reflow"): (
        ("SAC305 paste, mined tin", 0.060, 3.00, False),
        ("SAC305 paste, recycled tin", 0.018, 3.60, True),
    ),
    ("PCB-B200", "reflow"): (
        ("SAC305 paste, mined tin", 0.080, 4.00, False),
        ("SAC305 paste, recycled tin", 0.024, 4.80, True),
    ),
    ("CTRL-D400", "reflow"): (
        ("SAC305 paste, mined tin", 0.100, 5.00, False),
        ("SAC305 paste, recycled tin", 0.030, 6.00, True),
    ),
    ("CTRL-D400", "wave_soldering"): (
        ("SN100C bar, mined tin", 0.120, 4.50, False),
        ("SN100C bar, recycled tin", 0.036, 5.40, True),
    ),
    ("PSU-C300", "wave_soldering"): (
        ("aluminium heat sink, primary", 0.800, 25.00, False),
        ("aluminium heat sink, recycled", 0.200, 28.50, True),
    ),
}


def _snap_to_shift_end(t: datetime, end: datetime) -> datetime:
    """Round up to the next shift end (06, 14 or 22 local), no later than `end`."""
    local = t.astimezone(ZoneInfo(TIMEZONE))
    for k in range(0, 25):
        cand = (local + timedelta(hours=k)).replace(minute=0, second=0, microsecond=0)
        if cand >= local and cand.hour in SHIFT_ENDS:
            return min(cand.astimezone(UTC), end)
    return end


def _work_centres() -> list[tuple[str, int, dict[str, float]]]:
    """(process step, number of lines, sku -> mean good units/hour) per work centre."""
    out = []
    for kind, step in WORK_CENTRES.items():
        lines = [line for line in LINES if line.kind == kind]
        rates: dict[str, list[float]] = {}
        for line in lines:
            for sku, rate in zip(line.skus, line.units_per_hour, strict=True):
                rates.setdefault(sku, []).append(rate * MEAN_EFFICIENCY)
        out.append((step, len(lines), {s: float(np.mean(r)) for s, r in rates.items()}))
    return out


def _quantity(hours: float, rate: float) -> int:
    """Units for `hours` at `rate`, in lots of 50, at least 100."""
    return max(100, int(round(hours * rate / 50)) * 50)


def build_orders(timeline: Timeline, seed: int) -> pl.DataFrame:
    """The order book as of the end of the run: open orders for the next week and the run's
    shipped orders (landing schema `orders`)."""
    r = rng(seed, "orders")
    snapshot = timeline.end_utc
    horizon_end = snapshot + timedelta(days=HORIZON_DAYS)
    rows = []
    for step, n_lines, rates in _work_centres():
        skus = sorted(rates)
        capacity_h = n_lines * HORIZON_DAYS * 24 * UTILISATION
        load_h = 0.0
        while True:
            hours = float(r.uniform(5, 12))
            if load_h + hours > capacity_h:
                break
            sku = skus[int(r.integers(len(skus)))]
            load_h += hours
            finish_h = load_h / (n_lines * 0.8)
            due = snapshot + timedelta(
                hours=finish_h * float(r.uniform(0.8, 1.3)) + float(r.uniform(4, 16))
            )
            rows.append(
                {
                    "sku": sku,
                    "process_step": step,
                    "quantity": _quantity(hours, rates[sku]),
                    "due_ts": _snap_to_shift_end(due, horizon_end),
                    "priority": float(r.choice([1.0, 2.0, 3.0], p=[0.7, 0.2, 0.1])),
                    "status": "open",
                    "created_at": snapshot - timedelta(minutes=int(r.integers(360, 6 * 1440))),
                    "shipped_at": None,
                }
            )
        # the delivery record of the run: about one order per 9 line-hours
        for _ in range(max(1, round(timeline.days * n_lines * 24 / 9))):
            sku = skus[int(r.integers(len(skus)))]
            created = timeline.start_utc + timedelta(
                minutes=int(r.integers(0, timeline.days * 1440))
            )
            due = created + timedelta(minutes=int(r.integers(24 * 60, 96 * 60)))
            late = r.random() > ON_TIME_P
            shipped = due + timedelta(
                minutes=int(r.integers(120, 36 * 60)) if late else -int(r.integers(60, 24 * 60))
            )
            if not timeline.start_utc <= shipped <= snapshot:
                continue
            rows.append(
                {
                    "sku": sku,
                    "process_step": step,
                    "quantity": _quantity(float(r.uniform(5, 12)), rates[sku]),
                    "due_ts": due,
                    "priority": 1.0,
                    "status": "shipped",
                    "created_at": created,
                    "shipped_at": shipped,
                }
            )
    frame = pl.DataFrame(
        rows,
        schema={
            "sku": pl.String,
            "process_step": pl.String,
            "quantity": pl.Int64,
            "due_ts": pl.Datetime("us", "UTC"),
            "priority": pl.Float64,
            "status": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
            "shipped_at": pl.Datetime("us", "UTC"),
        },
    ).sort("created_at", "process_step", "sku", "quantity")
    frame = frame.with_columns(
        pl.format("WO-{}", pl.int_range(1, frame.height + 1).cast(pl.String).str.zfill(5)).alias(
            "order_id"
        ),
        pl.lit(SITE_ID).alias("site_id"),
        pl.lit(snapshot).cast(pl.Datetime("us", "UTC")).alias("snapshot_at"),
    )
    return conform("orders", frame)


def _tariff_rules() -> list[dict]:
    """The bills' three-stage TOU (`bills.tou_rate`) as first-match rules: weekdays peak 16-22,
    mid 09-24; Saturdays mid 09-24; off-peak otherwise; summer is June-September."""
    rules = []
    for summer, months in ((True, [6, 7, 8, 9]), (False, [1, 2, 3, 4, 5, 10, 11, 12])):
        rates = RATES[summer]
        rules += [
            {
                "months": months,
                "weekdays": [1, 2, 3, 4, 5],
                "hours": [16, 22],
                "price": rates["peak"],
                "period": "peak",
            },
            {
                "months": months,
                "weekdays": [1, 2, 3, 4, 5, 6],
                "hours": [9, 24],
                "price": rates["mid"],
                "period": "mid",
            },
            {"months": months, "hours": [0, 24], "price": rates["off"], "period": "off"},
        ]
    return rules


def planning_settings() -> dict:
    return {
        "slot_minutes": 15,
        "horizon_days": HORIZON_DAYS,
        "history_days": 28,
        "shifts": [
            {"name": "A", "start_hour": 6, "end_hour": 14},
            {"name": "B", "start_hour": 14, "end_hour": 22},
            {"name": "C", "start_hour": 22, "end_hour": 6},
        ],
        "night_shift": "C",
        "night_share_bounds": [0.2, 0.4],
        "low_carbon_min_share": 0.3,
        "currency": CURRENCY,
        "tariff": {"name": TARIFF, "rules": _tariff_rules()},
    }


def materials_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "sku": sku,
                "process_step": step,
                "material": name,
                "kg_co2e_per_unit": kg,
                "cost_per_unit": cost,
                "low_carbon": low,
            }
            for (sku, step), options in MATERIALS.items()
            for name, kg, cost, low in options
        ]
    )


def planning_files() -> dict[str, str]:
    """File name -> text of the planning files for the simulated plant."""
    return {
        "settings.json": json.dumps(planning_settings(), indent=2) + "\n",
        "materials.csv": materials_frame().write_csv(),
    }

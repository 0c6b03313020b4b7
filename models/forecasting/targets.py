"""Reduction targets per site: quarterly and annual, absolute and per unit; daily progress; and
the re-plan trigger of the ERP synergy study — when the forecast says a quarter will exceed its
target by more than 5%, a `ReplanRequest` goes to production planning.

Targets are set against a baseline year: the target year's quarter q may emit
baseline_q × (1 − reduction) (absolute) or baseline_q / units_q × (1 − reduction) per good unit
(intensity). Quarters are split by the baseline year's own quarterly shares, so a quarter with
more cooling load gets a larger budget; progress within a quarter is compared with the budget
pro rata by days. The projection for the quarter = actual to date + the daily forecast of the
remaining days, with its 80% interval from the forecast's sample paths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

Basis = Literal["absolute", "per_unit"]
Status = Literal["on_track", "at_risk", "replan"]


class Baseline(BaseModel):
    """A site's baseline year: emissions, energy and good units per quarter (index 0 = Q1)."""

    model_config = ConfigDict(frozen=True)

    site_id: str
    year: int
    kg_co2e: tuple[float, float, float, float]
    kwh: tuple[float, float, float, float]
    units: tuple[float, float, float, float] | None = None

    @property
    def annual_kg(self) -> float:
        return float(sum(self.kg_co2e))


class ReductionTarget(BaseModel):
    model_config = ConfigDict(frozen=True)

    baseline: Baseline
    year: int
    reduction_pct: float = Field(ge=0, lt=100)  # vs the baseline year, e.g. 4.0
    basis: Basis = "absolute"
    replan_threshold: float = Field(0.05, ge=0)  # > 5% over the quarter's target → re-plan

    @property
    def factor(self) -> float:
        return 1.0 - self.reduction_pct / 100.0


@dataclass(frozen=True)
class ReplanRequest:
    """What production planning needs to act on: how much the quarter must shed, in which
    window, and the figures the decision was taken on. `remaining_budget_kg` is the carbon the
    rest of the quarter may still emit (target − actual to date)."""

    site_id: str
    quarter: str  # e.g. 2026-Q2
    quarter_start: date
    quarter_end: date  # inclusive
    as_of: date  # last day with actuals
    basis: str
    target_kg: float
    actual_to_date_kg: float
    projected_kg: float
    projected_lower_kg: float
    projected_upper_kg: float
    excess_pct: float  # projected vs target, on the target's basis
    remaining_days: int
    remaining_budget_kg: float
    required_reduction_kg: float  # projected − target
    required_reduction_pct_of_remaining: float  # of the forecast for the remaining days
    target_kg_per_unit: float | None
    projected_kg_per_unit: float | None
    reason: str
    created_at_utc: datetime

    def as_dict(self) -> dict:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, date | datetime):
                out[k] = v.isoformat()
        return out


@dataclass(frozen=True)
class QuarterStatus:
    site_id: str
    quarter: str
    status: Status
    target_kg: float
    projected_kg: float
    projected_lower_kg: float
    projected_upper_kg: float
    excess_pct: float
    target_kg_per_unit: float | None
    projected_kg_per_unit: float | None
    progress: pl.DataFrame  # the quarter's daily progress so far
    replan: ReplanRequest | None
    message: str


def quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def quarter_label(year: int, q: int) -> str:
    """'2026-Q1': the label the target tables and re-plan requests carry."""
    return f"{year}-Q{q}"


def exceeds(projected: float, target: float, threshold: float) -> bool:
    """The re-plan trigger: the projection is more than `threshold` (a fraction) over the
    target. Compared as projected > target x (1 + threshold), not as a ratio minus one, so a
    projection of exactly 1,050 against 1,000 at 5% does not fire on a rounding error."""
    return projected > target * (1.0 + threshold)


def quarter_bounds(year: int, q: int) -> tuple[date, date]:
    """First and last day (inclusive) of the quarter."""
    start = date(year, 3 * q - 2, 1)
    nxt = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return start, nxt - timedelta(days=1)


def baseline_from_daily(daily: pl.DataFrame, site_id: str, year: int) -> Baseline:
    """Baseline from a daily frame (site_local_date or ds, kg_co2e, kwh, optional good_units)
    covering the baseline year; quarters with missing days are scaled up pro rata by days."""
    d = _dated(daily).filter(pl.col("date").dt.year() == year)
    kg, kwh, units = [], [], []
    for q in range(1, 5):
        a, b = quarter_bounds(year, q)
        part = d.filter((pl.col("date") >= a) & (pl.col("date") <= b))
        if part.is_empty():
            raise ValueError(f"no data for {year}Q{q}")
        scale = ((b - a).days + 1) / part.height
        kg.append(float(part["kg_co2e"].sum()) * scale)
        kwh.append(float(part["kwh"].sum()) * scale if "kwh" in part.columns else 0.0)
        if "good_units" in part.columns:
            units.append(float(part["good_units"].sum()) * scale)
    return Baseline(site_id=site_id, year=year, kg_co2e=tuple(kg), kwh=tuple(kwh),
                    units=tuple(units) if len(units) == 4 else None)


def quarterly_targets(target: ReductionTarget) -> pl.DataFrame:
    """quarter, start, end, target_kg, target_kg_per_unit (null without baseline units), and
    the annual row."""
    b = target.baseline
    rows = []
    for q in range(1, 5):
        a, e = quarter_bounds(target.year, q)
        per_unit = (b.kg_co2e[q - 1] / b.units[q - 1] * target.factor
                    if b.units and b.units[q - 1] else None)
        rows.append({"quarter": quarter_label(target.year, q), "start": a, "end": e,
                     "baseline_kg": b.kg_co2e[q - 1], "target_kg": b.kg_co2e[q - 1] * target.factor,
                     "target_kg_per_unit": per_unit})
    units = sum(b.units) if b.units else None
    rows.append({"quarter": f"{target.year}", "start": date(target.year, 1, 1),
                 "end": date(target.year, 12, 31), "baseline_kg": b.annual_kg,
                 "target_kg": b.annual_kg * target.factor,
                 "target_kg_per_unit": b.annual_kg / units * target.factor if units else None})
    return pl.DataFrame(rows)


def _dated(daily: pl.DataFrame) -> pl.DataFrame:
    col = "site_local_date" if "site_local_date" in daily.columns else "ds"
    out = daily.with_columns(pl.col(col).cast(pl.Date).alias("date"))
    return out.with_columns(pl.col(c).cast(pl.Float64) for c in ("kg_co2e", "kwh", "good_units")
                            if c in out.columns).sort("date")


def daily_progress(target: ReductionTarget, actual_daily: pl.DataFrame, quarter: int
                   ) -> pl.DataFrame:
    """Per day of the quarter so far: kg_co2e, cumulative, the pro-rata budget, the gap and
    (with good_units) cumulative kg per unit against the per-unit target."""
    a, e = quarter_bounds(target.year, quarter)
    q = quarterly_targets(target).row(quarter - 1, named=True)
    days = (e - a).days + 1
    d = _dated(actual_daily).filter((pl.col("date") >= a) & (pl.col("date") <= e))
    out = d.select("date", "kg_co2e", *(["good_units"] if "good_units" in d.columns else []))
    out = out.with_columns(
        pl.col("kg_co2e").cum_sum().alias("cum_kg"),
        (((pl.col("date") - pl.lit(a)).dt.total_days() + 1) / days * q["target_kg"])
        .alias("cum_budget_kg"),
    ).with_columns((pl.col("cum_kg") / pl.col("cum_budget_kg") - 1).alias("vs_budget"))
    if "good_units" in out.columns and q["target_kg_per_unit"]:
        out = out.with_columns(
            (pl.col("cum_kg") / pl.col("good_units").cum_sum()).alias("cum_kg_per_unit"),
            pl.lit(q["target_kg_per_unit"]).alias("target_kg_per_unit"))
    return out


def status_of(projected: float, upper: float, budget: float, threshold: float) -> Status:
    """'replan' when the projection exceeds the budget by more than the threshold, 'at_risk'
    when it exceeds it at all or the upper end of its interval does, else 'on_track'."""
    if exceeds(projected, budget, threshold):
        return "replan"
    return "at_risk" if projected > budget or upper > budget else "on_track"


def check_quarter(
    target: ReductionTarget,
    actual_daily: pl.DataFrame,
    forecast: pl.DataFrame,
    samples: np.ndarray | None = None,
    *,
    planned_units: float | None = None,
    interval_width: float = 0.8,
    now: datetime | None = None,
) -> QuarterStatus:
    """Project the quarter of the last actual day: actuals (date, kg_co2e[, good_units]) +
    the forecast (ds, yhat[, yhat_lower, yhat_upper]) of its remaining days, `samples`
    (periods x paths, same rows as `forecast`) for the total's interval. `planned_units`:
    good units planned for the remaining days (per-unit basis; default: the quarter's rate so
    far). Status: 'replan' when the projection exceeds the target by more than the threshold,
    'at_risk' when it exceeds it at all or the interval's upper end does."""
    act = _dated(actual_daily)
    as_of = act["date"].max()
    qn = quarter_of(as_of)
    a, e = quarter_bounds(as_of.year, qn)
    if as_of.year != target.year:
        raise ValueError(f"actuals end in {as_of.year}, the target is for {target.year}")
    q = quarterly_targets(target).row(qn - 1, named=True)
    in_q = act.filter((pl.col("date") >= a) & (pl.col("date") <= as_of))
    actual_kg = float(in_q["kg_co2e"].sum())
    fdates = forecast["ds"].cast(pl.Date)
    sel = ((fdates > as_of) & (fdates <= e)).to_numpy()
    remaining_days = (e - as_of).days
    if int(sel.sum()) < remaining_days:
        raise ValueError(f"the forecast covers {int(sel.sum())} of the quarter's "
                         f"{remaining_days} remaining days")
    rest = forecast.filter(pl.Series(sel))
    rest_point = float(rest["yhat"].sum())
    if samples is not None:
        totals = samples[sel].sum(axis=0)
        lo_q, hi_q = np.quantile(totals, [(1 - interval_width) / 2, (1 + interval_width) / 2])
    else:  # no paths: summing the bounds assumes perfectly correlated days (too wide)
        lo_q, hi_q = float(rest["yhat_lower"].sum()), float(rest["yhat_upper"].sum())
    projected = actual_kg + rest_point
    lower, upper = actual_kg + float(lo_q), actual_kg + float(hi_q)

    target_pu = q["target_kg_per_unit"]
    units_total = None
    if "good_units" in in_q.columns and in_q.height:
        units_so_far = float(in_q["good_units"].sum())
        rest_units = planned_units if planned_units is not None else (
            units_so_far / in_q.height * remaining_days)
        units_total = units_so_far + rest_units if units_so_far + rest_units > 0 else None
    projected_pu = projected / units_total if units_total else None
    if target.basis == "per_unit":
        if target_pu is None or units_total is None:
            raise ValueError("per-unit targets need baseline units and actual good_units")
        budget = target_pu * units_total  # the per-unit target as kg at the projected units
    else:
        budget = q["target_kg"]
    excess = projected / budget - 1
    need = projected - budget
    status = status_of(projected, upper, budget, target.replan_threshold)
    label = q["quarter"]
    message = (f"{label}: projected {projected:,.0f} kg [{lower:,.0f}, {upper:,.0f}] vs target "
               f"{q['target_kg']:,.0f} kg ({excess:+.1%} on the {target.basis} basis) → {status}")
    replan = None
    if status == "replan":
        forecast_rest = max(rest_point, 1e-9)
        replan = ReplanRequest(
            site_id=target.baseline.site_id, quarter=label, quarter_start=a, quarter_end=e,
            as_of=as_of, basis=target.basis, target_kg=q["target_kg"],
            actual_to_date_kg=actual_kg, projected_kg=projected, projected_lower_kg=lower,
            projected_upper_kg=upper, excess_pct=100 * excess, remaining_days=remaining_days,
            remaining_budget_kg=q["target_kg"] - actual_kg, required_reduction_kg=need,
            required_reduction_pct_of_remaining=100 * need / forecast_rest,
            target_kg_per_unit=target_pu, projected_kg_per_unit=projected_pu,
            reason=(f"forecast exceeds the {label} target by {excess:.1%} "
                    f"(> {target.replan_threshold:.0%})"),
            created_at_utc=now or datetime.now(UTC),
        )
    return QuarterStatus(
        site_id=target.baseline.site_id, quarter=label, status=status, target_kg=q["target_kg"],
        projected_kg=projected, projected_lower_kg=lower, projected_upper_kg=upper,
        excess_pct=100 * excess, target_kg_per_unit=target_pu, projected_kg_per_unit=projected_pu,
        progress=daily_progress(target, act, qn), replan=replan, message=message,
    )

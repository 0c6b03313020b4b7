"""Daily target tracking from the stored forecasts: progress rows, re-plan requests, alerts.

The forecasting run stores, per site, the totals of the current quarter and year (actual so
far + an estimate for days without data + the daily model's forecast of the rest, with the 80%
interval of the total — see batch.py). Each day this module compares them with the targets:

- budget to date: the period's target pro rata by days elapsed;
- projection: the forecast total; on the per-unit basis the target is turned into kg at the
  projected units (units so far, at their daily rate for the rest of the period);
- status (targets.status_of): 'replan' when the projection exceeds the target by more than the
  threshold (projected > target x 1.05 by default), 'at_risk' when it exceeds the target or the
  interval's upper end does, else 'on_track'.

A quarter row in 'replan' becomes a re-plan request for production planning (one per site,
quarter and day — the worst basis when several targets fire) and a critical alert.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from models.forecasting.target_config import TargetEntry
from models.forecasting.targets import ReductionTarget, quarterly_targets, status_of

PROGRESS_SCHEMA: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(),  # last site-local day with actuals
    "site_id": pl.String(),
    "target_id": pl.String(),  # site:year:basis
    "basis": pl.String(),  # absolute / per_unit
    "period_kind": pl.String(),  # quarter / year
    "period": pl.String(),  # 2026-Q1 / 2026
    "period_start": pl.Date(),
    "period_end": pl.Date(),  # inclusive
    "baseline_year": pl.Int64(),
    "reduction_pct": pl.Float64(),
    "baseline_kg_co2e": pl.Float64(),
    "target_kg_co2e": pl.Float64(),  # absolute target of the period
    "budget_kg_co2e": pl.Float64(),  # what the projection is held against (per unit: at units)
    "budget_to_date_kg_co2e": pl.Float64(),  # target pro rata by days elapsed
    "actual_to_date_kg_co2e": pl.Float64(),
    "missing_estimate_kg_co2e": pl.Float64(),  # days of the period without data, estimated
    "vs_budget_to_date": pl.Float64(),  # (actual + estimate) / budget to date − 1
    "projected_kg_co2e": pl.Float64(),
    "projected_lower_kg_co2e": pl.Float64(),
    "projected_upper_kg_co2e": pl.Float64(),
    "excess_fraction": pl.Float64(),  # projected / budget − 1
    "replan_threshold": pl.Float64(),
    "status": pl.String(),  # on_track / at_risk / replan
    "good_units_to_date": pl.Float64(),
    "projected_units": pl.Float64(),
    "target_kg_co2e_per_unit": pl.Float64(),
    "projected_kg_co2e_per_unit": pl.Float64(),
    "days_elapsed": pl.Int64(),
    "days_remaining": pl.Int64(),
    "forecast_model_version": pl.String(),
    "computed_at_utc": pl.Datetime("us"),
    "message": pl.String(),
}

# The contract with production planning (its sensor reads this table): do not change it.
REPLAN_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),  # f"{site_id}:{quarter}:{as_of_date}"
    "site_id": pl.String(),
    "quarter": pl.String(),  # 2026-Q1
    "as_of_date": pl.Date(),
    "requested_at_utc": pl.Datetime("us"),
    "forecast_kg_co2e": pl.Float64(),
    "target_kg_co2e": pl.Float64(),
    "excess_fraction": pl.Float64(),
    "reason": pl.String(),
}
REPLAN_DDL = """
create table if not exists forecasting.replan_requests (
    request_id varchar primary key,
    site_id varchar not null,
    quarter varchar not null,
    as_of_date date not null,
    requested_at_utc timestamp not null,
    forecast_kg_co2e double not null,
    target_kg_co2e double not null,
    excess_fraction double not null,
    reason varchar not null
)
"""


def request_id(site_id: str, quarter: str, as_of: date) -> str:
    return f"{site_id}:{quarter}:{as_of.isoformat()}"


def _period_target(target: ReductionTarget, kind: str, start: date) -> dict:
    table = quarterly_targets(target)
    index = 4 if kind == "year" else (start.month - 1) // 3
    return table.row(index, named=True)


def progress_row(entry: TargetEntry, target: ReductionTarget, period: dict, *, as_of: date,
                 units_to_date: float | None, computed_at: datetime) -> dict:
    """One progress row. `period`: a quarter or year row of forecasting.forecasts for the
    site's daily emissions (horizon, period_label, ts, period_end, yhat, yhat_lower, yhat_upper,
    actual_to_date, missing_estimate, days_actual, days_missing, days_forecast,
    model_version)."""
    kind = period["horizon"]
    start = period["ts"].date()
    end = period["period_end"].date() - timedelta(days=1)
    t = _period_target(target, kind, start)
    days_total = (end - start).days + 1
    elapsed = max(0, min((as_of - start).days + 1, days_total))
    actual = float(period["actual_to_date"] or 0.0)
    missing = float(period["missing_estimate"] or 0.0)
    projected = float(period["yhat"])
    lower, upper = float(period["yhat_lower"]), float(period["yhat_upper"])
    budget_to_date = t["target_kg"] * elapsed / days_total
    days_actual = int(period["days_actual"] or 0)
    units_total = None
    if units_to_date is not None and days_actual > 0:
        units_total = units_to_date * days_total / days_actual
    target_pu = t["target_kg_per_unit"]
    projected_pu = projected / units_total if units_total else None
    if target.basis == "per_unit":
        if target_pu is None or not units_total:
            raise ValueError(f"{entry.target_id}: a per-unit target needs baseline units and "
                             "good units produced in the period")
        budget = target_pu * units_total
    else:
        budget = t["target_kg"]
    excess = projected / budget - 1 if budget > 0 else float("inf")
    status = status_of(projected, upper, budget, target.replan_threshold)
    message = (f"{t['quarter']} {target.basis}: projected {projected:,.0f} kgCO2e "
               f"[{lower:,.0f}, {upper:,.0f}] vs {budget:,.0f} ({excess:+.1%}; re-plan above "
               f"+{target.replan_threshold:.0%}) → {status}")
    return {
        "as_of_date": as_of, "site_id": entry.site_id, "target_id": entry.target_id,
        "basis": target.basis, "period_kind": kind, "period": t["quarter"],
        "period_start": start, "period_end": end, "baseline_year": target.baseline.year,
        "reduction_pct": target.reduction_pct, "baseline_kg_co2e": t["baseline_kg"],
        "target_kg_co2e": t["target_kg"], "budget_kg_co2e": budget,
        "budget_to_date_kg_co2e": budget_to_date, "actual_to_date_kg_co2e": actual,
        "missing_estimate_kg_co2e": missing,
        "vs_budget_to_date": ((actual + missing) / budget_to_date - 1
                              if budget_to_date > 0 else None),
        "projected_kg_co2e": projected, "projected_lower_kg_co2e": lower,
        "projected_upper_kg_co2e": upper, "excess_fraction": excess,
        "replan_threshold": target.replan_threshold, "status": status,
        "good_units_to_date": units_to_date, "projected_units": units_total,
        "target_kg_co2e_per_unit": target_pu, "projected_kg_co2e_per_unit": projected_pu,
        "days_elapsed": elapsed, "days_remaining": days_total - elapsed,
        "forecast_model_version": period.get("model_version"), "computed_at_utc": computed_at,
        "message": message,
    }


def progress_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PROGRESS_SCHEMA)


def replan_requests(progress: pl.DataFrame, requested_at: datetime) -> pl.DataFrame:
    """One request per (site, quarter, as-of day) whose quarter row says 'replan'; when several
    targets of a site fire, the one furthest over its target decides the figures."""
    fired = progress.filter((pl.col("period_kind") == "quarter") & (pl.col("status") == "replan"))
    rows = []
    for (site, quarter, as_of), group in fired.group_by(
            ["site_id", "period", "as_of_date"], maintain_order=True):
        ranked = group.sort("excess_fraction", descending=True)
        worst = ranked.row(0, named=True)
        others = [f"{r['basis']} +{r['excess_fraction']:.1%}" for r in ranked.tail(-1)
                  .iter_rows(named=True)]
        reason = (f"forecast {worst['projected_kg_co2e']:,.0f} kgCO2e for {quarter} exceeds the "
                  f"{worst['basis']} target ({worst['budget_kg_co2e']:,.0f} kgCO2e) by "
                  f"{worst['excess_fraction']:.1%}, more than the "
                  f"{worst['replan_threshold']:.0%} that triggers a re-plan"
                  + (f"; also exceeded: {', '.join(others)}" if others else ""))
        rows.append({
            "request_id": request_id(site, quarter, as_of), "site_id": site, "quarter": quarter,
            "as_of_date": as_of, "requested_at_utc": requested_at,
            "forecast_kg_co2e": worst["projected_kg_co2e"],
            "target_kg_co2e": worst["budget_kg_co2e"],
            "excess_fraction": worst["excess_fraction"], "reason": reason,
        })
    return pl.DataFrame(rows, schema=REPLAN_SCHEMA)


def replan_alerts(requests: pl.DataFrame, progress: pl.DataFrame, schema: dict, *,
                  timezone: dict[str, str], causes: dict[str, str] | None = None
                  ) -> pl.DataFrame:
    """One critical alert per re-plan request, in the quality alerts' schema (`schema`:
    quality.alerts.ALERT_SCHEMA) so both tables can be read together. `causes`: site → the
    probable cause text (its largest emitters this quarter)."""
    from zoneinfo import ZoneInfo

    causes = causes or {}
    rows = []
    for r in requests.iter_rows(named=True):
        p = progress.filter((pl.col("site_id") == r["site_id"])
                            & (pl.col("period") == r["quarter"])
                            & (pl.col("as_of_date") == r["as_of_date"])).row(0, named=True)
        zone = ZoneInfo(timezone.get(r["site_id"], "UTC"))

        def utc(d: date, zone=zone) -> datetime:
            return (datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(ZoneInfo("UTC"))
                    .replace(tzinfo=None))

        row = dict.fromkeys(schema)
        row.update({
            "alert_id": f"quarter_target:{r['request_id']}", "site_id": r["site_id"],
            "rule": "quarter_target", "severity": "critical",
            "window_start_utc": utc(p["period_start"]),
            "window_end_utc": utc(p["period_end"] + timedelta(days=1)),
            "detected_at_utc": r["requested_at_utc"],
            "excess_kg_co2e": r["forecast_kg_co2e"] - r["target_kg_co2e"],
            "anomaly_count": 0,
            "probable_cause": causes.get(r["site_id"]),
            "message": r["reason"] + f"; re-plan requested ({r['request_id']})",
        })
        rows.append(row)
    return pl.DataFrame(rows, schema=schema)

"""Drift: a meter whose reading drifts against the rest of the meter tree over weeks.

Each parent meter p and its children form a balance: residual_p = p − Σ children, the energy of
the unmetered loads under p, which is steady from day to day. A meter x reading high by δ(t)
adds δ·E_x to the residual of the relation where x is the parent and removes it from the one
where x is a child — equal and opposite trends. Per site-local day:

1. daily kWh per meter, relations whose parent and every child have a complete day;
2. for each relation and each day d, the Theil–Sen slope of the residual over the trailing
   `window_days` (robust to a single odd day) and a robust t statistic;
3. the drift rate each member would need to explain the trend (per week, relative to its own
   energy): +slope/E_p for the parent, −slope/E_c for a child;
4. a meter is drifting on day d when every relation it belongs to shows a significant trend
   (|t| ≥ `min_t`, implied |rate| ≥ `min_rate_per_week`) and, if it belongs to two, the two
   implied rates agree within `agreement` — that is what tells a drifting sub meter from its
   parent or a child. A relation no confirmed meter explains (a drifting leaf meter cannot be
   told from its parent) is reported as `residual_trend` on the parent when its residual trends
   by at least `residual_rate_per_week` of the parent over `residual_window_days` (a longer
   window than the confirmation's: weather fronts move a temperature-driven unmetered load for
   days, a drift keeps going for weeks).

For a confirmed meter the onset t0 and rate r are fitted on hourly energy (`fit_drift`), and
the finding carries them:
corrections.correct_drift divides the meter's energy by 1 + r·(t − t0). Run it on intervals
already corrected for spikes and gaps (a single spike day would otherwise bend a trend).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from quality.rules.common import anomalies, empty_anomalies, normalize

RULE = "drift"
QUARTERS = np.array([-0.375, -0.125, 0.125, 0.375])  # interval midpoints around an hour's middle


def daily_energy(intervals: pl.DataFrame, timezone: str = "UTC",
                 interval_minutes: int = 15) -> pl.DataFrame:
    """meter_id, local_date, kwh, complete (every interval of the local day present)."""
    per_day = 24 * 60 // interval_minutes
    return (
        normalize(intervals)
        .with_columns(pl.col("interval_start_utc").dt.replace_time_zone("UTC")
                      .dt.convert_time_zone(timezone).dt.date().alias("local_date"))
        .group_by("meter_id", "local_date")
        .agg(pl.sum("kwh"), pl.len().alias("n"))
        .with_columns((pl.col("n") >= per_day).alias("complete"))
        .sort("meter_id", "local_date")
    )


def relation_residuals(daily: pl.DataFrame, meters: pl.DataFrame) -> pl.DataFrame:
    """parent_meter_id, local_date, parent_kwh, children_kwh, residual_kwh for days on which
    the parent and all its children in service reported a complete day."""
    m = normalize(meters)
    kids = m.filter(pl.col("parent_meter_id").is_not_null()).select("meter_id",
                                                                     "parent_meter_id")
    child_days = daily.join(kids, on="meter_id")
    per = child_days.group_by("parent_meter_id", "local_date").agg(
        pl.sum("kwh").alias("children_kwh"), pl.col("complete").all().alias("kids_complete"),
        pl.len().alias("kids"))
    # children expected that day: those with any reading that day (a replaced meter hands over)
    parent = daily.rename({"meter_id": "parent_meter_id", "kwh": "parent_kwh",
                           "complete": "parent_complete"}).drop("n")
    return (
        parent.join(per, on=["parent_meter_id", "local_date"])
        .filter(pl.col("parent_complete") & pl.col("kids_complete"))
        .with_columns((pl.col("parent_kwh") - pl.col("children_kwh")).alias("residual_kwh"))
        .select("parent_meter_id", "local_date", "parent_kwh", "children_kwh", "residual_kwh")
        .sort("parent_meter_id", "local_date")
    )


def _theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and robust t statistic (slope / robust standard error)."""
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx != 0
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok]))
    intercept = float(np.median(y - slope * x))
    resid = y - intercept - slope * x
    sd = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    sxx = float(((x - x.mean()) ** 2).sum())
    # a floor on the noise so a perfectly steady residual does not give an infinite t
    se = max(sd, 1e-6 * max(float(np.abs(y).mean()), 1.0)) / np.sqrt(max(sxx, 1e-12))
    return slope, slope / se


def relation_trends(residuals: pl.DataFrame, daily: pl.DataFrame, meters: pl.DataFrame, *,
                    window_days: int = 7, min_points: int = 5) -> pl.DataFrame:
    """Per relation and end day: slope (kWh/day per day), t, and the implied drift rate per
    week of each member (meter_id, role parent|child, rate_per_week)."""
    m = normalize(meters)
    kids = m.filter(pl.col("parent_meter_id").is_not_null()).select("meter_id",
                                                                     "parent_meter_id")
    rows = []
    for (parent,), part in residuals.group_by(["parent_meter_id"], maintain_order=True):
        days = part["local_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        res = part["residual_kwh"].to_numpy()
        for k in range(len(days)):
            sel = (days <= days[k]) & (days > days[k] - window_days)
            if sel.sum() < min_points:
                continue
            slope, t = _theil_sen(days[sel].astype(float), res[sel])
            rows.append({"parent_meter_id": parent, "local_date": part["local_date"][k],
                         "slope": slope, "t": t, "from_date": part["local_date"][int(
                             np.argmax(sel))]})
    if not rows:
        return pl.DataFrame()
    trends = pl.DataFrame(rows)
    mean_energy = daily.group_by("meter_id").agg(pl.col("kwh").median().alias("e"))
    members = pl.concat([
        trends.with_columns(pl.col("parent_meter_id").alias("meter_id"),
                            pl.lit("parent").alias("role"), pl.lit(1.0).alias("sign")),
        trends.join(kids, on="parent_meter_id").with_columns(
            pl.lit("child").alias("role"), pl.lit(-1.0).alias("sign")),
    ], how="diagonal_relaxed")
    return members.join(mean_energy, on="meter_id").with_columns(
        (pl.col("sign") * pl.col("slope") * 7 / pl.col("e")).alias("rate_per_week")
    )


def detect_drift(intervals: pl.DataFrame, meters: pl.DataFrame, *, timezone: str = "UTC",
                 window_days: int = 7, min_rate_per_week: float = 0.01, min_t: float = 6.0,
                 agreement: float = 0.5, residual_rate_per_week: float = 0.02,
                 residual_window_days: int = 21,
                 grace: timedelta = timedelta(minutes=30)) -> pl.DataFrame:
    daily = daily_energy(intervals, timezone)
    residuals = relation_residuals(daily, meters)
    if residuals.height == 0:
        return empty_anomalies()
    members = relation_trends(residuals, daily, meters, window_days=window_days)
    if members.height == 0:
        return empty_anomalies()
    members = members.with_columns(
        ((pl.col("t").abs() >= min_t) & (pl.col("rate_per_week").abs() >= min_rate_per_week))
        .alias("significant"))
    m = normalize(meters)
    n_rel = (
        pl.concat([
            m.filter(pl.col("parent_meter_id").is_not_null()).select("meter_id"),
            m.join(m.select(pl.col("parent_meter_id").alias("meter_id")).unique(),
                   on="meter_id").select("meter_id"),
        ]).group_by("meter_id").agg(pl.len().alias("relations"))
    )
    per_meter = members.group_by("meter_id", "local_date").agg(
        pl.col("significant").all().alias("all_sig"), pl.len().alias("seen"),
        pl.col("rate_per_week").min().alias("rmin"), pl.col("rate_per_week").max().alias("rmax"),
        pl.col("rate_per_week").mean().alias("rate"),
    ).join(n_rel, on="meter_id")
    confirmed = per_meter.filter(
        pl.col("all_sig") & (pl.col("seen") == 2) & (pl.col("relations") == 2)
        & (pl.col("rmin") * pl.col("rmax") > 0)
        & ((pl.col("rmax") - pl.col("rmin")).abs()
           <= agreement * pl.max_horizontal(pl.col("rmax").abs(), pl.col("rmin").abs()))
    )
    found = []
    sites = m.select("meter_id", "site_id")
    tz_end = (pl.col("local_date").cast(pl.Datetime("us")).dt.replace_time_zone(timezone)
              + pl.duration(days=1)).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    for (meter_id,), part in confirmed.sort("local_date").group_by(["meter_id"],
                                                                   maintain_order=True):
        first_day = part["local_date"].min()
        fit = fit_drift(intervals, meters, meter_id)
        if fit is None:
            continue
        onset, rate_per_day = fit
        detected = part.filter(pl.col("local_date") == first_day).select(tz_end).item() + grace
        last_end = daily.select(tz_end.max()).item()
        found.append({
            "rule": RULE, "check": "meter_drift", "severity": "warning",
            "meter_id": meter_id, "subject_kind": "meter", "subject_id": meter_id,
            "window_start_utc": onset, "window_end_utc": last_end,
            "detected_at_utc": detected,
            "observed": rate_per_day * 7, "expected": 0.0, "unit": "per week",
            "message": f"{meter_id} drifts by {rate_per_day * 7:+.2%} per week since "
                       f"{onset:%Y-%m-%d %H:%M} UTC (confirmed against its parent and its "
                       "children)",
            "details": _json(onset=onset, rate_per_day=rate_per_day,
                             rate_per_week=rate_per_day * 7, first_detected_day=first_day),
        })
    # significant relations that no confirmed meter explains
    # (judged relative to the parent: a weather-driven unmetered load moves a residual by a few
    # tenths of a percent of its parent per week; a drift that matters moves it by more)
    long_members = relation_trends(residuals, daily, meters, window_days=residual_window_days,
                                   min_points=residual_window_days - 2)
    if long_members.height == 0:
        long_members = members.head(0)
    unexplained = (
        long_members.filter(pl.col("role") == "parent")
        .filter((pl.col("t").abs() >= min_t)
                & (pl.col("rate_per_week").abs() >= residual_rate_per_week))
        .select("parent_meter_id", "local_date", "from_date",
                pl.col("rate_per_week").alias("rate"))
    )
    # a relation is unexplained only if none of its members is confirmed on any day
    confirmed_ids = set(confirmed["meter_id"].to_list())
    kids = m.filter(pl.col("parent_meter_id").is_not_null())
    for (parent,), part in unexplained.sort("local_date").group_by(["parent_meter_id"],
                                                                   maintain_order=True):
        members_of = {parent, *kids.filter(pl.col("parent_meter_id") == parent)["meter_id"]}
        if members_of & confirmed_ids or part.height < 2:
            continue
        first = part.row(0, named=True)
        start = datetime.combine(first["from_date"], datetime.min.time())
        found.append({
            "rule": RULE, "check": "residual_trend", "severity": "warning",
            "meter_id": parent, "subject_kind": "meter", "subject_id": parent,
            "window_start_utc": start, "window_end_utc": daily.select(tz_end.max()).item(),
            "detected_at_utc": part.head(1).select(tz_end).item() + grace,
            "observed": first["rate"], "expected": 0.0, "unit": "per week",
            "message": f"the unmetered residual under {parent} trends by "
                       f"{first['rate'] or 0.0:+.2%} "
                       "of the parent per week: the parent or one of its children drifts",
            "details": _json(days=part.height),
        })
    if not found:
        return empty_anomalies()
    return anomalies(pl.DataFrame(found).join(sites, on="meter_id", how="left"))


def hourly_relation(intervals: pl.DataFrame, meters: pl.DataFrame, parent: str,
                    interval_minutes: int = 15) -> pl.DataFrame:
    """hour_utc, parent_kwh and kWh of each child (wide) for hours in which the parent and
    every child in service reported every interval."""
    m = normalize(meters)
    kids = m.filter(pl.col("parent_meter_id") == parent)["meter_id"].to_list()
    per_hour = 60 // interval_minutes
    hourly = (
        normalize(intervals).filter(pl.col("meter_id").is_in([parent, *kids]))
        .group_by("meter_id", pl.col("interval_start_utc").dt.truncate("1h").alias("hour_utc"))
        .agg(pl.sum("kwh"), pl.len().alias("n"))
    )
    complete = hourly.filter(pl.col("n") == per_hour)
    wide = complete.pivot(on="meter_id", index="hour_utc", values="kwh").sort("hour_utc")
    if parent not in wide.columns:
        return wide.head(0)
    present_kids = [k for k in kids if k in wide.columns]
    # a replaced meter hands over to its successor: a child is owed only while it reports
    owed = hourly.filter(pl.col("meter_id").is_in(kids)).group_by("hour_utc").agg(
        pl.len().alias("owed"), (pl.col("n") == per_hour).sum().alias("full"))
    wide = wide.join(owed, on="hour_utc", how="inner").filter(
        pl.col("owed") == pl.col("full")).drop("owed", "full")
    return wide.with_columns(pl.col(present_kids).fill_null(0.0)).drop_nulls(parent)


def fit_drift(intervals: pl.DataFrame, meters: pl.DataFrame,
              meter_id: str) -> tuple[datetime, float] | None:
    """Onset (naive UTC) and rate per day of a meter x reading (1 + r·(t − t0)⁺) × its truth.

    On hourly energy of the relation where x is the parent (else where it is a child):
      parent role: x − Σ children = u + r·h·(children + u), the unmetered energy u following
                   the line's load roughly as a + b·children;
      child role:  Σ others + x − parent = r·h·x_true − u, with u ≈ a + b·others;
    h = days since t0 (≥ 0). For each t0 on a 15-minute grid, least squares (u refitted three
    times) gives a, b and r; the t0 with the smallest squared error wins. Hourly data (not
    daily) because the unmetered share follows the production state within the day: a daily
    fit leaves a bias of a few tenths of a percent in r, which a small unmetered residual
    downstream multiplies tenfold."""
    m = normalize(meters)
    parent_of = dict(zip(m["meter_id"], m["parent_meter_id"], strict=True))
    has_kids = m.filter(pl.col("parent_meter_id") == meter_id).height > 0
    if has_kids:
        rel = hourly_relation(intervals, meters, meter_id)
        role = "parent"
    elif parent_of.get(meter_id) is not None:
        rel = hourly_relation(intervals, meters, parent_of[meter_id])
        role = "child"
    else:
        return None
    if rel.height < 48 or meter_id not in rel.columns:
        return None
    cols = [c for c in rel.columns if c != "hour_utc"]
    epoch = datetime(1970, 1, 1)
    hours = np.array([(t - epoch).total_seconds() / 3600.0 for t in rel["hour_utc"]]) + 0.5
    if role == "parent":
        kids = rel.select(pl.sum_horizontal([c for c in cols if c != meter_id]))\
            .to_series().to_numpy()
        y = rel[meter_id].to_numpy() - kids
        load = kids
    else:
        p = parent_of[meter_id]
        others = rel.select(pl.sum_horizontal([c for c in cols if c not in (p, meter_id)]))\
            .to_series().to_numpy()
        y = others + rel[meter_id].to_numpy() - rel[p].to_numpy()
        load = rel[meter_id].to_numpy()
        base = others
    best = None
    for t0 in np.arange(hours.min() - 0.5, hours.max() + 0.5, 0.25):
        # mean over the hour's four interval midpoints of max(0, t − t0), in days
        h = np.clip(hours[:, None] + QUARTERS[None, :] - t0, 0, None).mean(axis=1) / 24.0
        if not h.any():
            continue
        if role == "parent":
            # y = u + r·h·(load + u), u = a + b·load: fit u, then r on h·(load + u), twice
            u = np.zeros_like(load)
            for _ in range(3):
                x = np.column_stack([np.ones_like(h), load, h * (load + u)])
                beta, *_ = np.linalg.lstsq(x, y, rcond=None)
                u = beta[0] + beta[1] * load
        else:
            x = np.column_stack([np.ones_like(h), base, h * load])
            beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        sse = float(((y - x @ beta) ** 2).sum())
        if best is None or sse < best[0]:
            best = (sse, t0, float(beta[2]))
    if best is None:
        return None
    _, t0, rate = best
    onset = epoch + timedelta(hours=float(t0))
    return onset.replace(microsecond=0), rate


def _json(**fields) -> str:
    import json

    return json.dumps(fields, sort_keys=True, default=str)

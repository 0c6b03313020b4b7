"""What to do about an anomaly: pure Polars functions that turn findings into overlay rows.

The rules (quality/rules/, quality/suites/) decide *what is wrong*; this module decides *what to
do about it*. Nothing here changes a reading: every decision is an overlay row (OVERLAY_SCHEMA)
naming its target — one raw reading (raw_id), one meter interval (meter_id,
interval_start_utc), or a batch / bill / factor row / meter (subject_id) — with the rule, the
action, the method, the original and corrected values and the reason. `apply_overlay` gives the
corrected interval energy; the raw readings and the base intervals stay as they were.

Actions:
- flag        recorded, no value changes (a re-send kept as first received, a rollover already
              handled, a late reading whose day must be re-run);
- correct     an exact arithmetic fix (a rollover: delta + rollover value);
- estimate    the value is replaced by an estimate (a gap, a spike, a stuck run, a drift);
- quarantine  the row is excluded (a reading in the future, a spike reading, an invalid batch,
              a rejected factor row); on an interval, corrected_value is null;
- alert       a person must look (energy per unit, bill gap, a batch with missing data, ...).

Estimation methods (gaps, stuck runs, spikes):
- linear_interpolation  short runs (≤ `short_max_intervals`): between the neighbouring
                        intervals; for a counter the even spread of its known delta;
- parent_balance        the parent meter minus the siblings minus the parent's typical
                        unmetered residual (median over the 24 h around the run) — exact up to
                        the variation of the unmetered loads; preferred for long runs when the
                        parent and every sibling reported;
- profile               the meter's median energy in the previous `history_days` in the same
                        context: for line meters the same running state, product and shift, for
                        others the same site-local hour;
For counters the total of the run is known (the counter's delta), so an estimate only shapes
it: corrected values are scaled to the known total (`*_scaled`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from quality.rules.common import line_running, meter_line, normalize

OVERLAY_SCHEMA: dict[str, pl.DataType] = {
    "overlay_id": pl.String(),  # action:target:key:time:rule:check — stable across re-runs
    "anomaly_id": pl.String(),  # the finding the decision answers
    "rule": pl.String(),
    "check": pl.String(),
    "action": pl.String(),  # flag | correct | estimate | quarantine | alert
    "method": pl.String(),  # linear_interpolation | parent_balance | profile | ... | none
    "target": pl.String(),  # reading | interval | meter | batch | bill | factor | row
    "site_id": pl.String(),
    "meter_id": pl.String(),
    "raw_id": pl.String(),  # target reading
    "interval_start_utc": pl.Datetime("us"),  # target interval (with meter_id)
    "subject_id": pl.String(),  # target batch / bill / factor row / source row / meter
    "original_value": pl.Float64(),
    "corrected_value": pl.Float64(),
    "value_unit": pl.String(),
    "reason": pl.String(),
}
ACTIONS = ("flag", "correct", "estimate", "quarantine", "alert")
INTERVAL = timedelta(minutes=15)


def empty_overlay() -> pl.DataFrame:
    return pl.DataFrame(schema=OVERLAY_SCHEMA)


def overlay(frame: pl.DataFrame) -> pl.DataFrame:
    """Conform decisions to OVERLAY_SCHEMA (absent columns null) with a stable overlay_id."""
    if frame.height == 0:
        return empty_overlay()
    frame = normalize(frame)
    cols = [(pl.col(n) if n in frame.columns else pl.lit(None)).cast(t).alias(n)
            for n, t in OVERLAY_SCHEMA.items() if n != "overlay_id"]
    out = frame.select(cols).with_columns(
        pl.concat_str([
            pl.col("action"), pl.col("target"),
            pl.coalesce("raw_id", "meter_id", "subject_id", pl.lit("-")),
            pl.col("interval_start_utc").dt.strftime("%Y%m%dT%H%MZ").fill_null(
                pl.coalesce("subject_id", pl.lit("-"))),
            pl.col("rule"), pl.col("check").fill_null("-"),
        ], separator=":").alias("overlay_id"))
    return (out.select(list(OVERLAY_SCHEMA))
            .unique("overlay_id", keep="first", maintain_order=True)
            .sort("meter_id", "interval_start_utc", "overlay_id", nulls_last=True))


def concat_overlay(frames) -> pl.DataFrame:
    parts = [f for f in frames if f is not None and f.height]
    return overlay(pl.concat(parts, how="diagonal_relaxed")) if parts else empty_overlay()


def _base(a: dict, **fields) -> dict:
    return {"anomaly_id": a["anomaly_id"], "rule": a["rule"], "check": a["check"],
            "site_id": a["site_id"], **fields}


def _details(a: dict) -> dict:
    try:
        return json.loads(a["details"]) if a.get("details") else {}
    except (TypeError, ValueError):
        return {}


def _ts(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=None)


# --------------------------------------------------------------------------------------------
# Estimators (pure: the frames in, an array of kWh per target interval out, or None)
# --------------------------------------------------------------------------------------------


class Context:
    """The frames the estimators need, normalised once."""

    def __init__(self, intervals: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame,
                 production: pl.DataFrame, timezone: str = "UTC", history_days: int = 28):
        self.intervals = normalize(intervals).select(
            "meter_id", "site_id", "interval_start_utc", pl.col("kwh").cast(pl.Float64),
            *(["how_obtained"] if "how_obtained" in intervals.columns else []))
        self.meters = normalize(meters)
        self.equipment = normalize(equipment)
        self.production = line_running(production)
        self.timezone = timezone
        self.history_days = history_days
        self.line_of = dict(meter_line(meters, equipment).select("meter_id", "line_id")
                            .iter_rows())
        self.parent_of = dict(self.meters.select("meter_id", "parent_meter_id").iter_rows())
        self._service = {
            r["meter_id"]: (r["installed_at_utc"], r["removed_at_utc"])
            for r in self.meters.select("meter_id", "installed_at_utc", "removed_at_utc")
            .iter_rows(named=True)}
        self._by_meter: dict[str, pl.DataFrame] = {
            k[0]: v.sort("interval_start_utc")
            for k, v in self.intervals.partition_by("meter_id", as_dict=True).items()}

    def series(self, meter_id: str) -> pl.DataFrame:
        return self._by_meter.get(meter_id, self.intervals.head(0))

    def values_at(self, meter_id: str, targets: list[datetime]) -> np.ndarray:
        """kWh of the meter at each target (NaN where absent)."""
        s = self.series(meter_id)
        t = pl.DataFrame({"interval_start_utc": targets},
                         schema={"interval_start_utc": pl.Datetime("us")})
        return t.join(s, on="interval_start_utc", how="left")["kwh"].to_numpy().astype(float)

    def in_service(self, meter_id: str, at: datetime) -> bool:
        installed, removed = self._service.get(meter_id, (None, None))
        return (installed is None or installed <= at) and (removed is None or at < removed)

    def context_keys(self, meter_id: str, times: list[datetime]) -> pl.DataFrame:
        """Per time: running (bool), sku, shift of the meter's line; local hour."""
        t = pl.DataFrame({"interval_start_utc": times},
                         schema={"interval_start_utc": pl.Datetime("us")}).with_columns(
            pl.col("interval_start_utc").dt.replace_time_zone("UTC")
            .dt.convert_time_zone(self.timezone).dt.hour().alias("hour"))
        line = self.line_of.get(meter_id)
        if line is None:
            return t.with_columns(pl.lit(False).alias("running"),
                                  pl.lit(None, pl.String).alias("sku"),
                                  pl.lit(None, pl.String).alias("shift"))
        b = self.production.filter(pl.col("line_id") == line)
        hour_shift = (
            b.with_columns(pl.col("start_utc").dt.replace_time_zone("UTC")
                           .dt.convert_time_zone(self.timezone).dt.hour().alias("hour"))
            .group_by("hour").agg(pl.col("shift").mode().first())
        )
        on = (
            t.join_asof(b.sort("start_utc").select("start_utc", "end_utc", "sku", "shift"),
                        left_on="interval_start_utc", right_on="start_utc", strategy="backward")
            .with_columns((pl.col("end_utc") > pl.col("interval_start_utc")).fill_null(False)
                          .alias("running"))
            .with_columns(pl.when(pl.col("running")).then(pl.col("sku")).alias("sku"),
                          pl.when(pl.col("running")).then(pl.col("shift")).alias("shift"))
            .drop("start_utc", "end_utc")
        )
        return on.join(hour_shift.rename({"shift": "hour_shift"}), on="hour", how="left") \
            .with_columns(pl.coalesce("shift", "hour_shift").alias("shift")).drop("hour_shift")


def linear_estimate(ctx: Context, meter_id: str, targets: list[datetime]) -> np.ndarray | None:
    """Between the last interval before the run and the first after it (one side: constant)."""
    s = ctx.series(meter_id)
    first, last = min(targets), max(targets)
    before = s.filter(pl.col("interval_start_utc") < first).tail(1)
    after = s.filter(pl.col("interval_start_utc") > last).head(1)
    if before.height == 0 and after.height == 0:
        return None
    a = before["kwh"][0] if before.height else after["kwh"][0]
    b = after["kwh"][0] if after.height else a
    n = len(targets)
    pos = np.arange(1, n + 1) / (n + 1)
    return a + (b - a) * pos


def parent_balance_estimate(ctx: Context, meter_id: str, targets: list[datetime],
                            reference: timedelta = timedelta(hours=24)) -> np.ndarray | None:
    """parent − Σ siblings − the parent's typical residual, per target interval. None when the
    meter has no parent or the parent or a sibling in service did not report a target."""
    parent = ctx.parent_of.get(meter_id)
    if parent is None:
        return None
    kids = ctx.meters.filter(pl.col("parent_meter_id") == parent)["meter_id"].to_list()
    siblings = [k for k in kids if k != meter_id]
    p = ctx.values_at(parent, targets)
    if np.isnan(p).any():
        return None
    sib = np.zeros(len(targets))
    for s in siblings:
        v = ctx.values_at(s, targets)
        live = np.array([ctx.in_service(s, t) for t in targets])
        if np.isnan(v[live]).any():
            return None
        sib += np.nan_to_num(v)
    first, last = min(targets), max(targets) + INTERVAL
    ref_times = pl.datetime_range(first - reference, last + reference, INTERVAL,
                                  closed="left", time_unit="us", eager=True)
    ref_times = [t for t in ref_times.to_list() if t < first or t >= last]
    pr = ctx.values_at(parent, ref_times)
    total = np.zeros(len(ref_times))
    ok = ~np.isnan(pr)
    for k in kids:
        v = ctx.values_at(k, ref_times)
        live = np.array([ctx.in_service(k, t) for t in ref_times])
        ok &= ~(np.isnan(v) & live)
        total += np.nan_to_num(v)
    if ok.sum() < 8:
        return None
    typical = float(np.median((pr - total)[ok]))
    return np.clip(p - sib - typical, 0.0, None)


def profile_estimate(ctx: Context, meter_id: str, targets: list[datetime]) -> np.ndarray | None:
    """Median kWh of the meter over the previous `history_days` in the same context: line
    meters by (running, product, shift), falling back to (running, product) then (running);
    other meters by site-local hour."""
    s = ctx.series(meter_id)
    first = min(targets)
    hist = s.filter((pl.col("interval_start_utc") < first)
                    & (pl.col("interval_start_utc") >= first - timedelta(days=ctx.history_days)))
    if "how_obtained" in hist.columns:
        hist = hist.filter(pl.col("how_obtained") == "measured")
    if hist.height == 0:
        return None
    hk = ctx.context_keys(meter_id, hist["interval_start_utc"].to_list()).with_columns(
        hist["kwh"].alias("kwh"))
    tk = ctx.context_keys(meter_id, targets)
    if ctx.line_of.get(meter_id) is None:
        levels = [["hour"]]
    else:
        levels = [["running", "sku", "shift"], ["running", "sku"], ["running"]]
    est = pl.Series([None] * len(targets), dtype=pl.Float64)
    for keys in levels:
        med = hk.group_by(keys).agg(pl.col("kwh").median().alias("m"))
        got = tk.join(med, on=keys, how="left", nulls_equal=True)["m"]
        est = pl.select(pl.coalesce(est, got)).to_series()
    if est.null_count():
        fill = float(hist["kwh"].median())
        est = est.fill_null(fill)
    return est.to_numpy().astype(float)


def estimate(ctx: Context, meter_id: str, targets: list[datetime], *, short: bool,
             prefer: tuple[str, ...] = ("parent_balance", "profile", "linear_interpolation")
             ) -> tuple[np.ndarray, str] | None:
    """The first estimator of `prefer` that gives an answer (short runs: linear first)."""
    funcs = {"parent_balance": parent_balance_estimate, "profile": profile_estimate,
             "linear_interpolation": linear_estimate}
    order = ("linear_interpolation",) if short else prefer
    for name in order:
        got = funcs[name](ctx, meter_id, targets)
        if got is not None and np.isfinite(got).all():
            return got, name
    return None


def _grid(start: datetime, end: datetime) -> list[datetime]:
    return pl.datetime_range(start, end, INTERVAL, closed="left", time_unit="us",
                             eager=True).to_list()


# --------------------------------------------------------------------------------------------
# Decisions per rule
# --------------------------------------------------------------------------------------------


def _register(ctx: Context, meter_id: str) -> str | None:
    m = ctx.meters.filter(pl.col("meter_id") == meter_id)
    return m["register"][0] if m.height else None


def _interval_rows(a: dict, meter_id: str, targets: list[datetime], original: np.ndarray,
                   corrected: np.ndarray, method: str, action: str, reason: str) -> list[dict]:
    return [
        _base(a, action=action, method=method, target="interval", meter_id=meter_id,
              interval_start_utc=t,
              original_value=None if o is None or np.isnan(o) else float(o),
              corrected_value=None if c is None or np.isnan(c) else float(c),
              value_unit="kWh", reason=reason)
        for t, o, c in zip(targets, original, corrected, strict=True)
    ]


def estimate_gaps(gaps: pl.DataFrame, ctx: Context, *,
                  short_max_intervals: int = 4) -> pl.DataFrame:
    """Gap findings (rule gaps, checks short_gap / long_gap) → interval estimates.

    Interval and power registers: the missing intervals get an estimate. Counters: the run's
    energy is known (the delta across it, which int_meter_interval_energy spreads evenly over
    the span [first missing − 1 interval, end)); a long run is re-shaped by the estimate and
    scaled to that total."""
    rows = []
    for a in gaps.filter(pl.col("check").is_in(["short_gap", "long_gap"])).iter_rows(named=True):
        meter_id = a["meter_id"]
        short = a["check"] == "short_gap" or (a["observed"] or 0) <= short_max_intervals
        if _register(ctx, meter_id) == "counter_kwh":
            targets = _grid(a["window_start_utc"] - INTERVAL, a["window_end_utc"])
            original = ctx.values_at(meter_id, targets)
            if np.isnan(original).any():
                continue  # the span was not spread (longer than the max gap): nothing known
            total = float(original.sum())
            got = None if short else estimate(ctx, meter_id, targets, short=False,
                                              prefer=("parent_balance", "profile"))
            if got is None or got[0].sum() <= 0:
                shaped, method = np.full(len(targets), total / len(targets)), \
                    "linear_interpolation"
            else:
                shaped, method = total * got[0] / got[0].sum(), f"{got[1]}_scaled"
            reason = (f"counter gap of {int(a['observed'] or 0)} reading(s): the known delta "
                      f"{total:.3f} kWh shaped by {method}")
            rows += _interval_rows(a, meter_id, targets, original, shaped, method, "estimate",
                                   reason)
        else:
            targets = _grid(a["window_start_utc"], a["window_end_utc"])
            original = ctx.values_at(meter_id, targets)
            targets = [t for t, o in zip(targets, original, strict=True) if np.isnan(o)]
            if not targets:
                continue
            got = estimate(ctx, meter_id, targets, short=short)
            if got is None:
                continue
            reason = f"{len(targets)} missing interval(s) estimated by {got[1]}"
            rows += _interval_rows(a, meter_id, targets, np.full(len(targets), np.nan), got[0],
                                   got[1], "estimate", reason)
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def correct_spikes(spikes: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Range/spike findings → the reading quarantined, and its interval(s) estimated:
    - interval/power reading above capacity: the interval by linear interpolation;
    - counter outlier: quarantine only (int_meter_interval_energy skips it and spreads its
      span evenly, which is the linear interpolation of the counter);
    - counter span above capacity, or a fall that is not a rollover: the span's energy is
      unknown — its intervals are estimated (parent balance, else profile)."""
    rows = []
    for a in spikes.filter(pl.col("rule") == "range_spike").iter_rows(named=True):
        meter_id = a["meter_id"]
        if a["raw_id"] is not None:
            rows.append(_base(a, action="quarantine", method="none", target="reading",
                              meter_id=meter_id, raw_id=a["raw_id"],
                              original_value=a["observed"], corrected_value=None,
                              value_unit=a["unit"], reason=a["message"]))
        register = _register(ctx, meter_id)
        if a["check"] == "counter_outlier" or a["check"] == "negative_value":
            continue
        targets = _grid(a["window_start_utc"], a["window_end_utc"])
        original = ctx.values_at(meter_id, targets)
        if register in ("interval_kwh", "power_kw"):
            got = estimate(ctx, meter_id, targets, short=True)
        else:
            got = estimate(ctx, meter_id, targets, short=False,
                           prefer=("parent_balance", "profile"))
        if got is None:
            rows += _interval_rows(a, meter_id, targets, original,
                                   np.full(len(targets), np.nan), "none", "quarantine",
                                   f"{a['message']}; no estimate possible")
            continue
        rows += _interval_rows(a, meter_id, targets, original, got[0], got[1], "estimate",
                               f"{a['message']}; estimated by {got[1]}")
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def correct_rollovers(rollovers: pl.DataFrame) -> pl.DataFrame:
    """Rollover findings → `correct` rows: the span's energy is delta + rollover value, spread
    over the span's intervals (what int_meter_interval_energy computes; the row documents it)."""
    rows = []
    for a in rollovers.filter(pl.col("rule") == "counter_rollover").iter_rows(named=True):
        targets = _grid(a["window_start_utc"], a["window_end_utc"])
        n = len(targets)
        rows += _interval_rows(
            a, a["meter_id"], targets, np.full(n, a["observed"] / n),
            np.full(n, a["expected"] / n), "rollover_modulus", "correct",
            f"counter wrapped: delta {a['observed']:.3f} + rollover = {a['expected']:.3f} kWh")
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def correct_stuck(stuck: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Stuck findings → the frozen run and the catch-up interval re-estimated. A counter that
    resumes at its true position carries the run's energy in its catch-up delta: that known
    total is shaped by parent balance (else profile, else evenly) over the run."""
    rows = []
    for a in stuck.filter(pl.col("rule") == "stuck_meter").iter_rows(named=True):
        meter_id = a["meter_id"]
        d = _details(a)
        end = _ts(d.get("catch_up_end"))
        if a["check"] == "repeated_value" or end is None:
            rows.append(_base(a, action="flag", method="none", target="meter",
                              meter_id=meter_id, subject_id=meter_id, reason=a["message"]))
            continue
        targets = _grid(a["window_start_utc"], end)
        original = ctx.values_at(meter_id, targets)
        if np.isnan(original).any():
            continue
        total = float(original.sum())
        got = estimate(ctx, meter_id, targets, short=False, prefer=("parent_balance", "profile"))
        if got is None or got[0].sum() <= 0:
            shaped, method = np.full(len(targets), total / len(targets)), "even_spread"
        else:
            shaped, method = total * got[0] / got[0].sum(), f"{got[1]}_scaled"
        rows += _interval_rows(a, meter_id, targets, original, shaped, method, "estimate",
                               f"stuck counter: the catch-up of {total:.3f} kWh spread over the "
                               f"frozen run by {method}")
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def correct_drift(drifts: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """Confirmed drift → every interval of the meter from the onset divided by
    1 + rate_per_day × days since the onset (at the interval's midpoint)."""
    parts = []
    for a in drifts.filter((pl.col("rule") == "drift")
                           & (pl.col("check") == "meter_drift")).iter_rows(named=True):
        d = _details(a)
        onset, rate = _ts(d.get("onset")), d.get("rate_per_day")
        if onset is None or rate is None:
            continue
        s = ctx.series(a["meter_id"]).filter(pl.col("interval_start_utc") + INTERVAL > onset)
        days = ((pl.col("interval_start_utc") + timedelta(minutes=7.5) - pl.lit(onset))
                .dt.total_seconds() / 86400.0).clip(0, None)
        parts.append(s.select(
            pl.lit(a["anomaly_id"]).alias("anomaly_id"), pl.lit("drift").alias("rule"),
            pl.lit(a["check"]).alias("check"), pl.lit("estimate").alias("action"),
            pl.lit("drift_rescale").alias("method"), pl.lit("interval").alias("target"),
            "site_id", "meter_id", "interval_start_utc",
            pl.col("kwh").alias("original_value"),
            (pl.col("kwh") / (1 + rate * days)).alias("corrected_value"),
            pl.lit("kWh").alias("value_unit"),
            pl.lit(f"meter drifts by {rate * 7:+.2%} per week since {onset:%Y-%m-%d %H:%M} UTC: "
                   "reading divided by 1 + rate × time since onset").alias("reason"),
        ))
    return overlay(pl.concat(parts)) if parts else empty_overlay()


def resolve_duplicates(found: pl.DataFrame) -> pl.DataFrame:
    """Conflicting re-sends → `flag` rows (the first received copy is the reading, as staging
    keeps it); identical re-sends need no decision."""
    rows = [
        _base(a, action="flag", method="first_received", target="reading",
              meter_id=a["meter_id"], raw_id=a["raw_id"], original_value=a["observed"],
              corrected_value=a["expected"], value_unit=a["unit"], reason=a["message"])
        for a in found.filter(pl.col("check").is_in(["duplicate_conflicting",
                                                     "conflicting_instant"]))
        .iter_rows(named=True)
    ]
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def quarantine_readings(found: pl.DataFrame) -> pl.DataFrame:
    """Readings that cannot be used (timestamp in the future, outside the meter's service
    window, contract violations) → `quarantine`; late arrivals → `flag` (their day re-runs)."""
    rows = []
    for a in found.filter(pl.col("subject_kind") == "reading").iter_rows(named=True):
        if a["rule"] == "clock" and a["check"] == "late_arrival":
            rows.append(_base(a, action="flag", method="rerun_day", target="reading",
                              meter_id=a["meter_id"], raw_id=a["raw_id"] or a["subject_id"],
                              reason=a["message"]))
        elif (a["rule"] == "clock" and a["check"] == "future_timestamp") or \
                a["check"] == "outside_service" or a["rule"] == "contract":
            rows.append(_base(a, action="quarantine", method="none", target="reading",
                              meter_id=a["meter_id"], raw_id=a["raw_id"] or a["subject_id"],
                              original_value=a["observed"], value_unit=a["unit"],
                              reason=a["message"]))
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def reject_rows(found: pl.DataFrame) -> pl.DataFrame:
    """Invalid production batches and factor rows → `quarantine` naming the row (a rejected
    factor row is not used for any emission; an invalid batch not for intensity); overlapping
    batches → `flag`."""
    rows = []
    for a in found.filter(pl.col("rule").is_in(["production_data", "factor_file"])
                          | ((pl.col("rule") == "contract")
                             & pl.col("subject_kind").is_in(["batch", "factor", "bill"])))\
            .iter_rows(named=True):
        action = "flag" if a["check"] == "overlapping_batches" else "quarantine"
        rows.append(_base(a, action=action, method="none", target=a["subject_kind"],
                          subject_id=a["subject_id"], original_value=a["observed"],
                          value_unit=a["unit"], reason=a["message"]))
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def reject_factor_rows(found: pl.DataFrame) -> pl.DataFrame:
    """The factor rows to reject: factor_key, reasons (one line per row)."""
    q = reject_rows(found).filter((pl.col("target") == "factor")
                                  & (pl.col("action") == "quarantine"))
    return q.group_by(pl.col("subject_id").alias("factor_key")).agg(
        pl.col("reason").sort().str.join("; ").alias("reasons")).sort("factor_key")


ALERT_RULES = {
    ("energy_per_unit", None), ("bill_gap", "outside_band"), ("gaps", "batch_data_missing"),
    ("drift", None), ("stuck_meter", None), ("range_spike", "above_capacity"),
    ("range_spike", "negative_delta"), ("clock", "duplicate_conflicting"),
    ("reported_vs_recomputed", None),
}


def alert_rows(found: pl.DataFrame) -> pl.DataFrame:
    """Findings a person must see → `alert` rows (alerts.build_alerts adds the probable
    cause)."""
    rows = []
    for a in found.iter_rows(named=True):
        if (a["rule"], None) in ALERT_RULES or (a["rule"], a["check"]) in ALERT_RULES:
            rows.append(_base(a, action="alert", method="none", target=a["subject_kind"],
                              meter_id=a["meter_id"], subject_id=a["subject_id"],
                              interval_start_utc=None, original_value=a["observed"],
                              corrected_value=a["expected"], value_unit=a["unit"],
                              reason=a["message"]))
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def flag_reported(found: pl.DataFrame) -> pl.DataFrame:
    """Reported vs recomputed → `flag` rows: the printed value and the recomputed one."""
    rows = [
        _base(a, action="flag", method="recompute", target="row", subject_id=a["subject_id"],
              original_value=a["observed"], corrected_value=a["expected"], value_unit=a["unit"],
              reason=a["message"])
        for a in found.filter(pl.col("rule") == "reported_vs_recomputed").iter_rows(named=True)
    ]
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def document_rollovers_and_swaps(found: pl.DataFrame) -> pl.DataFrame:
    """Meter replacements → `flag` rows on the old meter (no delta across the two devices)."""
    rows = [
        _base(a, action="flag", method="service_window", target="meter",
              meter_id=a["meter_id"], subject_id=a["meter_id"], reason=a["message"])
        for a in found.filter((pl.col("rule") == "meter_replacement")
                              & (pl.col("check") == "replacement")).iter_rows(named=True)
    ]
    return overlay(pl.DataFrame(rows, infer_schema_length=None)) if rows else empty_overlay()


def decide(found: pl.DataFrame, *, intervals: pl.DataFrame, meters: pl.DataFrame,
           equipment: pl.DataFrame, production: pl.DataFrame, timezone: str = "UTC",
           short_max_intervals: int = 4, history_days: int = 28) -> pl.DataFrame:
    """Every decision for a set of findings, as one overlay."""
    ctx = Context(intervals, meters, equipment, production, timezone, history_days)
    return concat_overlay([
        estimate_gaps(found, ctx, short_max_intervals=short_max_intervals),
        correct_spikes(found, ctx),
        correct_rollovers(found),
        correct_stuck(found, ctx),
        correct_drift(found, ctx),
        resolve_duplicates(found),
        quarantine_readings(found),
        reject_rows(found),
        flag_reported(found),
        document_rollovers_and_swaps(found),
        alert_rows(found),
    ])


PRIORITY = {"quarantine": 4, "estimate": 3, "correct": 2}


def apply_overlay(intervals: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """The corrected interval energy: base intervals with the overlay's interval rows applied.

    Per (meter_id, interval_start_utc) the strongest decision wins (quarantine > estimate >
    correct; among estimates a gap/spike/stuck estimate over a drift rescale): estimate and
    correct set kwh (inserting intervals that were missing) and how_obtained =
    '<action>:<method>'; quarantine removes the interval. Other rows change nothing here."""
    base = normalize(intervals).with_columns(pl.col("kwh").cast(pl.Float64))
    if "how_obtained" not in base.columns:
        base = base.with_columns(pl.lit("measured").alias("how_obtained"))
    rows = normalize(decisions).filter(
        (pl.col("target") == "interval") & pl.col("action").is_in(list(PRIORITY)))
    if rows.height == 0:
        return base
    rows = rows.with_columns(
        (pl.col("action").replace_strict(PRIORITY, return_dtype=pl.Int32) * 10
         - (pl.col("method") == "drift_rescale").cast(pl.Int32)).alias("_p")
    ).sort("_p", descending=True).unique(["meter_id", "interval_start_utc"], keep="first")
    keyed = rows.select("meter_id", "interval_start_utc", pl.col("site_id").alias("_site"),
                        "action", "method", "corrected_value")
    out = base.join(keyed, on=["meter_id", "interval_start_utc"], how="full", coalesce=True)
    changed = pl.col("action").is_in(["estimate", "correct"])
    return (
        out.filter(pl.col("action").is_null() | (pl.col("action") != "quarantine"))
        .with_columns(
            pl.coalesce("site_id", "_site").alias("site_id"),
            pl.when(changed).then(pl.col("corrected_value")).otherwise(pl.col("kwh"))
            .alias("kwh"),
            pl.when(changed).then(pl.format("{}:{}", "action", "method"))
            .otherwise(pl.col("how_obtained")).alias("how_obtained"),
        )
        .select(base.columns)
        .sort("meter_id", "interval_start_utc")
    )

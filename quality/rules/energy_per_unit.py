"""Energy per unit vs history (study 2, rule R2): a batch using more than 20 % more energy per
good unit than the history of the same line, product (SKU), shift and step.

Per batch and per equipment (the equipment carries the process step):
- line equipment: its energy in the batch's intervals (by time overlap with the batch);
- shared equipment without a line (compressors, chillers, N2, ...): the part of its energy that
  production drives, attributed to the lines running. A least-squares fit on the previous
  `history_days` (kWh_t ≈ β0 + Σ_line β_line · running_line,t, β ≥ 0) says how much each running
  line adds; the equipment's energy in an interval goes to line l in the share β_l / (β0 + Σ β of
  the lines running). Equipment whose energy production does not explain (R² < `min_r2`: the
  chillers follow the weather, the air handlers the time of day) is not attributed — its
  per-unit figure would measure the weather, not the batch.

A (batch, equipment) pair is anomalous when its kWh per good unit is above (1 + threshold) ×
the historical median of the same (site, line, SKU, shift, equipment) over the previous
`history_days`, AND above that median + `noise_k` robust standard deviations (1.4826 × MAD) —
the second condition keeps noisy loads from alerting on noise. The median (not the mean) is the
"historical average" so that a fault lasting several batches does not raise its own baseline.
The comparison is per equipment, not per step total: one of two compressors cycling 25 % more
is only a 10 % rise of the compressed-air step. The batch total is checked too (check
`batch_total`). Excess kWh = kWh − median × good units; excess kgCO2e = excess kWh × the emission
factor valid at the batch start.

Detection time: the batch end plus one interval (its last readings arrive) plus a grace.
Run it on corrected equipment energy (after the overlay), so metering faults are not taken for
process excess.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from quality.rules.common import anomalies, concat_anomalies, empty_anomalies, normalize

RULE = "energy_per_unit"
THRESHOLD = 0.20
GRACE = timedelta(minutes=5)
ATTRIBUTION_SCHEMA = {"site_id": pl.String(), "equipment_id": pl.String(), "line_id": pl.String(),
                      "interval_start_utc": pl.Datetime("us"), "kwh_attributed": pl.Float64()}


def batch_intervals(production: pl.DataFrame, minutes: int = 15) -> pl.DataFrame:
    """One row per batch and interval it overlaps, with share = overlap / interval length."""
    p = normalize(production).filter(pl.col("end_utc") > pl.col("start_utc"))
    step = pl.duration(minutes=minutes)
    return (
        p.with_columns(
            pl.datetime_ranges(pl.col("start_utc").dt.truncate(f"{minutes}m"),
                               pl.col("end_utc") - pl.duration(microseconds=1),
                               interval=f"{minutes}m", time_unit="us")
            .alias("interval_start_utc")
        )
        .explode("interval_start_utc")
        .with_columns(
            ((pl.min_horizontal(pl.col("end_utc"), pl.col("interval_start_utc") + step)
              - pl.max_horizontal(pl.col("start_utc"), pl.col("interval_start_utc")))
             .dt.total_seconds() / (minutes * 60.0)).alias("share")
        )
        .select("batch_id", "site_id", "line_id", "sku", "shift", "start_utc", "end_utc",
                "good_units", "interval_start_utc", "share")
    )


def running_matrix(production: pl.DataFrame, minutes: int = 15) -> pl.DataFrame:
    """site_id, interval_start_utc, line_id, running (0..1 share of the interval)."""
    return (
        batch_intervals(production, minutes)
        .group_by("site_id", "line_id", "interval_start_utc")
        .agg(pl.col("share").sum().clip(0, 1).alias("running"))
    )


def shared_attribution(equipment_intervals: pl.DataFrame, equipment: pl.DataFrame,
                       production: pl.DataFrame, *, history_days: int = 28,
                       min_history_days: int = 3, min_r2: float = 0.6,
                       timezone: str = "UTC") -> pl.DataFrame:
    """Energy of shared (line-less) equipment attributed to running lines.

    Returns site_id, equipment_id, line_id, interval_start_utc, kwh_attributed. The fit for
    each site-local day uses only the `history_days` before it (causal); days with less than
    `min_history_days` of history are not attributed."""
    eq = normalize(equipment)
    ei = normalize(equipment_intervals)
    shared = eq.filter(pl.col("line_id").is_null()).select("equipment_id")
    data = ei.join(shared, on="equipment_id").sort("equipment_id", "interval_start_utc")
    run = running_matrix(production)
    lines = sorted(run["line_id"].unique().to_list())
    if data.height == 0 or not lines:
        return pl.DataFrame(schema=ATTRIBUTION_SCHEMA)
    wide = run.pivot(on="line_id", index=["site_id", "interval_start_utc"], values="running")
    for line in lines:
        if line not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(line))
    data = (
        data.join(wide, on=["site_id", "interval_start_utc"], how="left")
        .with_columns(pl.col(lines).fill_null(0.0))
        .with_columns(
            pl.col("interval_start_utc").dt.replace_time_zone("UTC")
            .dt.convert_time_zone(timezone).dt.date().alias("local_date")
        )
    )
    out = []
    for (site, eq_id), part in data.group_by(["site_id", "equipment_id"], maintain_order=True):
        y_all = part["kwh"].to_numpy()
        x_all = np.column_stack([np.ones(part.height)] + [part[c].to_numpy() for c in lines])
        days = part["local_date"].to_numpy()
        for day in np.unique(days):
            hist = (days < day) & (days >= day - np.timedelta64(history_days, "D"))
            if len(np.unique(days[hist])) < min_history_days:
                continue
            beta = _nonneg_lstsq(x_all[hist], y_all[hist])
            pred = x_all[hist] @ beta
            resid = y_all[hist] - pred
            total = y_all[hist] - y_all[hist].mean()
            r2 = 1.0 - float(resid @ resid) / max(float(total @ total), 1e-12)
            if r2 < min_r2:
                continue
            today = days == day
            x = x_all[today]
            denom = x @ beta
            safe = np.where(denom > 0, denom, np.inf)
            for j, line in enumerate(lines, start=1):
                if beta[j] <= 0:
                    continue
                share = x[:, j] * beta[j] / safe
                out.append(pl.DataFrame({
                    "site_id": site, "equipment_id": eq_id, "line_id": line,
                    "interval_start_utc": part["interval_start_utc"].filter(pl.Series(today)),
                    "kwh_attributed": y_all[today] * share,
                }))
    if not out:
        return pl.DataFrame(schema=ATTRIBUTION_SCHEMA)
    # every interval of a fitted day is present (0 when the line is idle), so a batch can tell
    # whether all of it was attributed
    return pl.concat(out)


def _nonneg_lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with β ≥ 0 for the line terms (a running line never lowers a load):
    drop the negative coefficients and refit, a few rounds (tiny problems, exact enough)."""
    active = np.ones(x.shape[1], dtype=bool)
    beta = np.zeros(x.shape[1])
    for _ in range(x.shape[1]):
        sol, *_ = np.linalg.lstsq(x[:, active], y, rcond=None)
        beta[:] = 0.0
        beta[active] = sol
        negative = beta[1:] < 0
        if not negative.any():
            break
        active[1:][negative] = False
    return np.clip(beta, 0.0, None)


def batch_equipment_energy(equipment_intervals: pl.DataFrame, equipment: pl.DataFrame,
                           production: pl.DataFrame, *, history_days: int = 28,
                           min_r2: float = 0.6, timezone: str = "UTC") -> pl.DataFrame:
    """kWh per batch and equipment: batch_id, site_id, line_id, sku, shift, start_utc, end_utc,
    good_units, equipment_id, process_step, kwh, attributed (bool: shared equipment)."""
    eq = normalize(equipment)
    ei = normalize(equipment_intervals)
    bi = batch_intervals(production)
    line_eq = ei.join(eq.filter(pl.col("line_id").is_not_null())
                      .select("equipment_id", "line_id"), on="equipment_id")
    own = (
        bi.join(line_eq.select("site_id", "line_id", "interval_start_utc", "equipment_id", "kwh"),
                on=["site_id", "line_id", "interval_start_utc"])
        .with_columns((pl.col("kwh") * pl.col("share")).alias("kwh"), pl.lit(False)
                      .alias("attributed"))
    )
    attributed = shared_attribution(ei, eq, production, history_days=history_days,
                                    min_r2=min_r2, timezone=timezone)
    # the line's share of an interval goes to its batches by their share of the interval
    line_share = bi.group_by("site_id", "line_id", "interval_start_utc").agg(
        pl.col("share").sum().alias("line_share"))
    shared = (
        bi.join(line_share, on=["site_id", "line_id", "interval_start_utc"])
        .join(attributed, on=["site_id", "line_id", "interval_start_utc"])
        .with_columns((pl.col("kwh_attributed") * pl.col("share") / pl.col("line_share"))
                      .alias("kwh"), pl.lit(True).alias("attributed"))
    )
    # only batches attributed over all their intervals (a batch straddling the first fitted
    # day would get a partial figure)
    n_intervals = bi.group_by("batch_id").agg(pl.len().alias("_n"))
    shared = shared.join(
        shared.group_by("batch_id", "equipment_id").agg(pl.len().alias("_k")),
        on=["batch_id", "equipment_id"],
    ).join(n_intervals, on="batch_id").filter(pl.col("_k") == pl.col("_n"))
    keys = ["batch_id", "site_id", "line_id", "sku", "shift", "start_utc", "end_utc",
            "good_units", "equipment_id"]
    both = pl.concat([own.select(*keys, "kwh", "attributed"),
                      shared.select(*keys, "kwh", "attributed")])
    return (
        both.group_by(keys).agg(pl.sum("kwh"), pl.first("attributed"))
        .join(eq.select("equipment_id", "process_step"), on="equipment_id", how="left")
        .sort("start_utc", "batch_id", "equipment_id")
    )


def _baseline(frame: pl.DataFrame, key: list[str], history_days: int) -> pl.DataFrame:
    """Median and robust sd of kwh_per_unit over the same key's batches that ended within
    `history_days` before this batch started."""
    hist = frame.select(*key, pl.col("end_utc").alias("h_end"),
                        pl.col("kwh_per_unit").alias("h_kpu"))
    joined = frame.select(*key, "batch_id", "start_utc").join(hist, on=key).filter(
        (pl.col("h_end") <= pl.col("start_utc"))
        & (pl.col("h_end") > pl.col("start_utc") - timedelta(days=history_days))
    )
    stats = joined.group_by(*key, "batch_id").agg(
        pl.col("h_kpu").median().alias("baseline_kwh_per_unit"),
        ((pl.col("h_kpu") - pl.col("h_kpu").median()).abs().median() * 1.4826)
        .alias("baseline_sd"),
        pl.len().alias("history_batches"),
    )
    return frame.join(stats, on=[*key, "batch_id"], how="left")


def factor_at(frame: pl.DataFrame, at_col: str,
              factor: float | pl.DataFrame) -> pl.DataFrame:
    """Add factor_kg_per_kwh: a constant, or the row of a frame (valid_from_utc, valid_to_utc,
    factor_kg_per_kwh[, site_id]) whose validity window contains `at_col`."""
    if not isinstance(factor, pl.DataFrame):
        return frame.with_columns(pl.lit(float(factor)).alias("factor_kg_per_kwh"))
    f = normalize(factor)
    on_site = "site_id" in f.columns and "site_id" in frame.columns
    idx = frame.with_row_index("_row")
    j = idx.select("_row", at_col, *(["site_id"] if on_site else [])).join(
        f.select(*(["site_id"] if on_site else []), "valid_from_utc", "valid_to_utc",
                 "factor_kg_per_kwh"),
        how="inner" if on_site else "cross", **({"on": "site_id"} if on_site else {}),
    ).filter((pl.col(at_col) >= pl.col("valid_from_utc")) & (pl.col(at_col)
                                                            < pl.col("valid_to_utc")))
    j = j.sort("_row", "valid_from_utc", descending=[False, True]).unique("_row", keep="first")
    return idx.join(j.select("_row", "factor_kg_per_kwh"), on="_row", how="left").drop("_row")


def energy_per_unit_table(equipment_intervals: pl.DataFrame, equipment: pl.DataFrame,
                          production: pl.DataFrame, *, factor: float | pl.DataFrame = 0.0,
                          history_days: int = 28, min_r2: float = 0.6,
                          timezone: str = "UTC") -> pl.DataFrame:
    """Per (batch, equipment) and per batch total: kWh, kWh/unit, the historical baseline,
    ratio, excess kWh and kgCO2e. Level 'equipment' rows and level 'batch' rows."""
    per_eq = batch_equipment_energy(equipment_intervals, equipment, production,
                                    history_days=history_days, min_r2=min_r2, timezone=timezone)
    per_eq = per_eq.filter(pl.col("good_units") > 0).with_columns(
        (pl.col("kwh") / pl.col("good_units")).alias("kwh_per_unit"), pl.lit("equipment")
        .alias("level"))
    # the batch total is the line's own equipment (as marts.fct_batch_energy): shared
    # equipment is attributed only once the fit has history, so it would shift the total
    per_batch = (
        per_eq.filter(~pl.col("attributed"))
        .group_by("batch_id", "site_id", "line_id", "sku", "shift", "start_utc", "end_utc",
                  "good_units")
        .agg(pl.sum("kwh"))
        .with_columns((pl.col("kwh") / pl.col("good_units")).alias("kwh_per_unit"),
                      pl.lit("batch").alias("level"), pl.lit(None, pl.String)
                      .alias("equipment_id"), pl.lit(None, pl.String).alias("process_step"),
                      pl.lit(False).alias("attributed"))
        .select(per_eq.columns)
    )
    key = ["site_id", "line_id", "sku", "shift", "level", "equipment_id"]
    table = pl.concat([per_eq, per_batch]).with_columns(
        pl.col("equipment_id").fill_null("*"))
    table = _baseline(table, key, history_days).with_columns(
        pl.when(pl.col("equipment_id") == "*").then(None).otherwise(pl.col("equipment_id"))
        .alias("equipment_id"))
    table = table.with_columns(
        (pl.col("kwh_per_unit") / pl.col("baseline_kwh_per_unit")).alias("ratio"),
        (pl.col("kwh") - pl.col("baseline_kwh_per_unit") * pl.col("good_units"))
        .alias("excess_kwh"),
    )
    table = factor_at(table, "start_utc", factor).with_columns(
        (pl.col("excess_kwh") * pl.col("factor_kg_per_kwh")).alias("excess_kg_co2e"))
    return table.sort("start_utc", "batch_id", "level", "equipment_id", nulls_last=True)


def detect_energy_per_unit(equipment_intervals: pl.DataFrame, equipment: pl.DataFrame,
                           production: pl.DataFrame, *, factor: float | pl.DataFrame = 0.0,
                           threshold: float = THRESHOLD, noise_k: float = 4.0,
                           min_history: int = 3, min_excess_kwh: float = 0.5,
                           history_days: int = 28, min_r2: float = 0.6,
                           timezone: str = "UTC", grace: timedelta = GRACE) -> pl.DataFrame:
    table = energy_per_unit_table(equipment_intervals, equipment, production, factor=factor,
                                  history_days=history_days, min_r2=min_r2, timezone=timezone)
    return flag_energy_per_unit(table, threshold=threshold, noise_k=noise_k,
                                min_history=min_history, min_excess_kwh=min_excess_kwh,
                                grace=grace)


def flag_energy_per_unit(table: pl.DataFrame, *, threshold: float = THRESHOLD,
                         noise_k: float = 4.0, min_history: int = 3,
                         min_excess_kwh: float = 0.5, grace: timedelta = GRACE) -> pl.DataFrame:
    """The anomalies of an energy_per_unit_table."""
    if table.height == 0:
        return empty_anomalies()
    hit = table.filter(
        (pl.col("history_batches") >= min_history)
        & (pl.col("kwh_per_unit") > (1 + threshold) * pl.col("baseline_kwh_per_unit"))
        & (pl.col("kwh_per_unit") > pl.col("baseline_kwh_per_unit")
           + noise_k * pl.col("baseline_sd"))
        & (pl.col("excess_kwh") >= min_excess_kwh)
    )
    found = hit.select(
        pl.lit(RULE).alias("rule"),
        pl.when(pl.col("level") == "batch").then(pl.lit("batch_total"))
        .otherwise(pl.lit("equipment")).alias("check"),
        pl.lit("warning").alias("severity"),
        "site_id", "equipment_id",
        pl.lit("batch").alias("subject_kind"),
        pl.when(pl.col("equipment_id").is_null()).then(pl.col("batch_id"))
        .otherwise(pl.format("{}/{}", "batch_id", "equipment_id")).alias("subject_id"),
        pl.col("start_utc").alias("window_start_utc"),
        pl.col("end_utc").alias("window_end_utc"),
        (pl.col("end_utc") + pl.duration(minutes=15) + pl.lit(grace)).alias("detected_at_utc"),
        pl.col("kwh_per_unit").alias("observed"),
        pl.col("baseline_kwh_per_unit").alias("expected"),
        pl.lit("kWh/unit").alias("unit"),
        pl.format("batch {} ({} {} shift {}): {} kWh/unit on {} is {}% above the median of {} "
                  "batches; excess {} kWh, {} kgCO2e", "batch_id", "line_id", "sku", "shift",
                  pl.col("kwh_per_unit").round(4), pl.col("equipment_id").fill_null("the batch"),
                  ((pl.col("ratio") - 1) * 100).round(1), "history_batches",
                  pl.col("excess_kwh").round(2), pl.col("excess_kg_co2e").round(2))
        .alias("message"),
        pl.struct("batch_id", "line_id", "sku", "shift", "process_step", "good_units", "kwh",
                  "ratio", "history_batches", "excess_kwh", "excess_kg_co2e", "attributed")
        .struct.json_encode().alias("details"),
    )
    return concat_anomalies([anomalies(found)])

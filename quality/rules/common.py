"""What every rule shares: the anomaly-event schema, input normalisation, and the counter
arithmetic (in-service readings, one per instant, outliers, deltas, rollover, meter capacity).

Inputs are frames shaped like the warehouse tables (`staging.stg_landing__readings`,
`stg_landing__meters`, `stg_landing__equipment`, `stg_landing__production`,
`intermediate.int_meter_interval_energy`, ...). `normalize` also accepts the landing / simulator
spelling of the same columns (ts, received_at, installed_at, start_ts, valid_from, ...), and
timestamps either naive (taken as UTC, as the warehouse stores them) or time-zone aware.
Every timestamp a rule returns is naive UTC (`datetime[us]`), like the warehouse's `*_utc`
columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

import polars as pl

INTERVAL = timedelta(minutes=15)
UTC_NAIVE = pl.Datetime("us")

# The anomaly event every rule and the GX runner emits (one row per finding).
ANOMALY_SCHEMA: dict[str, pl.DataType] = {
    "anomaly_id": pl.String(),  # rule:check:subject:window start — stable across re-runs
    "rule": pl.String(),  # gaps | range_spike | counter_rollover | meter_replacement | ...
    "check": pl.String(),  # the specific test inside the rule (short_gap, above_capacity, ...)
    "severity": pl.String(),  # info | warning | critical
    "site_id": pl.String(),
    "meter_id": pl.String(),
    "equipment_id": pl.String(),
    "subject_kind": pl.String(),  # reading | meter | batch | bill | factor | production | row
    "subject_id": pl.String(),  # raw_id, meter_id, batch_id, bill_id, factor key, row number
    "raw_id": pl.String(),  # set when one raw reading is at fault
    "window_start_utc": UTC_NAIVE,  # the time the finding is about, [start, end)
    "window_end_utc": UTC_NAIVE,
    "detected_at_utc": UTC_NAIVE,  # when the evidence was complete (for detection latency)
    "observed": pl.Float64(),
    "expected": pl.Float64(),
    "unit": pl.String(),
    "message": pl.String(),
    "details": pl.String(),  # JSON object
}

# Landing / simulator spelling → warehouse spelling.
RENAMES = {
    "ts": "ts_utc",
    "received_at": "received_at_utc",
    "landed_at": "landed_at_utc",
    "installed_at": "installed_at_utc",
    "removed_at": "removed_at_utc",
    "start_ts": "start_utc",
    "end_ts": "end_utc",
    "valid_from": "valid_from_utc",
    "valid_to": "valid_to_utc",
    "published_at": "published_at_utc",
    "interval_start": "interval_start_utc",
}

# The dbt seed `unit_conversions` for energy and power (raw unit → kWh or kW).
UNIT_TO_KWH = {"kWh": 1.0, "Wh": 0.001, "MWh": 1000.0, "GWh": 1e6}
UNIT_TO_KW = {"kW": 1.0, "W": 0.001, "MW": 1000.0}


def normalize(frame: pl.DataFrame) -> pl.DataFrame:
    """Warehouse column names; every datetime as naive UTC microseconds; decimals as floats."""
    renames = {a: b for a, b in RENAMES.items() if a in frame.columns and b not in frame.columns}
    frame = frame.rename(renames)
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            exprs.append(col.cast(UTC_NAIVE).alias(name))
        elif isinstance(dtype, pl.Decimal):
            exprs.append(pl.col(name).cast(pl.Float64))
    return frame.with_columns(exprs) if exprs else frame


def to_naive_utc(value: datetime | None) -> datetime | None:
    """A datetime as naive UTC (aware values are converted, naive ones taken as UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def empty_anomalies() -> pl.DataFrame:
    return pl.DataFrame(schema=ANOMALY_SCHEMA)


def anomalies(frame: pl.DataFrame) -> pl.DataFrame:
    """Conform a rule's findings to ANOMALY_SCHEMA: absent columns become null, the id is
    derived from rule, check, subject and window start, rows are sorted and unique by id."""
    if frame.height == 0:
        return empty_anomalies()
    frame = normalize(frame)
    cols = []
    for name, dtype in ANOMALY_SCHEMA.items():
        if name == "anomaly_id":
            continue
        cols.append((pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype)
                    .alias(name))
    out = frame.select(cols).with_columns(
        pl.concat_str(
            [
                pl.col("rule"),
                pl.col("check"),
                pl.coalesce("subject_id", "meter_id", "site_id", pl.lit("-")),
                pl.col("window_start_utc").dt.strftime("%Y%m%dT%H%M%SZ").fill_null("-"),
            ],
            separator=":",
        ).alias("anomaly_id")
    )
    return (
        out.select(list(ANOMALY_SCHEMA))
        .unique("anomaly_id", keep="first", maintain_order=True)
        .sort("window_start_utc", "rule", "check", "anomaly_id", nulls_last=True)
    )


def concat_anomalies(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    parts = [f for f in frames if f.height]
    if not parts:
        return empty_anomalies()
    return anomalies(pl.concat([p.select(list(ANOMALY_SCHEMA)) for p in parts]))


# --------------------------------------------------------------------------------------------
# Registry helpers
# --------------------------------------------------------------------------------------------


def meter_capacity_kw(meters: pl.DataFrame, equipment: pl.DataFrame) -> pl.DataFrame:
    """meter_id → capacity_kw: Σ nameplate of the equipment supplied through the meter or any
    meter below it, plus the equipment it measures directly (a replaced meter keeps its
    equipment even though the registry's supply_meter_id points at the successor)."""
    meters = normalize(meters)
    equipment = normalize(equipment)
    parent = dict(zip(meters["meter_id"], meters["parent_meter_id"], strict=True))
    rows: dict[str, dict[str, float]] = {m: {} for m in parent}

    def chain(meter_id: str | None) -> list[str]:
        out, seen = [], set()
        while meter_id is not None and meter_id in parent and meter_id not in seen:
            out.append(meter_id)
            seen.add(meter_id)
            meter_id = parent[meter_id]
        return out

    nameplate = dict(zip(equipment["equipment_id"], equipment["nameplate_kw"], strict=True))
    for eq, supply in zip(equipment["equipment_id"], equipment["supply_meter_id"], strict=True):
        for m in chain(supply):
            rows[m][eq] = nameplate[eq]
    for m, kind, mid in zip(meters["meter_id"], meters["measures_kind"], meters["measures_id"],
                            strict=True):
        if kind == "equipment" and mid in nameplate:
            for up in chain(m):
                rows[up][mid] = nameplate[mid]
    return pl.DataFrame(
        {"meter_id": list(rows), "capacity_kw": [float(sum(v.values())) for v in rows.values()]},
        schema={"meter_id": pl.String(), "capacity_kw": pl.Float64()},
    )


def meter_line(meters: pl.DataFrame, equipment: pl.DataFrame) -> pl.DataFrame:
    """meter_id → line_id (equipment meters: their equipment's line; line meters: the line)
    and → equipment_id for equipment meters."""
    meters = normalize(meters)
    equipment = normalize(equipment)
    eq = equipment.select("equipment_id", "line_id")
    out = meters.select("meter_id", "measures_kind", "measures_id").join(
        eq, left_on="measures_id", right_on="equipment_id", how="left"
    )
    return out.select(
        "meter_id",
        pl.when(pl.col("measures_kind") == "line").then(pl.col("measures_id"))
        .when(pl.col("measures_kind") == "equipment").then(pl.col("line_id"))
        .alias("line_id"),
        pl.when(pl.col("measures_kind") == "equipment").then(pl.col("measures_id"))
        .alias("equipment_id"),
    )


def _conversion_expr() -> pl.Expr:
    """A meter's raw unit → kWh (energy registers) or kW (power), times its multiplier."""
    return (
        pl.when(pl.col("register") == "power_kw")
        .then(pl.col("unit").replace_strict(UNIT_TO_KW, default=None, return_dtype=pl.Float64))
        .otherwise(pl.col("unit").replace_strict(UNIT_TO_KWH, default=None,
                                                 return_dtype=pl.Float64))
        * pl.col("multiplier")
    )


def stage_readings(landing: pl.DataFrame, meters: pl.DataFrame,
                   dedup: bool = True) -> pl.DataFrame:
    """The Polars mirror of `stg_landing__readings` for landing-shaped readings (the simulator,
    tests): value converted to kWh (energy registers) or kW (power) with the meter's multiplier.
    With dedup=False every copy of a raw_id is kept (what the duplicates rule needs)."""
    landing = normalize(landing)
    meters = normalize(meters).select("meter_id", "register", "multiplier")
    order = [c for c in ("received_at_utc", "landed_at_utc", "landing_batch_id")
             if c in landing.columns]
    if dedup:
        landing = landing.sort(order, maintain_order=True).unique("raw_id", keep="first",
                                                                  maintain_order=True)
    factor = (
        pl.when(pl.col("register") == "power_kw")
        .then(pl.col("unit").replace_strict(UNIT_TO_KW, default=None, return_dtype=pl.Float64))
        .otherwise(pl.col("unit").replace_strict(UNIT_TO_KWH, default=None,
                                                 return_dtype=pl.Float64))
        * pl.col("multiplier")
    )
    return (
        landing.join(meters, on="meter_id", how="left")
        .with_columns(factor.alias("conversion_factor"))
        .select(
            "raw_id", "meter_id", "site_id", "ts_utc", "register",
            pl.col("value").alias("raw_value"), "unit",
            (pl.col("value") * pl.col("conversion_factor")).alias("value"),
            pl.when(pl.col("register") == "power_kw").then(pl.lit("kW")).otherwise(pl.lit("kWh"))
            .alias("value_unit"),
            "conversion_factor",
            *[c for c in ("quality", "source") if c in landing.columns],
            "received_at_utc",
        )
        .sort("meter_id", "ts_utc", "received_at_utc")
    )


# in_service results by the identity of their inputs, while a `shared_in_service()` block runs:
# the meter-level rules each start from the same readings, and the sort and deduplication of a
# day of 15-second readings (720,000 rows for 500 meters over 6 hours) cost about a second each.
_IN_SERVICE: ContextVar[dict | None] = ContextVar("in_service_cache", default=None)


@contextmanager
def shared_in_service() -> Iterator[None]:
    """Compute in_service once per (readings, meters) pair inside the block. The cache holds
    the input frames too, so no id can be reused by another frame while it lives."""
    token = _IN_SERVICE.set({})
    try:
        yield
    finally:
        _IN_SERVICE.reset(token)


def in_service(readings: pl.DataFrame, meters: pl.DataFrame) -> pl.DataFrame:
    """Readings of known meters inside their service window, first received per meter and
    instant (as int_meter_interval_energy keeps them), with the meter's register facts."""
    cache = _IN_SERVICE.get()
    if cache is None:
        return _in_service(readings, meters)
    key = (id(readings), id(meters))
    if key not in cache:
        cache[key] = (readings, meters, _in_service(readings, meters))
    return cache[key][2]


def _in_service(readings: pl.DataFrame, meters: pl.DataFrame) -> pl.DataFrame:
    readings = normalize(readings)
    meters = normalize(meters)
    cols = ["meter_id", "site_id", "register", "rollover_value", "interval_minutes",
            "installed_at_utc", "removed_at_utc"]
    m = meters.select(*cols, _conversion_expr().alias("meter_conversion")).rename(
        {"site_id": "meter_site_id", "register": "meter_register"})
    r = readings.join(m, on="meter_id", how="inner")
    step = pl.duration(minutes=pl.col("interval_minutes"))
    keep = (pl.col("ts_utc") >= pl.col("installed_at_utc")) & (
        pl.col("removed_at_utc").is_null()
        | ((pl.col("meter_register") == "counter_kwh")
           & (pl.col("ts_utc") <= pl.col("removed_at_utc")))
        | (pl.col("ts_utc") + step <= pl.col("removed_at_utc"))
    )
    # staging carries the conversion factor; other shapes get the registry's (multiplier ×
    # unit), so a rollover value in raw units can be brought to kWh
    if "conversion_factor" not in r.columns:
        r = r.with_columns(pl.col("meter_conversion").alias("conversion_factor"))
    r = r.with_columns(pl.coalesce("conversion_factor", "meter_conversion")
                       .alias("conversion_factor")).drop("meter_conversion")
    return (
        r.filter(keep)
        .sort("meter_id", "ts_utc", "received_at_utc", "raw_id")
        .unique(["meter_id", "ts_utc"], keep="first", maintain_order=True)
        .with_columns(
            pl.coalesce("site_id", "meter_site_id").alias("site_id"),
            pl.col("meter_register").alias("register"),
        )
        .drop("meter_site_id", "meter_register")
    )


def counter_steps(readings: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame,
                  max_gap: timedelta = timedelta(hours=72), skip_outliers: bool = True,
                  headroom: float = 1.1) -> pl.DataFrame:
    """Consecutive counter readings of each meter as spans [prev_ts, ts) with their delta (kWh).

    Columns: meter_id, site_id, raw_id (the closing reading), prev_raw_id, span_start_utc,
    span_end_utc, value, prev_value, delta_kwh, rollover_kwh, capacity_kwh (capacity_kw ×
    span × headroom), received_at_utc (of the closing reading), intervals (span length in
    intervals). With skip_outliers a reading that breaks the counter's order while its two
    neighbours agree (dbt's rule) is left out first, so the spans bridge it. `kind`:
      forward   delta >= 0
      rollover  delta < 0 and delta + rollover within [0, capacity]
      negative  any other fall (a reset, or a wrap that would mean impossible energy)
    """
    r = in_service(readings, meters).filter(pl.col("register") == "counter_kwh")
    if skip_outliers:
        r = flag_counter_outliers(r, max_gap).filter(~pl.col("is_outlier"))
    cap = meter_capacity_kw(meters, equipment)
    steps = (
        r.join(cap, on="meter_id", how="left")
        .with_columns(
            pl.col("ts_utc").shift(1).over("meter_id").alias("span_start_utc"),
            pl.col("value").shift(1).over("meter_id").alias("prev_value"),
            pl.col("raw_id").shift(1).over("meter_id").alias("prev_raw_id"),
        )
        .filter(pl.col("span_start_utc").is_not_null()
                & (pl.col("ts_utc") - pl.col("span_start_utc") <= max_gap))
        .with_columns(
            pl.col("ts_utc").alias("span_end_utc"),
            (pl.col("value") - pl.col("prev_value")).alias("delta_kwh"),
            (pl.col("rollover_value") * pl.col("conversion_factor")).alias("rollover_kwh"),
            ((pl.col("ts_utc") - pl.col("span_start_utc")).dt.total_seconds() / 3600.0)
            .alias("span_hours"),
        )
        .with_columns(
            (pl.col("capacity_kw").fill_null(float("inf")) * pl.col("span_hours") * headroom)
            .alias("capacity_kwh"),
            (pl.col("span_hours") * 60 / pl.col("interval_minutes")).round(0).cast(pl.Int64)
            .alias("intervals"),
        )
        .with_columns(
            pl.when(pl.col("delta_kwh") >= 0).then(pl.lit("forward"))
            .when(
                pl.col("rollover_kwh").is_not_null()
                & (pl.col("delta_kwh") + pl.col("rollover_kwh") >= 0)
                & (pl.col("delta_kwh") + pl.col("rollover_kwh") <= pl.col("capacity_kwh"))
            ).then(pl.lit("rollover"))
            .otherwise(pl.lit("negative"))
            .alias("kind")
        )
        .with_columns(
            pl.when(pl.col("kind") == "forward").then(pl.col("delta_kwh"))
            .when(pl.col("kind") == "rollover")
            .then(pl.col("delta_kwh") + pl.col("rollover_kwh"))
            .alias("span_kwh")
        )
    )
    return steps.select(
        "meter_id", "site_id", "raw_id", "prev_raw_id", "span_start_utc", "span_end_utc",
        "prev_value", "value", "delta_kwh", "span_kwh", "kind", "rollover_kwh", "capacity_kw",
        "capacity_kwh", "intervals", "interval_minutes", "received_at_utc",
    )


def flag_counter_outliers(counter_readings: pl.DataFrame,
                          max_gap: timedelta = timedelta(hours=72)) -> pl.DataFrame:
    """Add is_outlier (and the neighbours) to in-service counter readings: a reading above the
    register's rollover value, or one that breaks the counter's order while its neighbours
    agree with each other — the rule int_meter_interval_energy applies (a wrap is different:
    there the neighbours do not agree, 99 → 0 → 1)."""
    gap_prev = pl.col("ts_utc") - pl.col("ts_utc").shift(1).over("meter_id")
    gap_next = pl.col("ts_utc").shift(-1).over("meter_id") - pl.col("ts_utc")
    raw = pl.col("raw_value") if "raw_value" in counter_readings.columns else None
    above = (
        (raw >= pl.col("rollover_value")) if raw is not None
        else pl.lit(False)
    ).fill_null(False)
    return (
        counter_readings.sort("meter_id", "ts_utc")
        .with_columns(
            pl.when(gap_prev <= max_gap).then(pl.col("value").shift(1).over("meter_id"))
            .alias("prev_value"),
            pl.when(gap_next <= max_gap).then(pl.col("value").shift(-1).over("meter_id"))
            .alias("next_value"),
            pl.when(gap_next <= max_gap).then(pl.col("received_at_utc").shift(-1).over("meter_id"))
            .alias("next_received_at_utc"),
        )
        .with_columns(
            (
                above
                | (
                    ((pl.col("value") > pl.col("next_value"))
                     | (pl.col("value") < pl.col("prev_value")))
                    & (pl.col("next_value") >= pl.col("prev_value"))
                ).fill_null(False)
            ).alias("is_outlier"),
            above.alias("above_rollover"),
        )
    )


def line_running(production: pl.DataFrame) -> pl.DataFrame:
    """Batches as line run spans: site_id, line_id, batch_id, sku, shift, start_utc, end_utc,
    good_units (only well-formed batches: end after start)."""
    p = normalize(production)
    return p.filter(pl.col("end_utc") > pl.col("start_utc")).select(
        "site_id", "line_id", "batch_id", "sku", "shift", "start_utc", "end_utc", "good_units"
    )


def runs(frame: pl.DataFrame, by: list[str], ts: str, step: timedelta,
         name: str = "run_id") -> pl.DataFrame:
    """Number consecutive rows (per `by`, ordered by `ts`) whose ts are `step` apart as one run."""
    return frame.sort([*by, ts]).with_columns(
        ((pl.col(ts) - pl.col(ts).shift(1).over(by)) != step).fill_null(True)
        .cum_sum().over(by).alias(name)
    )

"""The checks on a micro-batch of raw readings, vectorised (one polars pass per batch).

Each row gets the FIRST reason that applies, in this order: the parse-level problem (shape,
types), unknown_meter, site_mismatch, unknown_unit, wrong_unit, bad_ts, future_ts, old_ts,
non_finite_value, negative_value, absurd_value, bad_quality. Rows without a reason are valid.

unknown_unit: neither an electricity unit nor a fuel unit (`ingestion.files.units`).
wrong_unit: a unit the meter's kind does not take — kW on an energy register, kWh on a power
register, litres on an electricity meter, kWh on a gas meter registered in m3 (fuel converts
only within its quantity: energy, volume or mass). A meter whose registry entry gives no
register is not unit-checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from ingestion.files.units import FUEL_BASE_UNIT
from ingestion.landing.schemas import SCHEMAS, UTC_TS
from ingestion.mqtt.payloads import Columns
from ingestion.mqtt.registry import KIND_UNITS, KNOWN_UNITS, MeterRegistry, unit_dimension

QUALITIES = ("good", "estimated", "suspect")
# raw_id = the reading's own id, else "<meter>|<ts as ISO UTC>", e.g. M-1|2026-01-05T00:15:00Z
# (fractional seconds only when present: M-1|2026-01-05T00:15:00.500Z).
TS_ID_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
QUARANTINE_COLUMNS = (
    "reason",
    "detail",
    "topic",
    "source_row",
    "meter_id",
    "ts",
    "value",
    "unit",
    "id",
    "quality",
    "received_at",
    "original",
)


@dataclass(frozen=True)
class Limits:
    max_future_seconds: float = 300.0
    min_ts: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_value: float = 1e10


def raw_id_expr(ident: pl.Expr, meter: pl.Expr, ts: pl.Expr) -> pl.Expr:
    default = pl.concat_str([meter, pl.lit("|"), ts.dt.strftime(TS_ID_FORMAT)])
    return pl.when(ident.is_null() | (ident == "")).then(default).otherwise(ident)


def assemble(
    cols: Columns, topics: list[str], sites: list[str | None], received_at: list[float]
) -> pl.DataFrame:
    """One row per reading with its message's topic, site (from the topic) and receive time."""
    counts = np.asarray(cols.counts, dtype=np.int64)
    msg = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    row = np.arange(len(msg), dtype=np.int64) - np.repeat(starts, counts) + 1
    received = (pl.Series(received_at, dtype=pl.Float64) * 1e6).cast(pl.Int64).cast(UTC_TS)
    return pl.DataFrame(
        {
            "msg": msg,
            "source_row": row,
            "topic": pl.Series(topics, dtype=pl.String).gather(msg),
            "topic_site": pl.Series(sites, dtype=pl.String).gather(msg),
            "received_at": received.gather(msg),
            "meter_id": pl.Series(cols.meter, dtype=pl.String),
            "ts_text": pl.Series(cols.ts, dtype=pl.String),
            # strict=False: an integer too large for a float becomes null, caught below
            "value": pl.Series(cols.value, dtype=pl.Float64, strict=False),
            "unit": pl.Series(cols.unit, dtype=pl.String),
            "id": pl.Series(cols.id, dtype=pl.String),
            "quality": pl.Series(cols.quality, dtype=pl.String),
            "problem": pl.Series(cols.problem, dtype=pl.String),
            "parse_detail": pl.Series(cols.detail, dtype=pl.String),
        }
    )


def _fits_kind(unit: pl.Expr, kind: pl.Expr) -> pl.Expr:
    """Whether the unit is one its meter's kind takes (`KIND_UNITS`); null when the meter has
    no kind. One when/then per kind: a handful, whatever the batch size."""
    chain = None
    for name, allowed in KIND_UNITS.items():
        test = unit.is_in(list(allowed)) if allowed else pl.lit(False)
        chain = (pl.when(kind == name) if chain is None else chain.when(kind == name)).then(test)
    return chain.otherwise(None)


def check(frame: pl.DataFrame, registry: MeterRegistry, limits: Limits) -> pl.DataFrame:
    """Add `ts` (parsed, UTC), `reg_site`, `reg_kind` and `reason` (null when valid)."""
    c = pl.col
    sites = registry.sites
    kinds = registry.dimensions
    frame = frame.with_columns(
        c("ts_text")
        .str.to_datetime("%+", time_zone="UTC", time_unit="us", strict=False)
        .alias("ts"),
        c("meter_id")
        .replace_strict(list(sites), list(sites.values()), default=None, return_dtype=pl.String)
        .alias("reg_site"),
        c("meter_id")
        .replace_strict(list(kinds), list(kinds.values()), default=None, return_dtype=pl.String)
        .alias("reg_kind"),
    ).with_columns(_fits_kind(c("unit"), c("reg_kind")).alias("unit_fits"))
    # what the meter is, in words, for the quarantine detail of a unit that does not fit it
    what = registry.descriptions
    frame = frame.with_columns(
        pl.when(c("unit_fits").not_())
        .then(
            c("meter_id").replace_strict(
                list(what), list(what.values()), default=None, return_dtype=pl.String
            )
        )
        .alias("reg_what")
    )
    future = c("received_at") + pl.duration(microseconds=int(limits.max_future_seconds * 1e6))
    value = c("value")
    reason = (
        pl.when(c("problem").is_not_null())
        .then(c("problem"))
        .when(value.is_null())
        .then(pl.lit("not_a_number"))
        .when(c("reg_site").is_null())
        .then(pl.lit("unknown_meter"))
        .when(c("reg_site") != c("topic_site"))
        .then(pl.lit("site_mismatch"))
        .when(~c("unit").is_in(list(KNOWN_UNITS)))
        .then(pl.lit("unknown_unit"))
        .when(c("unit_fits").not_())
        .then(pl.lit("wrong_unit"))
        .when(c("ts").is_null())
        .then(pl.lit("bad_ts"))
        .when(c("ts") > future)
        .then(pl.lit("future_ts"))
        .when(c("ts") < pl.lit(limits.min_ts, dtype=UTC_TS))
        .then(pl.lit("old_ts"))
        .when(value.is_nan() | value.is_infinite())
        .then(pl.lit("non_finite_value"))
        .when(value < 0)
        .then(pl.lit("negative_value"))
        .when(value > limits.max_value)
        .then(pl.lit("absurd_value"))
        .when(c("quality").is_not_null() & ~c("quality").is_in(list(QUALITIES)))
        .then(pl.lit("bad_quality"))
        .otherwise(None)
    )
    return frame.with_columns(reason.alias("reason"))


def valid_readings(checked: pl.DataFrame) -> pl.DataFrame:
    """The valid rows in the landing schema (raw_id computed, quality defaulted to good)."""
    c = pl.col
    good = checked.filter(c("reason").is_null())
    return good.select(
        raw_id_expr(c("id"), c("meter_id"), c("ts")).alias("raw_id"),
        c("meter_id"),
        c("topic_site").alias("site_id"),
        c("ts"),
        c("value"),
        c("unit"),
        c("quality").fill_null("good"),
        c("topic").alias("source"),
        c("received_at"),
    ).select(list(SCHEMAS["readings"]))


def _detail(row: dict, limits: Limits) -> str:
    reason = row["reason"]
    meter, unit, ts, value = row["meter_id"], row["unit"], row["ts_text"], row["value"]
    if row["parse_detail"] is not None:
        return row["parse_detail"]
    if reason == "not_a_number":
        return f"value of meter {meter!r} is not representable as a number"
    if reason == "unknown_meter":
        return f"meter {meter!r} is not in the meter registry"
    if reason == "site_mismatch":
        return (
            f"meter {meter!r} belongs to site {row['reg_site']!r}, but the topic says "
            f"site {row['topic_site']!r}"
        )
    if reason == "unknown_unit":
        return (
            f"unit {unit!r} is not one of {', '.join(KIND_UNITS['electric energy'])}, "
            f"{', '.join(KIND_UNITS['electric power'])} (electricity) nor a fuel unit "
            f"({', '.join(FUEL_BASE_UNIT)})"
        )
    if reason == "wrong_unit":
        return (
            f"unit {unit!r} measures {unit_dimension(unit)}, but meter {meter!r} is "
            f"{row['reg_what']}"
        )
    if reason == "bad_ts":
        return f"ts {ts!r} is not an ISO 8601 timestamp with a UTC offset (e.g. ...T00:15:00Z)"
    if reason == "future_ts":
        ahead = (row["ts"] - row["received_at"]).total_seconds()
        return (
            f"ts {ts} is {ahead:.0f} s after the message was received "
            f"(at most {limits.max_future_seconds:.0f} s allowed)"
        )
    if reason == "old_ts":
        return f"ts {ts} is before {limits.min_ts.isoformat()}"
    if reason == "non_finite_value":
        return f"value {value} of meter {meter!r} is not a finite number"
    if reason == "negative_value":
        return f"value {value} of meter {meter!r} is negative"
    if reason == "absurd_value":
        return f"value {value} of meter {meter!r} is above the maximum {limits.max_value:g}"
    if reason == "bad_quality":
        return f"quality {row['quality']!r} is not one of {', '.join(QUALITIES)}"
    return reason


def rejected_rows(
    checked: pl.DataFrame, limits: Limits, original: Callable[[int, int], str | None]
) -> pl.DataFrame:
    """The invalid rows as text with reason, detail and the original entry (or payload)."""
    bad = checked.filter(pl.col("reason").is_not_null())
    if bad.height == 0:
        return pl.DataFrame(schema={name: pl.String for name in QUARANTINE_COLUMNS})
    rows = bad.to_dicts()
    return pl.DataFrame(
        {
            "reason": [r["reason"] for r in rows],
            "detail": [_detail(r, limits) for r in rows],
            "topic": [r["topic"] for r in rows],
            "source_row": [str(r["source_row"]) for r in rows],
            "meter_id": [r["meter_id"] for r in rows],
            "ts": [r["ts_text"] for r in rows],
            "value": [None if r["value"] is None else repr(r["value"]) for r in rows],
            "unit": [r["unit"] for r in rows],
            "id": [r["id"] for r in rows],
            "quality": [r["quality"] for r in rows],
            "received_at": [r["received_at"].isoformat() for r in rows],
            "original": [original(r["msg"], r["source_row"]) for r in rows],
        },
        schema={name: pl.String for name in QUARANTINE_COLUMNS},
    )

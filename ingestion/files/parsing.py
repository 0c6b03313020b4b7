"""Column parsers that turn file values into typed values and bad values into problems.

Each parser takes the raw column (text from a CSV, or a typed Parquet column), the row numbers
and the column's name as the file spells it, and returns the typed column (null where the value
was missing or bad) together with a frame of problems (`errors.PROBLEM_SCHEMA`). Nothing here
raises on bad data: the importer collects every problem of the whole file before deciding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import polars as pl

from ingestion.files.errors import PROBLEM_SCHEMA

UTC_TS = pl.Datetime("us", "UTC")
NAIVE_TS = pl.Datetime("us")

_AWARE_ISO = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z")
_NAIVE_ISO = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")
_OFFSET_AT_END = r"T.*([+-]\d{2}(:?\d{2})?)$"
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def problems_where(
    mask: pl.Series,
    rows: pl.Series,
    raw: pl.Series,
    column: str | None,
    reason: str | pl.Series,
) -> pl.DataFrame:
    """One problem per row where `mask` is true (null counts as false)."""
    mask = mask.fill_null(False)
    if not mask.any():
        return empty_problems()
    reasons = reason if isinstance(reason, pl.Series) else pl.repeat(reason, len(mask), eager=True)
    return pl.DataFrame(
        {
            "row": rows.filter(mask).cast(pl.Int64),
            "column": pl.repeat(column, int(mask.sum()), dtype=pl.String, eager=True),
            "value": as_text(raw).filter(mask),
            "reason": reasons.cast(pl.String).filter(mask),
        },
        schema=PROBLEM_SCHEMA,
    )


def concat_problems(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical") if frames else empty_problems()


def as_text(raw: pl.Series) -> pl.Series:
    """The value as a person would see it in the file."""
    if raw.dtype == pl.String:
        return raw
    if raw.dtype == pl.Null:
        return raw.cast(pl.String)
    try:
        return raw.cast(pl.String)
    except Exception:  # nested types: show their repr
        return pl.Series(raw.name, [None if v is None else repr(v) for v in raw], pl.String)


def text(raw: pl.Series) -> pl.Series:
    """Trimmed text with empty strings as null (CSV has no other way to write null)."""
    s = as_text(raw).str.strip_chars()
    return s.set(s == "", None) if s.len() else s


def is_missing(raw: pl.Series) -> pl.Series:
    if raw.dtype == pl.String:
        return text(raw).is_null()
    if raw.dtype.is_float():
        return raw.is_null()  # NaN is caught as "not finite", not as missing
    return raw.is_null()


def parse_string(raw: pl.Series, rows: pl.Series, column: str) -> tuple[pl.Series, pl.DataFrame]:
    return text(raw), empty_problems()


def parse_float(raw: pl.Series, rows: pl.Series, column: str) -> tuple[pl.Series, pl.DataFrame]:
    if raw.dtype.is_numeric() or raw.dtype in (pl.Null, pl.Boolean):
        values = raw.cast(pl.Float64)
        bad = empty_problems()
    else:
        t = text(raw)
        values = t.cast(pl.Float64, strict=False)
        bad = problems_where(t.is_not_null() & values.is_null(), rows, raw, column, "not a number")
    nonfinite = values.is_nan() | values.is_infinite()
    probs = problems_where(nonfinite, rows, raw, column, "not a finite number (NaN or infinity)")
    values = values.set(nonfinite.fill_null(False), None)
    return values, concat_problems([bad, probs])


def parse_int(raw: pl.Series, rows: pl.Series, column: str) -> tuple[pl.Series, pl.DataFrame]:
    if raw.dtype.is_integer():
        return raw.cast(pl.Int64), empty_problems()
    floats, probs = parse_float(raw, rows, column)
    whole = floats.is_null() | (floats == floats.floor())
    frac = problems_where(~whole, rows, raw, column, "not a whole number")
    values = floats.set(~whole.fill_null(True), None)
    return values.cast(pl.Int64, strict=False), concat_problems([probs, frac])


def parse_bool(raw: pl.Series, rows: pl.Series, column: str) -> tuple[pl.Series, pl.DataFrame]:
    if raw.dtype == pl.Boolean:
        return raw, empty_problems()
    t = text(raw).str.to_lowercase()
    values = pl.select(
        pl.when(t.is_in(list(_TRUE)))
        .then(True)
        .when(t.is_in(list(_FALSE)))
        .then(False)
        .otherwise(None)
        .alias(raw.name)
    ).to_series()
    probs = problems_where(t.is_not_null() & values.is_null(), rows, raw, column, "not true/false")
    return values, probs


def parse_date(raw: pl.Series, rows: pl.Series, column: str) -> tuple[pl.Series, pl.DataFrame]:
    if raw.dtype == pl.Date:
        return raw, empty_problems()
    if isinstance(raw.dtype, pl.Datetime) and raw.dtype.time_zone is None:
        values = raw.dt.date()
        has_time = raw.dt.truncate("1d") != raw
        probs = problems_where(has_time, rows, raw, column, "expected a date, not a time of day")
        return values.set(has_time.fill_null(False), None), probs
    t = text(raw)
    values = t.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    probs = problems_where(
        t.is_not_null() & values.is_null(),
        rows,
        raw,
        column,
        "not a date (expected ISO YYYY-MM-DD)",
    )
    return values, probs


def parse_utc_timestamp(
    raw: pl.Series, rows: pl.Series, column: str
) -> tuple[pl.Series, pl.DataFrame]:
    """ISO-8601 timestamps that carry their offset (or Z), converted to UTC. A timestamp
    without an offset is a problem: these files have no time zone to assume."""
    if isinstance(raw.dtype, pl.Datetime):
        if raw.dtype.time_zone is None:
            probs = problems_where(
                raw.is_not_null(),
                rows,
                raw,
                column,
                "timestamp has no time zone; store it as UTC (time-zone aware)",
            )
            return pl.Series(raw.name, [None] * len(raw), UTC_TS), probs
        return raw.dt.convert_time_zone("UTC").cast(UTC_TS), empty_problems()
    aware, naive, probs = parse_iso(raw, rows, column)
    naive_probs = problems_where(
        naive.is_not_null(),
        rows,
        raw,
        column,
        "timestamp has no UTC offset; write e.g. 2018-01-01T00:00:00+09:00 or 2017-12-31T15:00:00Z",
    )
    return aware, concat_problems([probs, naive_probs])


def parse_iso(
    raw: pl.Series, rows: pl.Series, column: str
) -> tuple[pl.Series, pl.Series, pl.DataFrame]:
    """ISO-8601 text → (UTC instants where an offset or Z was given, naive wall-clock times
    where none was, problems). 'T' or a space may separate date and time; seconds and
    fractions are optional."""
    t = text(raw)
    norm = t.str.replace(r"[Zz]$", "+00:00").str.replace(r"^(\d{4}-\d{2}-\d{2})[ tT]", "${1}T")
    has_offset = norm.str.contains(_OFFSET_AT_END).fill_null(False)
    aware = _coalesce([norm.str.strptime(UTC_TS, f, strict=False) for f in _AWARE_ISO])
    naive = _coalesce([norm.str.strptime(NAIVE_TS, f, strict=False) for f in _NAIVE_ISO])
    aware = aware.set(~has_offset, None)
    naive = naive.set(has_offset, None)
    unparsed = t.is_not_null() & aware.is_null() & naive.is_null()
    probs = problems_where(
        unparsed,
        rows,
        raw,
        column,
        "not an ISO-8601 timestamp (e.g. 2018-01-01T00:15:00+09:00)",
    )
    return aware.alias(raw.name), naive.alias(raw.name), probs


def parse_with_format(
    raw: pl.Series, rows: pl.Series, column: str, fmt: str
) -> tuple[pl.Series, pl.Series, pl.DataFrame]:
    """Text parsed with a strptime format → (UTC instants, naive wall-clock times, problems);
    one of the two is all null, depending on whether the format has an offset (%z)."""
    t = text(raw)
    aware_fmt = bool(re.search(r"%[:#]?z", fmt))
    dtype = UTC_TS if aware_fmt else NAIVE_TS
    try:
        parsed = t.str.strptime(dtype, fmt, strict=False)
    except Exception as exc:  # an invalid format string
        raise ValueError(f"timestamp_format {fmt!r} is not a valid strptime format: {exc}") from exc
    probs = problems_where(
        t.is_not_null() & parsed.is_null(),
        rows,
        raw,
        column,
        f"timestamp does not match the format {fmt!r}",
    )
    nulls = pl.Series(raw.name, [None] * len(raw), UTC_TS if not aware_fmt else NAIVE_TS)
    return (parsed, nulls, probs) if aware_fmt else (nulls, parsed, probs)


def check_in(
    values: pl.Series, rows: pl.Series, column: str, allowed: Iterable[str], what: str
) -> pl.DataFrame:
    allowed = sorted(allowed)
    bad = values.is_not_null() & ~values.is_in(allowed)
    return problems_where(
        bad, rows, values, column, f"unknown {what}; expected one of " + ", ".join(allowed)
    )


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    if name in _zones():
        return True
    try:
        ZoneInfo(name)
    except Exception:
        return False
    return True


def check_timezone(values: pl.Series, rows: pl.Series, column: str) -> pl.DataFrame:
    unique = [v for v in values.drop_nulls().unique().to_list() if not is_timezone(v)]
    return problems_where(
        values.is_in(unique),
        rows,
        values,
        column,
        "not an IANA time zone name (e.g. Asia/Seoul, Europe/Berlin)",
    )


def _coalesce(series: list[pl.Series]) -> pl.Series:
    return pl.select(pl.coalesce(series)).to_series()

"""Turn a meter export into landing readings through a `ReadingsMapping`, checking every row.

The landed `ts` is the UTC START of the interval a value covers (UTC instant of the reading for
counters); see `mapping` for how a label becomes that instant. Each row's unit is checked against
its meter in the landed registry (`units.registry_misfit`): a litre reading of an electricity
meter or a kWh reading of a gas meter registered in m3 is a problem on that row. `raw_id` is
``<source_name>|<meter_id>|<row in file>|<ts as ISO UTC>``: the same file imported again gives
the same ids, so downstream deduplication makes an at-least-once import exactly-once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import polars as pl

from ingestion.files import formats, parsing, units
from ingestion.files.mapping import MappingError, ReadingsMapping
from ingestion.files.readers import ROW, RawTable
from ingestion.files.tables import MissingColumns, Prepared, dedupe, without_problem_rows
from ingestion.landing.schemas import SCHEMAS, UTC_TS


def prepare_readings(
    table: RawTable,
    mapping: ReadingsMapping,
    *,
    source: str,
    source_name: str,
    received_at: datetime,
    site_timezone: str | None = None,
    meters: Mapping[str, units.MeterKind] | None = None,
) -> Prepared:
    """`meters`: the landed meter registry (meter_id → MeterKind); each row's unit must fit its
    meter. None skips that check (no registry to check against)."""
    raw = table.frame
    missing = [c for c in mapping.file_columns() if c not in raw.columns]
    if missing:
        raise MissingColumns(missing, table.columns)
    used = set(mapping.file_columns())
    ignored = [c for c in table.columns if c not in used]
    rows = raw.get_column(ROW)
    found: list[pl.DataFrame] = [
        pl.DataFrame(table.problems, schema=parsing.empty_problems().schema, orient="row")
    ]

    def required(name: str) -> None:
        col = raw.get_column(name)
        found.append(
            parsing.problems_where(
                parsing.is_missing(col), rows, col, name, "required value is missing"
            )
        )

    # meter
    if mapping.meter_id_column:
        meter = parsing.text(raw.get_column(mapping.meter_id_column))
        required(mapping.meter_id_column)
    else:
        meter = pl.repeat(mapping.meter_id, raw.height, dtype=pl.String, eager=True)
    meter = meter.alias("meter_id")

    # unit
    register = mapping.meter_register
    if mapping.unit_column:
        unit = parsing.text(raw.get_column(mapping.unit_column)).alias("unit")
        required(mapping.unit_column)
        found.append(parsing.check_in(unit, rows, mapping.unit_column, units.KNOWN_UNITS, "unit"))
        fits = units.register_units(register)
        found.append(
            parsing.problems_where(
                unit.is_in(list(units.KNOWN_UNITS - set(fits))),
                rows,
                unit,
                mapping.unit_column,
                f"unit does not fit the {register} register of this mapping "
                f"(expected one of {', '.join(fits)})",
            )
        )
    else:
        unit = pl.repeat(mapping.unit, raw.height, dtype=pl.String, eager=True).alias("unit")
    if meters is not None:
        found.append(_registry_problems(meter, unit, rows, mapping, meters))

    # quality
    if mapping.quality_column:
        quality = parsing.text(raw.get_column(mapping.quality_column)).alias("quality")
        found.append(
            parsing.check_in(
                quality, rows, mapping.quality_column, formats.QUALITIES, "quality flag"
            )
        )
    else:
        quality = pl.repeat(mapping.quality, raw.height, dtype=pl.String, eager=True)
        quality = quality.alias("quality")

    # value
    value_raw = raw.get_column(mapping.value_column)
    value, probs = parsing.parse_float(value_raw, rows, mapping.value_column)
    found.append(probs)
    required(mapping.value_column)
    if register != "power_kw":
        what = {
            "interval_kwh": "negative energy on an interval register",
            "counter_kwh": "negative reading of an energy counter",
            "interval": "negative fuel quantity on an interval register",
            "counter": "negative reading of a fuel counter",
        }[register]
        found.append(parsing.problems_where(value < 0, rows, value_raw, mapping.value_column, what))

    # timestamp
    ts_col = mapping.timestamp_column
    ts_raw = raw.get_column(ts_col)
    aware, naive, probs = _parse_labels(ts_raw, rows, ts_col, mapping.timestamp_format)
    found.append(probs)
    required(ts_col)
    tz = mapping.timezone or site_timezone
    if naive.is_not_null().any():
        if tz is None:
            raise MappingError(
                f"timestamps in {ts_col!r} have no UTC offset and the mapping gives no timezone "
                f"(and no landed site {mapping.site_id!r} has one): set timezone, e.g. "
                "Asia/Seoul"
            )
        local, probs = _localize(naive, meter, rows, ts_raw, ts_col, tz, mapping.midnight_ends_day)
        found.append(probs)
    else:
        local = pl.Series([None] * raw.height, dtype=UTC_TS)
    label = pl.select(pl.coalesce(aware.cast(UTC_TS), local.cast(UTC_TS))).to_series()
    if mapping.interval_semantics == "end":
        label = label - timedelta(minutes=mapping.interval_minutes)
    ts = label.alias("ts")

    frame = (
        pl.DataFrame(
            {
                ROW: rows,
                "meter_id": meter,
                "site_id": pl.repeat(mapping.site_id, raw.height, dtype=pl.String, eager=True),
                "ts": ts,
                "value": value.alias("value"),
                "unit": unit,
                "quality": quality,
                "source": pl.repeat(source, raw.height, dtype=pl.String, eager=True),
                "received_at": pl.repeat(received_at, raw.height, dtype=UTC_TS, eager=True),
            }
        )
        .with_columns(
            raw_id=pl.format(
                "{}|{}|{}|{}",
                pl.lit(source_name),
                pl.col("meter_id"),
                pl.col(ROW),
                pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
        .select(ROW, *SCHEMAS["readings"])
    )

    frame, dup_problems, duplicates = dedupe(
        without_problem_rows(frame, found),
        ("meter_id", "ts"),
        raw,
        show_column=ts_col,
        compare=("meter_id", "ts", "value", "unit"),
        reason="{n} readings of this meter for the same interval with different values "
        "(rows {rows})",
    )
    found.append(dup_problems)
    return Prepared(
        rows=frame,
        problems=parsing.concat_problems(found),
        raw=raw,
        duplicates=duplicates,
        ignored_columns=ignored,
        span_columns=("ts", "ts"),
    )


def _registry_problems(
    meter: pl.Series,
    unit: pl.Series,
    rows: pl.Series,
    mapping: ReadingsMapping,
    meters: Mapping[str, units.MeterKind],
) -> pl.DataFrame:
    """Each row's unit (and the mapping's register) against its meter in the landed registry.
    Rows whose unit the mapping already refuses are left to that problem. Decided once per
    distinct (meter, unit): a file has few meters and units, however many rows. The problem
    names the file's column at fault (the unit's or the meter's), else the other one, which
    tells the rows apart; when both are the mapping's own constants the mapping is at fault and
    the file is not imported (MappingError)."""
    register = mapping.meter_register
    pairs = pl.DataFrame({"meter_id": meter, "unit": unit})
    distinct = pairs.filter(
        pl.col("meter_id").is_not_null() & pl.col("unit").is_in(units.register_units(register))
    ).unique()
    found = [
        (m, u, *misfit)
        for m, u in distinct.iter_rows()
        if (misfit := units.registry_misfit(meters, m, u, register))
    ]
    if not found:
        return parsing.empty_problems()
    if mapping.unit_column is None and mapping.meter_id_column is None:
        # one meter and one unit, both the mapping's own: every row is wrong the same way
        raise MappingError(
            f"the mapping's meter and unit do not fit the meter registry: {found[0][3]}"
        )
    # the column at fault when the file has it, else the other one (which picks the row apart)
    column_of = {"unit": mapping.unit_column, "meter": mapping.meter_id_column}
    for name, other in (("unit", "meter"), ("meter", "unit")):
        column_of[name] = column_of[name] or column_of[other]
    shown_of = {mapping.unit_column: unit, mapping.meter_id_column: meter}
    keyed = pairs.join(
        pl.DataFrame(
            found,
            schema={
                "meter_id": pl.String,
                "unit": pl.String,
                "culprit": pl.String,
                "why": pl.String,
            },
            orient="row",
        ),
        on=["meter_id", "unit"],
        how="left",
        maintain_order="left",
    )
    culprit, why = keyed.get_column("culprit"), keyed.get_column("why")
    return parsing.concat_problems(
        parsing.problems_where(
            culprit == name, rows, shown_of[column_of[name]], column_of[name], why
        )
        for name in ("unit", "meter")
    )


def _parse_labels(
    ts_raw: pl.Series, rows: pl.Series, name: str, fmt: str | None
) -> tuple[pl.Series, pl.Series, pl.DataFrame]:
    """→ (UTC instants of labels with offset, naive wall-clock labels, problems)."""
    n = len(ts_raw)
    no_aware = pl.Series([None] * n, dtype=UTC_TS)
    no_naive = pl.Series([None] * n, dtype=parsing.NAIVE_TS)
    if isinstance(ts_raw.dtype, pl.Datetime):
        if ts_raw.dtype.time_zone is None:
            return no_aware, ts_raw.cast(parsing.NAIVE_TS), parsing.empty_problems()
        return ts_raw.dt.convert_time_zone("UTC").cast(UTC_TS), no_naive, parsing.empty_problems()
    if ts_raw.dtype != pl.String:
        probs = parsing.problems_where(
            ts_raw.is_not_null(),
            rows,
            ts_raw,
            name,
            f"not a timestamp (the column holds {ts_raw.dtype})",
        )
        return no_aware, no_naive, probs
    if fmt:
        return parsing.parse_with_format(ts_raw, rows, name, fmt)
    return parsing.parse_iso(ts_raw, rows, name)


def _localize(
    naive: pl.Series,
    meter: pl.Series,
    rows: pl.Series,
    ts_raw: pl.Series,
    name: str,
    tz: str,
    midnight_ends_day: bool,
) -> tuple[pl.Series, pl.DataFrame]:
    """Wall-clock labels → UTC instants in `tz`, DST-safe (see `mapping`)."""
    frame = pl.DataFrame({"naive": naive, "meter": meter})
    if midnight_ends_day:
        frame = frame.with_columns(
            naive=pl.when(pl.col("naive").dt.truncate("1d") == pl.col("naive"))
            .then(pl.col("naive") + pl.duration(days=1))
            .otherwise(pl.col("naive"))
        )

    def place(ambiguous: str) -> pl.Expr:
        return (
            pl.col("naive")
            .dt.replace_time_zone(tz, ambiguous=ambiguous, non_existent="null")
            .dt.convert_time_zone("UTC")
        )

    frame = frame.with_columns(early=place("earliest"), late=place("latest")).with_columns(
        # the n-th time a meter repeats the same wall-clock label, in file order
        occurrence=pl.int_range(pl.len()).over(["meter", "naive"]),
    )
    gap = frame.select(pl.col("naive").is_not_null() & pl.col("early").is_null()).to_series()
    probs = parsing.problems_where(
        gap,
        rows,
        ts_raw,
        name,
        f"this local time does not exist in {tz} (clocks go forward over it)",
    )
    utc = frame.select(
        pl.when(pl.col("early") != pl.col("late"))
        .then(pl.when(pl.col("occurrence") == 0).then(pl.col("early")).otherwise(pl.col("late")))
        .otherwise(pl.col("early"))
    ).to_series()
    return utc.cast(UTC_TS), probs

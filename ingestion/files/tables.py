"""Turn a raw table of a registry kind (sites, meters, equipment), bills, production or factors
into typed landing rows plus the problems of every row. The format is in `formats`."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from ingestion.files import formats, parsing, units
from ingestion.files.readers import ROW, RawTable
from ingestion.landing.schemas import REQUIRED, SCHEMAS


class MissingColumns(Exception):
    """Required columns are absent from the file: nothing in it can be landed."""

    def __init__(self, missing: list[str], present: list[str]):
        self.missing = missing
        self.present = present
        super().__init__(
            f"missing required column(s): {', '.join(missing)}; the file has: "
            f"{', '.join(present) or '(none)'}"
        )


@dataclass
class Prepared:
    """What a file holds once read and checked, before anything is landed."""

    rows: pl.DataFrame  # typed landing columns + ROW of the rows that passed, deduplicated
    problems: pl.DataFrame  # errors.PROBLEM_SCHEMA
    raw: pl.DataFrame  # the file's values (+ ROW), for quarantine
    duplicates: int = 0  # exact repeats of another row, landed once
    ignored_columns: list[str] = field(default_factory=list)
    span_columns: tuple[str, str] | None = None


def prepare_table(kind: str, table: RawTable, rename: dict[str, str] | None = None) -> Prepared:
    """Parse and check every row. `rename` maps a landing column to the file's column name when
    they differ (the documented format needs none)."""
    schema = SCHEMAS[kind]
    rename = dict(rename or {})
    unknown = sorted(set(rename) - set(schema))
    if unknown:
        raise ValueError(f"{kind}: rename names unknown column(s) {', '.join(unknown)}")
    file_col = {col: rename.get(col, col) for col in schema}
    raw = table.frame
    missing = [file_col[c] for c in REQUIRED[kind] if file_col[c] not in raw.columns]
    if missing:
        raise MissingColumns(missing, table.columns)
    used = set(file_col.values())
    ignored = [c for c in table.columns if c not in used]

    rows = raw.get_column(ROW)
    typed: dict[str, pl.Series] = {ROW: rows}
    found: list[pl.DataFrame] = []
    for col, dtype in schema.items():
        name = file_col[col]
        if name not in raw.columns:
            typed[col] = pl.Series(col, [None] * raw.height, dtype)
            continue
        values, probs = formats.parser_for(dtype)(raw.get_column(name), rows, name)
        typed[col] = values.cast(dtype, strict=False).alias(col)
        found.append(probs)
        if col in REQUIRED[kind]:
            found.append(
                parsing.problems_where(
                    parsing.is_missing(raw.get_column(name)),
                    rows,
                    raw.get_column(name),
                    name,
                    "required value is missing",
                )
            )
    frame = pl.DataFrame(typed)
    found.extend(_row_rules(kind, frame, raw, file_col))
    found.append(pl.DataFrame(table.problems, schema=parsing.empty_problems().schema, orient="row"))
    keys = formats.KEYS[kind]
    frame, dup_problems, duplicates = dedupe(
        without_problem_rows(frame, found),
        keys,
        raw,
        show_column=file_col[keys[0]],
        reason=" + ".join(file_col[k] for k in keys)
        + " appears {n} times in the file with different values (rows {rows})",
    )
    found.append(dup_problems)
    return Prepared(
        rows=frame,
        problems=parsing.concat_problems(found),
        raw=raw,
        duplicates=duplicates,
        ignored_columns=ignored,
        span_columns=SPAN_COLUMNS.get(kind),
    )


SPAN_COLUMNS: dict[str, tuple[str, str]] = {
    "bills": ("period_start", "period_end"),
    "production": ("start_ts", "end_ts"),
    "factors": ("valid_from", "valid_to"),
    "instruments": ("period_start", "period_end"),
}


def _row_rules(
    kind: str, frame: pl.DataFrame, raw: pl.DataFrame, file_col: dict[str, str]
) -> list[pl.DataFrame]:
    rows = frame.get_column(ROW)

    def where(
        mask: pl.Series | pl.Expr, col: str, reason: str | pl.Series | pl.Expr
    ) -> pl.DataFrame:
        if isinstance(mask, pl.Expr):
            mask = frame.select(mask.fill_null(False)).to_series()
        if isinstance(reason, pl.Expr):  # a reason naming the row's own values
            reason = frame.select(reason).to_series()
        name = file_col[col]
        shown = raw.get_column(name) if name in raw.columns else frame.get_column(col)
        return parsing.problems_where(mask, rows, shown, name, reason)

    c = pl.col
    out: list[pl.DataFrame] = []
    for col, allowed in formats.ALLOWED.get(kind, {}).items():
        out.append(
            parsing.check_in(
                frame.get_column(col),
                rows,
                file_col[col],
                allowed,
                formats.ALLOWED_WHAT.get(col, col),
            )
        )
    if kind == "sites":
        out.append(parsing.check_timezone(frame.get_column("timezone"), rows, file_col["timezone"]))
        out.append(
            where(
                ~c("country").str.contains(r"^[A-Z]{2}$"),
                "country",
                "not an ISO 3166 alpha-2 country code (two capital letters, e.g. KR)",
            )
        )
    elif kind == "meters":
        out.extend(_meter_kind_rules(where))
        out.append(where(c("multiplier") <= 0, "multiplier", "multiplier must be above 0"))
        out.append(
            where(c("rollover_value") <= 0, "rollover_value", "rollover value must be above 0")
        )
        out.append(
            where(
                (c("interval_minutes") < 1) | (c("interval_minutes") > 1440),
                "interval_minutes",
                "interval must be 1 to 1440 minutes",
            )
        )
        out.append(
            where(
                c("removed_at") <= c("installed_at"),
                "removed_at",
                "removed_at is not after installed_at",
            )
        )
    elif kind == "equipment":
        out.append(where(c("nameplate_kw") < 0, "nameplate_kw", "negative nameplate power"))
        for col in ("idle_load_fraction", "running_load_fraction"):
            out.append(where((c(col) < 0) | (c(col) > 1), col, "a fraction must be 0 to 1"))
    elif kind == "bills":
        out.append(
            where(
                c("period_end") < c("period_start"),
                "period_end",
                "period_end is before period_start",
            )
        )
        out.append(
            where(
                c("currency").is_not_null() & ~c("currency").str.contains(r"^[A-Z]{3}$"),
                "currency",
                "not an ISO 4217 currency code (e.g. KRW, EUR)",
            )
        )
    elif kind == "production":
        out.append(where(c("end_ts") <= c("start_ts"), "end_ts", "end_ts is not after start_ts"))
        for col in ("good_units", "scrap_units"):
            out.append(where(c(col) < 0, col, "a negative count of units"))
    elif kind == "factors":
        out.append(
            where(
                c("valid_to") <= c("valid_from"),
                "valid_to",
                "valid_to is not after valid_from (the window is empty)",
            )
        )
        out.append(
            where(
                ~c("unit").str.contains(formats.FACTOR_UNIT_PATTERN),
                "unit",
                "unknown unit; expected <mass><gas>/<activity> such as kgCO2e/kWh, "
                "tCO2/MWh, gCO2e/kWh or lbCO2/MWh",
            )
        )
    elif kind == "instruments":
        out.extend(_instrument_rules(where))
    elif kind == "orders":
        out.append(where(c("quantity") <= 0, "quantity", "an order needs a quantity above 0"))
        out.append(where(c("priority") < 0, "priority", "a negative priority"))
        out.append(
            where(
                c("shipped_at").is_null() & (c("status") == "shipped"),
                "shipped_at",
                "a shipped order needs shipped_at",
            )
        )
    return out


def _meter_kind_rules(where) -> list[pl.DataFrame]:
    """Register and unit by what the meter measures (`units`): an electricity meter keeps the
    electricity registers and units, a fuel meter (an energy_carrier other than electricity)
    takes counter | interval in a unit of the fuel_units seed, and has no parent."""
    c = pl.col
    fuel = c("energy_carrier").is_not_null() & (c("energy_carrier") != units.ELECTRICITY)
    power = list(formats.POWER_UNITS)
    energy = list(formats.ENERGY_UNITS)
    electricity_units = ", ".join(sorted(formats.READING_UNITS))
    fuel_units = ", ".join(units.FUEL_BASE_UNIT)
    return [
        where(
            fuel & ~c("energy_carrier").str.contains(formats.CARRIER_PATTERN),
            "energy_carrier",
            "an energy carrier is lower-case letters, digits and _ as in factors."
            "energy_carrier (e.g. natural_gas, diesel, lpg; empty or electricity for an "
            "electricity meter)",
        ),
        # electricity meters: exactly the rules from before fuel meters existed
        where(
            ~fuel & c("register").is_in(list(formats.FUEL_REGISTERS)),
            "register",
            pl.format(
                "register {} is a fuel meter's: give the fuel's energy_carrier (e.g. "
                "natural_gas), or use counter_kwh, interval_kwh or power_kw for electricity",
                c("register"),
            ),
        ),
        where(
            ~fuel & ~c("register").is_in(list(formats.REGISTERS | formats.FUEL_REGISTERS)),
            "register",
            "unknown register; expected one of counter_kwh, interval_kwh, power_kw "
            "(electricity) or counter, interval (a fuel meter, with its energy_carrier)",
        ),
        where(
            ~fuel & ~c("unit").is_in(list(units.KNOWN_UNITS)),
            "unit",
            f"unknown unit; expected one of {electricity_units}",
        ),
        where(
            ~fuel & c("unit").is_in(list(formats.FUEL_UNITS - formats.READING_UNITS)),
            "unit",
            pl.format(
                "{} is a fuel unit, but this is an electricity meter (energy_carrier empty or "
                "electricity): use Wh, kWh or MWh (W, kW or MW for power_kw), or give the "
                "fuel's energy_carrier",
                c("unit"),
            ),
        ),
        where(
            ~fuel & c("register").is_in(["counter_kwh", "interval_kwh"]) & c("unit").is_in(power),
            "unit",
            "a power unit on an energy register (use Wh, kWh or MWh)",
        ),
        where(
            ~fuel & c("register").eq("power_kw") & c("unit").is_in(energy),
            "unit",
            "an energy unit on a power register (use W, kW or MW)",
        ),
        # fuel meters
        where(
            fuel & ~c("register").is_in(list(formats.FUEL_REGISTERS)),
            "register",
            pl.format(
                "a fuel meter (energy_carrier {}) has register counter or interval",
                c("energy_carrier"),
            ),
        ),
        where(
            fuel & ~c("unit").is_in(list(formats.FUEL_UNITS)),
            "unit",
            pl.format(
                "not a fuel quantity unit for a {} meter; expected one of {}",
                c("energy_carrier"),
                pl.lit(fuel_units),
            ),
        ),
        where(
            fuel & c("parent_meter_id").is_not_null(),
            "parent_meter_id",
            "a fuel meter has no parent meter: Scope 1 sums every fuel meter of the site, so "
            "a fuel sub-meter would be counted twice (and an electricity meter cannot be "
            "upstream of a fuel)",
        ),
    ]


def _instrument_rules(where) -> list[pl.DataFrame]:
    c = pl.col
    return [
        where(
            c("period_end") <= c("period_start"),
            "period_end",
            "period_end is not after period_start (the period is empty)",
        ),
        where(c("volume") <= 0, "volume", "volume must be above 0 (or empty)"),
        where(
            c("volume").is_null()
            & ~c("instrument_type").is_in(["green_tariff", "supplier_specific"]),
            "volume",
            "a certificate or PPA needs a volume (only green tariffs and supplier-specific rates "
            "may cover all supply of their period)",
        ),
        where(
            c("volume").is_not_null() & c("volume_unit").is_null(),
            "volume_unit",
            "volume_unit is required with a volume (Wh, kWh, MWh or GWh)",
        ),
        where(c("emission_factor") < 0, "emission_factor", "a negative emission factor"),
    ]


def without_problem_rows(frame: pl.DataFrame, found: list[pl.DataFrame]) -> pl.DataFrame:
    """Rows with no problem so far: a row already rejected for its own values does not make
    an otherwise good row with the same key a conflict."""
    bad = parsing.concat_problems(found).get_column("row").unique()
    return frame.filter(~pl.col(ROW).is_in(bad.implode()))


def dedupe(
    frame: pl.DataFrame,
    keys: tuple[str, ...],
    raw: pl.DataFrame,
    *,
    show_column: str,
    reason: str,
    compare: tuple[str, ...] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Within one file a key appears once. Exact repeats (equal in every `compare` column, by
    default all columns) are kept once and counted; repeats that differ are a problem on every
    row involved. `reason` may use {n} (how many rows share the key) and {rows} (their numbers);
    the problem shows the file's `show_column`."""
    if frame.height == 0:
        return frame, parsing.empty_problems(), 0
    compared = frame.select(list(compare)) if compare else frame.select(pl.exclude(ROW))
    hashed = frame.select(ROW, *keys).with_columns(
        __h=compared.hash_rows(),
        __k=pl.struct(list(keys)).hash(),
    )
    complete = pl.all_horizontal(pl.col(k).is_not_null() for k in keys)
    stats = (
        hashed.filter(complete)
        .group_by("__k")
        .agg(
            pl.len().alias("__n"),
            pl.col("__h").n_unique().alias("__distinct"),
            pl.col(ROW).sort().alias("__rows"),
        )
    )
    conflicts = stats.filter(pl.col("__distinct") > 1)
    problems = parsing.empty_problems()
    if conflicts.height:
        bad = hashed.join(conflicts, on="__k", how="inner").sort(ROW)
        shown = raw.join(bad.select(ROW), on=ROW, how="semi").sort(ROW)
        texts = {
            key: reason.format(n=n, rows=_list_rows(rows))
            for key, n, rows in conflicts.select("__k", "__n", "__rows").iter_rows()
        }
        reasons = bad.get_column("__k").replace_strict(texts, return_dtype=pl.String)
        problems = pl.DataFrame(
            {
                "row": bad.get_column(ROW).cast(pl.Int64),
                "column": [show_column] * bad.height,
                "value": parsing.as_text(shown.get_column(show_column)),
                "reason": reasons,
            },
            schema=parsing.empty_problems().schema,
        )
    exact = hashed.filter(complete).join(
        stats.filter((pl.col("__n") > 1) & (pl.col("__distinct") == 1)), on="__k", how="inner"
    )
    drop = exact.filter(pl.col(ROW) != pl.col("__rows").list.first()).get_column(ROW)
    kept = frame.filter(~pl.col(ROW).is_in(drop.implode()))
    return kept, problems, drop.len()


def _list_rows(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")

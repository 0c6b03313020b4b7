"""Checks a batch of factor rows must pass before anything is landed.

1. Row values: required columns present, known method and granularity, a readable unit whose
   gas agrees with the `gas` column, a finite value, valid_to after valid_from, an hourly
   window of exactly one hour (monthly 28–31 days, annual at least 365 days).
2. Plausible bounds per unit: the value is converted to kg of its gas per base unit (kWh, l or
   kg; `units`) and must lie inside `BOUNDS` — 0 … 2 kg CO2(e)/kWh catches a g/kWh figure
   labelled kg/kWh (×1000) or a lb/MWh figure labelled lb/kWh.
3. Validity windows, per series (`WINDOW_KEY`: factor_id, version, region, method,
   energy_carrier, granularity, gas): windows sorted by valid_from must neither overlap nor
   leave gaps. A new value for a window already covered needs a new *version*; a series with a
   hole in it is rejected rather than leaving intervals silently without a factor.
   Windows are checked together with the factors already landed (`existing`) for the same
   series; a row identical to a landed one is "already landed" — not an error, not re-landed.

Every problem names the row as a person counts lines in the source file (header = line 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from ingestion.factors.units import with_base_values
from ingestion.files.errors import ImportRejected, Problem
from ingestion.files.formats import ALLOWED
from ingestion.landing.schemas import REQUIRED, SCHEMAS

WINDOW_KEY: tuple[str, ...] = (
    "factor_id",
    "version",
    "region",
    "method",
    "energy_carrier",
    "granularity",
    "gas",
)
IDENTITY: tuple[str, ...] = (*WINDOW_KEY, "valid_from", "valid_to", "value", "unit")

METHODS = ALLOWED["factors"]["method"]  # location | market | residual_mix | supplier | fuel
GRANULARITIES = ALLOWED["factors"]["granularity"]  # annual | monthly | hourly

# Plausible (min, max) in kg of the unit's gas per base unit. "total" = a CO2 or CO2e figure
# (also the CO2e share of one gas, as DESNZ publishes it); "trace" = kg of CH4 or N2O itself.
# Dirtiest national grids are ~1.3 kgCO2/kWh (Ember 2023: Turkmenistan 1306 g/kWh), lignite
# fuel ~0.4 kg/kWh; diesel ~2.7 kg/l, fuel oil ~3.2 kg/l; LPG ~2.9 kg/kg, coal ~2.5-3 kg/kg;
# natural gas ~2 kg/m3 = 0.002 kg/l.
BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("total", "kWh"): (0.0, 2.0),
    ("total", "l"): (0.0, 4.0),
    ("total", "kg"): (0.0, 4.0),
    ("trace", "kWh"): (0.0, 0.01),
    ("trace", "l"): (0.0, 0.05),
    ("trace", "kg"): (0.0, 0.05),
}

_ROW = "__source_row"
_ORIGIN = "__origin"  # "" for rows of the file being checked, else the landed batch id


class FactorFileRejected(ImportRejected):
    """A factor file that was not landed, not even in part; `.problems` names every row."""

    def __init__(self, summary: str, problems: list[Problem] | None = None, **kwargs):
        kwargs.setdefault("kind", "factors")
        super().__init__(summary, problems, **kwargs)


@dataclass
class Checked:
    """The outcome of `validate`: problems (empty when the batch may land), the rows to land
    (the batch minus rows already landed and exact repeats), and how many were dropped."""

    problems: list[Problem]
    to_land: pl.DataFrame
    source_rows: list[int]
    already_landed: int = 0
    repeated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(frame: pl.DataFrame, source_rows: Sequence[int] | None) -> list[int]:
    if source_rows is None:
        return list(range(1, frame.height + 1))
    rows = list(source_rows)
    if len(rows) != frame.height:
        raise ValueError("source_rows must give one row number per factor row")
    return rows


def _ts(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _series(values: dict) -> str:
    return (
        f"{values['factor_id']} v{values['version']} ({values['region']}, {values['method']}, "
        f"{values['energy_carrier']}, {values['granularity']}, {values['gas'] or 'gas n/a'})"
    )


def check_rows(frame: pl.DataFrame, source_rows: Sequence[int] | None = None) -> list[Problem]:
    """Per-row rules: required values, allowed method/granularity, unit and gas, window length,
    and plausible bounds per unit."""
    rows = _rows(frame, source_rows)
    problems: list[Problem] = []
    missing_cols = [c for c in REQUIRED["factors"] if c not in frame.columns]
    if missing_cols:
        return [Problem(0, None, None, f"missing required column(s): {', '.join(missing_cols)}")]
    data = with_base_values(frame.select(list(SCHEMAS["factors"])))
    for row, rec in zip(rows, data.iter_rows(named=True), strict=True):

        def bad(column: str, reason: str, rec=rec, row=row) -> None:
            value = rec.get(column)
            shown = None if value is None else str(value)
            problems.append(Problem(row, column, shown, reason))

        for column in REQUIRED["factors"]:
            if rec[column] is None or (isinstance(rec[column], str) and not rec[column].strip()):
                bad(column, "required value is missing")
        if rec["method"] is not None and rec["method"] not in METHODS:
            bad("method", f"unknown factor method; expected one of {', '.join(sorted(METHODS))}")
        if rec["granularity"] is not None and rec["granularity"] not in GRANULARITIES:
            bad("granularity", f"unknown granularity; expected {', '.join(sorted(GRANULARITIES))}")
        if rec["gas"] is not None and rec["gas"] not in ("CO2e", "CO2", "CH4", "N2O"):
            bad("gas", "unknown gas; expected CO2e, CO2, CH4 or N2O")
        start, end = rec["valid_from"], rec["valid_to"]
        if start is not None and end is not None:
            if end <= start:
                bad("valid_to", "valid_to is not after valid_from (the window is empty)")
            elif rec["granularity"] == "hourly" and end - start != timedelta(hours=1):
                bad("valid_to", f"an hourly factor must cover one hour, not {end - start}")
            elif rec["granularity"] == "monthly" and not (
                timedelta(days=28) <= end - start <= timedelta(days=31, hours=1)
            ):
                bad("valid_to", f"a monthly factor must cover one month, not {end - start}")
            elif rec["granularity"] == "annual" and end - start < timedelta(days=365):
                bad("valid_to", f"an annual factor must cover at least a year, not {end - start}")
        value = rec["value"]
        if value is not None and value != value:
            bad("value", "value is not a number (NaN)")
            continue
        if rec["unit"] is None:
            continue
        if rec["base_unit"] is None:
            bad(
                "unit",
                "unknown unit; expected <mass><gas>/<activity> such as kgCO2e/kWh, lbCO2/MWh, "
                "gCO2eq/kWh, tCO2eq/MWh, kgCH4/l",
            )
            continue
        unit_gas, gas = rec["unit_gas"], rec["gas"]
        if unit_gas in ("CH4", "N2O", "CO2") and gas is not None and gas != unit_gas:
            bad("gas", f"the unit is mass of {unit_gas} but the gas column says {gas}")
        if gas is None and unit_gas != "CO2e":
            bad("gas", f"gas is empty but the unit {rec['unit']} is not CO2e: say {unit_gas}")
        if value is None:
            continue
        kind = "trace" if unit_gas in ("CH4", "N2O") else "total"
        base = rec["base_unit"].split("/")[1]
        low, high = BOUNDS[(kind, base)]
        converted = rec["value_base"]
        if not low <= converted <= high:
            bad(
                "value",
                f"implausible for {rec['unit']}: {value:g} is {converted:.6g} "
                f"{rec['base_unit']}, outside {low:g} … {high:g} — check the unit "
                "(g vs kg, per MWh vs per kWh, lb vs kg)",
            )
    return problems


def check_windows(
    frame: pl.DataFrame,
    source_rows: Sequence[int] | None = None,
    *,
    existing: pl.DataFrame | None = None,
    allow_gaps: bool = False,
) -> list[Problem]:
    """Overlaps and gaps of validity windows within each series (`WINDOW_KEY`), including the
    landed factors in `existing` (their landing batch is named in the message)."""
    rows = _rows(frame, source_rows)
    cols = [*WINDOW_KEY, "valid_from", "valid_to", "value", "unit"]
    new = frame.select(cols).with_columns(
        pl.Series(_ROW, rows, dtype=pl.Int64), pl.lit("", dtype=pl.String).alias(_ORIGIN)
    )
    combined = new
    if existing is not None and existing.height:
        keys = new.select(WINDOW_KEY).unique()
        landed = existing.join(keys, on=list(WINDOW_KEY), how="semi", nulls_equal=True)
        if landed.height:
            origin = (
                pl.col("landing_batch_id")
                if "landing_batch_id" in landed.columns
                else pl.lit("an earlier batch")
            )
            combined = pl.concat(
                [
                    new,
                    landed.select(
                        *cols,
                        pl.lit(None, dtype=pl.Int64).alias(_ROW),
                        origin.cast(pl.String).alias(_ORIGIN),
                    ),
                ]
            )
    combined = combined.filter(
        pl.col("valid_from").is_not_null()
        & pl.col("valid_to").is_not_null()
        & (pl.col("valid_to") > pl.col("valid_from"))
    ).sort([*WINDOW_KEY, "valid_from", "valid_to", _ORIGIN, _ROW], nulls_last=True)

    def label(rec: dict) -> str:
        if rec[_ORIGIN]:
            return f"the factor landed in batch {rec[_ORIGIN]}"
        return f"row {rec[_ROW]}"

    problems: list[Problem] = []
    previous: dict | None = None
    reach: dict | None = None  # the row whose window ends latest so far in this series
    for rec in combined.iter_rows(named=True):
        key = tuple(rec[k] for k in WINDOW_KEY)
        if previous is None or key != tuple(previous[k] for k in WINDOW_KEY):
            previous = reach = rec
            continue
        series = _series(rec)
        if rec["valid_from"] < reach["valid_to"]:
            mine, other = (rec, reach) if not rec[_ORIGIN] else (reach, rec)
            if not mine[_ORIGIN]:
                problems.append(
                    Problem(
                        mine[_ROW],
                        "valid_from",
                        _ts(mine["valid_from"]),
                        f"validity {_ts(mine['valid_from'])} … {_ts(mine['valid_to'])} overlaps "
                        f"{label(other)} ({_ts(other['valid_from'])} … {_ts(other['valid_to'])}) "
                        f"of {series}; a new value for a covered window needs a new version",
                    )
                )
        elif rec["valid_from"] > reach["valid_to"] and not allow_gaps:
            mine = rec if not rec[_ORIGIN] else reach
            if not mine[_ORIGIN]:
                problems.append(
                    Problem(
                        mine[_ROW],
                        "valid_from",
                        _ts(rec["valid_from"]),
                        f"gap in validity {_ts(reach['valid_to'])} … {_ts(rec['valid_from'])} "
                        f"between {label(reach)} and {label(rec)} of {series}",
                    )
                )
        if rec["valid_to"] > reach["valid_to"]:
            reach = rec
        previous = rec
    return problems


def validate(
    frame: pl.DataFrame,
    source_rows: Sequence[int] | None = None,
    *,
    existing: pl.DataFrame | None = None,
    allow_gaps: bool = False,
) -> Checked:
    """All checks. Exact repeats inside the batch are kept once; rows identical to a landed
    factor (same series, window, value and unit) are dropped as already landed."""
    rows = _rows(frame, source_rows)
    problems = check_rows(frame, rows)
    indexed = frame.with_columns(pl.Series(_ROW, rows, dtype=pl.Int64))
    ident = [c for c in IDENTITY if c in frame.columns]
    deduped = indexed.unique(subset=ident, keep="first", maintain_order=True)
    repeated = indexed.height - deduped.height
    already = 0
    if existing is not None and existing.height and not problems:
        before = deduped.height
        deduped = deduped.join(
            existing.select(ident).unique(), on=ident, how="anti", nulls_equal=True
        )
        already = before - deduped.height
    kept_rows = deduped.get_column(_ROW).to_list()
    to_land = deduped.drop(_ROW)
    if not problems:
        problems = check_windows(to_land, kept_rows, existing=existing, allow_gaps=allow_gaps)
    problems.sort(key=lambda p: (p.row, p.column or ""))
    notes = []
    if repeated:
        notes.append(f"{repeated} row(s) repeated another row exactly and are landed once")
    if already:
        notes.append(f"{already} row(s) were already landed with the same values: not re-landed")
    return Checked(problems, to_land, kept_rows, already, repeated, notes)


def ensure_valid(
    frame: pl.DataFrame,
    source_rows: Sequence[int] | None = None,
    *,
    source: str = "factors",
    existing: pl.DataFrame | None = None,
    allow_gaps: bool = False,
) -> Checked:
    """`validate`, raising FactorFileRejected (naming the rows) when there is any problem."""
    checked = validate(frame, source_rows, existing=existing, allow_gaps=allow_gaps)
    if checked.problems:
        bad = sorted({p.row for p in checked.problems if p.row > 0})
        raise FactorFileRejected(
            f"factor file {source} rejected, nothing was landed: "
            f"{len(bad)} row(s) have problems (rows {', '.join(map(str, bad[:20]))}"
            f"{' …' if len(bad) > 20 else ''}).",
            checked.problems,
            source=source,
        )
    return checked

"""The factors suite: row-level checks on emission-factor files (staging.stg_landing__factors).

- factor_file / implausible_value: the value outside the plausible bounds of its unit
  (`BOUNDS`, one expectation per unit with a row condition): an electricity or fuel factor above
  1.5 kgCO2e/kWh-equivalent is a unit or decimal error; negative factors do not exist;
- factor_file / unknown_unit: a unit with no known bounds (and no conversion);
- factor_file / invalid_window: valid_to after valid_from;
- factor_file / unknown_method, unknown_granularity; contract not-nulls.
Rows are named by `factor_key` = factor_id|version|valid_from. Overlapping validity windows and
coverage gaps: rules/factor_files.py. Rejected rows: corrections.reject_factor_rows.
"""

from __future__ import annotations

import polars as pl

from quality.rules.common import normalize
from quality.rules.factor_files import factor_key
from quality.validation import ValidationOutcome, context, run_suite

# (min, max) per published unit; max = 1.5 kgCO2e/kWh in that unit.
BOUNDS: dict[str, tuple[float, float]] = {
    **{u: (0.0, 1.5) for u in ("kgCO2e/kWh", "kgCO2/kWh", "tCO2e/MWh", "tCO2/MWh")},
    **{u: (0.0, 1500.0) for u in ("gCO2e/kWh", "gCO2/kWh", "kgCO2e/MWh", "kgCO2/MWh",
                                   "tCO2e/GWh", "tCO2/GWh")},
    **{u: (0.0, 3306.9) for u in ("lbCO2e/MWh", "lbCO2/MWh")},
    **{u: (0.0, 3.3069) for u in ("lbCO2e/kWh", "lbCO2/kWh")},
}


def _fuel_bounds() -> dict[str, tuple[float, float]]:
    """Scope 1 fuel factor units — kg or g of CO2e, CO2, CH4 or N2O per kWh, l, m3, kg or t of
    fuel (what DESNZ, IPCC and the simulated plant publish) — with the plausible range the factor
    importer checks (ingestion/factors/validate.py BOUNDS, in kg gas per base unit), expressed
    in the unit as published. Units the electricity table above already bounds keep their
    bounds. The list is kept short: each unit is one expectation (~20 ms a run)."""
    from ingestion.factors.units import parse_unit
    from ingestion.factors.validate import BOUNDS as PER_BASE

    out: dict[str, tuple[float, float]] = {}
    for mass in ("g", "kg"):
        for gas in ("CO2e", "CO2", "CH4", "N2O"):
            for activity in ("kWh", "l", "m3", "kg", "t"):
                unit = f"{mass}{gas}/{activity}"
                parsed = parse_unit(unit)
                low, high = PER_BASE[("trace" if gas in ("CH4", "N2O") else "total", parsed.base)]
                out[unit] = (low / parsed.multiplier, high / parsed.multiplier)
    return out


BOUNDS = {**_fuel_bounds(), **BOUNDS}
METHODS = ["location", "market", "residual_mix", "supplier", "fuel"]
GRANULARITIES = ["annual", "monthly", "hourly"]
FIELDS = {"subject_id": "factor_key", "window_start_utc": "valid_from_utc",
          "window_end_utc": "valid_to_utc", "detected_at_utc": "published_at_utc"}


def build_suite(bounds: dict[str, tuple[float, float]] | None = None):
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    context()  # suites live in the process's ephemeral context
    bounds = bounds or BOUNDS
    suite = gx.ExpectationSuite(name="factors")

    def meta(check, severity, message, rule="factor_file"):
        return {"rule": rule, "check": check, "severity": severity, "subject_kind": "factor",
                "message": message}

    for col in ("factor_id", "version", "method", "region", "energy_carrier", "granularity",
                "valid_from_utc", "valid_to_utc", "value", "unit", "source_document"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
            column=col, meta=meta(f"not_null_{col}", "critical", f"{col} is missing",
                                  rule="contract")))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="valid_to_utc", column_B="valid_from_utc", or_equal=False,
        meta=meta("invalid_window", "critical", "valid_to not after valid_from")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="unit", value_set=sorted(bounds),
        meta=meta("unknown_unit", "critical", "factor unit without known bounds")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="method", value_set=METHODS,
        meta=meta("unknown_method", "critical", "accounting method not known")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="granularity", value_set=GRANULARITIES,
        meta=meta("unknown_granularity", "critical", "granularity not known")))
    for unit, (low, high) in sorted(bounds.items()):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column="value", min_value=low, max_value=high, row_condition=Column("unit") == unit,
            meta={**meta("implausible_value", "critical",
                         f"value outside [{low}, {high}] {unit}"), "unit": unit}))
    return suite


def prepare(factors: pl.DataFrame) -> pl.DataFrame:
    f = normalize(factors).with_columns(factor_key())
    if "published_at_utc" not in f.columns:
        f = f.with_columns(pl.lit(None, pl.Datetime("us")).alias("published_at_utc"))
    return f


def validate(factors: pl.DataFrame,
             bounds: dict[str, tuple[float, float]] | None = None) -> ValidationOutcome:
    return run_suite(build_suite(bounds), prepare(factors), fields=FIELDS)

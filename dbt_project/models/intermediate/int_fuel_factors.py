"""Fuel combustion factors (method fuel, gas CO2 / CH4 / N2O) as kg of the gas itself per base
unit of fuel (kWh, l or kg). In Python because the unit parsing and the CO2e-share → mass rule
(a publisher's "kg CO2e of CH4" divided by the GWP of the set it used) are the Scope 1 library's
own code (models/scope2/scope1.py GasFactor.kg_gas_per_base): the warehouse and the library
cannot drift apart. A row the library cannot read keeps its published value with a null
kg_gas_per_base and the reason in `problem`; fct_scope1_interval never uses it."""

import polars as pl

from models.scope2.scope1 import COMBUSTION_GASES, GasFactor


def _per_base(row: dict) -> tuple[float | None, str | None, str | None]:
    factor = GasFactor(row["gas"], row["value"], row["unit"], row["gwp_set"], row["factor_id"])
    try:
        per_base, base = factor.kg_gas_per_base()
    except ValueError as error:  # UnknownUnit is a ValueError too
        return None, None, str(error)
    return per_base, base, None


def model(dbt, session):
    dbt.config(materialized="table")
    factors = (
        dbt.ref("stg_landing__factors")
        .filter(f"method = 'fuel' and gas in {tuple(COMBUSTION_GASES)}")
        .pl()
    )
    converted = [_per_base(row) for row in factors.iter_rows(named=True)]
    out = factors.select(
        "factor_id",
        "version",
        "region",
        "energy_carrier",
        "gas",
        "valid_from_utc",
        "valid_to_utc",
        pl.col("value").alias("published_value"),
        pl.col("unit").alias("published_unit"),
        pl.col("gwp_set").alias("publisher_gwp_set"),
        "source_document",
        "published_at_utc",
    ).with_columns(
        pl.Series("kg_gas_per_base", [c[0] for c in converted], dtype=pl.Float64),
        pl.Series("base_unit", [c[1] for c in converted], dtype=pl.String),
        pl.Series("problem", [c[2] for c in converted], dtype=pl.String),
    )
    return out.to_arrow()

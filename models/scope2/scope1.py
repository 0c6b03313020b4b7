"""Scope 1 stationary fuel combustion: natural gas, diesel, LPG (and any other fuel with
per-gas factors) → kg CO2, CH4, N2O → kg CO2e with a chosen GWP set.

    CO2e = Σ_gas quantity × factor_gas × GWP_gas

Factors per gas are *masses of that gas* per unit of fuel (e.g. kgCH4/kWh, kgCO2/l). A
publisher that gives each gas already as CO2e (DESNZ: "kg CO2e of CH4" per kWh) can be used too:
the mass is recovered by dividing by the GWP of the set the publisher used (the factor row's
``gwp_set``), then re-weighted with the set you report in — so one inventory never mixes sets.

GWP-100 values used (`GWP_SETS`), per IPCC:

======  ====  =====  =====  ============================================================
set     CO2   CH4    N2O    source
======  ====  =====  =====  ============================================================
AR4     1     25     298    AR4 WG1 ch. 2, Table 2.14 (Kyoto-era UNFCCC reporting)
AR5     1     28     265    AR5 WG1 ch. 8, Table 8.7, without climate-carbon feedbacks —
                            the set UNFCCC / Paris Agreement (ETF) reporting uses
AR6     1     27.9   273    AR6 WG1 ch. 7, Table 7.15 / 7.SM.7: CH4 as a single gas
AR6-    1     29.8   273    AR6 WG1 Table 7.15, *fossil* CH4: adds the CO2 the methane
fossil                      becomes when it oxidises
======  ====  =====  =====  ============================================================

Default for AR6 is 27.9, not the fossil 29.8, for combustion: IPCC 2006 combustion CO2 factors
assume all the fuel's carbon is oxidised (oxidation factor 1), so the carbon of the unburnt
methane is already in the CO2 figure; the fossil value would count it twice. Choose
``"AR6-fossil"`` where the reporting programme asks for the fossil value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from ingestion.factors.units import activity_to_base, parse_unit

GWP_SETS: dict[str, dict[str, float]] = {
    "AR4": {"CO2": 1.0, "CH4": 25.0, "N2O": 298.0},
    "AR5": {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0},
    "AR6": {"CO2": 1.0, "CH4": 27.9, "N2O": 273.0},
    "AR6-fossil": {"CO2": 1.0, "CH4": 29.8, "N2O": 273.0},
}
COMBUSTION_GASES = ("CO2", "CH4", "N2O")
FUELS = ("natural_gas", "diesel", "lpg")  # the ones documented and tested; others work alike


def gwp(gas: str, gwp_set: str) -> float:
    if gwp_set not in GWP_SETS:
        raise ValueError(f"unknown GWP set {gwp_set!r}; expected one of {', '.join(GWP_SETS)}")
    return GWP_SETS[gwp_set][gas]


@dataclass(frozen=True)
class GasFactor:
    """One gas's factor for one fuel: `value` in `unit` (e.g. 0.18219 kgCO2/kWh). When the
    unit is CO2e (a publisher's CO2e share of the gas), `publisher_gwp_set` says which GWP set
    the publisher weighted it with."""

    gas: str
    value: float
    unit: str
    publisher_gwp_set: str | None = None
    factor_id: str | None = None
    version: str | None = None

    def kg_gas_per_base(self) -> tuple[float, str]:
        """kg of the gas itself per base unit of fuel (kWh, l or kg), and that base unit."""
        parsed = parse_unit(self.unit)
        per_base = self.value * parsed.multiplier
        if parsed.gas == self.gas or (parsed.gas == "CO2e" and self.gas == "CO2"):
            return per_base, parsed.base  # kg CO2e of CO2 is kg CO2
        if parsed.gas == "CO2e":
            if not self.publisher_gwp_set:
                raise ValueError(
                    f"{self.gas} factor {self.factor_id or ''} is CO2e ({self.unit}) with no "
                    "GWP set: cannot recover the mass of the gas"
                )
            return per_base / gwp(self.gas, self.publisher_gwp_set), parsed.base
        raise ValueError(f"{self.gas} factor with a unit of {parsed.gas}: {self.unit}")


@dataclass(frozen=True)
class Combustion:
    """kg of each gas and kg CO2e for one fuel quantity."""

    fuel: str
    quantity_base: float
    base_unit: str
    kg: dict[str, float]
    kg_co2e_by_gas: dict[str, float]
    gwp_set: str

    @property
    def kg_co2e(self) -> float:
        return sum(self.kg_co2e_by_gas.values())


def combustion(
    fuel: str,
    quantity: float,
    unit: str,
    factors: Mapping[str, GasFactor],
    gwp_set: str = "AR5",
) -> Combustion:
    """Emissions of burning `quantity` `unit` of `fuel` with per-gas `factors` (CO2, CH4, N2O;
    a missing gas is an error — fuel combustion always emits all three)."""
    missing = [g for g in COMBUSTION_GASES if g not in factors]
    if missing:
        raise ValueError(f"{fuel}: no factor for {', '.join(missing)}")
    amount, base = activity_to_base(quantity, unit)
    kg: dict[str, float] = {}
    co2e: dict[str, float] = {}
    for gas in COMBUSTION_GASES:
        per_base, factor_base = factors[gas].kg_gas_per_base()
        if factor_base != base:
            raise ValueError(
                f"{fuel}: {gas} factor is per {factor_base} but the quantity is in {unit} "
                f"({base}); converting between them needs a density or calorific value"
            )
        kg[gas] = amount * per_base
        co2e[gas] = kg[gas] * gwp(gas, gwp_set)
    return Combustion(fuel, amount, base, kg, co2e, gwp_set)


def gas_factors_from_frame(
    factors: pl.DataFrame, fuel: str, at: datetime, activity_base: str, region: str | None = None
) -> dict[str, GasFactor]:
    """Per-gas factors (method fuel, carrier `fuel`) valid at `at`, whose unit is per
    `activity_base` (kWh, l or kg), from landing-contract rows; latest published wins."""
    rows = factors.filter(
        (pl.col("method") == "fuel")
        & (pl.col("energy_carrier") == fuel)
        & (pl.col("valid_from") <= at)
        & (pl.col("valid_to") > at)
        & pl.col("gas").is_in(list(COMBUSTION_GASES))
    )
    if region is not None:
        rows = rows.filter(pl.col("region") == region)
    rows = rows.filter(
        pl.col("unit").map_elements(
            lambda u: parse_unit(u).base == activity_base, return_dtype=pl.Boolean
        )
    ).sort(["published_at", "version"], descending=True)
    out: dict[str, GasFactor] = {}
    for rec in rows.iter_rows(named=True):
        out.setdefault(
            rec["gas"],
            GasFactor(
                rec["gas"],
                rec["value"],
                rec["unit"],
                rec["gwp_set"],
                rec["factor_id"],
                rec["version"],
            ),
        )
    return out


def combustion_frame(
    activity: pl.DataFrame, factors: pl.DataFrame, gwp_set: str = "AR5"
) -> pl.DataFrame:
    """Scope 1 for many fuel records. activity: site_id, fuel, quantity, unit, period_start
    (UTC; the factor valid then is used), optional region. Returns the records with kg_co2,
    kg_ch4, kg_n2o, kg_co2e and the factor ids used; a record without factors raises."""
    out = []
    for rec in activity.iter_rows(named=True):
        _, base = activity_to_base(1.0, rec["unit"])
        gas = gas_factors_from_frame(
            factors, rec["fuel"], rec["period_start"], base, rec.get("region")
        )
        result = combustion(rec["fuel"], rec["quantity"], rec["unit"], gas, gwp_set)
        out.append(
            {
                **rec,
                "kg_co2": result.kg["CO2"],
                "kg_ch4": result.kg["CH4"],
                "kg_n2o": result.kg["N2O"],
                "kg_co2e": result.kg_co2e,
                "gwp_set": gwp_set,
                "factor_ids": ", ".join(sorted({g.factor_id or "" for g in gas.values()})),
            }
        )
    return pl.DataFrame(out)

"""Explicit unit conversions for emission factors, with every constant named.

Factors are landed *as published* (value + unit); dbt converts them with the
`unit_conversions` seed. This module is the Python side of the same arithmetic, used by the
validators (plausible bounds), by the Scope 1/Scope 2 models and by tests, so the conversion
rule an auditor reads here is the one the seed must carry.

A factor unit is ``<mass><gas>/<activity>``:

* mass: ``g`` | ``kg`` | ``t`` (tonne, 1000 kg) | ``lb`` (avoirdupois pound, exactly
  0.45359237 kg);
* gas: ``CO2e`` (also spelt ``CO2eq``, ``CO2-eq``, ``CO₂eq``), ``CO2``, ``CH4``, ``N2O``;
* activity: energy ``Wh`` | ``kWh`` | ``MWh`` | ``GWh`` | ``MJ`` | ``GJ`` | ``TJ`` | ``therm``,
  volume ``l`` | ``m3``, or mass ``kg`` | ``t`` (fuel quantities).

Everything converts to *kg of the same gas per base activity unit*: ``kWh`` for energy, ``l``
for volume, ``kg`` for mass. Converting the gas itself (CH4 → CO2e) needs a GWP set and is not a
unit conversion: see `models.scope2.scope1`. A ``CO2`` factor stays ``CO2`` — it is *not* CO2e
(eGRID's lb CO2/MWh is CO2 only, and so is said in the factor's ``gas`` column).

    >>> to_base(823.149, "lbCO2/MWh")          # eGRID US average
    (0.37337410577..., 'kgCO2/kWh')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

# --- mass -------------------------------------------------------------------------------------
KG_PER_LB = 0.45359237  # international avoirdupois pound, exact by definition (1959)
LB_PER_KG = 1.0 / KG_PER_LB  # 2.2046226218...
G_PER_KG = 1000.0
KG_PER_TONNE = 1000.0  # metric tonne

# --- energy -----------------------------------------------------------------------------------
WH_PER_KWH = 1000.0
KWH_PER_MWH = 1000.0
KWH_PER_GWH = 1_000_000.0
MJ_PER_KWH = 3.6  # exact: 1 kWh = 3.6e6 J
MJ_PER_GJ = 1000.0
MJ_PER_TJ = 1_000_000.0
# One therm = 100,000 British thermal units (International Table BTU, 1055.05585262 J), the
# therm of UK gas bills (the US therm uses a slightly different BTU, 105.4804 MJ).
MJ_PER_THERM = 105.505585262

# --- volume -----------------------------------------------------------------------------------
L_PER_M3 = 1000.0

MASS_TO_KG: dict[str, float] = {"g": 1.0 / G_PER_KG, "kg": 1.0, "t": KG_PER_TONNE, "lb": KG_PER_LB}

# activity unit → (base unit, how many base units one activity unit is)
ACTIVITY_TO_BASE: dict[str, tuple[str, float]] = {
    "Wh": ("kWh", 1.0 / WH_PER_KWH),
    "kWh": ("kWh", 1.0),
    "MWh": ("kWh", KWH_PER_MWH),
    "GWh": ("kWh", KWH_PER_GWH),
    "MJ": ("kWh", 1.0 / MJ_PER_KWH),
    "GJ": ("kWh", MJ_PER_GJ / MJ_PER_KWH),
    "TJ": ("kWh", MJ_PER_TJ / MJ_PER_KWH),
    "therm": ("kWh", MJ_PER_THERM / MJ_PER_KWH),
    "l": ("l", 1.0),
    "m3": ("l", L_PER_M3),
    "kg": ("kg", 1.0),
    "t": ("kg", KG_PER_TONNE),
}

GASES = ("CO2e", "CO2", "CH4", "N2O")

_GAS_SPELLINGS = {
    "co2e": "CO2e",
    "co2eq": "CO2e",
    "co2-eq": "CO2e",
    "co2-e": "CO2e",
    "co2": "CO2",
    "ch4": "CH4",
    "n2o": "N2O",
}
_ACTIVITY_SPELLINGS = {
    "wh": "Wh",
    "kwh": "kWh",
    "mwh": "MWh",
    "gwh": "GWh",
    "mj": "MJ",
    "gj": "GJ",
    "tj": "TJ",
    "therm": "therm",
    "l": "l",
    "litre": "l",
    "liter": "l",
    "m3": "m3",
    "kg": "kg",
    "t": "t",
    "tonne": "t",
}


def _activity_key(text: str) -> str | None:
    """The canonical activity unit, or None. Case is forgiven except where it changes the
    meaning: a lower-case m before Wh is milli, so 'mWh' is refused rather than read as MWh."""
    text = normalise_unit_text(text)
    if text.lower() == "mwh" and text != "MWh":
        return None
    return _ACTIVITY_SPELLINGS.get(text.lower())


_UNIT_RE = re.compile(r"^(g|kg|t|lb)([A-Za-z0-9-]+)/([A-Za-z0-9]+)$")
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


class UnknownUnit(ValueError):
    """A factor unit this module cannot read; the message says what was expected."""


@dataclass(frozen=True)
class FactorUnit:
    """A parsed factor unit. `kg_per_mass` × value gives kg; `base_per_activity` base units per
    activity unit; so value × kg_per_mass / base_per_activity = kg gas per base unit."""

    text: str
    mass: str
    gas: str
    activity: str
    kg_per_mass: float
    base: str  # kWh | l | kg
    base_per_activity: float

    @property
    def multiplier(self) -> float:
        """What one published value unit is in kg gas per base unit."""
        return self.kg_per_mass / self.base_per_activity

    @property
    def base_unit(self) -> str:
        return f"kg{self.gas}/{self.base}"


def normalise_unit_text(unit: str) -> str:
    """ASCII spelling of a published unit: subscripts to digits, spaces dropped
    (``gCO₂eq/kWh`` → ``gCO2eq/kWh``; ``kg CO2e / kWh`` → ``kgCO2e/kWh``)."""
    return unit.translate(_SUBSCRIPTS).replace(" ", "").strip()


@lru_cache(maxsize=1024)
def parse_unit(unit: str) -> FactorUnit:
    text = normalise_unit_text(unit)
    match = _UNIT_RE.match(text)
    gas = activity = None
    if match:
        mass, gas_text, activity_text = match.groups()
        gas = _GAS_SPELLINGS.get(gas_text.lower())
        activity = _activity_key(activity_text)
    if not match or gas is None or activity is None:
        raise UnknownUnit(
            f"unknown factor unit {unit!r}: expected <mass><gas>/<activity> with mass g|kg|t|lb, "
            "gas CO2e|CO2|CH4|N2O and activity Wh|kWh|MWh|GWh|MJ|GJ|TJ|therm|l|m3|kg|t, "
            "e.g. kgCO2e/kWh, lbCO2/MWh, gCO2eq/kWh"
        )
    base, per = ACTIVITY_TO_BASE[activity]
    return FactorUnit(text, mass, gas, activity, MASS_TO_KG[mass], base, per)


def multiplier(unit: str) -> float:
    """value_in_unit × multiplier(unit) = kg gas per base unit (kWh, l or kg)."""
    return parse_unit(unit).multiplier


def to_base(value: float, unit: str) -> tuple[float, str]:
    """Convert one factor value to kg gas per base unit; returns (value, base unit)."""
    parsed = parse_unit(unit)
    return value * parsed.multiplier, parsed.base_unit


def to_kg_per_kwh(value: float, unit: str) -> float:
    """A per-energy factor in kg of its gas per kWh (raises for per-litre or per-kg units)."""
    parsed = parse_unit(unit)
    if parsed.base != "kWh":
        raise UnknownUnit(f"{unit!r} is per {parsed.activity}, not per unit of energy")
    return value * parsed.multiplier


def lb_per_mwh_to_kg_per_kwh(value: float) -> float:
    """The eGRID conversion, spelt out: lb → kg (× 0.45359237), per MWh → per kWh (÷ 1000)."""
    return value * KG_PER_LB / KWH_PER_MWH


def energy_to_kwh(quantity: float, unit: str) -> float:
    """An energy quantity (Wh, kWh, MWh, GWh, MJ, GJ, TJ, therm) in kWh."""
    key = _activity_key(unit)
    if key is None or ACTIVITY_TO_BASE[key][0] != "kWh":
        raise UnknownUnit(f"not an energy unit: {unit!r} (use Wh, kWh, MWh, GWh, MJ, GJ, TJ)")
    return quantity * ACTIVITY_TO_BASE[key][1]


def activity_to_base(quantity: float, unit: str) -> tuple[float, str]:
    """A fuel or energy quantity in its base unit: kWh, l or kg."""
    key = _activity_key(unit)
    if key is None:
        raise UnknownUnit(
            f"unknown activity unit {unit!r}: expected Wh|kWh|MWh|GWh|MJ|GJ|TJ|therm|l|m3|kg|t"
        )
    base, per = ACTIVITY_TO_BASE[key]
    return quantity * per, base


def with_base_values(frame: pl.DataFrame, value: str = "value", unit: str = "unit") -> pl.DataFrame:
    """Add `value_base` (kg gas per base unit), `base_unit` and `unit_gas` to a factors frame.
    Units that cannot be read give nulls there (the validators report them by row)."""
    units = frame.get_column(unit).drop_nulls().unique().to_list()
    mult: dict[str, float | None] = {}
    base: dict[str, str | None] = {}
    gas: dict[str, str | None] = {}
    for text in units:
        try:
            parsed = parse_unit(text)
        except UnknownUnit:
            parsed = None
        mult[text] = parsed.multiplier if parsed else None
        base[text] = parsed.base_unit if parsed else None
        gas[text] = parsed.gas if parsed else None
    col = pl.col(unit)
    return frame.with_columns(
        (pl.col(value) * col.replace_strict(mult, default=None, return_dtype=pl.Float64)).alias(
            "value_base"
        ),
        col.replace_strict(base, default=None, return_dtype=pl.String).alias("base_unit"),
        col.replace_strict(gas, default=None, return_dtype=pl.String).alias("unit_gas"),
    )

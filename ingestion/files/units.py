"""Which units a meter's readings may be in, decided by what the meter measures.

Two kinds of meter share the landing zone (see `ingestion.landing.schemas`, meters):

* electricity meters — energy_carrier null or ``electricity`` — with a ``counter_kwh`` or
  ``interval_kwh`` register in Wh | kWh | MWh, or a ``power_kw`` register in W | kW | MW: the
  units the warehouse's `unit_conversions` seed converts (dbt `stg_landing__readings`);
* fuel meters — any other energy_carrier (natural_gas, diesel, lpg, ...) — with a ``counter``
  or ``interval`` register in a unit of the `fuel_units` seed. dbt
  (`stg_landing__fuel_readings`) converts a reading only within its meter's base quantity —
  energy (kWh), volume (l) or mass (kg) — because m3 of gas and kWh of gas differ by a
  calorific value, which is a factor choice and not a unit conversion. A reading of another
  quantity gets no value and fails the build.

So a reading's unit is accepted only when it fits its meter: litres on an electricity meter,
kWh on a gas meter registered in m3 or kW on an energy register are all refused, by the file
importer (naming row and column) and by the MQTT service (quarantined with the reason).

Pure data and functions; the file importer and the MQTT service both use them so the two
entrances accept exactly the same readings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ELECTRICITY = "electricity"

ENERGY_UNITS = frozenset({"Wh", "kWh", "MWh"})  # electricity energy registers
POWER_UNITS = frozenset({"W", "kW", "MW"})  # electricity power registers
ELECTRICITY_UNITS = ENERGY_UNITS | POWER_UNITS
ELECTRICITY_REGISTERS = frozenset({"counter_kwh", "interval_kwh", "power_kw"})
FUEL_REGISTERS = frozenset({"counter", "interval"})

# fuel unit → the base unit dbt sums it in: the `fuel_units` seed
# (dbt_project/seeds/fuel_units.csv), which is `ingestion.factors.units.ACTIVITY_TO_BASE`;
# tests/unit/test_import_fuel.py keeps the three equal. (Not imported from ingestion.factors:
# that package imports this one's formats, and the cycle would break at import time.)
FUEL_BASE_UNIT: dict[str, str] = {
    "Wh": "kWh",
    "kWh": "kWh",
    "MWh": "kWh",
    "GWh": "kWh",
    "MJ": "kWh",
    "GJ": "kWh",
    "TJ": "kWh",
    "therm": "kWh",
    "l": "l",
    "m3": "l",
    "kg": "kg",
    "t": "kg",
}
FUEL_UNITS = frozenset(FUEL_BASE_UNIT)
KNOWN_UNITS = ELECTRICITY_UNITS | FUEL_UNITS

# What a meter's readings measure: the key every unit check compares against.
ELECTRIC_ENERGY = "electric energy"
ELECTRIC_POWER = "electric power"
FUEL_ENERGY = "fuel energy"
FUEL_VOLUME = "fuel volume"
FUEL_MASS = "fuel mass"
FUEL_UNKNOWN = "fuel in an unknown unit"  # a fuel meter whose own unit is not a fuel unit
_FUEL_KIND_OF_BASE = {"kWh": FUEL_ENERGY, "l": FUEL_VOLUME, "kg": FUEL_MASS}

# kind → the reading units it accepts (in a stable order for messages)
KIND_UNITS: dict[str, tuple[str, ...]] = {
    ELECTRIC_ENERGY: ("Wh", "kWh", "MWh"),
    ELECTRIC_POWER: ("W", "kW", "MW"),
    FUEL_ENERGY: ("Wh", "kWh", "MWh", "GWh", "MJ", "GJ", "TJ", "therm"),
    FUEL_VOLUME: ("l", "m3"),
    FUEL_MASS: ("kg", "t"),
    FUEL_UNKNOWN: (),
}


def is_fuel(carrier: str | None) -> bool:
    """dbt's rule: a meter is a fuel meter when its energy_carrier is neither null nor
    'electricity' (stg_landing__fuel_meters)."""
    return carrier is not None and carrier != ELECTRICITY


def measures(unit: str | None) -> str | None:
    """What a unit measures, in words: energy, power, volume, mass; None if unknown."""
    if unit in POWER_UNITS:
        return "power"
    base = FUEL_BASE_UNIT.get(unit or "")
    return {"kWh": "energy", "l": "volume", "kg": "mass"}.get(base or "")


def register_units(register: str) -> tuple[str, ...]:
    """The units a readings file with this register may hold, whatever its meter."""
    if register == "power_kw":
        return KIND_UNITS[ELECTRIC_POWER]
    if register in FUEL_REGISTERS:
        return tuple(FUEL_BASE_UNIT)
    return KIND_UNITS[ELECTRIC_ENERGY]


def same_shape(register_a: str, register_b: str) -> bool:
    """Whether two registers read the same way: a counter (cumulative), an interval quantity
    or a power. counter_kwh and counter are both counters, interval_kwh and interval both
    interval quantities."""

    def shape(register: str) -> str:
        return {"counter_kwh": "counter", "interval_kwh": "interval"}.get(register, register)

    return shape(register_a) == shape(register_b)


@dataclass(frozen=True)
class MeterKind:
    """What the registry says a meter is: its energy carrier, register and own unit."""

    meter_id: str
    carrier: str | None
    register: str | None
    unit: str | None

    @property
    def fuel(self) -> bool:
        return is_fuel(self.carrier)

    @property
    def kind(self) -> str | None:
        """The key of KIND_UNITS, or None when the registry does not say (no register)."""
        if self.fuel:
            base = FUEL_BASE_UNIT.get(self.unit or "")
            return _FUEL_KIND_OF_BASE[base] if base else FUEL_UNKNOWN
        if self.register is None:
            return None
        return ELECTRIC_POWER if self.register == "power_kw" else ELECTRIC_ENERGY

    def accepts(self, unit: str | None) -> bool:
        kind = self.kind
        return kind is None or unit in KIND_UNITS[kind]

    def describe(self) -> str:
        """e.g. "a natural_gas meter registered in m3 (readings in l or m3)"."""
        kind = self.kind
        allowed = _or_list(KIND_UNITS[kind]) if kind else "any unit"
        if self.fuel:
            if kind == FUEL_UNKNOWN:
                return (
                    f"a {self.carrier} meter whose registered unit {self.unit!r} is not a fuel "
                    f"unit (re-import the meter with one of {', '.join(FUEL_BASE_UNIT)})"
                )
            return f"a {self.carrier} meter registered in {self.unit} (readings in {allowed})"
        return f"an electricity meter with register {self.register} (readings in {allowed})"

    def misfit(self, unit: str | None) -> str | None:
        """Why a reading in `unit` cannot be a reading of this meter; None when it can."""
        if self.accepts(unit):
            return None
        what = measures(unit)
        shown = f"unit {unit!r}" + (f" ({what})" if what else "")
        return f"{shown} does not fit meter {self.meter_id!r}: {self.describe()}"


def meter_kinds(
    meter_ids: list[str],
    carriers: list[str | None],
    registers: list[str | None],
    units: list[str | None],
) -> dict[str, MeterKind]:
    """meter_id → MeterKind from the registry's columns (one row per meter)."""
    return {
        m: MeterKind(m, c, r, u)
        for m, c, r, u in zip(meter_ids, carriers, registers, units, strict=True)
    }


def unregistered_fuel_problem(meter_id: str, unit: str | None, register: str) -> str | None:
    """A reading of a meter the registry does not know is accepted as before only when it is
    electricity; fuel can only be checked against its meter."""
    if register in FUEL_REGISTERS or (unit in FUEL_UNITS and unit not in ELECTRICITY_UNITS):
        return (
            f"meter {meter_id!r} is not in the landed meter registry, and a fuel reading "
            f"(unit {unit}, register {register}) is accepted only for a registered fuel "
            "meter: import the meter (with its energy_carrier) first"
        )
    return None


def registry_misfit(
    kinds: Mapping[str, MeterKind], meter_id: str, unit: str | None, register: str
) -> tuple[str, str] | None:
    """Why a readings file's row (meter, unit, the mapping's register) cannot land, checked
    against the landed registry, and what is at fault: ``("unit", reason)`` when the unit does
    not fit the meter, ``("meter", reason)`` when the meter itself is unknown or read with
    another register. None when the row fits."""
    meter = kinds.get(meter_id)
    if meter is None:
        problem = unregistered_fuel_problem(meter_id, unit, register)
        return ("meter", problem) if problem else None
    problem = meter.misfit(unit)
    if problem:
        return "unit", problem
    if meter.fuel and not same_shape(register, meter.register or ""):
        return "meter", (
            f"meter {meter_id!r} ({meter.carrier}) has register {meter.register}, but the "
            f"mapping reads the values as {register} (a counter's readings are cumulative, an "
            "interval register's are the quantity of each interval)"
        )
    if not meter.fuel and register in FUEL_REGISTERS:
        return "meter", (
            f"meter {meter_id!r} is {meter.describe()}, but the mapping's register "
            f"{register} is a fuel meter's"
        )
    return None


def _or_list(items: tuple[str, ...]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]

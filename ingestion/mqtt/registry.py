"""Which meters the service accepts readings for, and in which units: the meter registry in the
landing zone.

A meter's kind decides its readings' units (`ingestion.files.units`, shared with the file
importer so both entrances accept the same readings): an electricity meter's energy register
takes Wh | kWh | MWh and its power register W | kW | MW; a fuel meter (energy_carrier
natural_gas, diesel, ...) takes the units of its own quantity — a gas meter registered in m3
takes l or m3, never kWh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingestion.files.units import (
    ELECTRIC_ENERGY,
    ELECTRIC_POWER,
    ENERGY_UNITS,
    KIND_UNITS,
    KNOWN_UNITS,
    POWER_UNITS,
    measures,
    meter_kinds,
)
from ingestion.landing import LandingZone

# Electricity units, as before fuel meters existed (KNOWN_UNITS adds the fuel units).
READING_UNITS = ENERGY_UNITS | POWER_UNITS
__all__ = [
    "ENERGY_UNITS",
    "KIND_UNITS",
    "KNOWN_UNITS",
    "POWER_UNITS",
    "READING_UNITS",
    "MeterRegistry",
    "known_meters_from_landing",
    "meter_registers_from_landing",
    "register_dimension",
    "unit_dimension",
]


def unit_dimension(unit: str | None) -> str | None:
    """What a unit measures: 'energy', 'power', 'volume', 'mass', or None for an unknown
    unit."""
    return measures(unit)


def register_dimension(register: str | None) -> str | None:
    """The kind of an electricity register: power for power_kw, energy for the others."""
    if register is None:
        return None
    return ELECTRIC_POWER if register == "power_kw" else ELECTRIC_ENERGY


def _latest_meters(home: Path | str) -> pl.DataFrame:
    meters = LandingZone(home).read("meters")
    if meters.height == 0:
        return meters
    # The registry may have been landed more than once: the latest landing of a meter wins.
    return meters.sort("landed_at").unique("meter_id", keep="last", maintain_order=True)


def known_meters_from_landing(home: Path | str) -> dict[str, str]:
    """meter_id → site_id for every meter in `<home>/landing/meters` (latest landing wins)."""
    meters = _latest_meters(home)
    return dict(zip(meters["meter_id"].to_list(), meters["site_id"].to_list(), strict=True))


def meter_registers_from_landing(home: Path | str) -> dict[str, str]:
    """meter_id → register (counter_kwh | interval_kwh | power_kw; counter | interval for fuel
    meters) from the landing registry."""
    meters = _latest_meters(home)
    return {
        m: r
        for m, r in zip(meters["meter_id"].to_list(), meters["register"].to_list(), strict=True)
        if r is not None
    }


@dataclass(frozen=True)
class MeterRegistry:
    """meter → site, meter → its kind (a key of `KIND_UNITS`: electric energy / power, fuel
    energy / volume / mass), and meter → what it is in words (for quarantine details). A meter
    without a kind (the registry gives no register) is not unit-checked."""

    sites: Mapping[str, str]
    dimensions: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        sites: Mapping[str, str],
        registers: Mapping[str, str] | None = None,
        *,
        units: Mapping[str, str | None] | None = None,
        carriers: Mapping[str, str | None] | None = None,
    ) -> MeterRegistry:
        """`registers` alone describes electricity meters (as an IngestConfig's
        meter_registers does); with `carriers` and `units` (from the landed registry) a fuel
        meter is known by its energy carrier and own unit."""
        registers = dict(registers or {})
        units = dict(units or {})
        carriers = dict(carriers or {})
        ids = sorted(set(registers) | {m for m, c in carriers.items() if c is not None})
        kinds = meter_kinds(
            ids,
            [carriers.get(m) for m in ids],
            [registers.get(m) for m in ids],
            [units.get(m) for m in ids],
        )
        dims = {m: k for m, meter in kinds.items() if (k := meter.kind)}
        return cls(dict(sites), dims, {m: kinds[m].describe() for m in dims})

    @classmethod
    def from_landing(cls, home: Path | str) -> MeterRegistry:
        meters = _latest_meters(home)
        ids = meters["meter_id"].to_list()

        def column(name: str) -> dict[str, str | None]:
            return dict(zip(ids, meters[name].to_list(), strict=True))

        return cls.build(
            column("site_id"),
            {m: r for m, r in column("register").items() if r is not None},
            units=column("unit"),
            carriers=column("energy_carrier"),
        )

    def __len__(self) -> int:
        return len(self.sites)

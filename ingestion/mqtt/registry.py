"""Which meters the service accepts readings for: the meter registry in the landing zone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingestion.landing import LandingZone

ENERGY_UNITS = frozenset({"Wh", "kWh", "MWh"})
POWER_UNITS = frozenset({"W", "kW", "MW"})
READING_UNITS = ENERGY_UNITS | POWER_UNITS


def unit_dimension(unit: str | None) -> str | None:
    """'energy', 'power' or None for an unknown unit."""
    if unit in ENERGY_UNITS:
        return "energy"
    if unit in POWER_UNITS:
        return "power"
    return None


def register_dimension(register: str | None) -> str | None:
    """'power' for power_kw registers, 'energy' for counters and interval energy."""
    if register is None:
        return None
    return "power" if register == "power_kw" else "energy"


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
    """meter_id → register (counter_kwh | interval_kwh | power_kw) from the landing registry."""
    meters = _latest_meters(home)
    return {
        m: r
        for m, r in zip(meters["meter_id"].to_list(), meters["register"].to_list(), strict=True)
        if r is not None
    }


@dataclass(frozen=True)
class MeterRegistry:
    """meter → site, and meter → the dimension its register takes (energy or power)."""

    sites: Mapping[str, str]
    dimensions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, sites: Mapping[str, str], registers: Mapping[str, str] | None = None
    ) -> MeterRegistry:
        dims = {m: d for m, r in (registers or {}).items() if (d := register_dimension(r))}
        return cls(dict(sites), dims)

    @classmethod
    def from_landing(cls, home: Path | str) -> MeterRegistry:
        return cls.build(known_meters_from_landing(home), meter_registers_from_landing(home))

    def __len__(self) -> int:
        return len(self.sites)

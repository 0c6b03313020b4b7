"""Time-of-use electricity tariffs on the planning grid.

The default is shaped on a UK non-domestic three-rate tariff (2022 price level): a cheap night
rate 23:00-07:00, a day rate, and a weekday peak ("red band") 16:00-19:00 local. Prices are in
currency per kWh and are illustrative, not a supplier's price list. A plant's own tariff comes
as first-match rules (`RuleTariff`, read from the home's planning settings) or, failing that,
as the latest bill's average price (`FlatTariff`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np


@dataclass(frozen=True)
class TimeOfUse:
    night: float = 0.19
    day: float = 0.29
    peak: float = 0.45
    night_hours: tuple[int, int] = (23, 7)
    peak_hours: tuple[int, int] = (16, 19)
    weekend_peak: bool = False

    def price(self, local: datetime) -> float:
        h = local.hour
        a, b = self.night_hours
        if (h >= a or h < b) if a > b else (a <= h < b):
            return self.night
        pa, pb = self.peak_hours
        if pa <= h < pb and (self.weekend_peak or local.weekday() < 5):
            return self.peak
        return self.day


def slot_tariff(
    start: datetime,
    n_slots: int,
    slot_minutes: int = 15,
    timezone: str = "Europe/London",
    tariff: TimeOfUse | RuleTariff | FlatTariff | None = None,
) -> np.ndarray:
    """Price per kWh of each slot starting at `start` (timezone-aware)."""
    tariff = tariff or TimeOfUse()
    tz = ZoneInfo(timezone)
    step = timedelta(minutes=slot_minutes)
    return np.array([tariff.price((start + i * step).astimezone(tz)) for i in range(n_slots)])


@dataclass(frozen=True)
class TariffRule:
    """A price for local hours [start, end) on the given ISO weekdays (1 = Monday) and months;
    an empty `weekdays` or `months` means every one."""

    price: float
    hours: tuple[int, int] = (0, 24)
    weekdays: tuple[int, ...] = ()
    months: tuple[int, ...] = ()
    period: str = ""

    def matches(self, local: datetime) -> bool:
        a, b = self.hours
        in_hours = (a <= local.hour < b) if a < b else (local.hour >= a or local.hour < b)
        return (
            in_hours
            and (not self.weekdays or local.isoweekday() in self.weekdays)
            and (not self.months or local.month in self.months)
        )


@dataclass(frozen=True)
class RuleTariff:
    """A time-of-use tariff as first-match rules, for schedules `TimeOfUse` cannot express
    (seasons, Saturday rates, a mid rate on both sides of the peak, as Taipower's three-stage
    tariff has). A local time no rule matches pays `default_price`; None makes that an error,
    so a gap in the rules is found rather than priced at zero."""

    rules: tuple[TariffRule, ...]
    default_price: float | None = None
    name: str = ""

    def price(self, local: datetime) -> float:
        for rule in self.rules:
            if rule.matches(local):
                return rule.price
        if self.default_price is None:
            raise ValueError(f"no tariff rule covers {local.isoformat()} and no default price")
        return self.default_price


@dataclass(frozen=True)
class FlatTariff:
    """One price for every hour (e.g. a bill's average cost per kWh when no tariff is known)."""

    flat_price: float
    name: str = ""

    def price(self, local: datetime) -> float:
        return self.flat_price

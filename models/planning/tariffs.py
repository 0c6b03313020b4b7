"""Time-of-use electricity tariffs on the planning grid.

The default is shaped on a UK non-domestic three-rate tariff (2022 price level): a cheap night
rate 23:00-07:00, a day rate, and a weekday peak ("red band") 16:00-19:00 local. Prices are in
currency per kWh and are illustrative, not a supplier's price list.
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
    tariff: TimeOfUse | None = None,
) -> np.ndarray:
    """Price per kWh of each slot starting at `start` (timezone-aware)."""
    tariff = tariff or TimeOfUse()
    tz = ZoneInfo(timezone)
    step = timedelta(minutes=slot_minutes)
    return np.array([tariff.price((start + i * step).astimezone(tz)) for i in range(n_slots)])

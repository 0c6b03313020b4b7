"""The simulated time grid: 15-minute intervals from site-local midnight, with local calendar
fields and the three production shifts.

Everything is stored in UTC, but days, shifts, tariffs and the weather follow the site's clock,
so the local fields are derived here once (through the IANA zone, hence DST-safe) and shared.
Interval i covers [ts[i], ts[i] + 15 min); boundary k is start + k * 15 min (k = 0..n).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

INTERVAL = timedelta(minutes=15)
INTERVAL_MINUTES = 15

# Shift name and its local start hour; each shift runs 8 h to the next start.
SHIFTS: tuple[tuple[str, int], ...] = (("A", 6), ("B", 14), ("C", 22))


def local_midnight_utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


@dataclass(frozen=True)
class ShiftWindow:
    shift: str  # A | B | C
    shift_date: date  # local date the shift started on (C starts at 22:00 of this date)
    start: int  # first interval index (clipped to the run)
    end: int  # one past the last interval index (clipped)
    full: bool  # False when the run clips it


@dataclass(frozen=True)
class Timeline:
    tz: str
    start_date: date
    days: int
    start_utc: datetime
    end_utc: datetime
    n: int  # number of intervals
    ts: np.ndarray  # datetime64[us] interval starts (UTC, naive numpy)
    local_hour: np.ndarray  # float hour of day, site-local, at the interval midpoint
    local_weekday: np.ndarray  # 1 = Monday ... 7 = Sunday
    local_month: np.ndarray
    local_year: np.ndarray
    local_doy: np.ndarray  # day of year
    local_date: np.ndarray  # datetime64[D]

    @classmethod
    def build(cls, start_date: date, days: int, tz: str) -> Timeline:
        start_utc = local_midnight_utc(start_date, tz)
        end_utc = local_midnight_utc(start_date + timedelta(days=days), tz)
        n = int((end_utc - start_utc) / INTERVAL)
        ts = pl.datetime_range(
            start_utc, end_utc, INTERVAL, closed="left", time_unit="us", time_zone="UTC", eager=True
        )
        # Midpoints, so an interval 05:45-06:00 counts as before 06:00.
        mid = (ts + timedelta(minutes=7.5)).dt.convert_time_zone(tz)
        local = ts.dt.convert_time_zone(tz)
        return cls(
            tz=tz,
            start_date=start_date,
            days=days,
            start_utc=start_utc,
            end_utc=end_utc,
            n=n,
            ts=ts.dt.replace_time_zone(None).to_numpy(),
            local_hour=(mid.dt.hour() + mid.dt.minute() / 60.0).to_numpy().astype(float),
            local_weekday=local.dt.weekday().to_numpy(),
            local_month=local.dt.month().to_numpy(),
            local_year=local.dt.year().to_numpy(),
            local_doy=local.dt.ordinal_day().to_numpy(),
            local_date=local.dt.date().to_numpy(),
        )

    def boundaries(self) -> pl.Series:
        """The n + 1 instants start, start + 15 min, ..., end (UTC) — counter reading times."""
        return pl.datetime_range(
            self.start_utc, self.end_utc, INTERVAL, closed="both", time_unit="us",
            time_zone="UTC", eager=True,
        )

    def starts(self) -> pl.Series:
        return self.boundaries()[: self.n]

    def at(self, k: int) -> datetime:
        return self.start_utc + k * INTERVAL

    def shift_windows(self) -> list[ShiftWindow]:
        """Every shift overlapping the run, clipped to it, in time order."""
        zone = ZoneInfo(self.tz)
        out = []
        for offset in range(-1, self.days + 1):
            day = self.start_date + timedelta(days=offset)
            for i, (name, hour) in enumerate(SHIFTS):
                nxt_day, nxt_hour = (day, SHIFTS[i + 1][1]) if i + 1 < len(SHIFTS) else (
                    day + timedelta(days=1), SHIFTS[0][1])
                a = datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
                b = datetime.combine(nxt_day, time(nxt_hour), tzinfo=zone).astimezone(UTC)
                ka = int((a - self.start_utc) // INTERVAL)
                kb = int((b - self.start_utc) // INTERVAL)
                s, e = max(ka, 0), min(kb, self.n)
                if e > s:
                    out.append(ShiftWindow(name, day, s, e, full=(s == ka and e == kb)))
        return out

"""What new landing files touch: which site-local days must be (re)computed.

Landing files are immutable and appear by rename, so a file is new when its inode change time
(ctime — set by the rename, unlike mtime, which is set while writing) is after the cursor.
From each new file we derive the days it can change:
- readings: the local days of its readings, starting one interval earlier (a counter reading at
  t closes the interval before t, which may belong to the previous day);
- production: the local days its batches span;
- bills: every day of the billed period;
- factors: every day inside the file's validity windows (only days that have readings matter —
  the caller clips to them). The landing sensor does not watch factors and instruments: the
  factor sensor (orchestration/defs/factors) re-runs only the emission models, and only inside
  the windows where the factor in effect changes (ingestion/factors/impact.py);
- a day inside a billed period pulls in the whole period, because the reconciliation factor of a
  bill is computed over all of its days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

INTERVAL = timedelta(minutes=15)
WATCHED = ("readings", "production", "bills")
# What the factor sensor watches: a new factor version or instrument changes emissions, not energy.
FACTOR_KINDS = ("factors", "instruments")


@dataclass(frozen=True)
class LandedFile:
    kind: str
    path: Path
    ctime_ns: int


def new_files(
    landing_root: Path, after_ctime_ns: int, kinds: tuple[str, ...] = WATCHED
) -> list[LandedFile]:
    """Landed data files of `kinds` whose ctime is after the cursor, oldest first."""
    found = []
    for kind in kinds:
        for path in (landing_root / kind).rglob("*.parquet"):
            if path.name == "_schema.parquet" or path.name.startswith("."):
                continue
            ctime = path.stat().st_ctime_ns
            if ctime > after_ctime_ns:
                found.append(LandedFile(kind, path, ctime))
    return sorted(found, key=lambda f: (f.ctime_ns, str(f.path)))


def _days(start_utc, end_utc, zone: ZoneInfo) -> set[date]:
    """Local days covered by [start, end] (both inclusive instants)."""
    first = start_utc.astimezone(zone).date()
    last = end_utc.astimezone(zone).date()
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


# The instants a file of each kind can affect, first and last (inclusive).
_SPANS = {
    "readings": "min(ts) - interval 15 minute, max(ts)",
    "production": "min(start_ts), max(end_ts - interval 1 microsecond)",
    "factors": "min(valid_from), max(valid_to - interval 1 microsecond)",
}


def days_touched(
    files: list[LandedFile], timezone: str, con: duckdb.DuckDBPyConnection
) -> set[date]:
    """The site-local days the files can change (before bill-period expansion)."""
    zone = ZoneInfo(timezone)
    days: set[date] = set()
    for f in files:
        if f.kind == "bills":
            rows = con.execute(
                "select period_start, period_end from read_parquet(?)", [str(f.path)]
            ).fetchall()
            for start, end in rows:
                days |= {start + timedelta(days=i) for i in range((end - start).days + 1)}
            continue
        start, end = con.execute(
            f"select {_SPANS[f.kind]} from read_parquet(?)", [str(f.path)]
        ).fetchone()
        if start is not None:
            days |= _days(start, end, zone)
    return days


def expand_to_bill_periods(days: set[date], landing_root: Path) -> set[date]:
    """Add every day of each bill period that contains one of the days."""
    glob = str(landing_root / "bills" / "**" / "*.parquet")
    with duckdb.connect() as con:
        periods = con.execute(
            "select distinct period_start, period_end "
            f"from read_parquet('{glob}', union_by_name=true)"
        ).fetchall()
    expanded = set(days)
    for start, end in periods:
        if any(start <= d <= end for d in days):
            expanded |= {start + timedelta(days=i) for i in range((end - start).days + 1)}
    return expanded


def contiguous_ranges(days: set[date]) -> list[tuple[date, date]]:
    """[(first, last), ...] runs of consecutive days, in order."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges

"""Reporting periods as people write them: 2026-Q1, 2026-03, 2026, 2026-03-05, or an explicit
range 2026-01-01..2026-03-31 (site-local dates, both inclusive)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Period:
    label: str
    first_day: date
    last_day: date  # inclusive

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def _month_end(year: int, month: int) -> date:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_period(text: str) -> Period:
    """Raises ValueError with the accepted forms when `text` is none of them."""
    text = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-?Q([1-4])", text, re.IGNORECASE):
            year, quarter = int(m[1]), int(m[2])
            first = date(year, 3 * quarter - 2, 1)
            return Period(f"{year}-Q{quarter}", first, _month_end(year, 3 * quarter))
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            year, month = int(m[1]), int(m[2])
            return Period(text, date(year, month, 1), _month_end(year, month))
        if m := re.fullmatch(r"(\d{4})", text):
            year = int(m[1])
            return Period(text, date(year, 1, 1), date(year, 12, 31))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last < first:
                raise ValueError(f"the range {text} ends before it starts")
            return Period(text, first, last)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            return Period(text, day, day)
    except ValueError as error:
        if "ends before" in str(error):
            raise
        raise ValueError(f"{text!r} is not a valid period: {error}") from None
    raise ValueError(
        f"{text!r} is not a period; use 2026-Q1, 2026-03, 2026, 2026-03-05 or "
        "2026-01-01..2026-03-31"
    )

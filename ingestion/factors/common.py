"""What every factor loader shares: the result type, CSV rows with their line numbers, local
calendar years in UTC, and default version labels."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from ingestion.files.errors import Problem
from ingestion.files.readers import RawTable, UnreadableFile, read_table
from ingestion.landing.schemas import SCHEMAS, conform


@dataclass
class LoadedFactors:
    """A publisher file read into landing rows.

    `frame` conforms to the landing contract (SCHEMAS["factors"]); `source_rows[i]` is the line
    of the file (header = line 1) that row i of `frame` comes from, so every later error can
    name it. `skipped` lists the file's rows that were deliberately not turned into factors,
    with the reason; `notes` states the assumptions the loader made (published_at, validity,
    the choice between two published series, ...) — they belong in the landing report."""

    publisher: str
    source: Path
    frame: pl.DataFrame
    source_rows: list[int]
    skipped: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.source_rows) != self.frame.height:
            raise ValueError("one source row per factor row")


def read_publisher_table(path: Path | str) -> RawTable:
    """Read a publisher CSV as text columns plus its line numbers (`ROW`; header = line 1).
    Raises FactorFileRejected when the file cannot be read or has ragged rows."""
    from ingestion.factors.validate import FactorFileRejected

    path = Path(path)
    try:
        table = read_table(path)
    except UnreadableFile as exc:
        raise FactorFileRejected(f"factor file {path} rejected: {exc}", source=str(path)) from None
    if table.problems:
        raise FactorFileRejected(
            f"factor file {path} rejected: {len(table.problems)} row(s) cannot be read",
            table.problems,
            source=str(path),
        )
    return table


def require_columns(table: RawTable, columns: list[str], publisher: str, path: Path) -> None:
    from ingestion.factors.validate import FactorFileRejected

    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise FactorFileRejected(
            f"{path.name} is not a {publisher} file as Wattprint knows it: missing column(s) "
            f"{', '.join(repr(c) for c in missing)}; the file has {', '.join(table.columns)}",
            source=str(path),
        )


def file_digest(path: Path | str, length: int = 8) -> str:
    """A short content hash: the default version suffix, so a changed file is a new version
    and re-landing the same file is recognised as the same version."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return digest[:length]


def local_midnight_utc(day: date, tz: str) -> datetime:
    """Local 00:00 of `day` in `tz`, as a UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_year_utc(year: int, tz: str) -> tuple[datetime, datetime]:
    """[local 1 January 00:00, next local 1 January 00:00) of `year` in `tz`, in UTC."""
    return local_midnight_utc(date(year, 1, 1), tz), local_midnight_utc(date(year + 1, 1, 1), tz)


def slug(text: str) -> str:
    """'Diesel (average biofuel blend)' → 'diesel_average_biofuel_blend'."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def parse_number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def build_frame(records: list[dict]) -> pl.DataFrame:
    """Landing rows from dicts (every contract column present or null), conformed."""
    schema = SCHEMAS["factors"]
    if not records:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(
        [{name: record.get(name) for name in schema} for record in records],
        schema=schema,
        orient="row",
    )
    return conform("factors", frame)

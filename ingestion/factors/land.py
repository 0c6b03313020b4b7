"""Recognise a factor file, read it, validate it and land it — all of it or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingestion.factors import (
    csv_format,
    desnz,
    egrid,
    electricitymaps,
    ember,
    tw_kr_official,
)
from ingestion.factors.common import LoadedFactors
from ingestion.factors.validate import FactorFileRejected, ensure_valid
from ingestion.files.errors import Problem
from ingestion.files.readers import detect_format
from ingestion.landing.store import LandingZone, new_batch_id

READERS: dict[str, Callable[..., LoadedFactors]] = {
    desnz.PUBLISHER: desnz.read,
    egrid.PUBLISHER: egrid.read,
    ember.PUBLISHER: ember.read,
    electricitymaps.PUBLISHER: electricitymaps.read,
    tw_kr_official.PUBLISHER: tw_kr_official.read,
    csv_format.PUBLISHER: csv_format.read,
}
PUBLISHERS = tuple(READERS)


def detect_publisher(path: Path | str) -> str:
    """Which format a factor file is, from its header line (Parquet = Wattprint format)."""
    path = Path(path)
    try:
        if detect_format(path) == "parquet":
            return csv_format.PUBLISHER
        with open(path, encoding="utf-8-sig") as handle:
            header = handle.readline()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FactorFileRejected(f"cannot read {path}: {exc}", source=str(path)) from None
    columns = {c.strip() for c in header.strip().split(",")}
    if {"factor_id", "version", "valid_from", "valid_to"} <= columns:
        return csv_format.PUBLISHER
    if {"UOM", "GHG/Unit", "Level 1"} <= columns:
        return desnz.PUBLISHER
    if "lb/MWh" in header and "eGRID" in header:
        return egrid.PUBLISHER
    if ember.VALUE_COLUMN in columns:
        return ember.PUBLISHER
    if electricitymaps.TIME_COLUMN in columns and "Carbon intensity" in header:
        return electricitymaps.PUBLISHER
    if {"country", "data_year", "factor", "unit", "basis"} <= columns:
        return tw_kr_official.PUBLISHER
    raise FactorFileRejected(
        f"{path.name} is not a factor file Wattprint recognises "
        f"(line 1: {header.strip()[:120]!r}); "
        f"known formats: {', '.join(PUBLISHERS)} — or name one with publisher=",
        source=str(path),
    )


def read_factor_file(path: Path | str, publisher: str | None = "auto", **options) -> LoadedFactors:
    """Read any supported factor file into landing rows (not validated, not landed)."""
    name = detect_publisher(path) if publisher in (None, "auto") else publisher
    if name not in READERS:
        raise ValueError(f"unknown publisher {name!r}; expected one of {', '.join(PUBLISHERS)}")
    return READERS[name](path, **options)


@dataclass(frozen=True)
class FactorLandingReport:
    publisher: str
    source: Path
    rows_loaded: int  # factor rows read from the file
    rows_landed: int
    already_landed: int  # identical to factors landed before: not landed again
    batch_id: str | None
    files: tuple[Path, ...] = ()
    factor_ids: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    skipped: tuple[Problem, ...] = ()  # file rows deliberately not turned into factors
    notes: tuple[str, ...] = ()
    flags: dict[str, object] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"factors from {self.source.name} ({self.publisher}): {self.rows_landed:,} of "
            f"{self.rows_loaded:,} landed"
            + (f" as batch {self.batch_id}" if self.batch_id else "")
            + (f", {self.already_landed:,} already landed" if self.already_landed else "")
            + "."
        ]
        if self.valid_from and self.valid_to:
            lines.append(
                f"validity {self.valid_from:%Y-%m-%d %H:%M} … {self.valid_to:%Y-%m-%d %H:%M} UTC; "
                f"factor ids: {', '.join(self.factor_ids[:5])}"
                + (" …" if len(self.factor_ids) > 5 else "")
            )
        if self.skipped:
            lines.append(f"{len(self.skipped)} row(s) of the file not landed on purpose:")
            lines.extend(f"  - {p.describe()}" for p in self.skipped[:5])
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def land_factor_file(
    home: Path | str,
    path: Path | str,
    publisher: str | None = "auto",
    *,
    allow_gaps: bool = False,
    **options,
) -> FactorLandingReport:
    """Read `path` (format detected when publisher is None or 'auto'), validate every row and
    every validity window — together with the factors already landed — and land the new rows
    as one batch. Nothing is landed when anything is wrong: FactorFileRejected names the rows,
    and the file is recorded in the quarantine with the reason. Landing the same file again
    lands nothing (every row is already landed). `options` go to the publisher's reader
    (version=, published_at=, basis=, gwp_set=, multi_year_windows=, ...)."""
    path = Path(path)
    zone = LandingZone(home)
    try:
        loaded = read_factor_file(path, publisher, **options)
        existing = zone.read("factors")
        checked = ensure_valid(
            loaded.frame,
            loaded.source_rows,
            source=str(path),
            existing=existing,
            allow_gaps=allow_gaps,
        )
    except FactorFileRejected as exc:
        where = zone.quarantine_file("factors", path, str(exc))
        raise FactorFileRejected(
            exc.summary, exc.problems, source=str(path), quarantined_at=str(where)
        ) from None
    batch_id = None
    files: tuple[Path, ...] = ()
    if checked.to_land.height:
        batch_id = new_batch_id("fac")
        result = zone.write("factors", checked.to_land, batch_id=batch_id)
        files = result.files
    frame = loaded.frame
    return FactorLandingReport(
        publisher=loaded.publisher,
        source=path,
        rows_loaded=frame.height,
        rows_landed=checked.to_land.height,
        already_landed=checked.already_landed,
        batch_id=batch_id,
        files=files,
        factor_ids=tuple(sorted(set(frame.get_column("factor_id").to_list()))),
        valid_from=frame.get_column("valid_from").min() if frame.height else None,
        valid_to=frame.get_column("valid_to").max() if frame.height else None,
        skipped=tuple(loaded.skipped),
        notes=tuple(loaded.notes + checked.notes),
        flags=dict(loaded.flags),
    )

"""Import one CSV or Parquet export into the landing zone: the whole file, or nothing.

`import_file` reads the file, checks every row (formats in `ingestion.files.formats`, readings
through a `ReadingsMapping`), and only then lands:

* by default any bad row rejects the file: `ImportRejected` lists every problem (row number as a
  person counts lines, header = line 1; column; value; reason), the file is recorded in the
  quarantine with the reason, and nothing is landed;
* with ``quarantine_bad_rows=True`` the good rows land as one batch and the bad ones go to the
  quarantine with their reasons and source rows, under the same batch id.

A file that cannot be read, lacks required columns, or an unknown kind is always rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ingestion.files.errors import ImportRejected, Problem, problems_from_frame
from ingestion.files.mapping import MappingError, ReadingsMapping
from ingestion.files.readers import ROW, UnreadableFile, read_table
from ingestion.files.readings import prepare_readings
from ingestion.files.tables import MissingColumns, Prepared, prepare_table
from ingestion.files.units import MeterKind, meter_kinds
from ingestion.landing.schemas import KINDS, LINEAGE_COLUMNS, SCHEMAS
from ingestion.landing.store import LandingZone, new_batch_id

MappingLike = ReadingsMapping | dict[str, Any] | str | Path | None


@dataclass(frozen=True)
class ImportReport:
    """What one import did. rows_read = rows_landed + rows_quarantined + duplicates_skipped."""

    kind: str
    source: Path
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    batch_id: str | None
    span_start: datetime | date | None = None
    span_end: datetime | date | None = None
    duplicates_skipped: int = 0  # exact repeats of another row in the file, landed once
    files: tuple[Path, ...] = ()
    quarantine_path: Path | None = None
    ignored_columns: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=(), repr=False)  # of the quarantined rows

    @property
    def time_span(self) -> tuple[datetime | date, datetime | date] | None:
        if self.span_start is None or self.span_end is None:
            return None
        return self.span_start, self.span_end

    def summary(self) -> str:
        name = self.source.name
        lines = [
            f"{self.kind} from {name}: {self.rows_landed:,} of {self.rows_read:,} row(s) landed"
            + (f" as landing batch {self.batch_id}" if self.rows_landed else "")
            + f", {self.rows_quarantined:,} quarantined."
        ]
        if self.time_span:
            label = {
                "readings": "intervals starting",
                "bills": "billing periods",
                "production": "production",
                "factors": "validity",
            }.get(self.kind, "span")
            lines.append(f"{label} {_show(self.span_start)} … {_show(self.span_end)}.")
        if self.duplicates_skipped:
            lines.append(
                f"{self.duplicates_skipped:,} row(s) repeated another row exactly and were "
                "landed once."
            )
        if self.rows_quarantined and self.quarantine_path:
            lines.append(f"Quarantined rows with their reasons: {self.quarantine_path}")
            lines.extend(f"  - {p.describe()}" for p in self.problems[:3])
            if len(self.problems) > 3:
                lines.append(f"  ... and {len(self.problems) - 3} more")
        if self.ignored_columns:
            lines.append("Columns not imported: " + ", ".join(self.ignored_columns) + ".")
        return "\n".join(lines)


def import_file(
    home: Path | str,
    kind: str,
    path: Path | str,
    mapping: MappingLike | dict[str, str] = None,
    *,
    quarantine_bad_rows: bool = False,
) -> ImportReport:
    """Import `path` as `kind` into the landing zone under `home`.

    `mapping`: for readings, a `ReadingsMapping` (or its settings as a dict, or the path of its
    YAML/JSON file) — required. For the other kinds, optionally a dict
    ``{landing_column: file_column}`` for files whose columns are named differently.
    Raises `ImportRejected` when nothing was landed because of the file or the mapping.
    """
    path = Path(path)
    zone = LandingZone(home)
    if kind not in KINDS:
        raise ImportRejected(
            f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}. Nothing was landed.",
            kind=kind,
            source=str(path),
        )
    clash = sorted(set(SCHEMAS[kind]) & set(LINEAGE_COLUMNS))
    if clash:
        # LandingZone.write sets the lineage columns after conforming, so a data column of
        # the same name would be replaced by the landing batch id: the file's own ids lost.
        raise ImportRejected(
            f"{kind} cannot be landed without losing data: the landing contract uses "
            f"{', '.join(clash)} both as a {kind} column and as a lineage column, and "
            f"LandingZone.write overwrites the file's values. Nothing was landed; the "
            f"contract in ingestion/landing needs one of them renamed.",
            kind=kind,
            source=str(path),
        )
    readings_mapping, rename = _resolve_mapping(kind, mapping, path)
    delimiter = readings_mapping.delimiter if readings_mapping else ","

    def reject_file(reason: str, problems: list[Problem] | None = None) -> ImportRejected:
        summary = f"{kind} file {path} rejected, nothing was landed: {reason}"
        err = ImportRejected(summary, problems, kind=kind, source=str(path))
        where = zone.quarantine_file(kind, path, str(err))
        return ImportRejected(
            summary, problems, kind=kind, source=str(path), quarantined_at=str(where)
        )

    try:
        table = read_table(path, delimiter=delimiter)
    except UnreadableFile as exc:
        raise reject_file(str(exc)) from None

    try:
        if readings_mapping is not None:
            prepared = prepare_readings(
                table,
                readings_mapping,
                source=str(path),
                source_name=readings_mapping.source_name or path.name,
                received_at=datetime.now(UTC),
                site_timezone=(
                    None
                    if readings_mapping.timezone
                    else _site_timezone(zone, readings_mapping.site_id)
                ),
                meters=landed_meter_kinds(zone),
            )
        else:
            prepared = prepare_table(kind, table, rename)
    except MissingColumns as exc:
        raise reject_file(str(exc)) from None
    except MappingError as exc:
        raise ImportRejected(
            f"{kind} file {path} not imported, nothing was landed: {exc}",
            kind=kind,
            source=str(path),
        ) from None

    problems = prepared.problems
    bad_rows = problems.filter(pl.col("row") > 0).get_column("row").unique()
    good = prepared.rows.filter(~pl.col(ROW).is_in(bad_rows.implode()))
    if problems.height and (not quarantine_bad_rows or (problems.get_column("row") == 0).any()):
        listed = problems_from_frame(problems)
        hint = ""
        if not quarantine_bad_rows and good.height:
            hint = (
                f" Fix the file, or import it with quarantine_bad_rows to land the "
                f"{good.height:,} good row(s) and quarantine the {bad_rows.len():,} bad one(s)."
            )
        raise reject_file(
            f"{bad_rows.len():,} of {table.height:,} row(s) have problems.{hint}", listed
        )

    batch_id = new_batch_id(kind[:3])
    quarantine_path = None
    if bad_rows.len():
        quarantine_path = zone.quarantine_rows(
            kind, _quarantine_frame(prepared, problems), source=str(path), batch_id=batch_id
        )
    result = zone.write(kind, good.drop(ROW), batch_id=batch_id)
    start, end = _span(good, prepared)
    return ImportReport(
        kind=kind,
        source=path,
        rows_read=table.height,
        rows_landed=result.rows_landed,
        rows_quarantined=bad_rows.len(),
        batch_id=batch_id if result.rows_landed or bad_rows.len() else None,
        span_start=start,
        span_end=end,
        duplicates_skipped=prepared.duplicates,
        files=result.files,
        quarantine_path=quarantine_path,
        ignored_columns=tuple(prepared.ignored_columns),
        problems=tuple(problems_from_frame(problems)),
    )


def _resolve_mapping(
    kind: str, mapping: Any, path: Path
) -> tuple[ReadingsMapping | None, dict[str, str] | None]:
    if kind != "readings":
        if mapping is None or (
            isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())
        ):
            return None, mapping
        raise ImportRejected(
            f"{kind} files use the documented column names; a mapping for {kind} can only "
            "rename columns ({landing_column: file_column}). Nothing was landed.",
            kind=kind,
            source=str(path),
        )
    try:
        if isinstance(mapping, ReadingsMapping):
            return mapping, None
        if isinstance(mapping, dict):
            return ReadingsMapping.build(**mapping), None
        if isinstance(mapping, str | Path):
            return ReadingsMapping.from_file(mapping), None
    except MappingError as exc:
        raise ImportRejected(
            f"readings file {path} not imported, nothing was landed: {exc}",
            kind=kind,
            source=str(path),
        ) from None
    raise ImportRejected(
        "readings need a ReadingsMapping (timestamp column, format, time zone, interval "
        "semantics, value column, unit, meter and site). Nothing was landed.",
        kind=kind,
        source=str(path),
    )


def _site_timezone(zone: LandingZone, site_id: str) -> str | None:
    sites = zone.read("sites").filter(pl.col("site_id") == site_id)
    if sites.height == 0:
        return None
    return sites.sort("landed_at").get_column("timezone")[-1]


def landed_meter_kinds(zone: LandingZone) -> dict[str, MeterKind]:
    """The landed meter registry as meter_id → MeterKind (the latest landing of a meter wins,
    as in dbt's stg_landing__meters / stg_landing__fuel_meters)."""
    if not zone.kind_root("meters").exists():  # nothing landed yet: don't create the zone
        return {}
    meters = zone.read("meters")
    if meters.height == 0:
        return {}
    latest = meters.sort(["landed_at", "landing_batch_id"]).unique(
        "meter_id", keep="last", maintain_order=True
    )
    return meter_kinds(
        latest["meter_id"].to_list(),
        latest["energy_carrier"].to_list(),
        latest["register"].to_list(),
        latest["unit"].to_list(),
    )


def _quarantine_frame(prepared: Prepared, problems: pl.DataFrame) -> pl.DataFrame:
    per_row = (
        problems.filter(pl.col("row") > 0)
        .sort("row", maintain_order=True)
        .group_by("row", maintain_order=True)
        .agg(
            pl.format(
                "{}: {}",
                pl.when(pl.col("column").is_not_null())
                .then(pl.format("column {}", pl.col("column")))
                .otherwise(pl.lit("row")),
                pl.col("reason"),
            )
            .str.join("; ")
            .alias("reason")
        )
    )
    raw = prepared.raw
    # the quarantine adds these columns; keep a file's own columns of the same name apart
    clash = [c for c in ("reason", "source_row", "source", "quarantined_at") if c in raw.columns]
    raw = raw.rename({c: f"file_{c}" for c in clash})
    return (
        raw.join(per_row, left_on=ROW, right_on="row", how="inner")
        .sort(ROW)
        .rename({ROW: "source_row"})
    )


def _span(good: pl.DataFrame, prepared: Prepared) -> tuple[Any, Any]:
    if not prepared.span_columns or good.height == 0:
        return None, None
    first, last = prepared.span_columns
    return good.get_column(first).min(), good.get_column(last).max()


def _show(value: datetime | date | None) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else value.isoformat()

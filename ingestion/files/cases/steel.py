"""The steel case: land the public UCI steel-plant export as published, and check Wattprint's
emissions against the CO2 figures the file itself reports.

The export (DAEWOO Steel, Gwangyang, January 2018, 2,976 rows of 15 minutes) prints its own
`CO2(tCO2)` per interval: round(Usage_kWh × 0.4585 / 1000, 2). `compare_with_reported` joins
emissions per interval (from the dbt pipeline, or computed in a test) back to the file's rows and
says which rows agree. Two subtleties a reader of the result should know:

* Rounding to 2 decimals sends most rows to 0.00 or 0.01 tCO2, so the sum of the reported column
  understates the true total; the comparison gives the unrounded total as the real figure.
* A value exactly on a rounding tie (…5 in the third decimal) can round either way depending on
  binary floating point and on the rounding rule (half-even, half-up, decimal arithmetic in
  SQL). So a row "matches" when |recomputed − reported| ≤ 0.005 (+1e-9 for float noise): the
  reported value is a correct rounding of ours, whichever way the tie went. How many rows also
  match under exact rounding (round(recomputed, 2) == reported) is reported alongside; the
  difference between the two counts is the number of rows sitting on a tie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ingestion.files.importer import ImportReport, import_file
from ingestion.files.mapping import ReadingsMapping
from ingestion.files.readers import ROW, read_table
from ingestion.files.readings import prepare_readings
from ingestion.landing.schemas import UTC_TS

CASE_DIR = Path(__file__).with_suffix("")  # ingestion/files/cases/steel/
MAPPING_FILE = CASE_DIR / "readings_mapping.yaml"
SITE_ID = "KR-GWANGYANG-STEEL"
METER_ID = "STEEL-MAIN"
TIMEZONE = "Asia/Seoul"
FACTOR_T_PER_MWH = 0.4585
REPORTED_COLUMN = "CO2(tCO2)"
TOLERANCE = 0.005 + 1e-9  # half a unit in the last reported decimal, plus float noise


def steel_mapping() -> ReadingsMapping:
    return ReadingsMapping.from_file(MAPPING_FILE)


def land_steel_case(home: Path | str, csv_path: Path | str) -> list[ImportReport]:
    """Land the site, meter, equipment and factor of the case, then the readings file as
    published (unmodified), through the case's mapping. Returns the five import reports."""
    reports = [
        import_file(home, kind, CASE_DIR / f"{kind}.csv")
        for kind in ("sites", "meters", "equipment", "factors")
    ]
    reports.append(import_file(home, "readings", csv_path, steel_mapping()))
    return reports


@dataclass(frozen=True)
class SteelComparison:
    rows: int  # rows in the file
    rows_compared: int  # rows that had an emission figure
    matches_within_tolerance: int
    matches_exact_rounding: int
    mismatches: pl.DataFrame  # one row per file row that does not match (or had no figure)
    total_tco2_unrounded: float  # Σ recomputed tCO2 over compared rows
    total_tco2_reported: float  # Σ of the file's CO2(tCO2) column
    total_kwh: float

    @property
    def mismatch_count(self) -> int:
        return self.mismatches.height

    @property
    def missing_count(self) -> int:
        return self.mismatches.filter(pl.col("recomputed_tco2").is_null()).height

    @property
    def mismatch_span(self) -> tuple[str, str] | None:
        """First and last mismatching row, as printed in the file (interval-end labels)."""
        if self.mismatches.height == 0:
            return None
        printed = self.mismatches.get_column("printed_ts")
        return printed[0], printed[-1]

    @property
    def mismatch_span_local(self) -> tuple[datetime, datetime] | None:
        """Start of the first and last mismatching interval, in Asia/Seoul."""
        if self.mismatches.height == 0:
            return None
        starts = self.mismatches.get_column("interval_start_local")
        return starts[0], starts[-1]

    @property
    def ties(self) -> int:
        return self.matches_within_tolerance - self.matches_exact_rounding

    def summary(self) -> str:
        lines = [
            f"{self.rows_compared:,} of {self.rows:,} rows compared with the reported "
            f"{REPORTED_COLUMN}: {self.matches_within_tolerance:,} match within ±0.005 tCO2 "
            f"({self.matches_exact_rounding:,} also under exact 2-decimal rounding, "
            f"{self.ties:,} on a rounding tie), {self.mismatch_count:,} do not"
            + (f" ({self.missing_count:,} had no emission figure)" if self.missing_count else "")
            + ".",
        ]
        if self.mismatch_span:
            first, last = self.mismatch_span
            lines.append(f"Mismatching rows as printed in the file: {first} … {last}.")
        lines.append(
            f"Total {self.total_kwh:,.2f} kWh → {self.total_tco2_unrounded:.6f} tCO2 unrounded; "
            f"the reported column sums to {self.total_tco2_reported:.2f} tCO2."
        )
        return "\n".join(lines)


def read_reported(csv_path: Path | str) -> pl.DataFrame:
    """The file's rows with their interval start (UTC and local), kWh and reported tCO2.

    Timestamps go through the same mapping as the import, so both sides agree on every
    interval."""
    mapping = steel_mapping()
    table = read_table(csv_path, delimiter=mapping.delimiter)
    prepared = prepare_readings(
        table,
        mapping,
        source=str(csv_path),
        source_name=mapping.source_name or "steel",
        received_at=datetime.now(UTC),
    )
    if prepared.problems.height:
        first = prepared.problems.row(0, named=True)
        raise ValueError(f"{csv_path} is not the steel export this case expects: {first}")
    raw = table.frame.select(
        ROW,
        pl.col(mapping.timestamp_column).alias("printed_ts"),
        pl.col(mapping.value_column).cast(pl.Float64).alias("kwh"),
        pl.col(REPORTED_COLUMN).cast(pl.Float64).alias("reported_tco2"),
    )
    return (
        prepared.rows.select(ROW, pl.col("ts").alias("interval_start_utc"))
        .join(raw, on=ROW, how="inner")
        .with_columns(
            interval_start_local=pl.col("interval_start_utc").dt.convert_time_zone(TIMEZONE)
        )
        .rename({ROW: "source_row"})
        .sort("source_row")
    )


def compare_with_reported(emissions: pl.DataFrame, csv_path: Path | str) -> SteelComparison:
    """Compare emissions per interval (columns interval_start_utc — UTC or naive UTC — and
    kgco2e; several rows per interval are summed) with the file's CO2(tCO2), row by row."""
    missing = {"interval_start_utc", "kgco2e"} - set(emissions.columns)
    if missing:
        raise ValueError(f"emissions need column(s): {', '.join(sorted(missing))}")
    start = pl.col("interval_start_utc")
    dtype = emissions.schema["interval_start_utc"]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        start = start.dt.replace_time_zone("UTC")
    elif isinstance(dtype, pl.Datetime):
        start = start.dt.convert_time_zone("UTC")
    else:
        raise ValueError(f"interval_start_utc must be a datetime column, not {dtype}")
    per_interval = (
        emissions.select(
            start.cast(UTC_TS).alias("interval_start_utc"), pl.col("kgco2e").cast(pl.Float64)
        )
        .group_by("interval_start_utc")
        .agg(pl.col("kgco2e").sum())
    )
    rows = (
        read_reported(csv_path)
        .join(per_interval, on="interval_start_utc", how="left")
        .with_columns(recomputed_tco2=pl.col("kgco2e") / 1000)
        .with_columns(
            recomputed_rounded=pl.col("recomputed_tco2").round(2),
            within_tolerance=(pl.col("recomputed_tco2") - pl.col("reported_tco2")).abs()
            <= TOLERANCE,
        )
        .with_columns(
            exact=(pl.col("recomputed_rounded") - pl.col("reported_tco2")).abs() < 1e-9,
        )
    )
    compared = rows.filter(pl.col("recomputed_tco2").is_not_null())
    mismatches = rows.filter(~pl.col("within_tolerance").fill_null(False)).select(
        "source_row",
        "printed_ts",
        "interval_start_local",
        "interval_start_utc",
        "kwh",
        "reported_tco2",
        "recomputed_tco2",
        "recomputed_rounded",
    )
    return SteelComparison(
        rows=rows.height,
        rows_compared=compared.height,
        matches_within_tolerance=int(compared.get_column("within_tolerance").sum()),
        matches_exact_rounding=int(compared.get_column("exact").sum()),
        mismatches=mismatches,
        total_tco2_unrounded=float(compared.get_column("recomputed_tco2").sum()),
        total_tco2_reported=float(rows.get_column("reported_tco2").sum()),
        total_kwh=float(rows.get_column("kwh").sum()),
    )

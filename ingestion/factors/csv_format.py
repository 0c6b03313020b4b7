"""Wattprint's own factor file: the documented CSV (or Parquet) format of the landing contract.

The columns, types and rules are those documented in `ingestion.files.formats` under
"factors" (factor_id, version, method, region, energy_carrier, granularity, valid_from,
valid_to, value, unit, gas, gwp_set, source_document, published_at; timestamps with an offset
or Z; unit as published, e.g. kgCO2e/kWh, tCO2/MWh, lbCO2/MWh). This module reads them with the
same parser as `ingestion.files.import_file`, so a row is typed and checked the same way
whichever door it comes in by; `validate` then adds the window and bounds checks.

A row, column by column: ``AIB-RM-DE, 2023.1, residual_mix, DE, electricity, annual,
2023-01-01T00:00:00+01:00, 2024-01-01T00:00:00+01:00, 0.7, kgCO2e/kWh, CO2e, (empty gwp_set),
AIB European Residual Mixes 2023, 2024-05-31T00:00:00Z``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingestion.factors.common import LoadedFactors
from ingestion.factors.validate import FactorFileRejected
from ingestion.files.errors import problems_from_frame
from ingestion.files.readers import ROW, UnreadableFile, read_table
from ingestion.files.tables import MissingColumns, prepare_table
from ingestion.landing.schemas import conform

PUBLISHER = "wattprint"


def read(path: Path | str, *, rename: dict[str, str] | None = None) -> LoadedFactors:
    """Read a Wattprint factor CSV/Parquet. `rename` maps a contract column to the file's
    column name when they differ. Raises FactorFileRejected listing every bad row."""
    path = Path(path)
    try:
        table = read_table(path)
        prepared = prepare_table("factors", table, rename)
    except (UnreadableFile, MissingColumns) as exc:
        raise FactorFileRejected(f"factor file {path} rejected: {exc}", source=str(path)) from None
    if prepared.problems.height:
        problems = problems_from_frame(prepared.problems)
        rows = sorted({p.row for p in problems if p.row > 0})
        raise FactorFileRejected(
            f"factor file {path} rejected, nothing was landed: {len(rows)} row(s) have "
            f"problems (rows {', '.join(map(str, rows[:20]))}{' …' if len(rows) > 20 else ''}).",
            problems,
            source=str(path),
        )
    frame = prepared.rows.sort(ROW)
    notes = []
    if prepared.duplicates:
        notes.append(f"{prepared.duplicates} exact repeat row(s) landed once")
    if prepared.ignored_columns:
        notes.append("columns not imported: " + ", ".join(prepared.ignored_columns))
    return LoadedFactors(
        PUBLISHER,
        path,
        conform("factors", frame),
        frame.get_column(ROW).to_list(),
        notes=notes,
    )


def load(path: Path | str, **options) -> pl.DataFrame:
    return read(path, **options).frame

"""US EPA eGRID output emission rates by subregion (``Region, CO2 total output emission rate
(lb/MWh) by eGRID subregion <year>, Year``).

Units trap: **pounds of CO2 per MWh, CO2 only** — not CO2e (eGRID publishes CH4 and N2O rates
separately, and a CO2e rate under its own name). So each row lands with unit ``lbCO2/MWh``
and gas ``CO2``; the conversion to kg/kWh is × 0.45359237 (kg per lb) ÷ 1000 (kWh per MWh),
e.g. RFCE 657.386 lb/MWh → 0.29819 kg/kWh. The ``US`` row is the national average (region US);
the others are eGRID subregion acronyms (region = acronym, e.g. RFCE), one annual factor each.

Validity: the data year. eGRID subregions span several time zones and the file names no zone,
so the year is taken in UTC (00:00 UTC 1 January to the next); the hours' difference from
local midnight does not matter for an annual average. published_at: not in the file; eGRID2022
was released by EPA on 30 January 2024 (used for data year 2022), other years are assumed to
appear two years later on 30 January — pass ``published_at=`` to override.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from ingestion.factors.common import (
    LoadedFactors,
    build_frame,
    file_digest,
    local_midnight_utc,
    local_year_utc,
    parse_number,
    read_publisher_table,
    require_columns,
)
from ingestion.factors.validate import FactorFileRejected
from ingestion.files.errors import Problem
from ingestion.files.readers import ROW

PUBLISHER = "egrid"
FACTOR_ID = "US-EPA-EGRID/co2_total_output_rate"
UNIT = "lbCO2/MWh"
RELEASED = {2022: date(2024, 1, 30)}  # EPA eGRID release dates known to this loader
SOURCE = "US EPA eGRID{year} subregion CO2 total output emission rate (lb/MWh), {file}"


def read(
    path: Path | str,
    *,
    version: str | None = None,
    published_at: datetime | date | None = None,
) -> LoadedFactors:
    path = Path(path)
    table = read_publisher_table(path)
    value_column = next((c for c in table.columns if "lb/MWh" in c), None)
    if value_column is None or "CO2" not in value_column:
        raise FactorFileRejected(
            f"{path.name} is not an eGRID CO2 rate file: no 'CO2 … (lb/MWh)' column "
            f"(columns: {', '.join(table.columns)})",
            source=str(path),
        )
    require_columns(table, ["Region", "Year"], "eGRID", path)
    digest = file_digest(path)
    records, rows, skipped = [], [], []
    assumed = False
    for rec in table.frame.iter_rows(named=True):
        value = parse_number(rec[value_column])
        year = parse_number(rec["Year"])
        if value is None or year is None or not rec["Region"]:
            skipped.append(Problem(rec[ROW], value_column, rec[value_column], "incomplete row"))
            continue
        year = int(year)
        if published_at is not None:
            published = (
                published_at
                if isinstance(published_at, datetime)
                else local_midnight_utc(published_at, "UTC")
            )
        else:
            assumed = assumed or year not in RELEASED
            published = local_midnight_utc(RELEASED.get(year, date(year + 2, 1, 30)), "UTC")
        valid_from, valid_to = local_year_utc(year, "UTC")
        records.append(
            {
                "factor_id": FACTOR_ID,
                "version": version or f"eGRID{year}-{digest}",
                "method": "location",
                "region": rec["Region"].strip(),
                "energy_carrier": "electricity",
                "granularity": "annual",
                "valid_from": valid_from,
                "valid_to": valid_to,
                "value": value,
                "unit": UNIT,
                "gas": "CO2",  # CO2 only, not CO2e
                "gwp_set": None,
                "source_document": SOURCE.format(year=year, file=path.name),
                "published_at": published,
            }
        )
        rows.append(rec[ROW])
    notes = [
        "eGRID rates are lb CO2/MWh of CO2 only (gas CO2, not CO2e): 1 lb/MWh = "
        "0.00045359237 kg/kWh.",
        "Validity: the data year in UTC (subregions span several time zones).",
    ]
    if published_at is None:
        notes.append(
            "published_at: EPA release date of eGRID2022 (2024-01-30)"
            + ("; other years assumed 30 January two years later." if assumed else ".")
        )
    return LoadedFactors(PUBLISHER, path, build_frame(records), rows, skipped, notes)


def load(path: Path | str, **options) -> pl.DataFrame:
    return read(path, **options).frame

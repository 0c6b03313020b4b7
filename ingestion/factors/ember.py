"""Ember yearly grid carbon intensity, latest year per country (``key, country_code,
country_or_region, year, emissions_intensity_gco2_per_kwh``, as redistributed by co2.js).

Units trap: **grams per kWh** (g, not kg: 415.65 g/kWh = 0.41565 kg/kWh). The column says
gCO2, so the factor lands as unit ``gCO2/kWh``, gas ``CO2`` — as published. (Ember describes
its intensities as life-cycle figures; the file does not say CO2e, and this loader does not
relabel what the publisher labelled.)

One row per country or aggregate, each for its own latest year (2022, 2023 or 2024 in the
file): region = the ISO 3166 alpha-3 code (``country_code``; e.g. KOR, GBR) or, for aggregates
without a code, the key (World, EU, Asia, ...). Alpha-3 on purpose: Ember figures never collide
with a national publisher's factor for the same country (TW, KR use alpha-2 regions); a site
that wants Ember uses e.g. grid_region KOR.

Validity: the data year in UTC (country time zones are not in the file). published_at: not in
the file; assumed 1 May of the following year (Ember publishes most yearly data with its Global
Electricity Review in spring) — pass ``published_at=`` when the file's vintage is known.
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
from ingestion.files.errors import Problem
from ingestion.files.readers import ROW

PUBLISHER = "ember"
FACTOR_ID = "EMBER/grid_intensity_yearly"
VALUE_COLUMN = "emissions_intensity_gco2_per_kwh"
UNIT = "gCO2/kWh"
SOURCE = "Ember yearly electricity data, {name} {year} ({file}, via co2.js)"


def read(
    path: Path | str,
    *,
    version: str | None = None,
    published_at: datetime | date | None = None,
) -> LoadedFactors:
    path = Path(path)
    table = read_publisher_table(path)
    require_columns(table, ["key", "country_code", "year", VALUE_COLUMN], "Ember", path)
    digest = file_digest(path)
    records, rows, skipped = [], [], []
    for rec in table.frame.iter_rows(named=True):
        value = parse_number(rec[VALUE_COLUMN])
        year = parse_number(rec["year"])
        region = (rec["country_code"] or "").strip() or (rec["key"] or "").strip()
        if value is None or year is None or not region:
            skipped.append(Problem(rec[ROW], VALUE_COLUMN, rec[VALUE_COLUMN], "incomplete row"))
            continue
        year = int(year)
        if published_at is None:
            published = local_midnight_utc(date(year + 1, 5, 1), "UTC")
        elif isinstance(published_at, datetime):
            published = published_at
        else:
            published = local_midnight_utc(published_at, "UTC")
        valid_from, valid_to = local_year_utc(year, "UTC")
        records.append(
            {
                "factor_id": FACTOR_ID,
                "version": version or f"ember-{digest}",
                "method": "location",
                "region": region,
                "energy_carrier": "electricity",
                "granularity": "annual",
                "valid_from": valid_from,
                "valid_to": valid_to,
                "value": value,
                "unit": UNIT,
                "gas": "CO2",
                "gwp_set": None,
                "source_document": SOURCE.format(
                    name=rec.get("country_or_region") or region, year=year, file=path.name
                ),
                "published_at": published,
            }
        )
        rows.append(rec[ROW])
    notes = [
        "Ember intensities are g/kWh (÷1000 for kg/kWh), labelled CO2 in the file: landed as "
        "gCO2/kWh, gas CO2.",
        "Region = ISO alpha-3 code (aggregates: their key); validity = data year in UTC.",
    ]
    if published_at is None:
        notes.append("published_at assumed 1 May of the year after the data year.")
    return LoadedFactors(PUBLISHER, path, build_frame(records), rows, skipped, notes)


def load(path: Path | str, **options) -> pl.DataFrame:
    return read(path, **options).frame

"""Electricity Maps hourly exports (``Datetime (UTC), Country, Zone name, Zone id, Carbon
intensity gCO₂eq/kWh (direct), Carbon intensity gCO₂eq/kWh (Life cycle), ..., Data source,
Data estimated, Data estimation method``).

Units trap: **grams CO2eq per kWh** (÷ 1000 for kg/kWh); stored as published, in ASCII:
``gCO2eq/kWh``.

Direct or life-cycle — the choice: **direct** by default. A GHG Protocol Scope 2 inventory
counts the emissions of generating the electricity (combustion at the plant); the upstream
share in the life-cycle figure (fuel extraction, plant construction) belongs to Scope 3
category 3. The life-cycle series can be landed too (``basis="lifecycle"``) under its own
factor_id, so the two never mix.

Time: each row's timestamp is the UTC *start* of the hour; the factor is valid [start,
start + 1 h). Estimated hours (``Data estimated = true``) are kept — dropping them would leave
a gap — but flagged: their source_document says ``ESTIMATED (<method>)`` and the load result
lists them (`flags["estimated_hours"]`). published_at: the file has no publication date; a
live feed has each hour's value at the end of the hour, so published_at = valid_to (override
with ``published_at=``, e.g. the export's download date, for a restatement-safe vintage).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

import polars as pl

from ingestion.factors.common import (
    LoadedFactors,
    file_digest,
    read_publisher_table,
    require_columns,
)
from ingestion.factors.units import normalise_unit_text
from ingestion.factors.validate import FactorFileRejected
from ingestion.files.errors import Problem
from ingestion.files.readers import ROW
from ingestion.landing.schemas import UTC_TS, conform

PUBLISHER = "electricitymaps"
TIME_COLUMN = "Datetime (UTC)"
BASIS_SUFFIX = {"direct": "(direct)", "lifecycle": "(Life cycle)"}
FACTOR_IDS = {
    "direct": "ELECTRICITYMAPS/carbon_intensity_direct",
    "lifecycle": "ELECTRICITYMAPS/carbon_intensity_lifecycle",
}


def _column(columns: list[str], suffix: str) -> str | None:
    return next(
        (c for c in columns if c.startswith("Carbon intensity") and c.endswith(suffix)), None
    )


def read(
    path: Path | str,
    *,
    basis: Literal["direct", "lifecycle"] = "direct",
    version: str | None = None,
    published_at: datetime | date | None = None,
) -> LoadedFactors:
    path = Path(path)
    if basis not in BASIS_SUFFIX:
        raise ValueError(f"basis must be 'direct' or 'lifecycle', not {basis!r}")
    table = read_publisher_table(path)
    value_column = _column(table.columns, BASIS_SUFFIX[basis])
    if value_column is None:
        raise FactorFileRejected(
            f"{path.name} is not an Electricity Maps export: no 'Carbon intensity … "
            f"{BASIS_SUFFIX[basis]}' column (columns: {', '.join(table.columns)})",
            source=str(path),
        )
    require_columns(table, [TIME_COLUMN, "Zone id"], "Electricity Maps", path)
    # 'Carbon intensity gCO₂eq/kWh (direct)' → 'gCO2eq/kWh', as published
    unit = normalise_unit_text(
        value_column.removeprefix("Carbon intensity").removesuffix(BASIS_SUFFIX[basis])
    )
    raw = table.frame
    has = set(raw.columns)
    frame = raw.select(
        pl.col(ROW),
        pl.col(TIME_COLUMN)
        .str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
        .dt.replace_time_zone("UTC")
        .alias("valid_from"),
        pl.col(value_column).cast(pl.Float64, strict=False).alias("value"),
        pl.col("Zone id").str.strip_chars().alias("region"),
        (
            pl.col("Data estimated").str.strip_chars().str.to_lowercase() == "true"
            if "Data estimated" in has
            else pl.lit(False)
        ).alias("estimated"),
        (
            pl.col("Data estimation method").str.strip_chars()
            if "Data estimation method" in has
            else pl.lit(None, dtype=pl.String)
        ).alias("estimation_method"),
        (
            pl.col("Data source").str.strip_chars().str.replace_all(r"\s*;\s*", "; ")
            if "Data source" in has
            else pl.lit(None, dtype=pl.String)
        ).alias("data_source"),
    )
    bad = frame.filter(
        pl.col("valid_from").is_null() | pl.col("value").is_null() | pl.col("region").is_null()
    )
    skipped = [
        Problem(r[ROW], None, None, "unreadable timestamp, value or zone")
        for r in bad.iter_rows(named=True)
    ]
    frame = frame.filter(~pl.col(ROW).is_in(bad.get_column(ROW).implode()))
    document = f"Electricity Maps hourly carbon intensity ({basis}), {path.name}; data source: "
    out = frame.with_columns(
        pl.lit(FACTOR_IDS[basis]).alias("factor_id"),
        pl.lit(version or f"{path.stem}-{file_digest(path)}").alias("version"),
        pl.lit("location").alias("method"),
        pl.lit("electricity").alias("energy_carrier"),
        pl.lit("hourly").alias("granularity"),
        (pl.col("valid_from") + timedelta(hours=1)).alias("valid_to"),
        pl.lit(unit).alias("unit"),
        pl.lit("CO2e").alias("gas"),
        pl.lit(None, dtype=pl.String).alias("gwp_set"),
        pl.concat_str(
            pl.lit(document),
            pl.col("data_source").fill_null("n/a"),
            pl.when(pl.col("estimated"))
            .then(pl.format("; ESTIMATED ({})", pl.col("estimation_method").fill_null("n/a")))
            .otherwise(pl.lit("")),
        ).alias("source_document"),
    )
    if published_at is None:
        out = out.with_columns(pl.col("valid_to").alias("published_at"))
    else:
        when = (
            published_at
            if isinstance(published_at, datetime)
            else datetime(published_at.year, published_at.month, published_at.day)
        )
        out = out.with_columns(pl.lit(when).cast(UTC_TS).alias("published_at"))
    estimated = out.filter(pl.col("estimated")).get_column("valid_from").to_list()
    notes = [
        f"Electricity Maps {basis} intensity chosen"
        + (
            " (Scope 2 counts generation emissions; life-cycle upstream is Scope 3 cat. 3)."
            if basis == "direct"
            else " (life-cycle: includes upstream emissions — not a Scope 2 figure)."
        ),
        f"Values in {unit} (g, ÷1000 for kg/kWh); timestamps are UTC hour starts.",
        f"{len(estimated)} estimated hour(s) kept and flagged ESTIMATED in source_document.",
    ]
    if published_at is None:
        notes.append("published_at = end of each hour (the export carries no publication date).")
    return LoadedFactors(
        PUBLISHER,
        path,
        conform("factors", out),
        out.get_column(ROW).to_list(),
        skipped,
        notes,
        {"estimated_hours": estimated, "basis": basis},
    )


def load(path: Path | str, **options) -> pl.DataFrame:
    return read(path, **options).frame

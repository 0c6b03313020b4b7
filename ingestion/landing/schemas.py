"""Schemas of everything that lands, one per kind of data.

These columns are the contract between the simulator, the file importers, the MQTT service and
the dbt sources (`dbt_project/models/staging/landing/_landing__sources.yml`). All timestamps are
UTC. Values are stored *as published* (value + unit): unit conversion happens in dbt, against the
`unit_conversions` seed, so an auditor can see both the raw figure and the rule that converted it.

Semantics worth knowing:
- readings.ts: for `counter_kwh` registers the instant of the counter reading; for `interval_kwh`
  and `power_kw` registers the START of the interval the value covers (importers convert
  interval-end exports).
- equipment.supply_meter_id: the meter through which the equipment is supplied — its own meter
  when metered, else the nearest metered node upstream (whose residual is allocated to it).
- bills: period_start and period_end are site-local dates, both inclusive, as printed on a bill.
- factors: valid_from inclusive, valid_to exclusive, UTC.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

LandingKind = Literal["sites", "meters", "equipment", "readings", "bills", "production", "factors"]

# Columns every landed row carries, added by LandingZone.write (not by producers).
LINEAGE_COLUMNS: dict[str, pl.DataType] = {
    # named apart from production.batch_id, which is a production batch, not a landing batch
    "landing_batch_id": pl.String(),
    "landed_at": UTC_TS,
}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "sites": {
        "site_id": pl.String(),
        "site_name": pl.String(),
        "timezone": pl.String(),  # IANA name, e.g. Asia/Taipei
        "grid_region": pl.String(),  # matches factors.region
        "country": pl.String(),  # ISO 3166 alpha-2
        # which location-based grid factor the site reports with: annual | monthly | hourly
        "location_factor_granularity": pl.String(),
    },
    "meters": {
        "meter_id": pl.String(),
        "site_id": pl.String(),
        "parent_meter_id": pl.String(),  # null at the root (utility meter)
        "meter_kind": pl.String(),  # utility | main | sub | equipment
        "measures_kind": pl.String(),  # site | area | line | equipment
        "measures_id": pl.String(),
        "register": pl.String(),  # counter_kwh | interval_kwh | power_kw
        "unit": pl.String(),  # unit of the raw value: kWh | Wh | MWh | kW | W | MW
        "multiplier": pl.Float64(),  # CT/VT ratio applied to the raw value
        "rollover_value": pl.Float64(),  # counter wraps to 0 at this value (counters only)
        "interval_minutes": pl.Int32(),
        "installed_at": UTC_TS,
        "removed_at": UTC_TS,  # null while in service
    },
    "equipment": {
        "equipment_id": pl.String(),
        "site_id": pl.String(),
        "equipment_name": pl.String(),
        "line_id": pl.String(),  # null for site utilities (HVAC, compressed air, ...)
        "process_step": pl.String(),
        "equipment_type": pl.String(),
        "nameplate_kw": pl.Float64(),
        "is_metered": pl.Boolean(),
        "supply_meter_id": pl.String(),
        # share of nameplate drawn while its line is idle; the allocation profile uses it
        "idle_load_fraction": pl.Float64(),
        # share of nameplate drawn while running
        "running_load_fraction": pl.Float64(),
    },
    "readings": {
        "raw_id": pl.String(),  # stable identity of the reading: dedup key
        "meter_id": pl.String(),
        "site_id": pl.String(),
        "ts": UTC_TS,
        "value": pl.Float64(),
        "unit": pl.String(),
        "quality": pl.String(),  # good | estimated | suspect, as the source says
        "source": pl.String(),  # MQTT topic or file path
        "received_at": UTC_TS,
    },
    "bills": {
        "bill_id": pl.String(),
        "site_id": pl.String(),
        "period_start": pl.Date(),
        "period_end": pl.Date(),
        "kwh": pl.Float64(),
        "cost": pl.Float64(),
        "currency": pl.String(),
        "tariff": pl.String(),
        "supplier": pl.String(),
        "contract_id": pl.String(),
    },
    "production": {
        "batch_id": pl.String(),
        "site_id": pl.String(),
        "line_id": pl.String(),
        "sku": pl.String(),
        "start_ts": UTC_TS,
        "end_ts": UTC_TS,
        "good_units": pl.Int64(),
        "scrap_units": pl.Int64(),
        "shift": pl.String(),
    },
    "factors": {
        "factor_id": pl.String(),
        "version": pl.String(),
        "method": pl.String(),  # location | market | residual_mix | supplier | fuel
        "region": pl.String(),
        "energy_carrier": pl.String(),  # electricity | natural_gas | diesel | ...
        "granularity": pl.String(),  # annual | monthly | hourly
        "valid_from": UTC_TS,
        "valid_to": UTC_TS,
        "value": pl.Float64(),
        "unit": pl.String(),  # as published, e.g. kgCO2e/kWh, tCO2/MWh, gCO2e/kWh, lbCO2/MWh
        "gas": pl.String(),  # CO2e | CO2 | CH4 | N2O
        "gwp_set": pl.String(),  # e.g. AR5, AR6; null when the value is already CO2e
        "source_document": pl.String(),
        "published_at": UTC_TS,
    },
}

KINDS: tuple[str, ...] = tuple(SCHEMAS)

# Columns that must never be null, per kind (the rest may be).
REQUIRED: dict[str, tuple[str, ...]] = {
    "sites": ("site_id", "timezone", "grid_region", "country", "location_factor_granularity"),
    "meters": (
        "meter_id",
        "site_id",
        "meter_kind",
        "measures_kind",
        "measures_id",
        "register",
        "unit",
        "multiplier",
        "interval_minutes",
        "installed_at",
    ),
    "equipment": (
        "equipment_id",
        "site_id",
        "equipment_type",
        "nameplate_kw",
        "is_metered",
        "supply_meter_id",
        "idle_load_fraction",
        "running_load_fraction",
    ),
    "readings": ("raw_id", "meter_id", "site_id", "ts", "value", "unit", "received_at"),
    "bills": ("bill_id", "site_id", "period_start", "period_end", "kwh"),
    "production": ("batch_id", "site_id", "line_id", "sku", "start_ts", "end_ts", "good_units"),
    "factors": (
        "factor_id",
        "version",
        "method",
        "region",
        "energy_carrier",
        "granularity",
        "valid_from",
        "valid_to",
        "value",
        "unit",
        "source_document",
        "published_at",
    ),
}

# Hive partition columns per kind, derived from the rows by LandingZone.write.
PARTITIONS: dict[str, tuple[str, ...]] = {
    "readings": ("site", "date"),
    "production": ("site", "date"),
    "bills": ("site",),
}


def empty_frame(kind: str) -> pl.DataFrame:
    """A zero-row frame with the kind's full schema (lineage columns included)."""
    return pl.DataFrame(schema={**SCHEMAS[kind], **LINEAGE_COLUMNS})


def conform(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast `frame` to the kind's schema, adding absent optional columns as nulls.

    Raises ValueError naming the missing required columns; casting is strict so a value that does
    not fit its type fails here, not silently downstream.
    """
    schema = SCHEMAS[kind]
    missing = [c for c in REQUIRED[kind] if c not in frame.columns]
    if missing:
        raise ValueError(f"{kind}: missing required column(s): {', '.join(missing)}")
    columns = [
        (pl.col(name) if name in frame.columns else pl.lit(None))
        .cast(dtype, strict=True)
        .alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(columns)

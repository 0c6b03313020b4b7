"""Schemas of everything that lands, one per kind of data.

These columns are the contract between the simulator, the file importers, the MQTT service and
the dbt sources (`dbt_project/models/staging/landing/_landing__sources.yml`). All timestamps are
UTC. Values are stored *as published* (value + unit): unit conversion happens in dbt, against the
`unit_conversions` seed, so an auditor can see both the raw figure and the rule that converted it.

Semantics worth knowing:
- meters.energy_carrier: null or `electricity` for the electricity meter tree; `natural_gas`,
  `diesel`, `lpg`, ... make a fuel meter (register `counter` or `interval`, unit m3, l, kg, kWh,
  ...) whose readings feed Scope 1 (dbt: stg_landing__fuel_meters → fct_scope1_daily).
- readings.ts: for `counter_kwh` registers the instant of the counter reading; for `interval_kwh`
  and `power_kw` registers the START of the interval the value covers (importers convert
  interval-end exports).
- equipment.supply_meter_id: the meter through which the equipment is supplied — its own meter
  when metered, else the nearest metered node upstream (whose residual is allocated to it).
- bills: period_start and period_end are site-local dates, both inclusive, as printed on a bill.
- factors: valid_from inclusive, valid_to exclusive, UTC.
- orders: each landed file is one export of the order book (ERP / MES) as of `snapshot_at`; a
  later snapshot supersedes an earlier one for its site (rows are never updated in place). An
  order is a production order for one operation: `process_step` names a process step of the
  equipment registry (e.g. `reflow`), and only lines with equipment of that step can run it;
  null means any line that has made the SKU. `quantity` is in good units; `due_ts` is when the
  operation must be finished; `created_at` orders the book first-in-first-out.
- instruments: period_start inclusive, period_end exclusive, UTC; a later landed row with the
  same instrument_id replaces the earlier one (a certificate bought, later retired).
"""

from __future__ import annotations

from typing import Literal

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

LandingKind = Literal[
    "sites", "meters", "equipment", "readings", "bills", "production", "factors", "orders",
    "instruments",
]

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
        # electricity: counter_kwh | interval_kwh | power_kw; fuel meters: counter | interval
        "register": pl.String(),
        # unit of the raw value: kWh | Wh | MWh | kW | W | MW; fuel: m3 | l | kg | t | kWh | ...
        "unit": pl.String(),
        "multiplier": pl.Float64(),  # CT/VT ratio applied to the raw value
        "rollover_value": pl.Float64(),  # counter wraps to 0 at this value (counters only)
        "interval_minutes": pl.Int32(),
        "installed_at": UTC_TS,
        "removed_at": UTC_TS,  # null while in service
        # what the meter measures: electricity (null means electricity, as before the column
        # existed) or a fuel burnt on site — natural_gas | diesel | lpg — whose readings feed
        # Scope 1 (ISO 14064-1 Category 1) instead of the electricity chain
        "energy_carrier": pl.String(),
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
    "orders": {
        "order_id": pl.String(),
        "site_id": pl.String(),
        "sku": pl.String(),
        "process_step": pl.String(),  # the operation's work centre; null: any line for the SKU
        "quantity": pl.Int64(),  # good units
        "due_ts": UTC_TS,
        "priority": pl.Float64(),  # weight in the on-time share; null counts as 1
        "status": pl.String(),  # open | shipped | cancelled
        "created_at": UTC_TS,  # entered the book: first-in-first-out order
        "shipped_at": UTC_TS,  # null unless shipped
        "snapshot_at": UTC_TS,  # as-of time of the export the row belongs to
    },
    # Contractual instruments for market-based Scope 2 (GHG Protocol Scope 2 Guidance ch. 7):
    # certificates (GO, REGO, REC, I-REC, T-REC), PPAs, green tariffs and supplier-specific
    # rates. The residual mix is not an instrument: it is a published factor (method
    # residual_mix) and lands as factors, with versions and validity windows.
    "instruments": {
        "instrument_id": pl.String(),
        "instrument_type": pl.String(),  # certificate | ppa | green_tariff | supplier_specific
        "scheme": pl.String(),  # GO, REGO, REC, I-REC, T-REC, ...
        "contract_id": pl.String(),
        "site_id": pl.String(),
        "market": pl.String(),  # market boundary; must equal the site's grid_region to apply
        "period_start": UTC_TS,
        "period_end": UTC_TS,  # a one-hour period makes the instrument hour-stamped
        "volume": pl.Float64(),  # empty = all supply of the period (green tariff, supplier)
        "volume_unit": pl.String(),  # Wh | kWh | MWh | GWh
        "emission_factor": pl.Float64(),  # 0 for renewable certificates
        "emission_factor_unit": pl.String(),  # as published, e.g. kgCO2e/kWh, tCO2e/MWh
        "technology": pl.String(),
        "generator_id": pl.String(),
        "supplier": pl.String(),
        "retired": pl.Boolean(),  # cancelled on the consumer's behalf; if not, never applied
        "source_document": pl.String(),
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
    "orders": (
        "order_id",
        "site_id",
        "sku",
        "quantity",
        "due_ts",
        "status",
        "created_at",
        "snapshot_at",
    ),
    "instruments": (
        "instrument_id",
        "instrument_type",
        "site_id",
        "market",
        "period_start",
        "period_end",
        "emission_factor",
        "emission_factor_unit",
        "retired",
        "source_document",
    ),
}

# Hive partition columns per kind, derived from the rows by LandingZone.write.
PARTITIONS: dict[str, tuple[str, ...]] = {
    "readings": ("site", "date"),
    "production": ("site", "date"),
    "bills": ("site",),
    "orders": ("site",),
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

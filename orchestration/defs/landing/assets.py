"""The landing zone as assets: the roots of the lineage graph.

They are external assets: the simulator, `wattprint import` and the MQTT service write them, not a
Dagster run. dbt sources point at them (`meta.dagster.asset_key`), so the UI draws the whole path
from landed files to the marts.
"""

from __future__ import annotations

import dagster as dg

from ingestion.landing import SCHEMAS

_DESCRIPTIONS = {
    "sites": "Sites with their time zone and grid region (registry).",
    "meters": "The meter tree: utility → main → sub → equipment meters, registers, CT ratios, "
    "rollover values, installation and removal dates (registry).",
    "equipment": "Equipment with line, process step, nameplate kW, metered or not, and the meter "
    "that supplies it (registry).",
    "readings": "Raw meter readings as received: counters, interval kWh, kW — immutable, "
    "Hive-partitioned by site and UTC date.",
    "bills": "Utility bills per site and billing period: kWh, cost, tariff, supplier.",
    "production": "Production batches: line, SKU, start, end, good units, scrap, shift.",
    "factors": "Emission factors as versioned data with validity windows and source documents.",
    "instruments": "Contractual instruments for market-based Scope 2: certificates (GO, REC, "
    "I-REC, T-REC), PPAs, green tariffs and supplier-specific rates, per site, market and period.",
    "orders": "Order-book snapshots (ERP/MES exports): production orders per operation with SKU, "
    "quantity, due time, priority and status — what the planner schedules.",
}

landing_specs = [
    dg.AssetSpec(
        key=["landing", kind],
        group_name="landing",
        kinds={"parquet"},
        description=_DESCRIPTIONS[kind],
        metadata={"columns": ", ".join(SCHEMAS[kind])},
    )
    for kind in SCHEMAS
]

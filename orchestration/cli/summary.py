"""The figures the demo prints, read from the marts (read-only: never blocks a writer for long)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.cli.tables import render


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def daily_site_table(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        """
        select site_id, site_local_date::varchar, sum(kwh), sum(kg_co2e) / 1000,
               sum(kg_co2e) / nullif(sum(kwh), 0)
        from marts.fct_emissions_daily
        where method = 'location'
        group by all order by 1, 2
        """,
    )
    return render(
        "Site energy and emissions per day (location-based, Scope 2)",
        ["site", "local day", "kWh", "tCO2e", "kgCO2e/kWh"],
        rows,
        [None, None, ",.1f", ",.3f", ".4f"],
    )


def hotspot_table(con: duckdb.DuckDBPyConnection, limit: int = 5) -> str:
    rows = _rows(
        con,
        f"""
        select h.equipment_id, coalesce(e.line_id, 'site utility'), e.equipment_type,
               h.kg_co2e / 1000, h.share_of_site_emissions * 100,
               h.share_of_site_production * 100, h.hotspot_ratio
        from marts.rpt_equipment_hotspots as h
        join marts.dim_equipment as e using (site_id, equipment_id)
        order by h.share_of_site_emissions desc
        limit {limit}
        """,
    )
    return render(
        f"Top-{limit} equipment hotspots: share of emissions vs share of production",
        ["equipment", "line", "type", "tCO2e", "% emissions", "% production", "ratio"],
        rows,
        [None, None, None, ",.2f", ".1f", ".1f", ".2f"],
        note="% production: share of the site's good units made on the equipment's line "
        "(— for site utilities). ratio > 1: more carbon than output.",
    )


def reconciliation_table(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        """
        select bill_id, period_start::varchar || ' → ' || period_end::varchar, bill_kwh,
               metered_equipment_kwh, residual_kwh, 100 * residual_kwh / nullif(bill_kwh, 0),
               allocated_kwh, reconciled_kwh, reconciliation_factor
        from marts.fct_reconciliation
        order by site_id, period_start
        """,
    )
    return render(
        "Bill (top-down) vs meters (bottom-up), per bill period",
        [
            "bill",
            "period (local)",
            "bill kWh",
            "metered kWh",
            "residual kWh",
            "residual %",
            "allocated kWh",
            "reconciled kWh",
            "factor",
        ],
        rows,
        [None, None, ",.0f", ",.1f", ",.1f", ".2f", ",.1f", ",.2f", ".6f"],
        note="residual = bill − metered equipment: unmetered load and losses, allocated by "
        "dynamic profiles; reconciled = Σ equipment after allocation (equals the bill).",
    )


def sku_table(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(
        con,
        """
        select sku, sum(batches), sum(good_units), sum(kwh), sum(kg_co2e),
               sum(kg_co2e) / nullif(sum(good_units), 0)
        from marts.fct_product_intensity
        group by sku order by sku
        """,
    )
    return render(
        "Carbon intensity per SKU (production-line energy attributed to the batches)",
        ["SKU", "batches", "good units", "kWh", "kgCO2e", "kgCO2e/unit"],
        rows,
        [None, ",d", ",d", ",.1f", ",.1f", ".4f"],
    )


def print_summary(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in (daily_site_table, hotspot_table, reconciliation_table, sku_table):
            print(table(con))

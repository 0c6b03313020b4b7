"""The desensitized export: what a customer or a public platform needs, and nothing that
describes how the plant works.

Written (CSV, UTF-8, one header line), with every field documented in `FIELDS` and in the
README.md written beside them:

- `site_emissions.csv` — per site and site-local month: energy, location- and market-based
  t CO2e, the market tiers, the share of energy measured / estimated / allocated, and the
  factor versions used (ids, not values computed from plant data);
- `product_emissions.csv` — per site, product (SKU) and month: good units, kWh, t CO2e and
  kg CO2e per unit (location-based), summed over lines, shifts and batches;
- `factor_sources.csv` — every factor version the figures above use: publisher's value and
  unit, validity, source document, publication date.

Left out on purpose: equipment ids and names, lines, process steps, meters and the meter tree,
batches and shifts, nameplate and load fractions (process parameters), interval and daily
profiles, raw readings, bills and tariffs, instruments' contract details.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from orchestration.reporting.periods import Period

FIELDS: dict[str, list[tuple[str, str]]] = {
    "site_emissions.csv": [
        ("site_id", "site identifier as the company publishes it"),
        ("country", "ISO 3166 alpha-2 country of the site"),
        ("grid_region", "electricity grid region whose location-based factor applies"),
        ("month", "site-local calendar month, YYYY-MM"),
        ("days", "days of the month with figures"),
        ("kwh", "electricity consumed (kWh), reconciled to the utility bill where billed"),
        (
            "location_t_co2e",
            "GHG Protocol Scope 2 location-based emissions (t CO2e); ISO 14064-1 Category 2",
        ),
        ("market_t_co2e", "GHG Protocol Scope 2 market-based emissions (t CO2e)"),
        ("kwh_instruments", "kWh covered by certificates, PPAs and green tariffs"),
        ("kwh_supplier_specific", "kWh covered by supplier-specific emission rates"),
        ("kwh_residual_mix", "kWh at the residual mix"),
        ("kwh_location_fallback", "kWh at the location factor because no residual mix exists"),
        ("share_measured", "share of kWh measured by equipment meters (0-1)"),
        ("share_estimated", "share of kWh estimated (gaps, corrections) (0-1)"),
        ("share_allocated", "share of kWh allocated to unmetered loads (0-1)"),
        ("factor_versions", "factor versions used, 'factor_id@version'; see factor_sources.csv"),
    ],
    "product_emissions.csv": [
        ("site_id", "site identifier"),
        ("sku", "product identifier (SKU) as the company publishes it"),
        ("month", "site-local month of the batches' start, YYYY-MM"),
        ("good_units", "good units produced"),
        ("kwh", "electricity attributed to the product (kWh)"),
        ("t_co2e", "location-based emissions attributed to the product (t CO2e)"),
        ("kg_co2e_per_unit", "kg CO2e per good unit"),
    ],
    "factor_sources.csv": [
        ("factor_id", "factor identifier"),
        ("version", "factor version (a new version never overwrites an old one)"),
        ("method", "location | residual_mix | ..."),
        ("region", "grid region or market"),
        ("granularity", "annual | monthly | hourly"),
        ("valid_from_utc", "first instant of validity (UTC)"),
        ("valid_to_utc", "end of validity (UTC, exclusive)"),
        ("published_value", "value as published (for an hourly series: the mean over the rows)"),
        ("published_unit", "unit as published"),
        ("source_document", "publication the value comes from"),
        ("published_at_utc", "publication date"),
    ],
}


def _write(path: Path, columns: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def export_desensitized(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    site_id: str | None = None,
    period: Period | None = None,
) -> dict[str, int]:
    """Write the three files and README.md into `folder`; returns rows per file."""
    folder.mkdir(parents=True, exist_ok=True)
    params = {
        "site": site_id,
        "first": period.first_day if period else None,
        "last": period.last_day if period else None,
    }
    site_rows = con.execute(
        """
        select
            daily.site_id, site.country, site.grid_region,
            strftime(daily.site_local_date, '%Y-%m') as month,
            count(*) as days,
            round(sum(daily.kwh), 3),
            case when bool_or(daily.location_kg is null) then null
                else round(sum(daily.location_kg) / 1000, 6) end,
            case when bool_or(daily.market_kg is null) then null
                else round(sum(daily.market_kg) / 1000, 6) end,
            round(sum(daily.kwh_instrument), 3), round(sum(daily.kwh_supplier), 3),
            round(sum(daily.kwh_residual), 3), round(sum(daily.kwh_location_fallback), 3),
            round(sum(daily.kwh_measured) / nullif(sum(daily.kwh), 0), 4),
            round(sum(daily.kwh_estimated) / nullif(sum(daily.kwh), 0), 4),
            round(sum(daily.kwh_allocated) / nullif(sum(daily.kwh), 0), 4),
            array_to_string(list_sort(list_distinct(flatten(list(string_split(
                concat_ws(',', daily.location_factor_versions, daily.residual_factor_versions),
                ','))))), ',')
        from marts.fct_scope2_daily as daily
        inner join marts.dim_site as site on site.site_id = daily.site_id
        where ($site is null or daily.site_id = $site)
            and ($first is null or daily.site_local_date >= $first)
            and ($last is null or daily.site_local_date <= $last)
        group by all
        order by 1, 4
        """,
        params,
    ).fetchall()
    product_rows = con.execute(
        """
        with batches as (
            select
                batches.site_id, batches.sku, batches.good_units, batches.kwh, batches.kg_co2e,
                cast((batches.start_utc at time zone 'UTC') at time zone site.timezone as date)
                    as local_day
            from marts.fct_batch_energy as batches
            inner join marts.dim_site as site on site.site_id = batches.site_id
        )
        select
            site_id, sku, strftime(local_day, '%Y-%m') as month,
            sum(good_units), round(sum(kwh), 3), round(sum(kg_co2e) / 1000, 6),
            round(sum(kg_co2e) / nullif(sum(good_units), 0), 6)
        from batches
        where ($site is null or site_id = $site)
            and ($first is null or local_day >= $first)
            and ($last is null or local_day <= $last)
        group by all
        order by 1, 2, 3
        """,
        params,
    ).fetchall()
    used = sorted({key for row in site_rows for key in (row[-1] or "").split(",") if key})
    factor_rows = con.execute(
        """
        select factor_id, version, any_value(method), any_value(region),
            any_value(granularity), min(valid_from_utc), max(valid_to_utc),
            round(avg(published_value), 6), any_value(published_unit),
            any_value(source_document), min(published_at_utc)
        from audit.factor_versions
        where list_contains($keys, factor_version_key)
            and coalesce(gas, 'CO2e') in ('CO2e', 'CO2')
        group by factor_id, version
        order by 1, 2
        """,
        {"keys": used},
    ).fetchall()
    outputs = {
        "site_emissions.csv": site_rows,
        "product_emissions.csv": product_rows,
        "factor_sources.csv": factor_rows,
    }
    for name, rows in outputs.items():
        _write(folder / name, [f for f, _ in FIELDS[name]], rows)
    (folder / "README.md").write_text(readme(), encoding="utf-8")
    return {name: len(rows) for name, rows in outputs.items()}


def readme() -> str:
    lines = [
        "# Wattprint desensitized export",
        "",
        "Per-site and per-product results with the emission factor sources behind them. No "
        "equipment, line, process step, meter, batch, shift, process parameter, interval "
        "profile, raw reading, bill or contract detail leaves the plant in these files.",
    ]
    for name, fields in FIELDS.items():
        lines += ["", f"## {name}", "", "| field | meaning |", "|---|---|"]
        lines += [f"| {field} | {meaning} |" for field, meaning in fields]
    return "\n".join(lines) + "\n"

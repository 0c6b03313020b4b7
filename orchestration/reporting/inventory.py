"""The GHG inventory of one site for one period: ISO 14064-1:2018 Category 2 (indirect emissions
from imported energy) and the GHG Protocol Scope 2 dual report (location-based and market-based,
Scope 2 Guidance ch. 7), with the data quality behind the figures.

Everything comes from the warehouse's site-day grain (`marts.fct_scope2_daily`) and its audit
tables, so the inventory of any period is a sum of rows an auditor can list, and its factor
versions and instruments are named with their source documents. Category 1 (direct emissions:
stationary fuel combustion, GHG Protocol Scope 1) comes from `marts.fct_scope1_daily` — one row
per fuel and site-local day — when fuel meters exist; without them the report says so.

Written as Markdown, HTML and CSV (`write_reports`). The CSV has one row per month and a 'total'
row: Category 2 columns first, then `iso14064_category1_t_co2e` and per fuel its quantity, t of
CO2 / CH4 / N2O and CO2e, and per gas the factor versions and source documents (`write_csv`
lists the columns).
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.reporting.periods import Period
from orchestration.reporting.reader import has_table

KG_PER_TONNE = Decimal(1000)
GASEOUS_FUELS = frozenset({"natural_gas", "biogas", "biomethane"})


class InventoryError(ValueError):
    """The site or the period has nothing to report (the message says what exists)."""


@dataclass(frozen=True)
class MonthRow:
    month: str
    days: int
    kwh: Decimal
    kwh_measured: Decimal
    kwh_estimated: Decimal
    kwh_allocated: Decimal
    location_kg: Decimal | None
    market_kg: Decimal | None
    kwh_instrument: Decimal
    kwh_supplier: Decimal
    kwh_residual: Decimal
    kwh_location_fallback: Decimal
    kwh_no_market_factor: Decimal


@dataclass(frozen=True)
class FuelRow:
    """Category 1 for one fuel over the period (quantity in its base unit: kWh, l or kg)."""

    fuel: str
    unit: str
    days: int
    quantity: Decimal
    quantity_estimated: Decimal
    kg_co2: Decimal | None
    kg_ch4: Decimal | None
    kg_n2o: Decimal | None
    kg_co2e: Decimal | None
    gwp_set: str
    factor_versions: str
    missing_gases: str | None


@dataclass(frozen=True)
class FuelMonth:
    """Category 1 for one fuel, base unit and site-local month (the CSV's grain)."""

    month: str  # YYYY-MM
    fuel: str
    unit: str
    quantity: Decimal
    kg_co2: Decimal | None
    kg_ch4: Decimal | None
    kg_n2o: Decimal | None
    kg_co2e: Decimal | None
    gwp_set: str
    factor_versions: tuple[str, ...]  # 'factor_id@version', every gas


@dataclass
class Inventory:
    site: dict
    period: Period
    generated_at: datetime
    months: list[MonthRow]
    total: MonthRow
    days_with_data: int
    intervals_present: int
    intervals_expected: int
    factors: list[dict] = field(default_factory=list)
    instruments: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    restated_days: int = 0
    first_reported_location_kg: Decimal | None = None
    first_reported_market_kg: Decimal | None = None
    fuel: list[FuelRow] = field(default_factory=list)
    fuel_months: list[FuelMonth] = field(default_factory=list)
    # the fuel factor versions the Category 1 figures used: audit.factor_versions rows + gas
    fuel_factors: list[dict] = field(default_factory=list)

    @property
    def scope1_kg(self) -> Decimal | None:
        """Category 1 in kg CO2e; None without fuel data or when a fuel has no figure."""
        if not self.fuel:
            return None
        return _sum_or_none([f.kg_co2e for f in self.fuel])

    @property
    def location_t(self) -> Decimal | None:
        return None if self.total.location_kg is None else self.total.location_kg / KG_PER_TONNE

    @property
    def market_t(self) -> Decimal | None:
        return None if self.total.market_kg is None else self.total.market_kg / KG_PER_TONNE

    def share(self, part: Decimal) -> float:
        return float(part / self.total.kwh) if self.total.kwh else 0.0


def _sum_or_none(values: list[Decimal | None]) -> Decimal | None:
    return None if any(v is None for v in values) else sum(values, Decimal(0))


def _month_row(label: str, rows: list[dict]) -> MonthRow:
    def total(key: str) -> Decimal:
        return sum((r[key] for r in rows), Decimal(0))

    return MonthRow(
        month=label,
        days=len(rows),
        kwh=total("kwh"),
        kwh_measured=total("kwh_measured"),
        kwh_estimated=total("kwh_estimated"),
        kwh_allocated=total("kwh_allocated"),
        location_kg=_sum_or_none([r["location_kg"] for r in rows]),
        market_kg=_sum_or_none([r["market_kg"] for r in rows]),
        kwh_instrument=total("kwh_instrument"),
        kwh_supplier=total("kwh_supplier"),
        kwh_residual=total("kwh_residual"),
        kwh_location_fallback=total("kwh_location_fallback"),
        kwh_no_market_factor=total("kwh_no_market_factor"),
    )


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def build_inventory(con: duckdb.DuckDBPyConnection, site_id: str, period: Period) -> Inventory:
    sites = _records(con, "select * from marts.dim_site where site_id = ?", [site_id])
    if not sites:
        known = [r[0] for r in con.execute("select site_id from marts.dim_site").fetchall()]
        raise InventoryError(
            f"no site {site_id!r} in the warehouse; sites: {', '.join(known) or '(none)'}"
        )
    days = _records(
        con,
        "select * from marts.fct_scope2_daily where site_id = ? "
        "and site_local_date between ? and ? order by site_local_date",
        [site_id, period.first_day, period.last_day],
    )
    if not days:
        span = con.execute(
            "select min(site_local_date), max(site_local_date) from marts.fct_scope2_daily "
            "where site_id = ?",
            [site_id],
        ).fetchall()[0]
        have = f"{span[0]} … {span[1]}" if span[0] else "no days at all"
        raise InventoryError(
            f"site {site_id} has no figures in {period.label} "
            f"({period.first_day} … {period.last_day}); the warehouse has {have}"
        )
    by_month: dict[str, list[dict]] = {}
    for row in days:
        by_month.setdefault(row["site_local_date"].strftime("%Y-%m"), []).append(row)
    months = [_month_row(label, rows) for label, rows in by_month.items()]
    expected = sum(
        int((r["day_end_utc"] - r["day_start_utc"]).total_seconds() // 900) for r in days
    )
    inventory = Inventory(
        site=sites[0],
        period=period,
        generated_at=datetime.now(UTC),
        months=months,
        total=_month_row("total", days),
        days_with_data=len(days),
        intervals_present=sum(r["interval_count"] for r in days),
        intervals_expected=expected,
    )
    inventory.flags = sorted(
        {flag for r in days if r["flags"] for flag in r["flags"].split("; ") if flag}
    )
    inventory.factors = _factors_used(con, days)
    inventory.instruments = _instruments(con, site_id, period)
    inventory.fuel = _fuel(con, site_id, period)
    if inventory.fuel:
        fuels = {f.fuel for f in inventory.fuel}
        inventory.fuel_months = [m for m in _fuel_months(con, site_id, period) if m.fuel in fuels]
        inventory.fuel_factors = _fuel_factors(con, inventory.fuel_months)
    _restatements(con, inventory, site_id, period)
    return inventory


def _factors_used(con: duckdb.DuckDBPyConnection, days: list[dict]) -> list[dict]:
    keys: dict[str, str] = {}
    for row in days:
        for column, role in (
            ("location_factor_versions", "location-based"),
            ("residual_factor_versions", "residual mix"),
        ):
            for key in (row[column] or "").split(","):
                if key:
                    keys[key] = role
    if not keys:
        return []
    found = _records(
        con,
        "select factor_version_key, any_value(method) as method, any_value(region) as region, "
        "any_value(granularity) as granularity, min(valid_from_utc) as valid_from_utc, "
        "max(valid_to_utc) as valid_to_utc, list(distinct published_value order by "
        "published_value) as published_values, any_value(published_unit) as published_unit, "
        "any_value(source_document) as source_document, "
        "any_value(published_at_utc) as published_at_utc "
        "from audit.factor_versions where factor_version_key in "
        f"({', '.join('?' for _ in keys)}) and coalesce(gas, 'CO2e') in ('CO2e', 'CO2') "
        "group by factor_version_key order by factor_version_key",
        list(keys),
    )
    for row in found:
        row["role"] = keys[row["factor_version_key"]]
    return found


def _fuel(con: duckdb.DuckDBPyConnection, site_id: str, period: Period) -> list[FuelRow]:
    """Category 1 per fuel over the period; a fuel with any day lacking a factor has no figure
    (its missing gases are named), never a partial one. A warehouse built before Scope 1
    existed has no fct_scope1_daily: no fuel data."""
    if not has_table(con, "marts", "fct_scope1_daily"):
        return []
    rows = _records(
        con,
        """
        select
            energy_carrier as fuel,
            quantity_unit as unit,
            count(distinct site_local_date) as days,
            sum(quantity) as quantity,
            sum(quantity_estimated) as quantity_estimated,
            case when bool_or(kg_co2e is null) then null else sum(kg_co2) end as kg_co2,
            case when bool_or(kg_co2e is null) then null else sum(kg_ch4) end as kg_ch4,
            case when bool_or(kg_co2e is null) then null else sum(kg_n2o) end as kg_n2o,
            case when bool_or(kg_co2e is null) then null else sum(kg_co2e) end as kg_co2e,
            string_agg(distinct gwp_set, ', ' order by gwp_set) as gwp_set,
            array_to_string(list_sort(list_distinct(list_filter(flatten(list(
                string_split(coalesce(factor_versions, ''), ',')
            )), lambda x: x <> ''))), ', ') as factor_versions,
            nullif(array_to_string(list_sort(list_distinct(list_filter(flatten(list(
                string_split(coalesce(missing_gases, ''), ', ')
            )), lambda x: x <> ''))), ', '), '') as missing_gases
        from marts.fct_scope1_daily
        where site_id = ? and site_local_date between ? and ?
        group by energy_carrier, quantity_unit
        having sum(quantity) > 0
        order by energy_carrier, quantity_unit
        """,
        [site_id, period.first_day, period.last_day],
    )
    return [FuelRow(**row) for row in rows]


def _fuel_months(con: duckdb.DuckDBPyConnection, site_id: str, period: Period) -> list[FuelMonth]:
    """Category 1 per site-local month, fuel and base unit: the sums of fct_scope1_daily (a
    month with a day lacking a factor has no emission figure, as in `_fuel`)."""
    rows = _records(
        con,
        """
        select
            strftime(site_local_date, '%Y-%m') as month,
            energy_carrier as fuel,
            quantity_unit as unit,
            sum(quantity) as quantity,
            case when bool_or(kg_co2e is null) then null else sum(kg_co2) end as kg_co2,
            case when bool_or(kg_co2e is null) then null else sum(kg_ch4) end as kg_ch4,
            case when bool_or(kg_co2e is null) then null else sum(kg_n2o) end as kg_n2o,
            case when bool_or(kg_co2e is null) then null else sum(kg_co2e) end as kg_co2e,
            string_agg(distinct gwp_set, ', ' order by gwp_set) as gwp_set,
            list_sort(list_distinct(list_filter(flatten(list(
                string_split(coalesce(factor_versions, ''), ',')
            )), lambda x: x <> ''))) as factor_versions
        from marts.fct_scope1_daily
        where site_id = ? and site_local_date between ? and ?
        group by all
        order by month, fuel, unit
        """,
        [site_id, period.first_day, period.last_day],
    )
    return [FuelMonth(**{**r, "factor_versions": tuple(r["factor_versions"])}) for r in rows]


def _fuel_factors(con: duckdb.DuckDBPyConnection, months: list[FuelMonth]) -> list[dict]:
    """The factor versions Category 1 used, with gas and source document (audit.factor_versions:
    the same rows an audit trace ends in), one row per version and gas."""
    fuel_of: dict[str, str] = {}
    for m in months:
        for key in m.factor_versions:
            fuel_of.setdefault(key, m.fuel)
    if not fuel_of or not has_table(con, "audit", "factor_versions"):
        return []
    found = _records(
        con,
        "select factor_version_key, gas, any_value(method) as method, any_value(region) as region, "
        "any_value(granularity) as granularity, min(valid_from_utc) as valid_from_utc, "
        "max(valid_to_utc) as valid_to_utc, list(distinct published_value order by "
        "published_value) as published_values, any_value(published_unit) as published_unit, "
        "string_agg(distinct source_document, '; ' order by source_document) as source_document, "
        "max(published_at_utc) as published_at_utc "
        "from audit.factor_versions where factor_version_key in "
        f"({', '.join('?' for _ in fuel_of)}) "
        "group by factor_version_key, gas order by factor_version_key, gas",
        list(fuel_of),
    )
    for row in found:
        row["fuel"] = fuel_of[row["factor_version_key"]]
        row["role"] = f"Category 1: {row['fuel'].replace('_', ' ')}, {row['gas']}"
    return found


def _instruments(con: duckdb.DuckDBPyConnection, site_id: str, period: Period) -> list[dict]:
    """The site's instruments whose period overlaps the reporting period, with the kWh each
    covered inside it (its covered share of each stretch × the stretch's kWh in the period)."""
    return _records(
        con,
        """
        with
        bounds as (
            select ? as first_day, ? as last_day
        ),
        in_period as (
            select scope2.site_id, scope2.interval_start_utc, scope2.kwh
            from marts.fct_scope2_daily as daily
            inner join marts.fct_scope2_interval as scope2
                on scope2.site_id = daily.site_id
                and scope2.interval_start_utc >= daily.day_start_utc
                and scope2.interval_start_utc < daily.day_end_utc
            cross join bounds
            where daily.site_id = ?
                and daily.site_local_date between bounds.first_day and bounds.last_day
        ),
        covered as (
            select
                segments.instrument_id,
                sum(in_period.kwh * segments.covered_kwh / nullif(segments.segment_kwh, 0))
                    as kwh_in_period
            from marts.fct_instrument_segments as segments
            inner join in_period
                on in_period.site_id = segments.site_id
                and in_period.interval_start_utc >= segments.segment_start_utc
                and in_period.interval_start_utc < segments.segment_end_utc
            group by segments.instrument_id
        )
        select usage.*, coalesce(covered.kwh_in_period, 0) as kwh_in_period
        from marts.fct_instrument_usage as usage
        left join covered
            on usage.instrument_id = covered.instrument_id
        cross join bounds
        where usage.site_id = ?
            and cast(usage.period_start_utc as date) <= bounds.last_day
            and cast(usage.period_end_utc as date) >= bounds.first_day
        order by usage.tier, usage.period_start_utc, usage.instrument_id
        """,
        [period.first_day, period.last_day, site_id, site_id],
    )


def _restatements(
    con: duckdb.DuckDBPyConnection, inventory: Inventory, site_id: str, period: Period
) -> None:
    if not has_table(con, "audit", "emissions_as_reported"):
        return
    first = con.execute(
        """
        select
            count(distinct case when version_no > 1 then site_local_date end),
            sum(case when method = 'location' and version_no = 1 then kg_co2e end),
            sum(case when method = 'market' and version_no = 1 then kg_co2e end)
        from audit.emissions_as_reported
        where site_id = ? and site_local_date between ? and ?
        """,
        [site_id, period.first_day, period.last_day],
    ).fetchall()[0]
    inventory.restated_days = int(first[0] or 0)
    inventory.first_reported_location_kg = first[1]
    inventory.first_reported_market_kg = first[2]


# --- rendering --------------------------------------------------------------------------------


def _t(kg: Decimal | None, places: int = 3) -> str:
    return "—" if kg is None else f"{kg / KG_PER_TONNE:,.{places}f}"


def _kwh(value: Decimal | float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _sections(inv: Inventory) -> list[tuple[str, list[str] | None, list[list[str]], str | None]]:
    """(title, header, rows, note) — one structure for Markdown and HTML alike."""
    total = inv.total
    site = inv.site
    out: list[tuple[str, list[str] | None, list[list[str]], str | None]] = []
    out.append(
        (
            "Reporting boundary",
            None,
            [
                ["Site", f"{site['site_id']} — {site.get('site_name') or ''}".strip(" —")],
                ["Country / grid region", f"{site['country']} / {site['grid_region']}"],
                [
                    "Period (site-local days)",
                    f"{inv.period.label}: {inv.period.first_day} … {inv.period.last_day} "
                    f"({site['timezone']})",
                ],
                [
                    "Days with figures",
                    f"{inv.days_with_data} of {inv.period.days}; 15-minute intervals "
                    f"{inv.intervals_present:,} of {inv.intervals_expected:,} expected on "
                    "those days",
                ],
                ["Generated", inv.generated_at.strftime("%Y-%m-%d %H:%M UTC")],
            ],
            None,
        )
    )
    out.append(
        (
            "ISO 14064-1:2018 inventory (t CO2e)",
            ["Category", "Source", "Activity", "t CO2e"],
            [
                *_category1_rows(inv),
                [
                    "Category 2 — indirect emissions from imported energy",
                    "purchased electricity, location-based",
                    f"{_kwh(total.kwh)} kWh",
                    _t(total.location_kg),
                ],
                [
                    "Category 2 — indirect emissions from imported energy",
                    "purchased electricity, market-based (contractual instruments)",
                    f"{_kwh(total.kwh)} kWh",
                    _t(total.market_kg),
                ],
            ],
            "Category 2 is quantified both ways, as ISO 14064-1:2018 Annex E allows; the "
            "location-based figure is the grid-average one.",
        )
    )
    if inv.fuel:
        out.append(_category1_section(inv))
    market_rows = [
        [
            "Certificates, PPAs, green tariffs",
            _kwh(total.kwh_instrument),
            _pct(inv.share(total.kwh_instrument)),
        ],
        ["Supplier-specific rates", _kwh(total.kwh_supplier), _pct(inv.share(total.kwh_supplier))],
        ["Residual mix", _kwh(total.kwh_residual), _pct(inv.share(total.kwh_residual))],
        [
            "Location factor (no residual mix published)",
            _kwh(total.kwh_location_fallback),
            _pct(inv.share(total.kwh_location_fallback)),
        ],
    ]
    if total.kwh_no_market_factor:
        market_rows.append(
            [
                "No market factor",
                _kwh(total.kwh_no_market_factor),
                _pct(inv.share(total.kwh_no_market_factor)),
            ]
        )
    out.append(
        (
            "GHG Protocol Scope 2 — dual report",
            ["Method", "t CO2e", "kg CO2e per kWh"],
            [
                [
                    "Location-based",
                    _t(total.location_kg),
                    "—"
                    if total.location_kg is None or not total.kwh
                    else f"{total.location_kg / total.kwh:.4f}",
                ],
                [
                    "Market-based",
                    _t(total.market_kg),
                    "—"
                    if total.market_kg is None or not total.kwh
                    else f"{total.market_kg / total.kwh:.4f}",
                ],
            ],
            None,
        )
    )
    out.append(
        (
            "Market-based: how the electricity was covered",
            ["Tier", "kWh", "share"],
            market_rows,
            None,
        )
    )
    out.append(
        (
            "By month",
            ["Month", "Days", "kWh", "Location t CO2e", "Market t CO2e"],
            [
                [m.month, str(m.days), _kwh(m.kwh), _t(m.location_kg), _t(m.market_kg)]
                for m in inv.months
            ],
            None,
        )
    )
    out.append(
        (
            "Energy data: how the kWh were obtained",
            ["How", "kWh", "share"],
            [
                [
                    "Measured (equipment meters)",
                    _kwh(total.kwh_measured),
                    _pct(inv.share(total.kwh_measured)),
                ],
                [
                    "Estimated (gaps, corrections)",
                    _kwh(total.kwh_estimated),
                    _pct(inv.share(total.kwh_estimated)),
                ],
                [
                    "Allocated (unmetered loads, by profile)",
                    _kwh(total.kwh_allocated),
                    _pct(inv.share(total.kwh_allocated)),
                ],
            ],
            "All energy is reconciled to the utility bill where a bill covers the period.",
        )
    )
    out.append(
        (
            "Emission factors used",
            [
                "Factor @ version",
                "Role",
                "Value as published",
                "Valid",
                "Source document",
                "Published",
            ],
            [
                [
                    f["factor_version_key"],
                    f["role"],
                    ", ".join(f"{v:g}" for v in f["published_values"]) + f" {f['published_unit']}",
                    f"{f['valid_from_utc']:%Y-%m-%d} … {f['valid_to_utc']:%Y-%m-%d} UTC",
                    f["source_document"],
                    f"{f['published_at_utc']:%Y-%m-%d}",
                ]
                for f in [*inv.factors, *inv.fuel_factors]
            ],
            None,
        )
    )
    out.append(
        (
            "Contractual instruments",
            [
                "Instrument",
                "Type",
                "Scheme",
                "Period (UTC)",
                "Volume kWh",
                "kWh in this period",
                "Status",
                "Source",
            ],
            [
                [
                    i["instrument_id"],
                    i["instrument_type"],
                    i["scheme"] or "—",
                    f"{i['period_start_utc']:%Y-%m-%d %H:%M} … "
                    f"{i['period_end_utc']:%Y-%m-%d %H:%M}",
                    _kwh(i["volume_kwh"]) if i["volume_kwh"] is not None else "all supply",
                    _kwh(i["kwh_in_period"]),
                    i["status"] + (f" ({i['reason']})" if i["reason"] else ""),
                    i["source_document"],
                ]
                for i in inv.instruments
            ],
            None if inv.instruments else "No contractual instruments for this site and period.",
        )
    )
    disclosures = []
    if inv.flags:
        disclosures.append(["Flags", "; ".join(inv.flags)])
    if inv.restated_days:
        disclosures.append(
            [
                "Restatements",
                f"{inv.restated_days} day(s) restated since first reported: location-based "
                f"{_t(inv.first_reported_location_kg)} → {_t(total.location_kg)} t, market-based "
                f"{_t(inv.first_reported_market_kg)} → {_t(total.market_kg)} t "
                "(`wattprint report restatement` lists them)",
            ]
        )
    else:
        disclosures.append(["Restatements", "none: every figure is as first reported"])
    out.append(("Disclosures", None, disclosures, None))
    return out


def _fuel_quantity(f: FuelRow) -> str:
    # the warehouse sums volumes in litres (the base unit shared with liquid fuels); a gas is
    # read in cubic metres
    if f.unit == "l" and f.fuel in GASEOUS_FUELS:
        return f"{f.quantity / 1000:,.1f} m3"
    return f"{f.quantity:,.1f} {f.unit}"


def _category1_rows(inv: Inventory) -> list[list[str]]:
    if not inv.fuel:
        return [
            [
                "Category 1 — direct emissions",
                "stationary fuel combustion",
                "no fuel data in the warehouse",
                "not reported",
            ]
        ]
    return [
        [
            "Category 1 — direct emissions",
            f"stationary combustion, {f.fuel.replace('_', ' ')}",
            _fuel_quantity(f),
            _t(f.kg_co2e),
        ]
        for f in inv.fuel
    ]


def _category1_section(inv: Inventory) -> tuple[str, list[str], list[list[str]], str]:
    rows = [
        [
            f.fuel.replace("_", " "),
            _fuel_quantity(f),
            _pct(float(f.quantity_estimated / f.quantity)) if f.quantity else "—",
            _t(f.kg_co2, 3),
            "—" if f.kg_ch4 is None else f"{f.kg_ch4:,.4f}",
            "—" if f.kg_n2o is None else f"{f.kg_n2o:,.5f}",
            _t(f.kg_co2e),
            f.factor_versions or "—",
        ]
        for f in inv.fuel
    ]
    gwp_sets = sorted({f.gwp_set for f in inv.fuel})
    missing = [f"{f.fuel}: no factor for {f.missing_gases}" for f in inv.fuel if f.missing_gases]
    units = ", ".join(sorted({f.unit for f in inv.fuel}))
    note = (
        f"Fuel meters' quantities × per-gas factors (kg CO2, CH4, N2O per {units}); "
        f"CO2e with the IPCC {', '.join(gwp_sets)} 100-year GWPs."
        + (" No figure where a factor is missing — " + "; ".join(missing) + "." if missing else "")
    )
    return (
        "ISO 14064-1 Category 1 — stationary combustion (GHG Protocol Scope 1)",
        [
            "Fuel",
            "Quantity",
            "estimated",
            "t CO2",
            "kg CH4",
            "kg N2O",
            "t CO2e",
            "Factor @ version",
        ],
        rows,
        note,
    )


def to_markdown(inv: Inventory) -> str:
    lines = [
        f"# GHG inventory — {inv.site['site_id']}, {inv.period.label}",
        "",
        f"**Scope 2 location-based: {_t(inv.total.location_kg)} t CO2e · market-based: "
        f"{_t(inv.total.market_kg)} t CO2e · {_kwh(inv.total.kwh)} kWh**",
        *([f"**Scope 1 (Category 1): {_t(inv.scope1_kg)} t CO2e**"] if inv.fuel else []),
    ]
    for title, header, rows, note in _sections(inv):
        lines += ["", f"## {title}", ""]
        head = header or ["", ""]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        if note:
            lines += ["", f"_{note}_"]
    return "\n".join(lines) + "\n"


def to_html(inv: Inventory) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>GHG inventory {e(inv.site['site_id'])} {e(inv.period.label)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:left}th{background:#f4f4f4}</style></head><body>",
        f"<h1>GHG inventory — {e(inv.site['site_id'])}, {e(inv.period.label)}</h1>",
        f"<p><strong>Scope 2 location-based: {_t(inv.total.location_kg)} t CO2e · market-based: "
        f"{_t(inv.total.market_kg)} t CO2e · {_kwh(inv.total.kwh)} kWh</strong></p>",
        *(
            [f"<p><strong>Scope 1 (Category 1): {_t(inv.scope1_kg)} t CO2e</strong></p>"]
            if inv.fuel
            else []
        ),
    ]
    for title, header, rows, note in _sections(inv):
        parts.append(f"<h2>{e(title)}</h2><table>")
        if header:
            parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
        if note:
            parts.append(f"<p><em>{e(note)}</em></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


CSV_COLUMNS = (
    "site_id",
    "period",
    "month",
    "days",
    "kwh",
    "kwh_measured",
    "kwh_estimated",
    "kwh_allocated",
    "iso14064_category2_location_t_co2e",
    "iso14064_category2_market_t_co2e",
    "kwh_instrument",
    "kwh_supplier",
    "kwh_residual",
    "kwh_location_fallback",
    "kwh_no_market_factor",
    # Category 1 (fuel combustion, Scope 1): all fuels, then per fuel (category1_columns)
    "iso14064_category1_t_co2e",
    "category1_gwp_set",
)
CATEGORY1_GASES = (("co2", "CO2"), ("ch4", "CH4"), ("n2o", "N2O"))


def _plain(value: Decimal | None) -> str:
    """A decimal as plain digits (no exponent), trailing zeros dropped; '' for no figure."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tonnes(kg: Decimal | None) -> Decimal | None:
    return None if kg is None else kg / KG_PER_TONNE


def _fuel_units(inv: Inventory) -> dict[str, list[str]]:
    """fuel → its base units, in the report's order (fuel, then unit)."""
    units: dict[str, list[str]] = {}
    for f in inv.fuel:
        units.setdefault(f.fuel, []).append(f.unit)
    return units


def category1_columns(inv: Inventory) -> list[str]:
    """The per-fuel Category 1 columns of this inventory's CSV (none without fuel data)."""
    columns: list[str] = []
    for fuel, units in _fuel_units(inv).items():
        prefix = f"category1_{fuel}"
        columns += [f"{prefix}_quantity_{unit}" for unit in units]
        columns += [f"{prefix}_t_{gas}" for gas, _ in CATEGORY1_GASES] + [f"{prefix}_t_co2e"]
        for gas, _ in CATEGORY1_GASES:
            columns += [f"{prefix}_{gas}_factor_versions", f"{prefix}_{gas}_source_documents"]
    return columns


def _category1_cells(inv: Inventory, months: list[FuelMonth]) -> list[str]:
    """The Category 1 cells of one CSV row from the fuel-months it covers: emissions are
    empty when a fuel has no data in those months or a day without a factor (no figure,
    never a partial one)."""
    # one factor_id@version may carry several gases (the factors key includes the gas)
    gases_of: dict[str, set[str]] = {}
    source_of: dict[tuple[str, str], str] = {}
    for f in inv.fuel_factors:
        gases_of.setdefault(f["factor_version_key"], set()).add(f["gas"])
        source_of[(f["factor_version_key"], f["gas"])] = f["source_document"]
    all_kg = [m.kg_co2e for m in months]
    cells = [
        _plain(_tonnes(_sum_or_none(all_kg)) if months else None),
        ", ".join(sorted({m.gwp_set for m in months})),
    ]
    for fuel, units in _fuel_units(inv).items():
        mine = [m for m in months if m.fuel == fuel]
        for unit in units:
            quantities = [m.quantity for m in mine if m.unit == unit]
            cells.append(_plain(sum(quantities, Decimal(0))) if quantities else "")
        for attribute in ("kg_co2", "kg_ch4", "kg_n2o", "kg_co2e"):
            total = _sum_or_none([getattr(m, attribute) for m in mine]) if mine else None
            cells.append(_plain(_tonnes(total)))
        keys = sorted({k for m in mine for k in m.factor_versions})
        for _, gas in CATEGORY1_GASES:
            versions = [k for k in keys if gas in gases_of.get(k, ())]
            sources = sorted({source_of[(k, gas)] for k in versions})
            cells += [", ".join(versions), "; ".join(sources)]
    return cells


def write_csv(inv: Inventory, path: Path) -> None:
    """One row per month and one 'total' row, in kWh, t CO2e and fuel base units (full
    precision).

    Category 2 (imported electricity) first, as it always was; then ISO 14064-1 Category 1
    (stationary combustion, GHG Protocol Scope 1, from marts.fct_scope1_daily):
    ``iso14064_category1_t_co2e`` for all fuels and ``category1_gwp_set`` (the IPCC set of the
    CO2e), then per fuel F of the period ``category1_F_quantity_<unit>`` (in the warehouse's
    base unit: kWh, l or kg — natural gas in litres, 1 m3 = 1000 l), ``category1_F_t_co2`` /
    ``_t_ch4`` / ``_t_n2o`` (t of each gas) and ``category1_F_t_co2e``, and per gas
    ``category1_F_<gas>_factor_versions`` ('factor_id@version') with
    ``category1_F_<gas>_source_documents``. Empty emission cells mean no figure (no fuel data,
    or a day without a factor). The total row covers every day of the period.
    """
    extra = category1_columns(inv)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CSV_COLUMNS, *extra])
        for row in [*inv.months, inv.total]:
            fuel_months = [m for m in inv.fuel_months if row.month in ("total", m.month)]
            writer.writerow(
                [
                    inv.site["site_id"],
                    inv.period.label,
                    row.month,
                    row.days,
                    *map(_plain, (row.kwh, row.kwh_measured, row.kwh_estimated, row.kwh_allocated)),
                    _plain(_tonnes(row.location_kg)),
                    _plain(_tonnes(row.market_kg)),
                    *map(
                        _plain,
                        (
                            row.kwh_instrument,
                            row.kwh_supplier,
                            row.kwh_residual,
                            row.kwh_location_fallback,
                            row.kwh_no_market_factor,
                        ),
                    ),
                    *_category1_cells(inv, fuel_months),
                ]
            )


def write_reports(inv: Inventory, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"inventory-{inv.site['site_id']}-{inv.period.label.replace('..', '_')}"
    paths = [folder / f"{stem}.md", folder / f"{stem}.html", folder / f"{stem}.csv"]
    paths[0].write_text(to_markdown(inv), encoding="utf-8")
    paths[1].write_text(to_html(inv), encoding="utf-8")
    write_csv(inv, paths[2])
    return paths

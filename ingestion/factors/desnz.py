"""UK DESNZ (formerly BEIS) greenhouse gas conversion factors, flat file.

Reads both the official "flat format" columns (``ID, Scope, Level 1, Level 2, Level 3,
Level 4, Column Text, UOM, GHG/Unit, GHG Conversion Factor <year>``) and the slimmed copy in
``shared/data/emission_factors/uk_desnz_2022_electricity.csv`` (``year, Scope, Level 1, Level 2,
Level 3, UOM, GHG/Unit, factor, ID``).

Units trap: each figure is **kg CO2e per UOM**, and each activity comes as four rows —
``kg CO2e`` (the total) and ``kg CO2e of CO2``, ``kg CO2e of CH4``, ``kg CO2e of N2O`` (the share
of each gas, *already* weighted by the GWP set DESNZ used). They land as four factors with
distinct factor_ids (the total keeps the plain id, the shares get ``/co2``, ``/ch4``,
``/n2o``), unit ``kgCO2e/<activity>`` and gas ``CO2e`` / ``CO2`` / ``CH4`` / ``N2O``: a CH4
row with unit kgCO2e/kWh is "kg CO2e of CH4 per kWh", never kg of CH4. The GWP set DESNZ used
is not in the file: pass ``gwp_set=`` to record it on the per-gas rows (it is needed to
restate them under another set; to my knowledge the 2022 set still used IPCC AR4 values and
the move to AR5 came later — not verified here, check the methodology paper).

What becomes what:
* ``UK electricity`` (Scope 2): method location, carrier electricity, region UK.
* ``Transmission and distribution`` (Scope 3, T&D losses): method location, carrier
  ``electricity_td_losses`` — a different carrier so it can never be mistaken for the Scope 2
  grid factor.
* ``Heat and steam``: method location, carrier heat_steam.
* ``Fuels`` and ``Bioenergy`` (Scope 1): method fuel, carrier from Level 3 (``Natural gas`` →
  natural_gas, ``LPG`` → lpg, ``Diesel (average biofuel blend)`` → diesel, ...); UOM kWh (Gross
  CV) / kWh (Net CV) / litres / tonnes / cubic metres → kWh / kWh / l / t / m3, the calorific
  basis kept in the factor_id (``.../kwh_gross_cv``).
* Anything else (travel, materials, refrigerants, ...) is skipped and listed with the reason.

Validity: the UK calendar year of the set (Europe/London), in UTC. published_at: not in the
file; default 1 June of the year (DESNZ publishes each year's set in June), an assumption the
report states — pass ``published_at=`` when the publication date is known.
"""

from __future__ import annotations

import re
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
    slug,
)
from ingestion.files.errors import Problem
from ingestion.files.readers import ROW

PUBLISHER = "desnz"
TIMEZONE = "Europe/London"
REGION = "UK"

# Level 1 → (method, energy carrier or None = from Level 3)
CATEGORIES: dict[str, tuple[str, str | None]] = {
    "uk electricity": ("location", "electricity"),
    "transmission and distribution": ("location", "electricity_td_losses"),
    "heat and steam": ("location", "heat_steam"),
    "fuels": ("fuel", None),
    "bioenergy": ("fuel", None),
}
CARRIER_ALIASES = {
    "natural_gas": "natural_gas",
    "lpg": "lpg",
    "diesel_average_biofuel_blend": "diesel",
    "diesel_100_mineral_diesel": "diesel_mineral",
    "gas_oil": "gas_oil",
    "fuel_oil": "fuel_oil",
    "burning_oil": "burning_oil",
    "petrol_average_biofuel_blend": "petrol",
}
# UOM → (activity unit, id suffix)
UOMS: dict[str, tuple[str, str]] = {
    "kwh": ("kWh", "kwh"),
    "kwh (gross cv)": ("kWh", "kwh_gross_cv"),
    "kwh (net cv)": ("kWh", "kwh_net_cv"),
    "litres": ("l", "litres"),
    "tonnes": ("t", "tonnes"),
    "cubic metres": ("m3", "cubic_metres"),
}
GHG_UNITS: dict[str, str] = {
    "kg co2e": "CO2e",
    "kg co2e of co2": "CO2",
    "kg co2e of ch4": "CH4",
    "kg co2e of n2o": "N2O",
}
SOURCE = "UK Government GHG Conversion Factors for Company Reporting {year} (DESNZ), {file}"


def _year_from(columns: list[str]) -> int | None:
    for column in columns:
        match = re.fullmatch(r"GHG Conversion Factor (\d{4})", column)
        if match:
            return int(match.group(1))
    return None


def read(
    path: Path | str,
    *,
    version: str | None = None,
    published_at: datetime | date | None = None,
    gwp_set: str | None = None,
    region: str = REGION,
) -> LoadedFactors:
    path = Path(path)
    table = read_publisher_table(path)
    value_column = "factor" if "factor" in table.columns else None
    file_year = _year_from(table.columns)
    if file_year is not None:
        value_column = f"GHG Conversion Factor {file_year}"
    require_columns(
        table,
        ["Scope", "Level 1", "Level 2", "Level 3", "UOM", "GHG/Unit", value_column or "factor"],
        "DESNZ flat",
        path,
    )
    if file_year is None and "year" not in table.columns:
        require_columns(table, ["year"], "DESNZ flat", path)
    digest = file_digest(path)
    records: list[dict] = []
    rows: list[int] = []
    skipped: list[Problem] = []
    years: set[int] = set()
    for rec in table.frame.iter_rows(named=True):
        line = rec[ROW]
        category = CATEGORIES.get(rec["Level 1"].strip().lower())
        if category is None:
            skipped.append(Problem(line, "Level 1", rec["Level 1"], "not an energy carrier"))
            continue
        uom = UOMS.get(rec["UOM"].strip().lower())
        if uom is None:
            skipped.append(Problem(line, "UOM", rec["UOM"], "activity unit not used for energy"))
            continue
        gas = GHG_UNITS.get(re.sub(r"\s+", " ", rec["GHG/Unit"].strip().lower()))
        if gas is None:
            skipped.append(Problem(line, "GHG/Unit", rec["GHG/Unit"], "not a kg CO2e figure"))
            continue
        value = parse_number(rec[value_column])
        if value is None:
            skipped.append(Problem(line, value_column, rec[value_column], "no numeric value"))
            continue
        year = file_year if file_year is not None else int(rec["year"])
        years.add(year)
        method, carrier = category
        if carrier is None:
            level3 = slug(rec["Level 3"])
            carrier = CARRIER_ALIASES.get(level3, level3)
        activity, uom_id = uom
        parts = [slug(rec["Level 1"]), slug(rec["Level 2"]), slug(rec["Level 3"])]
        if rec.get("Level 4"):
            parts.append(slug(rec["Level 4"]))
        factor_id = "UK-DESNZ/" + "/".join(p for p in parts if p) + f"/{uom_id}"
        if gas != "CO2e":
            factor_id += f"/{gas.lower()}"
        start, end = local_year_utc(year, TIMEZONE)
        if published_at is None:
            published = local_midnight_utc(date(year, 6, 1), TIMEZONE)
        elif isinstance(published_at, datetime):
            published = published_at
        else:
            published = local_midnight_utc(published_at, TIMEZONE)
        records.append(
            {
                "factor_id": factor_id,
                "version": version or f"{year}-{digest}",
                "method": method,
                "region": region,
                "energy_carrier": carrier,
                "granularity": "annual",
                "valid_from": start,
                "valid_to": end,
                "value": value,
                "unit": f"kgCO2e/{activity}",
                "gas": gas,
                "gwp_set": gwp_set if gas in ("CH4", "N2O") else None,
                "source_document": SOURCE.format(year=year, file=path.name),
                "published_at": published,
            }
        )
        rows.append(line)
    notes = [
        "DESNZ values are kg CO2e per unit; the CH4/N2O/CO2 rows are each gas's CO2e share "
        "(gas column), landed beside the total under their own factor_id.",
        f"Validity: UK calendar year{'s' if len(years) > 1 else ''} "
        f"{', '.join(map(str, sorted(years)))} (Europe/London), stored in UTC.",
    ]
    if published_at is None:
        notes.append(
            "published_at assumed 1 June of the set's year (DESNZ publishes in June; the file "
            "has no date) — pass published_at= when known."
        )
    if gwp_set is None:
        notes.append(
            "gwp_set left empty on the CH4/N2O rows: the GWP set DESNZ used is not in the file "
            "(pass gwp_set= to record it)."
        )
    return LoadedFactors(PUBLISHER, path, build_frame(records), rows, skipped, notes)


def load(path: Path | str, **options) -> pl.DataFrame:
    """The landing rows only (see `read`)."""
    return read(path, **options).frame

"""Emission factor files into the landing zone: one reader per publisher format, explicit unit
conversions, and validity-window checks. No dagster imports.

    from ingestion.factors import land_factor_file
    report = land_factor_file(home, "uk_desnz_2022_electricity.csv")   # format detected
    print(report.summary())

Readers (each `read(path, **options) -> LoadedFactors`, `load(path) -> polars frame` that
conforms to the landing contract SCHEMAS["factors"]; values and units *as published*):

* `desnz` — UK DESNZ flat file (kg CO2e per unit; CO2/CH4/N2O shares as separate rows)
* `egrid` — US EPA eGRID subregion rates (lb CO2/MWh, CO2 only)
* `ember` — Ember yearly country intensities (g CO2/kWh)
* `electricitymaps` — Electricity Maps hourly exports (g CO2eq/kWh; direct by default)
* `tw_kr_official` — Taiwan (kg CO2e/kWh) and Korea (t CO2eq/MWh) official yearly factors
* `csv_format` — Wattprint's documented factor CSV/Parquet

`validate` holds the checks (bounds per unit, window overlaps and gaps per series); `units`
the conversions with their named constants.
"""

from ingestion.factors.common import LoadedFactors
from ingestion.factors.land import (
    PUBLISHERS,
    FactorLandingReport,
    detect_publisher,
    land_factor_file,
    read_factor_file,
)
from ingestion.factors.validate import FactorFileRejected, ensure_valid, validate

__all__ = [
    "PUBLISHERS",
    "FactorFileRejected",
    "FactorLandingReport",
    "LoadedFactors",
    "detect_publisher",
    "ensure_valid",
    "land_factor_file",
    "read_factor_file",
    "validate",
]

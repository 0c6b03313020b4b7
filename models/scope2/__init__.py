"""Scope 1 and Scope 2 accounting: contractual instruments, GHG Protocol dual reporting
(location- and market-based) and fuel combustion with a chosen GWP set. No dagster imports.

    from models.scope2 import dual_report
    result = dual_report(consumption, factors, instruments)
    result.totals()            # per site: location_t, market_t, kWh per market tier, flags
"""

from models.scope2.dual import DualResult, dual_report
from models.scope2.instruments import (
    INSTRUMENT_REQUIRED,
    INSTRUMENT_SCHEMA,
    Instrument,
    prepare_instruments,
    read_instruments_csv,
)
from models.scope2.scope1 import GWP_SETS, GasFactor, combustion, combustion_frame

__all__ = [
    "GWP_SETS",
    "INSTRUMENT_REQUIRED",
    "INSTRUMENT_SCHEMA",
    "DualResult",
    "GasFactor",
    "Instrument",
    "combustion",
    "combustion_frame",
    "dual_report",
    "prepare_instruments",
    "read_instruments_csv",
]

"""The documented file formats for `import_file`, and the rules each row must pass.

General rules (every kind)
--------------------------
* CSV: UTF-8, with or without a byte-order mark; comma-separated; line 1 names the columns; the
  order of columns does not matter and extra columns are ignored (the report lists them). An
  empty cell is null. Parquet: the same column names; typed columns are used as they are
  (a time-zone-aware timestamp column is converted to UTC; a naive one is rejected, except in
  readings where the mapping's time zone applies).
* Timestamps: ISO-8601 with an offset or 'Z', e.g. ``2018-01-01T00:00:00+09:00`` or
  ``2017-12-31T15:00:00Z`` ('T' or a space between date and time; seconds optional). They are
  stored in UTC. A timestamp without an offset is rejected: these files carry no time zone.
* Dates: ISO ``YYYY-MM-DD``. Numbers: plain decimals with a '.' (``1234.5``, ``1.2e3``); no
  thousands separators; NaN and infinity are rejected. Booleans: true/false (also yes/no, 1/0).
* Required columns must be present and non-empty in every row. Optional columns may be left out
  of the file altogether.
* Within one file a key (below) may appear once; an exact repeat of a whole row is landed once,
  a repeat with different values is a problem on every row involved.

sites — key site_id
-------------------
==============================  =======  ===  ============================================
column                          type     req  unit / allowed values — meaning
==============================  =======  ===  ============================================
site_id                         text     yes  the site's id
site_name                       text     no   a name for people
timezone                        text     yes  IANA name, e.g. Asia/Seoul — local days, shifts
grid_region                     text     yes  matches factors.region, e.g. KR, DE, GB
country                         text     yes  ISO 3166 alpha-2, upper case, e.g. KR
location_factor_granularity     text     yes  annual | monthly | hourly
==============================  =======  ===  ============================================

meters — key meter_id
---------------------
==============================  =========  ===  ==========================================
meter_id                        text       yes  the meter's id (readings refer to it)
site_id                         text       yes  the site it belongs to
parent_meter_id                 text       no   the meter upstream; empty at the root (and
                                                always empty for a fuel meter)
meter_kind                      text       yes  utility | main | sub | equipment
measures_kind                   text       yes  site | area | line | equipment
measures_id                     text       yes  id of what it measures
energy_carrier                  text       no   empty or electricity: an electricity meter;
                                                a fuel burnt on site (natural_gas, diesel,
                                                lpg, ...: lower case, as factors.
                                                energy_carrier): a fuel meter (Scope 1)
register                        text       yes  electricity: counter_kwh | interval_kwh |
                                                power_kw; fuel: counter | interval
unit                            text       yes  unit of the raw value. Electricity: Wh | kWh |
                                                MWh for counter_kwh / interval_kwh; W | kW |
                                                MW for power_kw (exact spelling: MWh is not
                                                mWh). Fuel: a unit of the fuel_units seed —
                                                energy Wh | kWh | MWh | GWh | MJ | GJ | TJ |
                                                therm, volume l | m3, mass kg | t
multiplier                      number     yes  CT/VT ratio applied to the raw value (> 0)
rollover_value                  number     no   counter wraps to 0 here (> 0; counters only)
interval_minutes                integer    yes  1 … 1440, usually 15
installed_at                    timestamp  yes  UTC instant with offset, e.g.
                                                2017-12-31T00:00:00+09:00
removed_at                      timestamp  no   empty while in service; after installed_at
==============================  =========  ===  ==========================================

A fuel meter has no parent: Scope 1 sums every fuel meter of a site, so a fuel sub-meter under
another would be counted twice. Its readings must be in a unit of the same quantity as its own
unit (a gas meter registered in m3 takes l or m3, never kWh): dbt converts within a quantity,
and m3 → kWh would need a calorific value, which is a factor choice.

equipment — key equipment_id
----------------------------
==============================  =======  ===  ============================================
equipment_id                    text     yes
site_id                         text     yes
equipment_name                  text     no
line_id                         text     no   empty for site utilities (HVAC, air, ...)
process_step                    text     no
equipment_type                  text     yes  e.g. furnace, press, compressor
nameplate_kw                    number   yes  kW, >= 0
is_metered                      boolean  yes  true when it has its own meter
supply_meter_id                 text     yes  its own meter, or the nearest metered node
                                              upstream (whose residual is allocated to it)
idle_load_fraction              number   yes  share of nameplate drawn while idle, 0 … 1
running_load_fraction           number   yes  share of nameplate drawn while running, 0 … 1
==============================  =======  ===  ============================================

bills — key bill_id
-------------------
==============================  =======  ===  ============================================
bill_id                         text     yes
site_id                         text     yes
period_start                    date     yes  site-local date, inclusive, as printed
period_end                      date     yes  site-local date, inclusive; >= period_start
kwh                             number   yes  kWh billed for the period
cost                            number   no   in `currency`
currency                        text     no   ISO 4217, e.g. KRW, EUR
tariff                          text     no
supplier                        text     no
contract_id                     text     no
==============================  =======  ===  ============================================

production — key batch_id
-------------------------
==============================  =========  ===  ==========================================
batch_id                        text       yes  production batch / order id
site_id                         text       yes
line_id                         text       yes
sku                             text       yes
start_ts                        timestamp  yes  with offset or Z
end_ts                          timestamp  yes  with offset or Z; after start_ts
good_units                      integer    yes  >= 0
scrap_units                     integer    no   >= 0
shift                           text       no   shift name as the plant uses it
==============================  =========  ===  ==========================================

factors — key (factor_id, version, gas, valid_from)
---------------------------------------------------
==============================  =========  ===  ==========================================
factor_id                       text       yes
version                         text       yes  a new version never replaces an old one
method                          text       yes  location | market | residual_mix | supplier |
                                                fuel
region                          text       yes  matches sites.grid_region
energy_carrier                  text       yes  electricity | natural_gas | diesel | ...
granularity                     text       yes  annual | monthly | hourly
valid_from                      timestamp  yes  inclusive, with offset or Z
valid_to                        timestamp  yes  exclusive; after valid_from
value                           number     yes  in `unit`, as published
unit                            text       yes  <mass><gas>/<activity>, as published:
                                                mass g | kg | t | lb; gas CO2e | CO2 | CH4 |
                                                N2O; activity Wh | kWh | MWh | GWh | MJ | GJ |
                                                TJ | therm | l | m3 | kg | t
                                                — e.g. kgCO2e/kWh, tCO2/MWh, lbCO2/MWh
gas                             text       no   CO2e | CO2 | CH4 | N2O
gwp_set                         text       no   e.g. AR5, AR6; empty when already CO2e
source_document                 text       yes  the publication the value comes from
published_at                    timestamp  yes  when it was published, with offset or Z
==============================  =========  ===  ==========================================

instruments — key instrument_id
-------------------------------
Contractual instruments for market-based Scope 2 (GHG Protocol Scope 2 Guidance, ch. 6-7). One
row is one claim on one site's electricity. The residual mix is not an instrument: land it as
factors (method residual_mix), so it is versioned and restated like any factor.

==============================  =========  ===  ==========================================
instrument_id                   text       yes  unique id: certificate serial range, or
                                                contract + delivery period
instrument_type                 text       yes  certificate | ppa | green_tariff |
                                                supplier_specific
scheme                          text       no   GO, REGO, REC, I-REC, T-REC, ...
contract_id                     text       no   groups the rows of one contract
site_id                         text       yes  the site whose consumption it is claimed for
market                          text       yes  market boundary; applies only when it equals
                                                the site's grid_region (a GO for FR never
                                                covers a GB site)
period_start                    timestamp  yes  inclusive, with offset or Z
period_end                      timestamp  yes  exclusive; after period_start. One hour =
                                                hour-stamped (hourly matching)
volume                          number     no   energy covered, > 0; empty only for
                                                green_tariff and supplier_specific (= all
                                                supply of the period)
volume_unit                     text       no   Wh | kWh | MWh | GWh (required with volume)
emission_factor                 number     yes  >= 0; 0 for renewable certificates
emission_factor_unit            text       yes  as published: kgCO2e/kWh, gCO2e/kWh,
                                                tCO2e/MWh, kgCO2e/MWh, lbCO2e/MWh, (CO2
                                                and CO2eq spellings alike; the list is
                                                INSTRUMENT_FACTOR_UNITS)
technology                      text       no   solar, wind, hydro, ...
generator_id                    text       no   the generating facility
supplier                        text       no   utility or seller
retired                         boolean    yes  cancelled on the consumer's behalf; an
                                                instrument that is not is never applied
source_document                 text       yes  registry statement, contract, certificate
==============================  =========  ===  ==========================================

A later landed row with the same instrument_id replaces the earlier one (an instrument bought,
later retired). Applied per interval in the quality order certificates/PPAs/green tariffs, then
supplier-specific rates, then the residual mix (`dbt_project/models/marts/scope2/`).

readings
--------
Meter exports come in every shape, so readings are read through a `ReadingsMapping`
(see `ingestion.files.mapping`) that names the timestamp column and its format, time zone and
interval semantics, the value column, unit, meter and site. The mapping's register says how the
values read: counter_kwh / interval_kwh / power_kw for electricity, counter / interval for fuel.
Each row is checked against its meter in the landed meter registry (`ingestion.files.units`):
its unit must fit what the meter measures (litres on an electricity meter, or kWh on a gas meter
registered in m3, are problems naming the row and the unit column), and a fuel meter's register
must read like the mapping's. Fuel readings need their meter registered first; electricity
readings of a meter not (yet) in the registry land as before.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from ingestion.files import parsing, units
from ingestion.landing.schemas import SCHEMAS, UTC_TS

# Electricity readings keep their historical names; fuel units and registers are in `units`.
ENERGY_UNITS = units.ENERGY_UNITS
POWER_UNITS = units.POWER_UNITS
READING_UNITS = units.ELECTRICITY_UNITS
REGISTERS = units.ELECTRICITY_REGISTERS
FUEL_REGISTERS = units.FUEL_REGISTERS
FUEL_UNITS = units.FUEL_UNITS
# a meter's energy_carrier is matched with factors.energy_carrier by exact text
CARRIER_PATTERN = r"^[a-z][a-z0-9_]*$"
QUALITIES = frozenset({"good", "estimated", "suspect"})

# The rates an instrument may carry: per unit of electricity, exactly the units the warehouse's
# unit_conversions seed converts to kgCO2e/kWh (a unit outside it would leave no figure).
INSTRUMENT_FACTOR_UNITS = frozenset(
    {
        "kgCO2e/kWh",
        "gCO2e/kWh",
        "tCO2e/MWh",
        "kgCO2e/MWh",
        "tCO2e/GWh",
        "lbCO2e/MWh",
        "lbCO2e/kWh",
        "kgCO2/kWh",
        "gCO2/kWh",
        "tCO2/MWh",
        "kgCO2/MWh",
        "tCO2/GWh",
        "lbCO2/MWh",
        "lbCO2/kWh",
        "gCO2eq/kWh",
        "tCO2eq/MWh",
        "kgCO2eq/kWh",
    }
)

FACTOR_UNIT_PATTERN = r"^(g|kg|t|lb)(CO2e|CO2|CH4|N2O)/(Wh|kWh|MWh|GWh|MJ|GJ|TJ|therm|l|m3|kg|t)$"

ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    "sites": {"location_factor_granularity": frozenset({"annual", "monthly", "hourly"})},
    # register and unit depend on the meter's energy_carrier: checked in tables._meter_rules
    "meters": {
        "meter_kind": frozenset({"utility", "main", "sub", "equipment"}),
        "measures_kind": frozenset({"site", "area", "line", "equipment"}),
    },
    "factors": {
        "method": frozenset({"location", "market", "residual_mix", "supplier", "fuel"}),
        "granularity": frozenset({"annual", "monthly", "hourly"}),
        "gas": frozenset({"CO2e", "CO2", "CH4", "N2O"}),
    },
    "readings": {"quality": QUALITIES},
    "orders": {"status": frozenset({"open", "shipped", "cancelled"})},
    "instruments": {
        "instrument_type": frozenset({"certificate", "ppa", "green_tariff", "supplier_specific"}),
        "volume_unit": ENERGY_UNITS | frozenset({"GWh"}),
        "emission_factor_unit": INSTRUMENT_FACTOR_UNITS,
    },
}

# What "unknown X" says for each enumerated column.
ALLOWED_WHAT = {
    "location_factor_granularity": "factor granularity",
    "meter_kind": "meter kind",
    "measures_kind": "measured kind",
    "register": "register",
    "unit": "unit",
    "method": "factor method",
    "granularity": "granularity",
    "gas": "gas",
    "quality": "quality flag",
    "status": "order status",
    "instrument_type": "instrument type",
    "volume_unit": "energy unit",
    "emission_factor_unit": "emission factor unit",
}

KEYS: dict[str, tuple[str, ...]] = {
    "sites": ("site_id",),
    "meters": ("meter_id",),
    "equipment": ("equipment_id",),
    "bills": ("bill_id",),
    "production": ("batch_id",),
    "factors": ("factor_id", "version", "gas", "valid_from"),
    "instruments": ("instrument_id",),
    # one order book export: an order appears once per snapshot
    "orders": ("snapshot_at", "order_id"),
}

Parser = Callable[[pl.Series, pl.Series, str], tuple[pl.Series, pl.DataFrame]]


def parser_for(dtype: pl.DataType) -> Parser:
    if dtype == UTC_TS:
        return parsing.parse_utc_timestamp
    if dtype == pl.Date:
        return parsing.parse_date
    if dtype == pl.Boolean:
        return parsing.parse_bool
    if dtype.is_integer():
        return parsing.parse_int
    if dtype.is_float():
        return parsing.parse_float
    if dtype == pl.String:
        return parsing.parse_string
    raise TypeError(f"no parser for {dtype}")  # pragma: no cover - the schemas use only these


def schema_of(kind: str) -> dict[str, pl.DataType]:
    return SCHEMAS[kind]

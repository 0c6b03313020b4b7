"""The plant description: the site, its four lines, equipment and the meter tree.

Hsinchu-style electronics-components factory running 24/7. Numbers are chosen so the reference
hotspot of the CAS-EMS study appears: the wave-solder machine `L3-WAVE-01` keeps its solder pot
molten whether or not line L3 runs, and draws about 18% of site energy while L3 (a slow
through-hole line) makes about 7.5% of the good units.

Meter tree (parent → children; "·" marks unmetered equipment supplied through that node, whose
share of the node's residual the platform has to allocate):

    M-UTIL (utility, revenue meter, interval kWh)            · TX-LOSSES
    ├─ M-MAIN-PROD (main, production hall)                   · PROD-LIGHT-01, PROD-EXH-01
    │  ├─ M-L1 (sub, line L1-SMT) → 6 equipment meters       · L1-CONV-01
    │  ├─ M-L2 (sub, line L2-SMT) → 5 equipment meters       · L2-AOI-01, L2-CONV-01
    │  ├─ M-L3 (sub, line L3-THT) → 3 equipment meters       · L3-AOI-01, L3-CONV-01
    │  └─ M-L4 (sub, line L4-TEST) → 3 equipment meters      · L4-PACK-01
    └─ M-MAIN-UTIL (main, utilities building)               · UTIL-LIGHT-01
       ├─ M-AIR (sub, compressed air) → 2 compressor meters  (fully metered: residual ~0)
       ├─ M-CHW (sub, chilled water) → 2 chiller meters      · CHW-PUMP-01
       ├─ M-HVAC (sub, air handling) → 2 AHU meters          · HVAC-AHU-03
       ├─ M-IT (equipment, server room)
       └─ M-N2 (equipment, nitrogen generator)

Registers are deliberately mixed (counters in kWh and Wh, with CT multipliers and small
rollover values that wrap within two weeks, interval kWh, average kW). `resolution` is the
register's smallest step in raw units; it is not part of the landing contract but is how
counter readings are quantised (truncated, as a register display does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from ingestion.landing.schemas import SCHEMAS, conform

SITE_ID = "TW-HSINCHU-01"
SITE_NAME = "Hsinchu electronics components plant (simulated)"
TIMEZONE = "Asia/Taipei"
GRID_REGION = "TW"
COUNTRY = "TW"
FACTOR_GRANULARITY = "annual"
# Meters went into service at commissioning, long before any simulated run.
COMMISSIONED = date(2024, 3, 1)


@dataclass(frozen=True)
class Line:
    line_id: str
    kind: str  # smt | tht | test
    skus: tuple[str, ...]
    units_per_hour: tuple[float, ...]  # per SKU, at 100% efficiency
    batch_intervals: tuple[int, int]  # batch length range, 15-min intervals (inclusive)
    changeover_intervals: tuple[int, int]
    scrap_rate: float
    air_weight: float  # share of compressed-air demand while running
    heat_weight: float  # process heat rejected to chilled water while running


@dataclass(frozen=True)
class Equipment:
    equipment_id: str
    name: str
    line_id: str | None
    process_step: str
    equipment_type: str
    nameplate_kw: float
    idle_lf: float
    running_lf: float
    supply_meter_id: str  # own meter when metered, else the node it hangs off
    is_metered: bool
    profile: str  # physics model, see physics.py


@dataclass(frozen=True)
class Meter:
    meter_id: str
    parent_meter_id: str | None
    meter_kind: str  # utility | main | sub | equipment
    measures_kind: str  # site | area | line | equipment
    measures_id: str
    register: str  # counter_kwh | interval_kwh | power_kw
    unit: str
    multiplier: float = 1.0
    rollover_value: float | None = None
    resolution: float = 0.01  # counters: smallest register step in raw units
    gateway: str = "gw-01"

    @property
    def kwh_per_raw(self) -> float:
        """kWh represented by one raw unit of a counter or interval register."""
        return self.multiplier * {"kWh": 1.0, "Wh": 0.001, "MWh": 1000.0}.get(self.unit, 1.0)


LINES: tuple[Line, ...] = (
    Line("L1-SMT", "smt", ("PCB-A100", "PCB-B200", "CTRL-D400"), (420.0, 380.0, 330.0),
         (6, 14), (2, 3), 0.012, 1.0, 1.0),
    Line("L2-SMT", "smt", ("PCB-A100", "PCB-B200", "CTRL-D400"), (410.0, 370.0, 320.0),
         (6, 14), (2, 3), 0.012, 1.0, 1.0),
    Line("L3-THT", "tht", ("PSU-C300", "CTRL-D400"), (65.0, 77.0),
         (8, 16), (1, 2), 0.025, 0.6, 0.8),
    Line("L4-TEST", "test", ("PCB-A100", "PCB-B200", "PSU-C300", "CTRL-D400"),
         (170.0, 160.0, 120.0, 140.0), (4, 12), (1, 1), 0.008, 0.3, 0.4),
)
LINE_IDS: tuple[str, ...] = tuple(line.line_id for line in LINES)


def _m(meter_id, parent, kind, mkind, mid, register, unit="kWh", multiplier=1.0, rollover=None,
       resolution=0.01, gateway="gw-01") -> Meter:
    return Meter(meter_id, parent, kind, mkind, mid, register, unit, multiplier, rollover,
                 resolution, gateway)


# Gateways: gw-00 revenue meter, gw-01 production hall, gw-02 utilities building.
METERS: tuple[Meter, ...] = (
    _m("M-UTIL", None, "utility", "site", SITE_ID, "interval_kwh", gateway="gw-00"),
    # CT meters on the mains: raw = energy / multiplier (a 400/5 A CT gives 80, ...).
    _m("M-MAIN-PROD", "M-UTIL", "main", "area", "PROD-HALL", "counter_kwh",
       multiplier=40.0, rollover=10000.0, gateway="gw-01"),
    _m("M-MAIN-UTIL", "M-UTIL", "main", "area", "UTIL-BLDG", "counter_kwh",
       multiplier=20.0, rollover=99999.99, gateway="gw-02"),
    # line sub meters
    _m("M-L1", "M-MAIN-PROD", "sub", "line", "L1-SMT", "interval_kwh"),
    _m("M-L2", "M-MAIN-PROD", "sub", "line", "L2-SMT", "counter_kwh", multiplier=10.0,
       rollover=99999.99),
    _m("M-L3", "M-MAIN-PROD", "sub", "line", "L3-THT", "power_kw", unit="kW"),
    _m("M-L4", "M-MAIN-PROD", "sub", "line", "L4-TEST", "interval_kwh"),
    # L1 equipment
    _m("M-L1-PRINT-01", "M-L1", "equipment", "equipment", "L1-PRINT-01", "counter_kwh", unit="Wh",
       rollover=1e8, resolution=1.0),
    _m("M-L1-SPI-01", "M-L1", "equipment", "equipment", "L1-SPI-01", "power_kw", unit="kW"),
    _m("M-L1-PLACE-01", "M-L1", "equipment", "equipment", "L1-PLACE-01", "counter_kwh",
       rollover=99999.99),
    _m("M-L1-PLACE-02", "M-L1", "equipment", "equipment", "L1-PLACE-02", "counter_kwh",
       rollover=99999.99),
    _m("M-L1-REFLOW-01", "M-L1", "equipment", "equipment", "L1-REFLOW-01", "counter_kwh",
       rollover=10000.0),
    _m("M-L1-AOI-01", "M-L1", "equipment", "equipment", "L1-AOI-01", "power_kw", unit="kW"),
    # L2 equipment (its AOI is not metered)
    _m("M-L2-PRINT-01", "M-L2", "equipment", "equipment", "L2-PRINT-01", "interval_kwh"),
    _m("M-L2-SPI-01", "M-L2", "equipment", "equipment", "L2-SPI-01", "power_kw", unit="kW"),
    _m("M-L2-PLACE-01", "M-L2", "equipment", "equipment", "L2-PLACE-01", "counter_kwh", unit="Wh",
       rollover=1e8, resolution=1.0),
    _m("M-L2-PLACE-02", "M-L2", "equipment", "equipment", "L2-PLACE-02", "counter_kwh", unit="Wh",
       rollover=1e8, resolution=1.0),
    _m("M-L2-REFLOW-01", "M-L2", "equipment", "equipment", "L2-REFLOW-01", "counter_kwh",
       rollover=10000.0),
    # L3 equipment
    _m("M-L3-INSERT-01", "M-L3", "equipment", "equipment", "L3-INSERT-01", "counter_kwh",
       rollover=99999.99),
    _m("M-L3-WAVE-01", "M-L3", "equipment", "equipment", "L3-WAVE-01", "counter_kwh", unit="Wh",
       rollover=1e7, resolution=1.0),
    _m("M-L3-ICT-01", "M-L3", "equipment", "equipment", "L3-ICT-01", "interval_kwh"),
    # L4 equipment
    _m("M-L4-FT-01", "M-L4", "equipment", "equipment", "L4-FT-01", "counter_kwh",
       rollover=99999.99),
    _m("M-L4-FT-02", "M-L4", "equipment", "equipment", "L4-FT-02", "interval_kwh"),
    _m("M-L4-FT-03", "M-L4", "equipment", "equipment", "L4-FT-03", "power_kw", unit="kW"),
    # utilities building
    _m("M-AIR", "M-MAIN-UTIL", "sub", "area", "UTIL-AIR", "counter_kwh", multiplier=10.0,
       rollover=99999.99, gateway="gw-02"),
    _m("M-AIR-C01", "M-AIR", "equipment", "equipment", "AIR-C01", "counter_kwh", unit="Wh",
       rollover=1e7, resolution=1.0, gateway="gw-02"),
    _m("M-AIR-C02", "M-AIR", "equipment", "equipment", "AIR-C02", "counter_kwh",
       rollover=99999.99, gateway="gw-02"),
    _m("M-CHW", "M-MAIN-UTIL", "sub", "area", "UTIL-CHW", "interval_kwh", gateway="gw-02"),
    _m("M-CHW-CH01", "M-CHW", "equipment", "equipment", "CHW-CH01", "counter_kwh",
       rollover=1e6, gateway="gw-02"),
    _m("M-CHW-CH02", "M-CHW", "equipment", "equipment", "CHW-CH02", "interval_kwh",
       gateway="gw-02"),
    _m("M-HVAC", "M-MAIN-UTIL", "sub", "area", "UTIL-HVAC", "power_kw", unit="kW",
       gateway="gw-02"),
    _m("M-HVAC-AHU-01", "M-HVAC", "equipment", "equipment", "HVAC-AHU-01", "power_kw", unit="kW",
       gateway="gw-02"),
    _m("M-HVAC-AHU-02", "M-HVAC", "equipment", "equipment", "HVAC-AHU-02", "counter_kwh",
       rollover=99999.99, gateway="gw-02"),
    _m("M-IT", "M-MAIN-UTIL", "equipment", "equipment", "IT-SRV-01", "counter_kwh",
       rollover=99999.99, gateway="gw-02"),
    _m("M-N2", "M-MAIN-UTIL", "equipment", "equipment", "N2-GEN-01", "interval_kwh",
       gateway="gw-02"),
)


def _e(eid, name, line, step, etype, kw, idle, run, supply, metered, profile="line") -> Equipment:
    return Equipment(eid, name, line, step, etype, kw, idle, run, supply, metered, profile)


def _smt(n: int, aoi_metered: bool) -> list[Equipment]:
    line, m = f"L{n}-SMT", f"M-L{n}"
    return [
        _e(f"L{n}-PRINT-01", "Stencil printer", line, "printing", "screen_printer", 4.5, 0.30,
           0.60, f"M-L{n}-PRINT-01", True),
        _e(f"L{n}-SPI-01", "Solder paste inspection", line, "spi", "spi", 3.5, 0.40, 0.70,
           f"M-L{n}-SPI-01", True),
        _e(f"L{n}-PLACE-01", "Pick-and-place 1", line, "placement", "placement_machine", 9.0, 0.25,
           0.65, f"M-L{n}-PLACE-01", True),
        _e(f"L{n}-PLACE-02", "Pick-and-place 2", line, "placement", "placement_machine", 9.0, 0.25,
           0.65, f"M-L{n}-PLACE-02", True),
        _e(f"L{n}-REFLOW-01", "Reflow oven", line, "reflow", "reflow_oven", 72.0, 0.42, 0.58,
           f"M-L{n}-REFLOW-01", True),
        _e(f"L{n}-AOI-01", "Automated optical inspection", line, "aoi", "aoi", 3.0, 0.50, 0.80,
           f"M-L{n}-AOI-01" if aoi_metered else m, aoi_metered),
        _e(f"L{n}-CONV-01", "Line conveyors", line, "conveying", "conveyor", 1.5, 0.20, 0.70, m,
           False),
    ]


EQUIPMENT: tuple[Equipment, ...] = (
    *_smt(1, aoi_metered=True),
    *_smt(2, aoi_metered=False),
    _e("L3-INSERT-01", "Radial/axial insertion", "L3-THT", "insertion", "insertion_machine", 8.0,
       0.25, 0.60, "M-L3-INSERT-01", True),
    # The solder pot (~1 t of molten alloy) stays hot between batches: idle is close to running.
    _e("L3-WAVE-01", "Wave solder machine", "L3-THT", "wave_soldering", "wave_solder", 112.0,
       0.66, 0.82, "M-L3-WAVE-01", True),
    _e("L3-AOI-01", "Automated optical inspection", "L3-THT", "aoi", "aoi", 3.0, 0.50, 0.80,
       "M-L3", False),
    _e("L3-ICT-01", "In-circuit tester", "L3-THT", "ict", "ict_tester", 5.0, 0.35, 0.70,
       "M-L3-ICT-01", True),
    _e("L3-CONV-01", "Line conveyors", "L3-THT", "conveying", "conveyor", 1.5, 0.20, 0.70, "M-L3",
       False),
    *[
        _e(f"L4-FT-0{i}", f"Functional tester {i}", "L4-TEST", "functional_test",
           "functional_tester", 12.0, 0.30, 0.70, f"M-L4-FT-0{i}", True)
        for i in (1, 2, 3)
    ],
    _e("L4-PACK-01", "Packing station", "L4-TEST", "packing", "packing", 4.0, 0.20, 0.60, "M-L4",
       False),
    # Site utilities (no line). For them idle_lf is the unloaded floor and running_lf the typical
    # draw; the allocation weights unmetered utilities by nameplate x running_lf, and the ones
    # sharing a node (lighting, exhaust) draw a near-constant load, so that weight is honest.
    _e("AIR-C01", "Air compressor 1 (lead, VSD)", None, "compressed_air", "air_compressor", 55.0,
       0.50, 0.77, "M-AIR-C01", True, "compressor_lead"),
    _e("AIR-C02", "Air compressor 2 (trim)", None, "compressed_air", "air_compressor", 45.0, 0.15,
       0.55, "M-AIR-C02", True, "compressor_trim"),
    _e("CHW-CH01", "Chiller 1 (lead)", None, "chilled_water", "chiller", 80.0, 0.20, 0.55,
       "M-CHW-CH01", True, "chiller_lead"),
    _e("CHW-CH02", "Chiller 2 (lag)", None, "chilled_water", "chiller", 80.0, 0.05, 0.30,
       "M-CHW-CH02", True, "chiller_lag"),
    _e("CHW-PUMP-01", "Chilled-water pumps", None, "chilled_water", "pump", 15.0, 0.70, 0.70,
       "M-CHW", False, "constant"),
    _e("HVAC-AHU-01", "Air handler 1 (SMT hall)", None, "hvac", "air_handler", 18.5, 0.55, 0.65,
       "M-HVAC-AHU-01", True, "ahu"),
    _e("HVAC-AHU-02", "Air handler 2 (THT/test hall)", None, "hvac", "air_handler", 18.5, 0.55,
       0.65, "M-HVAC-AHU-02", True, "ahu"),
    _e("HVAC-AHU-03", "Air handler 3 (offices)", None, "hvac", "air_handler", 15.0, 0.55, 0.65,
       "M-HVAC", False, "ahu"),
    _e("PROD-LIGHT-01", "Production hall lighting", None, "lighting", "lighting", 24.0, 0.85,
       0.85, "M-MAIN-PROD", False, "constant"),
    _e("PROD-EXH-01", "Fume exhaust fans", None, "exhaust", "exhaust_fan", 11.0, 0.75, 0.75,
       "M-MAIN-PROD", False, "constant"),
    _e("UTIL-LIGHT-01", "Utilities building lighting", None, "lighting", "lighting", 6.0, 0.80,
       0.80, "M-MAIN-UTIL", False, "constant"),
    _e("IT-SRV-01", "Server room (IT + CRAC)", None, "it", "server_room", 20.0, 0.70, 0.70, "M-IT",
       True, "constant"),
    _e("N2-GEN-01", "Nitrogen generator (reflow N2)", None, "nitrogen", "nitrogen_generator",
       30.0, 0.30, 0.65, "M-N2", True, "nitrogen"),
    # Transformer losses: no-load (iron) loss + ~1.5% of load. Unmetered; the utility meter's
    # residual after both mains is exactly these losses. nameplate = rated total loss.
    _e("TX-LOSSES", "Transformer losses", None, "transformer", "transformer_losses", 12.0, 0.35,
       0.93, "M-UTIL", False, "transformer"),
)

TX_NO_LOAD_KW = 4.2
TX_LOAD_LOSS_SHARE = 0.015


def meter_index() -> dict[str, Meter]:
    return {m.meter_id: m for m in METERS}


def ancestors(meter_id: str, meters: dict[str, Meter] | None = None) -> list[str]:
    """The meter and every meter above it, nearest first."""
    meters = meters or meter_index()
    chain = []
    current: str | None = meter_id
    while current is not None:
        chain.append(current)
        current = meters[current].parent_meter_id
    return chain


def downstream_matrix(meter_ids: list[str], equipment: tuple[Equipment, ...] = EQUIPMENT
                      ) -> np.ndarray:
    """D[m, e] = 1 when equipment e is supplied through meter m (directly or further down).
    A meter's true energy is D @ equipment energy — conservation by construction."""
    meters = meter_index()
    row = {mid: i for i, mid in enumerate(meter_ids)}
    d = np.zeros((len(meter_ids), len(equipment)))
    for j, eq in enumerate(equipment):
        for mid in ancestors(eq.supply_meter_id, meters):
            if mid in row:
                d[row[mid], j] = 1.0
    return d


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(TIMEZONE)).astimezone(ZoneInfo("UTC"))


def sites_frame() -> pl.DataFrame:
    return conform("sites", pl.DataFrame({
        "site_id": [SITE_ID], "site_name": [SITE_NAME], "timezone": [TIMEZONE],
        "grid_region": [GRID_REGION], "country": [COUNTRY],
        "location_factor_granularity": [FACTOR_GRANULARITY],
    }))


def meters_frame(meters: tuple[Meter, ...] | list[Meter] = METERS,
                 service: dict[str, tuple[datetime | None, datetime | None]] | None = None
                 ) -> pl.DataFrame:
    """The meter registry; `service` overrides (installed_at, removed_at) per meter — meter
    replacement; an installed_at of None means the plant's commissioning date."""
    service = service or {}
    rows = []
    for m in meters:
        installed, removed = service.get(m.meter_id, (None, None))
        installed = installed or _utc(COMMISSIONED)
        rows.append({
            "meter_id": m.meter_id, "site_id": SITE_ID, "parent_meter_id": m.parent_meter_id,
            "meter_kind": m.meter_kind, "measures_kind": m.measures_kind,
            "measures_id": m.measures_id, "register": m.register, "unit": m.unit,
            "multiplier": m.multiplier, "rollover_value": m.rollover_value,
            "interval_minutes": 15, "installed_at": installed, "removed_at": removed,
        })
    return conform("meters", pl.DataFrame(rows, schema=SCHEMAS["meters"]))


def equipment_frame(supply_override: dict[str, str] | None = None) -> pl.DataFrame:
    supply_override = supply_override or {}
    return conform("equipment", pl.DataFrame([
        {
            "equipment_id": e.equipment_id, "site_id": SITE_ID, "equipment_name": e.name,
            "line_id": e.line_id, "process_step": e.process_step,
            "equipment_type": e.equipment_type, "nameplate_kw": e.nameplate_kw,
            "is_metered": e.is_metered,
            "supply_meter_id": supply_override.get(e.supply_meter_id, e.supply_meter_id),
            "idle_load_fraction": e.idle_lf, "running_load_fraction": e.running_lf,
        }
        for e in EQUIPMENT
    ], schema=SCHEMAS["equipment"]))

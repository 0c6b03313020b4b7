"""A simulated electronics-components factory with injected faults and known ground truth.

Site `TW-HSINCHU-01` (Asia/Taipei, grid region TW, annual location-based factor) runs 24/7:
lines L1-SMT and L2-SMT, L3-THT (with the wave-solder hotspot `L3-WAVE-01`: ~18% of site
energy for ~7.5% of good units), L4-TEST, site utilities (compressed air, chillers, air
handlers, lighting, server room, nitrogen) and transformer losses, behind a 36-meter tree of
mixed registers. Everything is deterministic from `PlantConfig.seed`.

    from ingestion.simulator import FaultConfig, PlantConfig, simulate, write_simulation
    sim = simulate(PlantConfig(seed=7, days=14, faults=FaultConfig.all_on()))
    counts = write_simulation(sim, home)   # lands observed data, writes ground truth

Public API
----------
- `PlantConfig(seed=7, start_date=date(2026, 1, 5), days=14, faults=FaultConfig())`: the run
  covers `days` whole site-local days from `start_date` 00:00 local.
- `FaultConfig(gaps, rollover, meter_replacement, spikes, stuck, compressor_cycling,
  process_excess, drift, duplicates, late)`: all False by default; `FaultConfig.all_on()`,
  `FaultConfig.only(*names)`.
- `simulate(config) -> Simulation`: pure, vectorised (90 days in well under a second).
- `write_simulation(sim, home) -> dict[str, int]`: rows landed per kind and written per truth file.

Simulation (polars frames)
--------------------------
Observed — in the landing schemas of `ingestion/landing/schemas.py`, all timestamps UTC:
- `sites`: one row; location_factor_granularity 'annual'.
- `meters`: meter_id, parent_meter_id (null at M-UTIL), meter_kind utility|main|sub|equipment,
  measures_kind site|area|line|equipment + measures_id, register counter_kwh|interval_kwh|
  power_kw, unit (kWh|Wh|kW: the raw value's unit), multiplier (CT ratio: energy = raw x
  multiplier), rollover_value (counters: the register wraps to 0 AT this value, i.e. the modulus
  is rollover_value), interval_minutes 15, installed_at, removed_at (set by meter_replacement).
- `equipment`: nameplate_kw, idle_load_fraction / running_load_fraction (line equipment draws
  nameplate x running fraction while its line runs a batch, idle fraction otherwise; for
  utilities running fraction is their typical draw), is_metered, supply_meter_id (own meter, or
  the nearest metered node upstream). `TX-LOSSES` (equipment_type transformer_losses) is
  unmetered under M-UTIL.
- `readings`: raw_id = f"{meter_id}|{ts.isoformat()}" (the dedup key), ts = counter reading
  instant / interval START for interval_kwh and power_kw, value as published, unit, quality
  'good', source sim://TW-HSINCHU-01/gw-0N, received_at = ts + 15 min + 1-20 s (late fault:
  ts + 3 days). Counters read at every boundary including the run's end.
- `production`: batch_id (<line>-<shift date>-<shift><nn>), line_id, sku, start_ts, end_ts
  (15-minute grid, never across a shift), good_units, scrap_units, shift A|B|C (site-local
  06-14, 14-22, 22-06; C belongs to the date it started on).
- `bills`: one per site-local calendar month, CLIPPED to the run (period_start/period_end are
  local dates, inclusive); kwh = true site energy rounded to 1 kWh; cost in TWD on a simulated
  three-stage TOU tariff + pro-rata capacity charge; supplier Taipower.
- `factors`: `TW-MOEA-GRID` annual (0.494 kgCO2e/kWh in 2026, version "<year>.1", valid local
  calendar year) and `TW-GRID-HOURLY-SIM` hourly (gCO2e/kWh, one row per UTC hour).
- `orders`: the order book as of the run's end — open production orders per operation
  (process_step reflow | wave_soldering | functional_test) for the following week, and the
  run's shipped orders (the recent delivery record). See planning.py.

Ground truth:
- `truth_equipment_interval`: site_id, equipment_id, interval_start (UTC), kwh_true,
  kgco2e_true (= kwh_true x the annual factor of the interval's local year).
- `truth_meter_interval`: site_id, meter_id, interval_start, kwh_true — what each registry
  meter truly measured while in service (drift and other observation faults excluded).
- `faults`: fault_id (type:meter:start), fault_type, meter_id, equipment_id (null for non-
  equipment meters), start_ts, end_ts (start < end; per-type meaning in faults.py), details
  (JSON).
- `planned_stops`: line_id, start_ts, end_ts of the planned maintenance stops (ISO strings).

Files written by write_simulation under <home>
----------------------------------------------
- `landing/<kind>/...`: via `LandingZone.write`, batch ids `sim-<config fingerprint>-<kind>`;
  readings in three batches: `...-readings` (on time), `...-readings-late` (received > 1 day
  after ts), `...-readings-resend` (second and later copies of a raw_id). Re-writing the same run
  is a no-op.
- `ground_truth/equipment_interval.parquet`, `ground_truth/meter_interval.parquet`,
  `ground_truth/faults.parquet`: the truth frames above.
- `ground_truth/plant.json`: seed, start_date, days, faults (every switch), faults_on, site_id,
  timezone, batch_prefix, meter and equipment counts, planned_stops.
- `planning/settings.json`, `planning/materials.csv`: the planner's shift calendar, bounds,
  time-of-use tariff and material options (written only when absent).

Modules
-------
config (PlantConfig, FaultConfig), randomness (named seeded streams), timeline (15-minute grid,
local calendar, shifts), plant (site, lines, equipment, meter tree), production (batches and
running flags), physics (true energy), meters (truth per meter, register readings), faults
(plan, apply, log), bills, factors, planning (order book, planning files), engine (simulate),
writer (write_simulation).
"""

from ingestion.simulator.config import FaultConfig, PlantConfig
from ingestion.simulator.engine import Simulation, simulate
from ingestion.simulator.writer import write_simulation

__all__ = ["FaultConfig", "PlantConfig", "Simulation", "simulate", "write_simulation"]

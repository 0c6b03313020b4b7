"""One simulation run, end to end: schedule → true energy → meter truth → readings → faults,
bills and factors. Pure: returns frames, writes nothing (see writer.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from ingestion.simulator.bills import build_bills
from ingestion.simulator.config import PlantConfig
from ingestion.simulator.factors import annual_factor_per_interval, build_factors
from ingestion.simulator.faults import (
    apply_to_readings,
    faults_frame,
    log_rollover,
    plan_faults,
    rollover_start_counts,
)
from ingestion.simulator.meters import Observation, finalize, meter_truth, observe, truth_frame
from ingestion.simulator.physics import equipment_truth
from ingestion.simulator.planning import build_orders
from ingestion.simulator.plant import (
    EQUIPMENT,
    METERS,
    SITE_ID,
    TIMEZONE,
    equipment_frame,
    meters_frame,
    sites_frame,
)
from ingestion.simulator.production import build_schedule
from ingestion.simulator.timeline import Timeline


@dataclass(frozen=True)
class Simulation:
    """Everything one run produced. The first seven frames are observed data in the landing
    schemas; `truth_*` and `faults` are the ground truth the platform is judged against."""

    config: PlantConfig
    sites: pl.DataFrame
    meters: pl.DataFrame
    equipment: pl.DataFrame
    readings: pl.DataFrame
    bills: pl.DataFrame
    production: pl.DataFrame
    factors: pl.DataFrame
    truth_equipment_interval: pl.DataFrame
    faults: pl.DataFrame
    truth_meter_interval: pl.DataFrame
    planned_stops: list[dict] = field(default_factory=list)
    # the order book as of the run's end (planning.py); None for a Simulation built by hand
    orders: pl.DataFrame | None = None

    def observed(self) -> dict[str, pl.DataFrame]:
        """The landing kinds, in the order they should land."""
        return {
            "sites": self.sites, "meters": self.meters, "equipment": self.equipment,
            "factors": self.factors, "production": self.production, "bills": self.bills,
            "readings": self.readings,
            **({"orders": self.orders} if self.orders is not None else {}),
        }


def simulate(config: PlantConfig | None = None) -> Simulation:
    config = config or PlantConfig()
    seed = config.seed
    tl = Timeline.build(config.start_date, config.days, TIMEZONE)
    schedule = build_schedule(tl, seed)
    plan = plan_faults(config.faults, tl, seed, schedule.batches)
    rises = [*([plan.cycling] if plan.cycling else []), *plan.excess]
    equipment_kwh = equipment_truth(tl, schedule.running, seed, rises)

    logical = [m.meter_id for m in METERS]
    row = {mid: i for i, mid in enumerate(logical)}
    meter_kwh = meter_truth(equipment_kwh, logical)

    registry, observations = list(METERS), []
    service, windows, supply_override = {}, {}, {}
    for m in METERS:
        obs = Observation(m, m.meter_id, drift=plan.drift.get(m.meter_id))
        if plan.rollover and plan.rollover[0] == m.meter_id:
            start = rollover_start_counts(m, meter_kwh[row[m.meter_id]], plan.rollover[1])
            obs = replace(obs, start_counts=start)
            log_rollover(plan, tl, m, start)
        rep = plan.replacement
        if rep and rep.old_meter_id == m.meter_id:
            # The old meter's final reading is at T; the new one reads 0 at T and counts on.
            obs = replace(obs, k_to=rep.k)
            observations.append(Observation(rep.new_meter, m.meter_id, k_from=rep.k,
                                            start_counts=0))
            registry.append(rep.new_meter)
            service[m.meter_id] = (None, tl.at(rep.k))
            service[rep.new_meter.meter_id] = (tl.at(rep.k), None)
            windows[m.meter_id] = (0, rep.k)
            windows[rep.new_meter.meter_id] = (rep.k, tl.n)
            # The equipment registry is a snapshot "as of now": supplied by the new meter.
            supply_override[m.meter_id] = rep.new_meter.meter_id
        observations.append(obs)

    readings = pl.concat([
        observe(o, meter_kwh[row[o.source_meter_id]], tl, seed) for o in observations
    ])
    readings = apply_to_readings(readings, plan, tl, seed)
    readings = finalize(readings, {m.meter_id: m.gateway for m in registry})

    source_of = {o.meter.meter_id: o.source_meter_id for o in observations}
    truth_rows = np.stack([meter_kwh[row[source_of[m.meter_id]]] for m in registry])
    truth_meters = truth_frame([m.meter_id for m in registry], truth_rows, windows, tl)

    return Simulation(
        config=config,
        sites=sites_frame(),
        meters=meters_frame(registry, service),
        equipment=equipment_frame(supply_override),
        readings=readings,
        bills=build_bills(meter_kwh[row["M-UTIL"]], tl),
        production=schedule.batches,
        factors=build_factors(tl, seed),
        truth_equipment_interval=_truth_equipment(equipment_kwh, tl),
        faults=faults_frame(plan),
        truth_meter_interval=truth_meters,
        planned_stops=schedule.planned_stops,
        orders=build_orders(tl, seed),
    )


def _truth_equipment(kwh: np.ndarray, tl: Timeline) -> pl.DataFrame:
    factor = annual_factor_per_interval(tl)
    n_eq = len(EQUIPMENT)
    return pl.DataFrame({
        "site_id": pl.Series([SITE_ID] * (n_eq * tl.n), dtype=pl.String),
        "equipment_id": pl.Series(
            np.repeat([e.equipment_id for e in EQUIPMENT], tl.n), dtype=pl.String),
        "interval_start": pl.concat([tl.starts()] * n_eq),
        "kwh_true": kwh.reshape(-1),
        "kgco2e_true": (kwh * factor).reshape(-1),
    })

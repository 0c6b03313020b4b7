"""Mart-shaped frames from the plant simulator, for the evaluations and the tests.

The evaluations feed the library the simulator's GROUND TRUTH renamed to the marts' columns
(truth_equipment_interval.kwh_true → fct_energy_interval.kwh, …), not a warehouse built from the
simulated meters: it isolates forecasting error from metering and reconciliation error. The lead
feeds the same functions from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from ingestion.simulator import FaultConfig, PlantConfig, simulate
from ingestion.simulator.physics import outdoor_temperature
from ingestion.simulator.plant import TIMEZONE
from ingestion.simulator.timeline import Timeline


@dataclass(frozen=True)
class Marts:
    site_id: str
    timezone: str
    energy: pl.DataFrame  # fct_energy_interval: site_id, equipment_id, interval_start_utc, kwh
    emissions: pl.DataFrame  # fct_emissions_interval (annual location factor, as the marts)
    equipment: pl.DataFrame  # dim_equipment
    production: pl.DataFrame  # stg_landing__production (start_utc, end_utc)
    factors: pl.DataFrame  # stg_landing__factors (valid_from_utc, value, unit, ...)
    weather: pl.DataFrame  # ts_utc, temp_c (the simulator's outdoor temperature)
    faults: pl.DataFrame


def _naive(frame: pl.DataFrame, renames: dict[str, str]) -> pl.DataFrame:
    out = frame.rename({k: v for k, v in renames.items() if k in frame.columns})
    return out.with_columns(
        pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for c, t in out.schema.items() if isinstance(t, pl.Datetime) and t.time_zone)


def simulated_marts(days: int = 120, seed: int = 7, start: date = date(2026, 1, 5),
                    faults: FaultConfig | None = None) -> Marts:
    sim = simulate(PlantConfig(seed=seed, start_date=start, days=days,
                               faults=faults or FaultConfig()))
    truth = _naive(sim.truth_equipment_interval, {"interval_start": "interval_start_utc"})
    energy = truth.select("site_id", "equipment_id", "interval_start_utc",
                          pl.col("kwh_true").alias("kwh"))
    emissions = truth.select("site_id", "equipment_id", "interval_start_utc",
                             pl.lit("location").alias("method"),
                             pl.col("kwh_true").alias("kwh"),
                             pl.col("kgco2e_true").alias("kg_co2e"))
    tl = Timeline.build(start, days, TIMEZONE)
    weather = pl.DataFrame({"ts_utc": tl.starts(),
                            "temp_c": outdoor_temperature(tl, seed)})
    return Marts(
        site_id=str(sim.sites["site_id"][0]),
        timezone=TIMEZONE,
        energy=energy,
        emissions=emissions,
        equipment=sim.equipment,
        production=_naive(sim.production, {"start_ts": "start_utc", "end_ts": "end_utc"}),
        factors=_naive(sim.factors, {"valid_from": "valid_from_utc", "valid_to": "valid_to_utc",
                                     "published_at": "published_at_utc"}),
        weather=_naive(weather, {}),
        faults=_naive(sim.faults, {"start_ts": "start_utc", "end_ts": "end_utc"}),
    )

"""Fuel meters of the simulated plant, for Scope 1: the boiler house's natural-gas meter and the
standby diesel generator's meter, with their ground truth. Pure: returns frames.

Landed only when asked for (`write_simulation(sim, home, fuel=True)`,
`wattprint simulate --fuel`): the default plant stays exactly what every electricity test and
benchmark was written against. Fuel draws come from their own random stream, so they never
shift an electricity number either way.

What the meters see:
- M-GAS-BOILER, counter in m3 (resolution 0.001 m3, wraps at 1 000 000): the boiler keeps
  1.5 m3/h of standby firing all day and adds 6 m3/h of process hot water from 07:00 to 22:00
  local on weekdays; December to February it fires 30 % more (space heating). Each interval
  varies ±5 % around that.
- M-DIESEL-GENSET, interval register in litres (resolution 0.1 l): the generator's weekly
  test run, Mondays 10:00–10:30 local at 60 l/h (15 l per interval), nothing otherwise.

Factors (method fuel, region TW): IPCC 2006 Guidelines Vol. 2 ch. 2 default emission factors
for stationary combustion in manufacturing (Table 2.3: natural gas 56 100 kg CO2, 1 kg CH4,
0.1 kg N2O per TJ; gas/diesel oil 74 100, 3, 0.6 kg per TJ) times net calorific values of
36.4 MJ/m3 for natural gas and 43.0 TJ/Gg × 0.84 kg/l = 36.12 MJ/l for diesel.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from ingestion.landing.schemas import conform
from ingestion.simulator.plant import GRID_REGION, SITE_ID
from ingestion.simulator.randomness import rng
from ingestion.simulator.timeline import Timeline

GAS_METER = "M-GAS-BOILER"
GENSET_METER = "M-DIESEL-GENSET"
GAS_ROLLOVER_M3 = 1_000_000.0
GAS_START_M3 = 283_415.0
GATEWAY = "gw-utilities-fuel"

# kg of the gas per base unit of fuel (m3 of natural gas, l of diesel): IPCC 2006 defaults × NCV
_GAS_TJ_PER_M3 = 36.4e-6
_DIESEL_TJ_PER_L = 36.12e-6
FACTORS: dict[str, dict[str, tuple[float, str]]] = {
    "natural_gas": {
        "CO2": (56_100 * _GAS_TJ_PER_M3, "kgCO2/m3"),
        "CH4": (1.0 * _GAS_TJ_PER_M3, "kgCH4/m3"),
        "N2O": (0.1 * _GAS_TJ_PER_M3, "kgN2O/m3"),
    },
    "diesel": {
        "CO2": (74_100 * _DIESEL_TJ_PER_L, "kgCO2/l"),
        "CH4": (3.0 * _DIESEL_TJ_PER_L, "kgCH4/l"),
        "N2O": (0.6 * _DIESEL_TJ_PER_L, "kgN2O/l"),
    },
}
AR5 = {"CO2": 1.0, "CH4": 28.0, "N2O": 265.0}


def true_quantities(tl: Timeline, seed: int) -> dict[str, np.ndarray]:
    """True m3 of gas and litres of diesel burnt per interval."""
    hour, weekday, month = tl.local_hour, tl.local_weekday, tl.local_month
    process = (weekday <= 5) & (hour >= 7) & (hour < 22)
    heating = np.isin(month, (12, 1, 2))
    gas_per_hour = (1.5 + 6.0 * process) * np.where(heating, 1.3, 1.0)
    noise = rng(seed, "fuel").normal(1.0, 0.05 / 3, tl.n).clip(0.95, 1.05)
    gas = gas_per_hour / 4 * noise
    test_run = (weekday == 1) & (hour >= 10) & (hour < 10.5)
    diesel = np.where(test_run, 15.0, 0.0)
    return {GAS_METER: gas, GENSET_METER: diesel}


def meters_frame(tl: Timeline) -> pl.DataFrame:
    installed = tl.start_utc - timedelta(days=365)
    return conform(
        "meters",
        pl.DataFrame(
            {
                "meter_id": [GAS_METER, GENSET_METER],
                "site_id": [SITE_ID, SITE_ID],
                "parent_meter_id": [None, None],
                "meter_kind": ["sub", "sub"],
                "measures_kind": ["site", "site"],
                "measures_id": [SITE_ID, SITE_ID],
                "register": ["counter", "interval"],
                "unit": ["m3", "l"],
                "multiplier": [1.0, 1.0],
                "rollover_value": [GAS_ROLLOVER_M3, None],
                "interval_minutes": [15, 15],
                "installed_at": [installed, installed],
                "energy_carrier": ["natural_gas", "diesel"],
            }
        ),
    )


def readings_frame(tl: Timeline, quantities: dict[str, np.ndarray]) -> pl.DataFrame:
    """The gas counter at every boundary (n + 1 readings), the generator's litres per interval."""
    counter = np.round(
        (GAS_START_M3 + np.concatenate([[0.0], np.cumsum(quantities[GAS_METER])]))
        % GAS_ROLLOVER_M3,
        3,
    )
    gas = pl.DataFrame(
        {"meter_id": GAS_METER, "ts": tl.boundaries(), "value": counter, "unit": "m3"}
    )
    litres = np.round(quantities[GENSET_METER], 1)
    diesel = pl.DataFrame(
        {"meter_id": GENSET_METER, "ts": tl.starts(), "value": litres, "unit": "l"}
    )
    frame = pl.concat([gas, diesel])
    return conform(
        "readings",
        frame.with_columns(
            (pl.col("meter_id") + "|" + pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%:z")).alias(
                "raw_id"
            ),
            pl.lit(SITE_ID).alias("site_id"),
            pl.lit("good").alias("quality"),
            pl.lit(f"sim://{SITE_ID}/{GATEWAY}").alias("source"),
            # an interval register reports when its interval has ended
            (
                pl.col("ts")
                + pl.when(pl.col("meter_id") == GENSET_METER)
                .then(pl.duration(minutes=15))
                .otherwise(pl.duration(minutes=0))
                + pl.duration(seconds=20)
            ).alias("received_at"),
        ),
    )


def factors_frame(tl: Timeline) -> pl.DataFrame:
    years = sorted({int(y) for y in tl.local_year})
    rows = []
    for year in years:
        valid_from = datetime(year, 1, 1, tzinfo=UTC)
        valid_to = datetime(year + 1, 1, 1, tzinfo=UTC)
        for carrier, gases in FACTORS.items():
            for gas, (value, unit) in gases.items():
                rows.append(
                    {
                        "factor_id": f"SIM-IPCC2006-{carrier}/{gas.lower()}",
                        "version": "2006",
                        "method": "fuel",
                        "region": GRID_REGION,
                        "energy_carrier": carrier,
                        "granularity": "annual",
                        "valid_from": valid_from,
                        "valid_to": valid_to,
                        "value": value,
                        "unit": unit,
                        "gas": gas,
                        "gwp_set": None,
                        "source_document": "IPCC 2006 GL Vol. 2 ch. 2 Table 2.3 defaults x NCV "
                        "(simulated plant)",
                        "published_at": datetime(2006, 4, 1, tzinfo=UTC),
                    }
                )
    return conform("factors", pl.DataFrame(rows))


def truth_frame(tl: Timeline, quantities: dict[str, np.ndarray]) -> pl.DataFrame:
    """True fuel and kg CO2e (AR5) per fuel meter per interval."""
    parts = []
    for meter, carrier, unit in (
        (GAS_METER, "natural_gas", "m3"),
        (GENSET_METER, "diesel", "l"),
    ):
        per_unit = sum(FACTORS[carrier][gas][0] * AR5[gas] for gas in AR5)
        parts.append(
            pl.DataFrame(
                {
                    "site_id": SITE_ID,
                    "meter_id": meter,
                    "energy_carrier": carrier,
                    "interval_start": tl.starts(),
                    "quantity_true": quantities[meter],
                    "unit": unit,
                    "kgco2e_true": quantities[meter] * per_unit,
                }
            )
        )
    return pl.concat(parts)


def build_fuel(tl: Timeline, seed: int) -> dict[str, pl.DataFrame]:
    """The fuel meters' landing frames (meters, readings, factors) and their ground truth."""
    quantities = true_quantities(tl, seed)
    return {
        "meters": meters_frame(tl),
        "readings": readings_frame(tl, quantities),
        "factors": factors_frame(tl),
        "truth": truth_frame(tl, quantities),
    }

"""Utility bills: one per site-local calendar month that overlaps the run.

CLIPPED to the simulated range: a run from 5 January gets a January bill for 5-31 January
(period_start 2026-01-05), and the last bill ends on the run's last local day, because energy
outside the run does not exist here and a bill must reconcile against the meters. Real bills
cover whole billing cycles; the reconciliation compares like with like by period.

kwh = true site energy (what the revenue meter M-UTIL measures, transformer losses included)
rounded to 1 kWh. cost = energy charge on a simulated Taipower-style three-stage time-of-use
tariff + the monthly capacity (basic) charge on the contract capacity, pro rata for clipped
months, rounded to 1 TWD.
"""

from __future__ import annotations

import calendar

import numpy as np
import polars as pl

from ingestion.landing.schemas import conform
from ingestion.simulator.plant import SITE_ID
from ingestion.simulator.timeline import Timeline

SUPPLIER = "Taipower"
CONTRACT_ID = "TPC-HSC-0347-2291"
TARIFF = "High-voltage three-stage TOU (simulated Taipower schedule)"
CURRENCY = "TWD"
CONTRACT_KW = 650.0
# TWD/kWh by season and period; summer = June-September.
RATES = {
    True: {"peak": 9.39, "mid": 5.85, "off": 2.53},
    False: {"peak": 8.69, "mid": 5.47, "off": 2.32},
}
CAPACITY_TWD_PER_KW_MONTH = {True: 236.2, False: 173.2}


def tou_rate(timeline: Timeline) -> np.ndarray:
    """TWD/kWh for each interval: weekdays peak 16-22, mid 09-16 and 22-24, off 00-09;
    Saturdays mid 09-24; Sundays off-peak all day."""
    hour = timeline.local_hour
    weekday = timeline.local_weekday
    summer = (timeline.local_month >= 6) & (timeline.local_month <= 9)
    period = np.full(timeline.n, "off", dtype=object)
    workday = weekday <= 5
    period[workday & (hour >= 9)] = "mid"
    period[workday & (hour >= 16) & (hour < 22)] = "peak"
    period[(weekday == 6) & (hour >= 9)] = "mid"
    rate = np.empty(timeline.n)
    for season in (True, False):
        for name, value in RATES[season].items():
            rate[(summer == season) & (period == name)] = value
    return rate


def build_bills(site_kwh: np.ndarray, timeline: Timeline) -> pl.DataFrame:
    frame = pl.DataFrame({
        "local_date": timeline.local_date,
        "kwh": site_kwh,
        "charge": site_kwh * tou_rate(timeline),
    }).with_columns(
        pl.col("local_date").dt.year().alias("year"), pl.col("local_date").dt.month().alias("month")
    )
    months = frame.group_by("year", "month").agg(
        pl.col("local_date").min().alias("period_start"),
        pl.col("local_date").max().alias("period_end"),
        pl.col("kwh").sum(),
        pl.col("charge").sum(),
        pl.col("local_date").n_unique().alias("days"),
    ).sort("year", "month")
    rows = []
    for m in months.iter_rows(named=True):
        summer = 6 <= m["month"] <= 9
        month_days = calendar.monthrange(m["year"], m["month"])[1]
        capacity = CONTRACT_KW * CAPACITY_TWD_PER_KW_MONTH[summer] * m["days"] / month_days
        rows.append({
            "bill_id": f"{CONTRACT_ID}-{m['year']}{m['month']:02d}",
            "site_id": SITE_ID,
            "period_start": m["period_start"],
            "period_end": m["period_end"],
            "kwh": float(round(m["kwh"])),
            "cost": float(round(m["charge"] + capacity)),
            "currency": CURRENCY,
            "tariff": TARIFF,
            "supplier": SUPPLIER,
            "contract_id": CONTRACT_ID,
        })
    return conform("bills", pl.DataFrame(rows))

"""Accuracy of the accounting against ground truth (the simulator's true energy and emissions).

The targets are the foundation's acceptance figures: per equipment and site-local day, metered
equipment within 0.5 % of the true kWh, unmetered (allocated) equipment within 5 %; the site's
total kgCO2e within 0.1 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

METERED_TOLERANCE = 0.005
UNMETERED_TOLERANCE = 0.05
SITE_EMISSIONS_TOLERANCE = 0.001
# Below this true energy a relative error says more about noise than about the method
# (an idle conveyor at 0.3 kWh a day); such equipment-days are compared but not counted.
MIN_KWH_FOR_RELATIVE_ERROR = 1.0


@dataclass(frozen=True)
class GroupAccuracy:
    label: str
    equipment_days: int
    within_tolerance: int
    tolerance: float
    max_abs_error: float
    mean_abs_error: float

    @property
    def passed(self) -> bool:
        return self.equipment_days > 0 and self.within_tolerance == self.equipment_days


@dataclass(frozen=True)
class AccuracyReport:
    metered: GroupAccuracy
    unmetered: GroupAccuracy
    site_kg_co2e: float
    site_kg_co2e_true: float
    site_kwh: float
    site_kwh_true: float
    per_equipment_day: pl.DataFrame

    @property
    def site_emissions_error(self) -> float:
        return (self.site_kg_co2e - self.site_kg_co2e_true) / self.site_kg_co2e_true

    @property
    def passed(self) -> bool:
        return (
            self.metered.passed
            and self.unmetered.passed
            and abs(self.site_emissions_error) <= SITE_EMISSIONS_TOLERANCE
        )


def truth_per_local_day(truth: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Sum the simulator's interval truth to site-local days."""
    return (
        truth.with_columns(
            pl.col("interval_start").dt.replace_time_zone("UTC", non_existent="raise")
            if truth.schema["interval_start"] == pl.Datetime("us")
            else pl.col("interval_start")
        )
        .with_columns(
            pl.col("interval_start").dt.convert_time_zone(timezone).dt.date().alias("local_date")
        )
        .group_by("site_id", "equipment_id", "local_date")
        .agg(pl.sum("kwh_true"), pl.sum("kgco2e_true"))
    )


def _group(frame: pl.DataFrame, label: str, tolerance: float) -> GroupAccuracy:
    scored = frame.filter(pl.col("kwh_true") >= MIN_KWH_FOR_RELATIVE_ERROR)
    errors = scored["relative_error"].abs()
    return GroupAccuracy(
        label=label,
        equipment_days=scored.height,
        within_tolerance=int((errors <= tolerance).sum()),
        tolerance=tolerance,
        max_abs_error=float(errors.max() or 0.0),
        mean_abs_error=float(errors.mean() or 0.0),
    )


def compare_with_truth(
    estimated_daily: pl.DataFrame, truth_daily: pl.DataFrame, equipment: pl.DataFrame
) -> AccuracyReport:
    """Compare per equipment and local day.

    estimated_daily: site_id, equipment_id, local_date, kwh, kg_co2e (from the marts)
    truth_daily: site_id, equipment_id, local_date, kwh_true, kgco2e_true
    equipment: equipment_id, is_metered
    Days present in only one side count as zero on the other, so a missing day is an error,
    not a silent omission.
    """
    joined = (
        truth_daily.join(
            estimated_daily, on=["site_id", "equipment_id", "local_date"], how="full", coalesce=True
        )
        .with_columns(pl.col("kwh", "kg_co2e", "kwh_true", "kgco2e_true").fill_null(0.0))
        .join(equipment.select("equipment_id", "is_metered"), on="equipment_id", how="left")
        .with_columns(
            pl.col("is_metered").fill_null(False),
            ((pl.col("kwh") - pl.col("kwh_true")) / pl.col("kwh_true")).alias("relative_error"),
        )
        .sort("site_id", "equipment_id", "local_date")
    )
    return AccuracyReport(
        metered=_group(joined.filter(pl.col("is_metered")), "metered equipment", METERED_TOLERANCE),
        unmetered=_group(
            joined.filter(~pl.col("is_metered")), "unmetered equipment", UNMETERED_TOLERANCE
        ),
        site_kg_co2e=float(joined["kg_co2e"].sum()),
        site_kg_co2e_true=float(joined["kgco2e_true"].sum()),
        site_kwh=float(joined["kwh"].sum()),
        site_kwh_true=float(joined["kwh_true"].sum()),
        per_equipment_day=joined,
    )

"""`wattprint validate`: the warehouse against the simulator's ground truth."""

from __future__ import annotations

import duckdb
import polars as pl

from orchestration.cli.tables import render
from orchestration.settings import Settings
from quality.accuracy import (
    SITE_EMISSIONS_TOLERANCE,
    AccuracyReport,
    compare_with_truth,
    truth_per_local_day,
)


class MissingInput(RuntimeError):
    """Something validate needs is not there; the message says what to run first."""


def load_report(settings: Settings) -> AccuracyReport:
    truth_file = settings.ground_truth_dir / "equipment_interval.parquet"
    if not truth_file.exists():
        raise MissingInput(
            f"no ground truth at {truth_file}: validate compares against the simulator's truth, "
            "so run `wattprint simulate` (or `wattprint demo`) first"
        )
    if not settings.warehouse_path.exists():
        raise MissingInput(f"no warehouse at {settings.warehouse_path}: run `wattprint run` first")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        estimated = con.sql(
            "select site_id, equipment_id, site_local_date as local_date, kwh, kg_co2e "
            "from marts.fct_emissions_daily where method = 'location'"
        ).pl()
        equipment = con.sql(
            "select equipment_id, is_metered from staging.stg_landing__equipment"
        ).pl()
        timezone = con.execute(
            "select any_value(timezone) from staging.stg_landing__sites"
        ).fetchone()[0]
    truth = truth_per_local_day(pl.read_parquet(truth_file), timezone)
    # Compare only the days the warehouse has processed: validate answers "are the figures we
    # have right", not "have we processed everything" (the completeness check says that).
    days = estimated.select("local_date").unique()
    truth = truth.join(days, on="local_date", how="semi")
    return compare_with_truth(estimated, truth, equipment)


def render_report(report: AccuracyReport) -> str:
    groups = [report.metered, report.unmetered]
    rows = [
        (
            g.label,
            g.equipment_days,
            f"≤ {g.tolerance:.1%}",
            100 * g.within_tolerance / max(g.equipment_days, 1),
            100 * g.max_abs_error,
            100 * g.mean_abs_error,
            "PASS" if g.passed else "FAIL",
        )
        for g in groups
    ]
    site_error = report.site_emissions_error
    rows.append(
        (
            "site kgCO2e (all days)",
            1,
            f"≤ {SITE_EMISSIONS_TOLERANCE:.1%}",
            100.0 if abs(site_error) <= SITE_EMISSIONS_TOLERANCE else 0.0,
            100 * abs(site_error),
            100 * abs(site_error),
            "PASS" if abs(site_error) <= SITE_EMISSIONS_TOLERANCE else "FAIL",
        )
    )
    table = render(
        "Accuracy against ground truth (per equipment and site-local day)",
        ["what", "count", "target", "% within", "max |err| %", "mean |err| %", "result"],
        rows,
        [None, ",d", None, ".1f", ".3f", ".3f", None],
        note=(
            f"site: {report.site_kg_co2e:,.1f} kgCO2e computed vs {report.site_kg_co2e_true:,.1f} "
            f"true; {report.site_kwh:,.1f} kWh vs {report.site_kwh_true:,.1f} true."
        ),
    )
    return table

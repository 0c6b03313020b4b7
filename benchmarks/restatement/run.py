"""Restatement benchmark: from dropping a factor file to restated marts, 90 days of two
simulated sites (70 meters), with the number of partitions re-run.

    .venv/bin/python benchmarks/restatement/run.py              # 90 days, two sites
    .venv/bin/python benchmarks/restatement/run.py --days 14    # a quick check

1. Two copies of the simulated plant (35 meters each; the second one's ids prefixed) land 90
   site-local days from 1 January 2026; both report with a monthly grid factor (v2026.1).
2. Baseline, measured in the same run: one Dagster run of the whole pipeline over every day —
   what a factor file covering those days cost before the factor sensor (the landing sensor
   re-ran every day inside the file's validity windows, energy and all).
3. The quarterly update lands: v2026.2 republishes the year, only one month differs (the month
   of the run's middle day: February for 90 days from 1 January). Timed from
   the file landing to the restated marts: the factor sensor's tick (which windows changed,
   which days have figures) and the `factor_restatement` run it requests.
4. Checks: the partitions materialized are exactly that month's days, and its restated
   emissions equal kWh × the new factor (printed, not asserted: benchmarks print).

Timings vary on a shared machine; the ratio to the baseline measured in the same run is the
figure to compare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
import duckdb  # noqa: E402
import polars as pl  # noqa: E402

V1 = [0.501, 0.498, 0.497, 0.489, 0.486, 0.488, 0.495, 0.499, 0.496, 0.492, 0.494, 0.500]
HEADER = (
    "factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,"
    "unit,gas,gwp_set,source_document,published_at"
)


def revised(month: int) -> list[float]:
    """v2026.2: v2026.1 with one month's value raised by 0.012 kg/kWh."""
    return [v + 0.012 if i == month - 1 else v for i, v in enumerate(V1)]


def monthly_csv(version: str, values: list[float], published: str) -> str:
    rows = [HEADER]
    for month, value in enumerate(values, start=1):
        start = f"2026-{month:02d}-01T00:00:00+08:00"
        end = (
            "2027-01-01T00:00:00+08:00"
            if month == 12
            else f"2026-{month + 1:02d}-01T00:00:00+08:00"
        )
        rows.append(
            f"TW-GRID-MONTHLY,{version},location,TW,electricity,monthly,{start},{end},{value},"
            f"kgCO2e/kWh,CO2e,,Grid factors {version},{published}"
        )
    return "\n".join(rows) + "\n"


def second_site(sim, prefix: str = "B-"):
    """The simulated plant again as another site: every id prefixed, the same physics."""
    import dataclasses

    site = "TW-HSINCHU-02"

    def ids(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
        return frame.with_columns(
            [
                pl.when(pl.col(c).is_not_null()).then(pl.lit(prefix) + pl.col(c)).alias(c)
                for c in columns
                if c in frame.columns
            ]
        )

    meters = ids(sim.meters, ["meter_id", "parent_meter_id"]).with_columns(
        pl.when(pl.col("measures_kind") == "equipment")
        .then(pl.lit(prefix) + pl.col("measures_id"))
        .when(pl.col("measures_kind") == "site")
        .then(pl.lit(site))
        .otherwise(pl.col("measures_id"))
        .alias("measures_id")
    )
    return dataclasses.replace(
        sim,
        sites=sim.sites.with_columns(pl.lit(site).alias("site_id")),
        meters=meters.with_columns(pl.lit(site).alias("site_id")),
        equipment=ids(sim.equipment, ["equipment_id", "supply_meter_id"]).with_columns(
            pl.lit(site).alias("site_id")
        ),
        readings=ids(sim.readings, ["raw_id", "meter_id"]).with_columns(
            pl.lit(site).alias("site_id")
        ),
        bills=ids(sim.bills, ["bill_id"]).with_columns(pl.lit(site).alias("site_id")),
        production=ids(sim.production, ["batch_id"]).with_columns(pl.lit(site).alias("site_id")),
    )


def land_plant(home: Path, days: int, start: date) -> int:
    from ingestion.landing import LandingZone
    from ingestion.simulator import PlantConfig, simulate

    sim = simulate(PlantConfig(seed=7, start_date=start, days=days))
    zone = LandingZone(home)
    meters = 0
    for plant in (sim, second_site(sim)):
        for kind in ("sites", "meters", "equipment", "readings", "bills", "production"):
            frame = getattr(plant, kind)
            if kind == "sites":
                frame = frame.with_columns(pl.lit("monthly").alias("location_factor_granularity"))
            zone.write(kind, frame)
        meters += plant.meters.height
    zone.write("factors", sim.factors)
    return meters


def run_job(job_name: str, tags: dict[str, str]) -> tuple[float, dict[str, set]]:
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    started = perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=tags,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
        elapsed = perf_counter() - started
        if not result.success:
            raise SystemExit(f"{job_name} run failed")
        records = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100_000
        ).records
    partitions: dict[str, set] = {}
    for record in records:
        m = record.event_log_entry.asset_materialization
        partitions.setdefault(m.asset_key.to_user_string(), set()).add(m.partition)
    return elapsed, partitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--home", type=Path, help="keep the home here (default: a temp dir)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="wattprint-restatement-"))

    from orchestration.settings import configure

    settings = configure(home=home, timezone="Asia/Taipei", partition_start="2025-01-01")
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    (settings.dagster_home / "dagster.yaml").touch()
    from ingestion.factors import land_factor_file
    from orchestration.defs.factors.sensors import plan_factor_runs
    from orchestration.pipeline import RANGE_END_TAG, RANGE_START_TAG

    start = date(2026, 1, 1)
    last = date.fromordinal(start.toordinal() + args.days - 1)
    t = perf_counter()
    meters = land_plant(home, args.days, start)
    (home / "v1.csv").write_text(monthly_csv("2026.1", V1, "2025-12-20T00:00:00Z"))
    land_factor_file(home, home / "v1.csv")
    print(
        f"home {home}: {args.days} days × {meters} meters (2 sites) landed in "
        f"{perf_counter() - t:.1f} s"
    )
    cursor = plan_factor_runs(0).cursor  # the sensor has seen the factors landed so far

    baseline, baseline_partitions = run_job(
        "wattprint_pipeline", {RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: last.isoformat()}
    )
    print(
        f"baseline: whole pipeline over {len(baseline_partitions['marts/fct_emissions_interval'])} "
        f"partitions (every day the factor file covers): {baseline:.1f} s"
    )

    month = date.fromordinal(start.toordinal() + args.days // 2).month
    v2 = revised(month)
    (home / "v2.csv").write_text(monthly_csv("2026.2", v2, "2026-04-15T00:00:00Z"))
    t0 = perf_counter()
    land_factor_file(home, home / "v2.csv")
    landed = perf_counter() - t0
    t1 = perf_counter()
    plan = plan_factor_runs(cursor)
    sensed = perf_counter() - t1
    run_seconds, partitions = 0.0, {}
    for request in plan.requests:
        elapsed, done = run_job(
            request.job_name, {**request.tags, "dagster/run_key": request.run_key}
        )
        run_seconds += elapsed
        for key, values in done.items():
            partitions.setdefault(key, set()).update(values)
    total = perf_counter() - t0
    rerun = sorted(p for p in partitions.get("marts/fct_emissions_interval", set()) if p)
    print(
        f"factor update (2026-{month:02d} revised): landed in {landed:.2f} s, "
        f"sensor tick {sensed:.2f} s, "
        f"{len(plan.requests)} run(s) {run_seconds:.1f} s; file dropped → restated marts "
        f"{total:.1f} s"
    )
    print(
        f"partitions re-run: {len(rerun)} ({rerun[0] if rerun else '—'} … "
        f"{rerun[-1] if rerun else '—'}); energy models re-run: "
        f"{'yes' if 'marts/fct_energy_interval' in partitions else 'no'}"
    )
    print(f"ratio to the baseline: {total / baseline:.2f} (baseline {baseline:.1f} s)")

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        diff = con.execute(
            "select max(abs(kg_co2e - kwh * ?)), count(*) from marts.fct_emissions_interval "
            "where month(interval_start_utc + interval 8 hour) = ?",
            [v2[month - 1], month],
        ).fetchall()[0]
    print(
        f"2026-{month:02d} rows restated to kWh × {v2[month - 1]:.3f}: {diff[1]:,} rows, "
        f"max |difference| {float(diff[0] or 0):.2e} kg"
    )


if __name__ == "__main__":
    main()

"""Publishing benchmark: how long the read-only snapshot of the marts takes at plant scale.

A synthetic warehouse shaped like the marts of one plant (`--equipment` equipment, 15-minute
intervals, `--days` days): fct_energy_interval and fct_emissions_interval at interval grain,
fct_emissions_daily at day grain, plus staging data that is NOT published. Then, in the same
run:

- baseline: a plain file copy of the whole warehouse (`shutil.copyfile`), the least a snapshot
  could cost if it copied everything;
- `publish`: the marts only, as tables, with meta.publication, fsync and the atomic rename.

    .venv/bin/python benchmarks/publish/run.py                      # 50 equipment, 365 days
    .venv/bin/python benchmarks/publish/run.py --equipment 50 --days 90

It prints rows, file sizes, both times and their ratio. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from orchestration.publishing.snapshot import publish, published_path  # noqa: E402


def build_warehouse(path: Path, equipment: int, days: int) -> int:
    intervals = days * 96
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema staging")
        con.execute(
            f"""
            create table marts.fct_energy_interval as
            select 'SITE-1' as site_id, 'EQ-' || e as equipment_id,
                   timestamp '2026-01-01' + to_minutes(15 * i) as interval_start_utc,
                   (random() * 10)::decimal(38,12) as kwh,
                   (random() * 10)::decimal(38,12) as kwh_bottom_up,
                   'measured' as how_obtained, 'BILL-1' as bill_id,
                   1.05::double as reconciliation_factor, 'M-' || e as source_meter_id
            from range({equipment}) as t(e), range({intervals}) as u(i)
            """
        )
        con.execute(
            """
            create table marts.fct_emissions_interval as
            select site_id, equipment_id, interval_start_utc, 'location' as method, kwh,
                   (kwh * 0.494)::decimal(38,12) as kg_co2e, 'TW-GRID' as factor_id,
                   '2026.1' as factor_version, 0.494::double as factor_kg_per_kwh
            from marts.fct_energy_interval
            """
        )
        con.execute(
            """
            create table marts.fct_emissions_daily as
            select interval_start_utc::date as site_local_date, site_id, equipment_id, method,
                   sum(kwh) as kwh, sum(kg_co2e) as kg_co2e, count(*) as interval_count
            from marts.fct_emissions_interval group by all
            """
        )
        # Internal data the snapshot leaves out: raw readings at the same grain.
        con.execute("create table staging.readings as select * from marts.fct_energy_interval")
        return con.execute(
            "select (select count(*) from marts.fct_energy_interval) * 2 "
            "+ (select count(*) from marts.fct_emissions_daily)"
        ).fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--equipment", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wattprint-publish-bench-") as scratch:
        root = Path(scratch)
        warehouse = root / "warehouse.duckdb"
        started = time.perf_counter()
        rows = build_warehouse(warehouse, args.equipment, args.days)
        print(
            f"warehouse: {args.equipment} equipment × {args.days} days, {rows:,} mart rows, "
            f"{warehouse.stat().st_size / 1e6:,.1f} MB (built in "
            f"{time.perf_counter() - started:.1f} s)"
        )

        started = time.perf_counter()
        shutil.copyfile(warehouse, root / "copy.duckdb")
        copy_seconds = time.perf_counter() - started

        publication = publish(warehouse, published_path(root / "home"), run_id="benchmark")
        print(f"baseline  file copy of the whole warehouse  {copy_seconds:7.2f} s")
        print(
            f"publish   marts as a read-only snapshot     {publication.seconds:7.2f} s  "
            f"({publication.rows:,} rows, {publication.size_bytes / 1e6:,.1f} MB)"
        )
        print(
            f"ratio     publish / file copy               {publication.seconds / copy_seconds:7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Checks that guard the accounting invariants on the warehouse.

dbt tests already appear as asset checks on their models; these add the invariants a person
reads in the Dagster UI with their evidence attached as metadata:
- every kWh on a bill lands on a piece of equipment (blocking: reports must not be built on
  energy that does not add up),
- the meter tree conserves energy interval by interval (children + allocated residual = root),
- every registered equipment has a row for every interval of every day processed,
- readings keep arriving.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.warehouse.resources import Warehouse

ENERGY = dg.AssetKey(["marts", "fct_energy_interval"])
BOTTOM_UP = dg.AssetKey(["intermediate", "int_equipment_interval_energy"])
# The staging view over the landed readings: landing assets are external (nothing in a run
# materializes them), so the freshness check hangs on the first asset a run does build.
READINGS = dg.AssetKey(["staging", "stg_landing__readings"])

TOLERANCE_KWH = 0.01

BILL_BALANCE_SQL = """
with bills as (
    -- staging converts the bill's local dates (both inclusive) to a UTC window, DST-safe
    select
        bill_id,
        site_id,
        kwh as bill_kwh,
        period_start_utc as start_utc,
        period_end_utc as end_utc
    from staging.stg_landing__bills
),
energy as (
    select
        bills.bill_id,
        sum(e.kwh) as equipment_kwh,
        count(distinct e.interval_start_utc) as intervals_present
    from bills
    join marts.fct_energy_interval as e
        on e.site_id = bills.site_id
        and e.interval_start_utc >= bills.start_utc
        and e.interval_start_utc < bills.end_utc
    group by bills.bill_id
)
select
    bills.bill_id,
    bills.site_id,
    bills.bill_kwh,
    coalesce(energy.equipment_kwh, 0) as equipment_kwh,
    bills.bill_kwh - coalesce(energy.equipment_kwh, 0) as difference_kwh,
    coalesce(energy.intervals_present, 0) as intervals_present,
    (epoch(bills.end_utc) - epoch(bills.start_utc)) / 900 as intervals_expected
from bills
left join energy using (bill_id)
order by bills.site_id, bills.bill_id
"""


def _markdown(rows: list[tuple], header: list[str], limit: int = 20) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows[:limit]:
        cells = [f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more")
    return dg.MetadataValue.md("\n".join(lines))


@dg.asset_check(
    asset=ENERGY,
    blocking=True,
    description="For every bill period whose intervals are all processed, the equipment energy "
    f"sums to the bill's kWh within {TOLERANCE_KWH} kWh: every billed kWh lands on equipment.",
)
def bill_energy_conserved(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        rows = con.execute(BILL_BALANCE_SQL).fetchall()
    complete = [r for r in rows if r[5] == r[6]]
    broken = [r for r in complete if abs(r[4]) > TOLERANCE_KWH]
    header = [
        "bill",
        "site",
        "bill kWh",
        "equipment kWh",
        "difference kWh",
        "intervals",
        "expected",
    ]
    return dg.AssetCheckResult(
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "bill_periods_complete": len(complete),
            "bill_periods_incomplete": len(rows) - len(complete),
            "bill_periods_unbalanced": len(broken),
            "max_abs_difference_kwh": float(max((abs(r[4]) for r in complete), default=0.0)),
            "periods": _markdown(broken or rows, header),
        },
    )


@dg.asset_check(
    asset=BOTTOM_UP,
    blocking=True,
    description="In every interval the equipment energy (measured + allocated residuals) equals "
    "the root meter of the site's meter tree: energy is conserved down the tree.",
)
def meter_tree_conserved(warehouse: Warehouse) -> dg.AssetCheckResult:
    sql = """
    with roots as (
        select site_id, meter_id from staging.stg_landing__meters where parent_meter_id is null
    ),
    root_energy as (
        select m.site_id, m.interval_start_utc, sum(m.kwh) as root_kwh
        from intermediate.int_meter_interval_corrected as m
        join roots using (site_id, meter_id)
        group by all
    ),
    equipment_energy as (
        select site_id, interval_start_utc, sum(kwh) as equipment_kwh
        from intermediate.int_equipment_interval_energy
        group by all
    )
    select site_id, interval_start_utc, root_kwh, equipment_kwh, root_kwh - equipment_kwh
    from root_energy join equipment_energy using (site_id, interval_start_utc)
    where abs(root_kwh - equipment_kwh) > ?
    order by 1, 2
    """
    with warehouse.connect() as con:
        broken = con.execute(sql, [TOLERANCE_KWH]).fetchall()
        intervals = con.execute(
            "select count(distinct (site_id, interval_start_utc)) "
            "from intermediate.int_equipment_interval_energy"
        ).fetchone()[0]
    return dg.AssetCheckResult(
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "intervals_checked": intervals,
            "intervals_unbalanced": len(broken),
            "unbalanced": _markdown(
                broken, ["site", "interval (UTC)", "root kWh", "equipment kWh", "diff"]
            ),
        },
    )


@dg.asset_check(
    asset=ENERGY,
    description="Every registered equipment has one row per 15-minute interval of every local "
    "day processed (96 a day; 92 or 100 on DST days). Fails on days with missing rows, such as "
    "today's partial day.",
)
def energy_interval_complete(warehouse: Warehouse) -> dg.AssetCheckResult:
    sql = """
    with rows_per_day as (
        select
            e.site_id,
            timezone(s.timezone, e.interval_start_utc::timestamptz)::date as local_day,
            count(*) as row_count,
            count(distinct e.equipment_id) as equipment_count
        from marts.fct_energy_interval as e
        join staging.stg_landing__sites as s using (site_id)
        where e.equipment_id not like 'unallocated:%'
        group by all
    ),
    expected as (
        select
            r.*,
            (select count(*) from staging.stg_landing__equipment as q where q.site_id = r.site_id)
                as equipment_expected,
            (epoch(timezone(s.timezone, (r.local_day + 1)::timestamp))
                - epoch(timezone(s.timezone, r.local_day::timestamp))) / 900 as intervals_in_day
        from rows_per_day as r
        join staging.stg_landing__sites as s using (site_id)
    )
    select site_id, local_day, row_count, equipment_expected * intervals_in_day as expected_rows
    from expected
    order by 1, 2
    """
    with warehouse.connect() as con:
        days = con.execute(sql).fetchall()
    incomplete = [d for d in days if d[2] != d[3]]
    return dg.AssetCheckResult(
        passed=not incomplete,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "days_checked": len(days),
            "days_incomplete": len(incomplete),
            "days": _markdown(incomplete or days, ["site", "local day", "rows", "expected rows"]),
        },
    )


@dg.asset_check(
    asset=READINGS,
    description="The newest landed reading is less than an hour old. A plant streaming live "
    "should never fail this; a historical import or the simulator's past days will, by design.",
)
def readings_fresh(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        newest = con.execute(
            "select max(ts_utc), count(*) from staging.stg_landing__readings"
        ).fetchone()
    latest, count = newest
    if latest is None:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"readings": 0}
        )
    age_hours = (datetime.now(UTC).replace(tzinfo=None) - latest).total_seconds() / 3600
    return dg.AssetCheckResult(
        passed=age_hours < 1,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "newest_reading_utc": str(latest),
            "age_hours": round(age_hours, 2),
            "readings": count,
        },
    )


warehouse_checks = [
    bill_energy_conserved,
    meter_tree_conserved,
    energy_interval_complete,
    readings_fresh,
]

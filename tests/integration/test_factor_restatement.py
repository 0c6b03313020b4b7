"""A quarterly factor update through real Dagster runs; the market-based side of Scope 2; the
reports, the audit trace and the export built on them.

One simulated plant with metering faults (gaps, spikes, stuck meters, duplicates, late data),
6 site-local days across a quarter boundary (29 March – 3 April 2026), reporting with a MONTHLY
grid factor. The story, run once by the module fixture:

1. the plant's data, a monthly factor series (v2026.1), a residual mix and instruments land; the
   factor sensor ticks (nothing computed yet: nothing to restate); one Dagster run of the dbt
   sets computes everything (the quality, planning and publishing assets are left out: they
   have their own tests and would only make this one slower);
2. the quarterly update lands: v2026.2 republishes the whole year, but only April–June differ;
3. the factor sensor asks for exactly one `factor_restatement` run, for 1–3 April (the days of
   the changed window that have figures) — the run key is stable, a second tick asks nothing;
4. that run executes in Dagster.

The tests then count the partitions materialized, recompute the restated figures by hand
(kWh × the new factor), read the figures "as reported" before the update, and check the
warehouse's market-based figures against the Python library on the same inputs.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 3, 29)
DAYS = 6
SITE = "TW-HSINCHU-01"
SERIES = "TW-GRID-MONTHLY"
FAULTS = "gaps,spikes,stuck,duplicates,late"
Q1_DAYS = {date(2026, 3, 29), date(2026, 3, 30), date(2026, 3, 31)}
Q2_DAYS = {date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3)}

# v2026.1, kgCO2e/kWh per month of 2026; v2026.2 revises April–June only
V1 = [0.501, 0.498, 0.497, 0.489, 0.486, 0.488, 0.495, 0.499, 0.496, 0.492, 0.494, 0.500]
V2 = V1[:3] + [0.512, 0.507, 0.509] + V1[6:]

HEADER = (
    "factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,"
    "unit,gas,gwp_set,source_document,published_at"
)

INSTRUMENT_COLUMNS = (
    "instrument_id,instrument_type,scheme,site_id,market,period_start,period_end,volume,"
    "volume_unit,emission_factor,emission_factor_unit,technology,supplier,retired,source_document"
)
# one instrument per line: a March certificate, an April PPA, a supplier rate for 2 April, a GO
# of another market, a certificate not retired, and an hour-stamped certificate
INSTRUMENT_ROWS = [
    ("TREC-2026-03-A", "certificate", "T-REC", SITE, "TW", "2026-03-01T00:00:00+08:00",
     "2026-04-01T00:00:00+08:00", "5", "MWh", "0", "kgCO2e/kWh", "solar", "", "true",
     "T-REC cancellation statement 2026-0412"),
    ("PPA-WIND-2026-04", "ppa", "", SITE, "TW", "2026-04-01T00:00:00+08:00",
     "2026-05-01T00:00:00+08:00", "2000", "kWh", "0", "kgCO2e/kWh", "wind", "Formosa Wind",
     "true", "PPA-07 delivery statement April 2026"),
    ("SUPPLIER-0402", "supplier_specific", "", SITE, "TW", "2026-04-02T00:00:00+08:00",
     "2026-04-03T00:00:00+08:00", "", "", "0.31", "kgCO2e/kWh", "", "Green Supply Co", "true",
     "Supplier disclosure 2026"),
    ("GO-FR-2026", "certificate", "GO", SITE, "FR", "2026-01-01T00:00:00+01:00",
     "2027-01-01T00:00:00+01:00", "100", "MWh", "0", "kgCO2e/kWh", "hydro", "", "true",
     "AIB GO cancellation"),
    ("TREC-UNRETIRED", "certificate", "T-REC", SITE, "TW", "2026-03-01T00:00:00+08:00",
     "2026-05-01T00:00:00+08:00", "10", "MWh", "0", "kgCO2e/kWh", "solar", "", "false",
     "T-REC account statement"),
    ("TREC-H-0402-10", "certificate", "T-REC", SITE, "TW", "2026-04-02T10:00:00+08:00",
     "2026-04-02T11:00:00+08:00", "100", "kWh", "0", "kgCO2e/kWh", "solar", "", "true",
     "T-REC granular certificate 2026-04-02 10:00"),
]  # fmt: skip
INSTRUMENTS = "\n".join([INSTRUMENT_COLUMNS, *(",".join(row) for row in INSTRUMENT_ROWS)]) + "\n"

RESIDUAL = (
    HEADER
    + "\nTW-RESIDUAL-MIX,2026.1,residual_mix,TW,electricity,annual,2026-01-01T00:00:00+08:00,"
    "2027-01-01T00:00:00+08:00,0.552,kgCO2e/kWh,CO2e,,Residual mix TW 2026 (test),"
    "2026-02-01T00:00:00Z\n"
)


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
            f"{SERIES},{version},location,TW,electricity,monthly,{start},{end},{value},"
            f"kgCO2e/kWh,CO2e,,Grid factors {version} (quarterly bulletin),{published}"
        )
    return "\n".join(rows) + "\n"


def tick(cursor: str | None):
    from orchestration.defs.factors.sensors import factor_sensor

    with dg.instance_for_test() as instance:
        return factor_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


def query(settings, sql: str, params=None) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.sql(sql, params=params).pl() if params else con.sql(sql).pl()


def materialized_partitions(instance, run_id: str) -> dict[str, set[str]]:
    """Asset key → partition keys materialized by the run (None for unpartitioned assets)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    out: dict[str, set[str]] = {}
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        out.setdefault(materialization.asset_key.to_user_string(), set()).add(
            materialization.partition
        )
    return out


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    from ingestion.factors import land_factor_file
    from ingestion.files import import_file
    from ingestion.landing import LandingZone
    from orchestration.cli.commands.simulate import simulate_into
    from orchestration.definitions import defs
    from orchestration.defs.warehouse.dbt import dbt_daily, dbt_foundation, dbt_reports
    from orchestration.pipeline import RANGE_END_TAG, RANGE_START_TAG

    home = tmp_path_factory.mktemp("restatement")
    files = tmp_path_factory.mktemp("files")
    settings = configure(home=home, timezone="Asia/Taipei", partition_start="2025-01-01")
    simulate_into(settings, DAYS, seed=11, start=START, faults=FAULTS)
    zone = LandingZone(home)
    # the site reports with a monthly location factor
    site = zone.read("sites").drop("landing_batch_id", "landed_at")
    zone.write("sites", site.with_columns(pl.lit("monthly").alias("location_factor_granularity")))
    (files / "v1.csv").write_text(monthly_csv("2026.1", V1, "2025-12-20T00:00:00Z"))
    land_factor_file(home, files / "v1.csv")
    (files / "residual.csv").write_text(RESIDUAL)
    land_factor_file(home, files / "residual.csv")
    (files / "instruments.csv").write_text(INSTRUMENTS)
    import_file(home, "instruments", files / "instruments.csv")

    first_tick = tick(None)  # factor files landed, nothing computed yet
    last = date.fromordinal(START.toordinal() + DAYS - 1)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    (settings.dagster_home / "dagster.yaml").touch()
    sql_assets = [key for assets in (dbt_foundation, dbt_daily, dbt_reports) for key in assets.keys]
    with dg.DagsterInstance.get() as instance:
        first_run = defs.resolve_job_def("wattprint_pipeline").execute_in_process(
            instance=instance,
            asset_selection=sql_assets,
            tags={RANGE_START_TAG: START.isoformat(), RANGE_END_TAG: last.isoformat()},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    assert first_run.success
    before = {
        "daily": query(settings, "select * from marts.fct_emissions_daily order by all"),
        "energy": query(settings, "select * from marts.fct_energy_interval order by all"),
        "scope2": query(settings, "select * from marts.fct_scope2_daily order by all"),
    }
    reported_before = datetime.now(UTC).replace(tzinfo=None)

    (files / "v2.csv").write_text(monthly_csv("2026.2", V2, "2026-04-15T00:00:00Z"))
    land_factor_file(home, files / "v2.csv")
    cursor = first_tick.cursor
    update_tick = tick(cursor)
    replayed_tick = tick(cursor)
    quiet_tick = tick(update_tick.cursor)

    [request] = update_tick.run_requests
    job = defs.resolve_job_def(request.job_name)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={**request.tags, "dagster/run_key": request.run_key},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        partitions = materialized_partitions(instance, result.run_id)
    return {
        "settings": settings,
        "files": files,
        "first_tick": first_tick,
        "update_tick": update_tick,
        "replayed_tick": replayed_tick,
        "quiet_tick": quiet_tick,
        "result": result,
        "partitions": partitions,
        "before": before,
        "reported_before": reported_before,
    }


def test_nothing_is_restated_before_anything_is_computed(story):
    assert story["first_tick"].run_requests == []


def test_the_sensor_asks_once_for_exactly_the_changed_quarter(story):
    [request] = story["update_tick"].run_requests
    assert request.job_name == "factor_restatement"
    assert (
        request.tags["dagster/asset_partition_range_start"],
        request.tags["dagster/asset_partition_range_end"],
    ) == ("2026-04-01", "2026-04-03")
    assert request.run_key.startswith("factors:") and request.run_key.endswith(
        ":2026-04-01..2026-04-03"
    )
    # one window per revised month (each has its own old and new value), dates in UTC
    assert request.tags["wattprint/factor_changes"] == (
        f"{SERIES} 2026.1→2026.2 2026-03-31..2026-04-30; "
        f"{SERIES} 2026.1→2026.2 2026-04-30..2026-05-31; "
        f"{SERIES} 2026.1→2026.2 2026-05-31..2026-06-30"
    )
    # a replayed tick asks for the same run key (the daemon runs a key once); a later tick nothing
    assert [r.run_key for r in story["replayed_tick"].run_requests] == [request.run_key]
    assert isinstance(story["quiet_tick"], dg.SkipReason)


def test_the_run_rematerializes_only_the_changed_partitions(story):
    result, partitions = story["result"], story["partitions"]
    assert result.success
    expected = {d.isoformat() for d in Q2_DAYS}
    assert partitions["marts/fct_emissions_interval"] == expected
    assert partitions["marts/fct_emissions_daily"] == expected
    # the factor-versions asset ran; energy, allocation and reconciliation did not
    assert "intermediate/int_factor_versions" in partitions
    for untouched in (
        "marts/fct_energy_interval",
        "intermediate/int_equipment_interval_energy",
        "marts/fct_reconciliation",
    ):
        assert untouched not in partitions


def test_restated_totals_equal_kwh_times_the_new_factor(story):
    settings = story["settings"]
    daily = query(
        settings,
        "select site_local_date, sum(kwh) as kwh, sum(kg_co2e) as kg "
        "from marts.fct_emissions_daily where method = 'location' group by 1 order by 1",
    )
    by_day = {r["site_local_date"]: r for r in daily.iter_rows(named=True)}
    assert set(by_day) == Q1_DAYS | Q2_DAYS
    for day in Q2_DAYS:
        # every interval of an April day is in April (local): kWh × the April value of v2026.2
        expected = by_day[day]["kwh"] * Decimal(str(V2[3]))
        assert abs(by_day[day]["kg"] - expected) < Decimal("1e-6"), day
    for day in Q1_DAYS:
        month_value = Decimal(str(V1[2]))  # March: unchanged
        assert abs(by_day[day]["kg"] - by_day[day]["kwh"] * month_value) < Decimal("1e-6"), day
    versions = query(
        settings,
        "select distinct factor_version, month(interval_start_utc + interval 8 hour) as month "
        "from marts.fct_emissions_interval order by 2",
    ).rows()
    assert versions == [("2026.1", 3), ("2026.2", 4)]


def test_days_outside_the_window_are_untouched_to_the_byte(story):
    settings, before = story["settings"], story["before"]
    now = query(settings, "select * from marts.fct_emissions_daily order by all")
    q1 = pl.col("site_local_date").is_in(sorted(Q1_DAYS))
    assert now.filter(q1).equals(before["daily"].filter(q1))
    assert not now.filter(~q1).equals(before["daily"].filter(~q1))
    energy = query(settings, "select * from marts.fct_energy_interval order by all")
    assert energy.equals(before["energy"])


def test_figures_as_reported_before_the_update_stay_queryable(story):
    settings, before = story["settings"], story["before"]
    as_reported = query(
        settings,
        "select site_local_date, kg_co2e from audit.emissions_reported_on "
        "where method = 'location' and reported_at_utc <= ? "
        "and (superseded_at_utc is null or superseded_at_utc > ?) order by 1",
        [story["reported_before"], story["reported_before"]],
    )
    old = before["scope2"].select("site_local_date", pl.col("location_kg").alias("kg_co2e"))
    assert as_reported.equals(old)
    restated = query(
        settings,
        "select site_local_date, old_kg_co2e, new_kg_co2e, change_reason, new_source_documents "
        "from audit.rpt_restatements where method = 'location' order by 1",
    )
    assert set(restated.get_column("site_local_date")) == Q2_DAYS
    for row in restated.iter_rows(named=True):
        assert row["change_reason"] == f"factor {SERIES}@2026.1 → {SERIES}@2026.2"
        assert row["new_source_documents"] == "Grid factors 2026.2 (quarterly bulletin)"
        ratio = row["new_kg_co2e"] / row["old_kg_co2e"]
        assert abs(ratio - Decimal(str(V2[3])) / Decimal(str(V1[3]))) < Decimal("1e-12")


def test_market_based_figures_equal_the_python_library(story):
    """The dbt models and models/scope2 apply the same rules: same inputs, same figures."""
    from ingestion.landing import LandingZone
    from models.scope2 import dual_report

    settings = story["settings"]
    warehouse = query(
        settings, "select * from marts.fct_scope2_interval order by site_id, interval_start_utc"
    )
    consumption = warehouse.select(
        "site_id",
        pl.col("interval_start_utc").dt.replace_time_zone("UTC").alias("interval_start"),
        pl.col("interval_end_utc").dt.replace_time_zone("UTC").alias("interval_end"),
        pl.col("kwh").cast(pl.Float64),
        "grid_region",
    )
    zone = LandingZone(settings.home)
    library = dual_report(
        consumption,
        zone.read("factors"),
        zone.read("instruments"),
        location_granularity="monthly",
    )
    python = library.intervals
    for column in (
        "location_kg",
        "market_kg",
        "kwh_instrument",
        "kwh_supplier",
        "kwh_residual",
        "kwh_location_fallback",
        "instrument_kg",
    ):
        ours = warehouse.get_column(column).cast(pl.Float64)
        theirs = python.get_column(column)
        assert (ours - theirs).abs().max() < 1e-9, column
    # April was restated: both name v2026.2. March was not re-run (v2026.2 republished its
    # value unchanged): the warehouse's rows still name the version they were computed with,
    # the library picks the latest publication — same value, so the same figures.
    versions = (
        pl.DataFrame(
            {
                "april": warehouse.get_column("interval_start_utc") >= datetime(2026, 3, 31, 16),
                "ours": warehouse.get_column("location_factor_version"),
                "theirs": python.get_column("location_version"),
            }
        )
        .unique()
        .sort("april")
    )
    assert versions.rows() == [(False, "2026.1", "2026.2"), (True, "2026.2", "2026.2")]
    assert V1[2] == V2[2]
    usage = query(
        settings,
        "select instrument_id, cast(applied_kwh as double) as applied_kwh, status, reason "
        "from marts.fct_instrument_usage order by 1",
    )
    expected = library.instruments.select("instrument_id", "applied_kwh", "status", "reason").sort(
        "instrument_id"
    )
    assert usage.select("instrument_id", "status", "reason").equals(
        expected.select("instrument_id", "status", "reason")
    )
    assert (usage.get_column("applied_kwh") - expected.get_column("applied_kwh")).abs().max() < 1e-9
    statuses = dict(usage.select("instrument_id", "status").rows())
    assert statuses == {
        "GO-FR-2026": "not applied",  # another market
        "PPA-WIND-2026-04": "applied",
        "SUPPLIER-0402": "applied",
        "TREC-2026-03-A": "applied",
        "TREC-UNRETIRED": "not applied",
        "TREC-H-0402-10": "applied",
    }


# --- reports on the same warehouse --------------------------------------------------------------


def cli(capsys, settings, *argv: str) -> tuple[int, str, str]:
    from orchestration.cli import main

    code = main(["--home", str(settings.home), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_restatement_report_lists_old_vs_new_with_the_reason(story, capsys):
    settings = story["settings"]
    code, out, _ = cli(capsys, settings, "report", "restatement", "--site", SITE)
    assert code == 0
    lines = out.splitlines()
    [april] = [line for line in lines if "2026-04" in line and "location" in line]
    # columns: site, month, method, days, restated, old t, new t, Δ t, Δ %
    cells = april.split()
    assert cells[3:5] == ["3", "3"]
    old_t, new_t = float(cells[5].replace(",", "")), float(cells[6].replace(",", ""))
    assert new_t / old_t == pytest.approx(V2[3] / V1[3], rel=1e-3)
    assert f"why: factor {SERIES}@2026.1 → {SERIES}@2026.2" in out
    assert "source: Grid factors 2026.2 (quarterly bulletin)" in out
    assert not [line for line in lines if "2026-03" in line and "location" in line]
    # as reported just before the update: nothing restated since then except April
    code, out, _ = cli(
        capsys,
        settings,
        "report",
        "restatement",
        "--as-of",
        story["reported_before"].isoformat(),
        "--by",
        "day",
    )
    restated_days = {line.split()[1] for line in out.splitlines() if " location " in line}
    assert restated_days == {d.isoformat() for d in Q2_DAYS}


def test_inventory_report_for_a_quarter(story, capsys, tmp_path):
    settings = story["settings"]
    code, out, _ = cli(
        capsys,
        settings,
        "report",
        "inventory",
        "--site",
        SITE,
        "--period",
        "2026-Q2",
        "--out",
        str(tmp_path),
    )
    assert code == 0
    scope2 = query(
        settings,
        "select sum(kwh) as kwh, sum(location_kg) as loc, sum(market_kg) as mkt, "
        "sum(kwh_measured) as measured, sum(kwh_estimated) as estimated, "
        "sum(kwh_allocated) as allocated from marts.fct_scope2_daily "
        "where site_local_date >= '2026-04-01'",
    ).row(0, named=True)
    with open(tmp_path / f"inventory-{SITE}-2026-Q2.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    total = rows[-1]
    assert total["month"] == "total" and total["days"] == "3"
    assert Decimal(total["iso14064_category2_location_t_co2e"]) * 1000 == scope2["loc"]
    assert Decimal(total["iso14064_category2_market_t_co2e"]) * 1000 == scope2["mkt"]
    parts = scope2["measured"] + scope2["estimated"] + scope2["allocated"]
    assert abs(parts - scope2["kwh"]) < Decimal("1e-6")
    assert scope2["estimated"] > 0  # the injected gaps and stuck meters were estimated
    markdown = (tmp_path / f"inventory-{SITE}-2026-Q2.md").read_text()
    assert "ISO 14064-1:2018" in markdown and "GHG Protocol Scope 2 — dual report" in markdown
    assert f"{SERIES}@2026.2" in markdown and "Grid factors 2026.2 (quarterly bulletin)" in markdown
    assert "PPA-07 delivery statement April 2026" in markdown
    assert "market FR is not the site's market TW" in markdown
    assert "3 day(s) restated since first reported" in markdown
    assert (tmp_path / f"inventory-{SITE}-2026-Q2.html").read_text().startswith("<!doctype html>")
    code, _, err = cli(
        capsys, settings, "report", "inventory", "--site", SITE, "--period", "2025-Q1"
    )
    assert code == 2 and "has no figures in 2025-Q1" in err


def test_trace_of_a_monthly_figure_sums_back_from_its_readings(story):
    from orchestration.reporting.reader import open_reader
    from orchestration.reporting.trace import build_trace, parse_figure, verify_landing

    settings = story["settings"]
    with open_reader(settings.home) as con:
        trace = build_trace(con, parse_figure(f"{SITE}@2026-04"))
    assert trace.figure_kg == trace.emission_rows.get_column("kg_co2e").sum()
    # by hand, from the listed readings of the root meter: value × conversion per interval
    # (first received copy of a conflicting re-send), × the bill's reconciliation factor, ×
    # the factor version of the interval
    readings = trace.readings.filter(~pl.col("superseded_duplicate"))
    assert set(readings.get_column("register")) == {"interval_kwh"}
    per_interval = readings.group_by("ts_utc").agg((pl.col("value")).sum().alias("kwh"))
    factors = trace.emission_rows.group_by("interval_start_utc").agg(
        pl.col("reconciliation_factor").first(), pl.col("factor_kg_per_kwh").first()
    )
    rebuilt = (
        per_interval.join(factors, left_on="ts_utc", right_on="interval_start_utc")
        .select(
            (pl.col("kwh") * pl.col("reconciliation_factor") * pl.col("factor_kg_per_kwh")).sum()
        )
        .item()
    )
    assert per_interval.height == 3 * 96
    assert abs(Decimal(str(rebuilt)) - trace.figure_kg) < Decimal("1e-6")
    assert set(trace.factors.get_column("factor_version")) == {"2026.2"}
    assert trace.factors.get_column("factor_source_document").to_list() == [
        "Grid factors 2026.2 (quarterly bulletin)"
    ]
    assert verify_landing(trace, settings.home / "landing") == []
    assert readings.get_column("source").str.starts_with("sim://").all()


def test_trace_of_a_corrected_equipment_day_sums_back_after_its_corrections(story):
    """A metered equipment-day whose meter intervals the quality overlay corrected: the listed
    readings with the listed corrections give the figure."""
    from orchestration.reporting.reader import open_reader
    from orchestration.reporting.trace import build_trace, parse_figure, verify_landing

    settings = story["settings"]
    corrected = query(
        settings,
        "select equipment.equipment_id, cast(corrected.interval_start_utc + interval 8 hour "
        "as date) as day, count(*) as n from intermediate.int_meter_interval_corrected "
        "as corrected inner join marts.dim_equipment as equipment "
        "on equipment.supply_meter_id = corrected.meter_id and equipment.is_metered "
        "where corrected.overlay_id is not null group by all order by n desc",
    )
    assert corrected.height, "the injected faults produce applied corrections"
    checked = 0
    with open_reader(settings.home) as con:
        for equipment_id, day, _ in corrected.rows():
            trace = build_trace(con, parse_figure(f"{SITE}/{equipment_id}@{day}"))
            applied = trace.corrections.filter(pl.col("applied"))
            assert applied.height and applied.get_column("reason").is_not_null().all()
            rebuilt = trace.recompute_from_readings()
            assert abs(rebuilt - trace.figure_kg) < Decimal("1e-6"), (equipment_id, day)
            without = trace.meter_kwh_from_readings()
            assert (
                without.get_column("readings_kwh").ne_missing(without.get_column("used_kwh")).any()
            )
            assert verify_landing(trace, settings.home / "landing") == []
            checked += 1
    assert checked >= 3


def test_export_is_desensitized_and_documented(story, capsys, tmp_path):
    settings = story["settings"]
    code, _, _ = cli(capsys, settings, "export", "--desensitized", "--out", str(tmp_path))
    assert code == 0
    sites = pl.read_csv(tmp_path / "site_emissions.csv")
    products = pl.read_csv(tmp_path / "product_emissions.csv")
    factors = pl.read_csv(tmp_path / "factor_sources.csv")
    assert sites.get_column("month").to_list() == ["2026-03", "2026-04"]
    total = query(settings, "select sum(location_kg) / 1000 from marts.fct_scope2_daily").item()
    assert sites.get_column("location_t_co2e").sum() == pytest.approx(float(total), abs=1e-5)
    assert {"TW-GRID-MONTHLY", "TW-RESIDUAL-MIX"} <= set(factors.get_column("factor_id"))
    text = "".join(p.read_text() for p in tmp_path.glob("*.csv"))
    equipment = query(
        settings, "select equipment_id, equipment_name, line_id from marts.dim_equipment"
    )
    meters = query(settings, "select meter_id from marts.dim_meter")
    for name in [*equipment.get_column("equipment_id"), *meters.get_column("meter_id")]:
        assert name not in text, name
    for name in equipment.get_column("equipment_name").drop_nulls():
        assert name not in text, name
    readme = (tmp_path / "README.md").read_text()
    for column in [*sites.columns, *products.columns, *factors.columns]:
        assert f"| {column} |" in readme, column


def test_factor_preview_shows_the_impact_and_lands_nothing(story, capsys):
    settings, files = story["settings"], story["files"]
    from ingestion.landing import LandingZone

    landed_before = LandingZone(settings.home).read("factors").height
    # a further revision: May only, +0.010 kg/kWh — no figure is in May, so nothing to restate
    v3 = V2[:4] + [V2[4] + 0.010] + V2[5:]
    (files / "v3.csv").write_text(monthly_csv("2026.3", v3, "2026-06-01T00:00:00Z"))
    code, out, _ = cli(capsys, settings, "factors", "preview", str(files / "v3.csv"))
    assert code == 0
    assert (
        "would change in 1 window(s)" in out
        and "2026.2 0.507 → TW-GRID-MONTHLY@2026.3 0.517" in out
    )
    assert "0 day(s) with figures" in out and "Total change: +0.0 kg CO2e" in out
    # April +0.002: the three April days with figures, by kWh × 0.002
    v4 = V2[:3] + [V2[3] + 0.002] + V2[4:]
    (files / "v4.csv").write_text(monthly_csv("2026.4", v4, "2026-06-02T00:00:00Z"))
    code, out, _ = cli(capsys, settings, "factors", "preview", str(files / "v4.csv"))
    april_kwh = query(
        settings,
        "select sum(kwh) from marts.fct_scope2_daily where site_local_date >= '2026-04-01'",
    ).item()
    assert "3 day(s) with figures" in out
    assert f"Total change: {float(april_kwh) * 0.002:+,.1f} kg CO2e" in out
    # an overlapping window in the same version is rejected, naming the row
    bad = monthly_csv("2026.5", V2, "2026-06-03T00:00:00Z").replace(
        "2026-03-01T00:00:00+08:00,2026-04-01", "2026-02-15T00:00:00+08:00,2026-04-01"
    )
    (files / "bad.csv").write_text(bad)
    code, out, _ = cli(capsys, settings, "factors", "preview", str(files / "bad.csv"))
    assert code == 1 and "REJECTED" in out and "row 4" in out
    assert LandingZone(settings.home).read("factors").height == landed_before


def test_hourly_matching_in_the_warehouse_equals_the_library(story, tmp_path):
    """With scope2_matching=hourly only the hour-stamped certificate counts, in its hour; the
    supplier-specific rate still applies. Built on a copy of the warehouse."""
    import json
    import os
    import shutil
    import subprocess

    from ingestion.landing import LandingZone
    from models.scope2 import dual_report
    from orchestration.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

    settings = story["settings"]
    copy = tmp_path / "hourly.duckdb"
    shutil.copy(settings.warehouse_path, copy)
    # a dbt process of its own: dbt-duckdb keeps its connection open in the process that ran it
    result = subprocess.run(
        [
            DBT_EXECUTABLE, "run",
            "--select", "fct_instrument_segments fct_instrument_usage fct_scope2_interval",
            "--vars", json.dumps({"scope2_matching": "hourly"}),
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(tmp_path / "target"),
            "--log-path", str(tmp_path / "logs"),
        ],
        env={**os.environ, "WATTPRINT_WAREHOUSE": str(copy)},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    with duckdb.connect(str(copy), read_only=True) as con:
        warehouse = con.sql(
            "select * from marts.fct_scope2_interval order by interval_start_utc"
        ).pl()
        usage = con.sql(
            "select instrument_id, cast(applied_kwh as double) as applied_kwh, status, reason "
            "from marts.fct_instrument_usage order by 1"
        ).pl()
    consumption = warehouse.select(
        "site_id",
        pl.col("interval_start_utc").dt.replace_time_zone("UTC").alias("interval_start"),
        pl.col("interval_end_utc").dt.replace_time_zone("UTC").alias("interval_end"),
        pl.col("kwh").cast(pl.Float64),
        "grid_region",
    )
    zone = LandingZone(settings.home)
    library = dual_report(
        consumption,
        zone.read("factors"),
        zone.read("instruments"),
        matching="hourly",
        location_granularity="monthly",
    )
    for column in ("market_kg", "kwh_instrument", "kwh_supplier", "kwh_residual"):
        ours = warehouse.get_column(column).cast(pl.Float64)
        assert (ours - library.intervals.get_column(column)).abs().max() < 1e-9, column
    expected = library.instruments.sort("instrument_id")
    assert usage.select("instrument_id", "status", "reason").equals(
        expected.select("instrument_id", "status", "reason")
    )
    reasons = dict(usage.select("instrument_id", "reason").rows())
    assert reasons["PPA-WIND-2026-04"] == (
        "hourly matching: the instrument is not hour-stamped (period of 720 h)"
    )
    assert warehouse.get_column("kwh_instrument").cast(pl.Float64).sum() == pytest.approx(100.0)

"""The warehouse as BI tools and auditors use it, on a production-like Dagster instance.

One simulated plant (2 days) goes through the real pipeline twice, on an instance configured
by the shipped deploy/dagster/dagster.yaml against a fresh database of the local PostgreSQL:

1. a first run publishes the warehouse;
2. a restated emission factor lands and the whole range is re-run (a backfill and a
   restatement at once) while a reader process queries the published file five times a second.

Then: the reader never failed, every answer was one consistent publication (old or new, never a
mix, never going back), the restated totals are the old ones × new factor / old factor, the
run and its materializations are in PostgreSQL, the plant manager's five questions answer
through SQLAlchemy (duckdb-engine) as computed independently from the marts, `wattprint docs`
documents every published column, and a breaking change to a contracted mart fails dbt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from orchestration.settings import configure

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
START = date(2026, 1, 5)  # a Monday: both days are in the same site-local week and month
DAYS = 2
LAST = START + timedelta(days=DAYS - 1)
TIMEZONE = "Asia/Taipei"
OLD_FACTOR, NEW_FACTOR = 0.494, 0.502  # the simulator's 2026 grid factor, and its restatement
# A new version of the simulator's annual factor, same validity window, published later.
RESTATED_FACTOR_CSV = (
    "factor_id,version,method,region,energy_carrier,granularity,valid_from,valid_to,value,unit,"
    "gas,gwp_set,source_document,published_at\n"
    "TW-MOEA-GRID,2026.2,location,TW,electricity,annual,2025-12-31T16:00:00Z,"
    f"2026-12-31T16:00:00Z,{NEW_FACTOR},kgCO2e/kWh,CO2e,,Restated grid factor (test),"
    "2026-06-30T02:00:00Z\n"
)


# -- PostgreSQL ------------------------------------------------------------------------------
def _postgres_admin():
    """A connection to the local PostgreSQL as an administrator, or the reason there is none."""
    import psycopg2

    errors = []
    for user in ("postgres", "root"):
        try:
            con = psycopg2.connect(
                host="127.0.0.1", port=5432, user=user, dbname="postgres", connect_timeout=3
            )
            con.autocommit = True
            return con, user
        except psycopg2.OperationalError as error:
            errors.append(f"{user}: {str(error).strip()}")
    return None, "; ".join(errors)


@dataclass
class Instance:
    kind: str  # "postgres" or "sqlite"
    database: str | None = None
    user: str | None = None
    skip_reason: str | None = None

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        with (
            closing(
                psycopg2.connect(host="127.0.0.1", user=self.user, dbname=self.database)
            ) as con,
            con.cursor() as cur,
        ):
            cur.execute(sql, params)
            return cur.fetchall()


def _production_instance(dagster_home: Path, env: pytest.MonkeyPatch) -> Instance:
    """DAGSTER_HOME with the shipped dagster.yaml, pointed at a new database. Without a
    reachable PostgreSQL the run uses the default SQLite instance and the PostgreSQL test
    skips, saying why."""
    admin, user = _postgres_admin()
    if admin is None:
        return Instance("sqlite", skip_reason=f"PostgreSQL on 127.0.0.1:5432 unreachable ({user})")
    database = f"wattprint_test_{uuid.uuid4().hex[:10]}"
    with closing(admin), admin.cursor() as cur:
        cur.execute(f'create database "{database}"')
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "deploy" / "dagster" / "dagster.yaml", dagster_home / "dagster.yaml")
    for name, value in {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USERNAME": user,
        "DAGSTER_PG_PASSWORD": "unused-under-trust-auth",
    }.items():
        env.setenv(name, value)
    return Instance("postgres", database=database, user=user)


def _drop(instance: Instance) -> None:
    if instance.kind != "postgres":
        return
    admin, _ = _postgres_admin()
    if admin is not None:
        with closing(admin), admin.cursor() as cur:
            cur.execute(f'drop database if exists "{instance.database}" with (force)')


# -- the plant, published twice ----------------------------------------------------------------
@dataclass
class Published:
    settings: object
    instance: Instance
    first_run: object
    second_run: object
    old: dict  # the first publication as the reader sees it: run id, totals per day
    observations: list[dict]
    second_run_started: float
    second_run_ended: float

    @property
    def published(self) -> Path:
        from orchestration.publishing.snapshot import published_path

        return published_path(self.settings.home)


@pytest.fixture(scope="module")
def plant(tmp_path_factory) -> Published:
    from orchestration.cli import main
    from orchestration.cli.commands.simulate import simulate_into
    from orchestration.pipeline import run_pipeline
    from orchestration.publishing.snapshot import published_path
    from tests.integration.published_reader import read_once

    home = tmp_path_factory.mktemp("published")
    with pytest.MonkeyPatch.context() as env:
        settings = configure(home=home)
        instance = _production_instance(settings.dagster_home, env)
        try:
            simulate_into(settings, DAYS, seed=11, start=START)
            first = run_pipeline(settings, START, LAST)
            assert first.success, first.error
            old = read_once(str(published_path(home)), TIMEZONE)

            factor_file = home / "restated_factor.csv"
            factor_file.write_text(RESTATED_FACTOR_CSV)
            assert main(["--home", str(home), "import", "factors", str(factor_file)]) == 0

            log, stop = home / "reader.jsonl", home / "reader.stop"
            reader = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "tests" / "integration" / "published_reader.py"),
                    str(published_path(home)),
                    TIMEZONE,
                    str(log),
                    str(stop),
                ],
                cwd=REPO,
            )
            try:
                time.sleep(1.0)  # the reader is reading the first publication when the run starts
                started = time.time()
                second = run_pipeline(settings, START, LAST)
                ended = time.time()
                time.sleep(1.0)  # ... and still reading after the swap
            finally:
                stop.touch()
                reader.wait(timeout=30)
            assert second.success, second.error
            observations = [json.loads(line) for line in log.read_text().splitlines()]
            yield Published(settings, instance, first, second, old, observations, started, ended)
        finally:
            _drop(instance)


# -- always queryable ------------------------------------------------------------------------
def test_a_reader_never_fails_and_sees_one_whole_publication_at_a_time(plant):
    during = [
        o
        for o in plant.observations
        if plant.second_run_started <= o["t"] <= plant.second_run_ended
    ]
    seconds = plant.second_run_ended - plant.second_run_started
    print(
        f"\nreader: {len(plant.observations)} queries, {len(during)} during the "
        f"{seconds:.0f} s run ({len(during) / seconds:.1f}/s), "
        f"{sum('error' in o for o in plant.observations)} errors"
    )
    errors = [o["error"] for o in plant.observations if "error" in o]
    assert not errors, errors[:3]
    assert plant.observations[0]["t"] < plant.second_run_started
    assert plant.observations[-1]["t"] > plant.second_run_ended
    assert len(during) >= seconds, "the reader kept querying through the run"

    new_run = plant.second_run.run_id
    runs = [o["run_id"] for o in plant.observations]
    assert set(runs) == {plant.first_run.run_id, new_run}
    # Old until the swap, new after it: never back, never a third state.
    first_new = runs.index(new_run)
    assert all(r == plant.first_run.run_id for r in runs[:first_new])
    assert all(r == new_run for r in runs[first_new:])

    new = next(o for o in plant.observations if o["run_id"] == new_run)
    for o in plant.observations:
        expected = plant.old if o["run_id"] == plant.first_run.run_id else new
        assert o["daily"] == expected["daily"], "totals of each day are all old or all new"
        # Within one snapshot the daily mart and the interval mart agree, day by day.
        assert o["daily"].keys() == o["intervals"].keys() == {str(START), str(LAST)}
        for day, total in o["daily"].items():
            assert abs(Decimal(total) - Decimal(o["intervals"][day])) < Decimal("1e-6")


def test_the_restatement_scales_every_day_by_the_new_factor(plant):
    new = next(o for o in plant.observations if o["run_id"] == plant.second_run.run_id)
    for day, old_total in plant.old["daily"].items():
        ratio = float(Decimal(new["daily"][day]) / Decimal(old_total))
        assert ratio == pytest.approx(NEW_FACTOR / OLD_FACTOR, rel=1e-9), day


def test_the_publication_says_when_and_from_which_run(plant):
    import dagster as dg

    from orchestration.defs.publishing.assets import PUBLISHED
    from orchestration.publishing.snapshot import read_publication

    meta = read_publication(plant.published)
    assert meta["source_run_id"] == plant.second_run.run_id
    assert (meta["days_recomputed_from"], meta["days_recomputed_to"]) == (START, LAST)
    assert oct(plant.published.stat().st_mode & 0o777) == "0o444"
    assert sorted(p.name for p in plant.published.parent.iterdir()) == ["wattprint.duckdb"]
    with duckdb.connect(str(plant.published), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
        assert {"marts", "meta"} <= schemas
        assert not {"staging", "intermediate"} & schemas, "internal layers are not published"
        comment = con.execute(
            "select comment from duckdb_columns() where schema_name = 'marts' "
            "and table_name = 'fct_emissions_daily' and column_name = 'kg_co2e'"
        ).fetchone()[0]
        assert "[kgCO2e]" in comment, "column descriptions and units travel with the snapshot"
    # The last publication time is on the asset in Dagster, as the UI shows it.
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(PUBLISHED)
    assert event.run_id == plant.second_run.run_id
    shown = event.asset_materialization.metadata["published_at"].value
    assert shown == pytest.approx(meta["published_at_utc"].replace(tzinfo=UTC).timestamp())


# -- production instance -------------------------------------------------------------------------
def test_runs_and_materializations_are_recorded_in_postgres(plant):
    if plant.instance.kind != "postgres":
        pytest.skip(plant.instance.skip_reason)
    runs = dict(plant.instance.query("select run_id, status from runs"))
    assert runs == {plant.first_run.run_id: "SUCCESS", plant.second_run.run_id: "SUCCESS"}
    materialized: dict[str, list] = {}
    for key, partition in plant.instance.query(
        "select asset_key, partition from event_logs "
        "where dagster_event_type = 'ASSET_MATERIALIZATION' and run_id = %s",
        (plant.second_run.run_id,),
    ):
        materialized.setdefault(_key_name(key), []).append(partition)
    # Daily models: one materialization per site-local day; the others (and the publication)
    # exactly one, unpartitioned.
    days = [str(START), str(LAST)]
    assert sorted(materialized["fct_emissions_daily"]) == days
    assert sorted(materialized["fct_energy_interval"]) == days
    assert materialized["fct_reconciliation"] == [None]
    assert materialized["published_warehouse"] == [None]
    checks = plant.instance.query(
        "select count(*) from asset_check_executions where run_id = %s",
        (plant.second_run.run_id,),
    )[0][0]
    assert checks > 0


def _key_name(stored: str) -> str:
    """The last part of an asset key as dagster stores it in event_logs.asset_key."""
    parsed = json.loads(stored)
    return (parsed["path"] if isinstance(parsed, dict) else parsed)[-1]


# -- a real BI client: SQLAlchemy with duckdb-engine ---------------------------------------------
@pytest.fixture(scope="module")
def marts(plant) -> dict[str, pl.DataFrame]:
    """The marts the answers are recomputed from, read with plain DuckDB (not SQLAlchemy)."""
    names = (
        "fct_emissions_daily",
        "dim_equipment",
        "dim_site",
        "fct_batch_energy",
        "fct_reconciliation",
        "fct_product_intensity",
        "rpt_equipment_hotspots",
    )
    with duckdb.connect(str(plant.published), read_only=True) as con:
        return {name: con.sql(f"select * from marts.{name}").pl() for name in names}


@pytest.fixture(scope="module")
def answers(plant) -> dict[str, list[dict]]:
    """Each of the five questions, through SQLAlchemy as Superset sends them, read-only."""
    import sqlalchemy as sa

    from orchestration.publishing.questions import questions

    engine = sa.create_engine(f"duckdb:///{plant.published}?access_mode=read_only")
    try:
        with engine.connect() as con:
            found = {
                name: [dict(row._mapping) for row in con.exec_driver_sql(q.sql)]
                for name, q in questions().items()
            }
            con.exec_driver_sql(f"SET VARIABLE as_of_date = DATE '{START}'")
            found["first_day_by_line"] = [
                dict(row._mapping)
                for row in con.exec_driver_sql(questions()["todays_emissions_by_line"].sql)
            ]
            # A BI tool cannot write through a read-only connection.
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.exec_driver_sql("create table marts.scratch as select 1")
    finally:
        engine.dispose()
    return found


def _location(daily: pl.DataFrame) -> pl.DataFrame:
    return daily.filter(pl.col("method") == "location").with_columns(
        pl.col("kg_co2e").cast(pl.Float64), pl.col("kwh").cast(pl.Float64)
    )


def _by_line(marts, day: date) -> dict[str, float]:
    lines = (
        _location(marts["fct_emissions_daily"])
        .filter(pl.col("site_local_date") == day)
        .join(
            marts["dim_equipment"].select("equipment_id", "line_id"), on="equipment_id", how="left"
        )
        .with_columns(pl.col("line_id").fill_null("(site utilities)"))
        .group_by("line_id")
        .agg(pl.col("kg_co2e").sum())
    )
    return dict(lines.iter_rows())


def test_todays_emissions_by_line(answers, marts):
    rows = answers["todays_emissions_by_line"]
    assert {r["day"] for r in rows} == {LAST}, "today = the latest day with data"
    got = {r["line"]: float(r["kg_co2e"]) for r in rows}
    assert got == pytest.approx(_by_line(marts, LAST), rel=1e-12)
    assert set(got) == {"L1-SMT", "L2-SMT", "L3-THT", "L4-TEST", "(site utilities)"}
    assert [float(r["kg_co2e"]) for r in rows] == sorted(got.values(), reverse=True)
    first = {r["line"]: float(r["kg_co2e"]) for r in answers["first_day_by_line"]}
    assert first == pytest.approx(_by_line(marts, START), rel=1e-12), "SET VARIABLE as_of_date"


def test_top_hotspots_this_week(answers, marts):
    emissions = (
        _location(marts["fct_emissions_daily"])
        .group_by("equipment_id")
        .agg(pl.col("kg_co2e").sum())
        .with_columns((pl.col("kg_co2e") / pl.col("kg_co2e").sum()).alias("share"))
        .sort(["kg_co2e", "equipment_id"], descending=[True, False])
        .head(5)
    )
    rows = answers["top_hotspots_this_week"]
    assert [r["equipment_id"] for r in rows] == emissions["equipment_id"].to_list()
    assert [r["pct_of_emissions"] for r in rows] == pytest.approx(
        [round(100 * s, 2) for s in emissions["share"]], abs=1e-9
    )
    # The week holds every computed day, so the shares equal the all-time hotspot report's.
    report = dict(
        marts["rpt_equipment_hotspots"]
        .select("equipment_id", "share_of_site_emissions")
        .iter_rows()
    )
    for row in rows:
        assert row["pct_of_emissions"] == pytest.approx(
            round(100 * report[row["equipment_id"]], 2), abs=0.011
        )
    assert rows[0]["equipment_id"] == "L3-WAVE-01" and rows[0]["hotspot_ratio"] > 1
    units = marts["fct_batch_energy"].group_by("line_id").agg(pl.col("good_units").sum())
    share = {line: n / units["good_units"].sum() for line, n in units.iter_rows()}
    assert rows[0]["pct_of_production"] == pytest.approx(round(100 * share["L3-THT"], 2))


def test_intensity_per_sku_this_month(answers, marts):
    # Every batch of the two days starts in January 2026 (site-local).
    expected = (
        marts["fct_batch_energy"]
        .group_by("sku")
        .agg(pl.col("kg_co2e").cast(pl.Float64).sum(), pl.col("good_units").sum(), pl.len())
    )
    rows = {r["sku"]: r for r in answers["intensity_per_sku_this_month"]}
    assert set(rows) == set(expected["sku"])
    for sku, kg, units, batches in expected.iter_rows():
        assert rows[sku]["batches"] == batches
        assert rows[sku]["good_units"] == units
        assert rows[sku]["kg_co2e_per_unit"] == pytest.approx(kg / units, rel=1e-12)
    # The same intensity from another mart: product intensity per line and shift, summed.
    other = (
        marts["fct_product_intensity"]
        .group_by("sku")
        .agg(pl.col("kg_co2e").cast(pl.Float64).sum(), pl.col("good_units").sum())
    )
    for sku, kg, units in other.iter_rows():
        assert rows[sku]["kg_co2e_per_unit"] == pytest.approx(kg / units, rel=1e-9)


def test_reconciliation_residual_per_bill(answers, marts):
    rows = answers["reconciliation_residual_per_bill"]
    bills = marts["fct_reconciliation"].sort("period_start")
    assert [r["bill_id"] for r in rows] == bills["bill_id"].to_list()
    for row in rows:
        bill, metered = float(row["bill_kwh"]), float(row["metered_equipment_kwh"])
        assert float(row["residual_kwh"]) == pytest.approx(bill - metered, abs=1e-6)
        assert row["residual_pct"] == pytest.approx(round(100 * (bill - metered) / bill, 2))
        assert 0 < row["residual_pct"] < 50, "unmetered load and losses, not a broken bill"
        if row["is_complete"]:
            assert float(row["reconciled_kwh"]) == pytest.approx(bill, abs=0.01)


def test_progress_against_target(plant, answers, marts):
    # The targets straight from the home's targets.json (the default the run wrote: the
    # simulated plant's 2025 baseline, −4.2 % in 2026), the actuals from the daily mart, the
    # good units from the batches that ended on the two site-local days.
    targets = json.loads((plant.settings.home / "targets.json").read_text())["targets"]
    actual = float(_location(marts["fct_emissions_daily"])["kg_co2e"].sum())
    local_end = pl.col("end_utc").dt.replace_time_zone("UTC").dt.convert_time_zone(TIMEZONE)
    units = float(
        marts["fct_batch_energy"]
        .filter(local_end.dt.date().is_between(START, LAST))["good_units"]
        .sum()
    )
    rows = {(r["period"], r["basis"]): r for r in answers["progress_against_target"]}
    # the quarter and the year that contain "today", absolute and per unit
    assert set(rows) == {(p, b) for p in ("2026-Q1", "2026") for b in ("absolute", "per_unit")}
    assert [(r["period"], r["basis"]) for r in answers["progress_against_target"]] == [
        ("2026-Q1", "absolute"),
        ("2026-Q1", "per_unit"),
        ("2026", "absolute"),
        ("2026", "per_unit"),
    ]
    for entry in (t for t in targets if t["year"] == 2026):
        cut = 1 - entry["reduction_pct"] / 100
        kg, made = entry["baseline"]["kg_co2e"], entry["baseline"]["units"]
        for period, days, base_kg, base_units in (
            ("2026-Q1", 90, kg[0], made[0]),
            ("2026", 365, sum(kg), sum(made)),
        ):
            row = rows[(period, entry["basis"])]
            target, per_unit = base_kg * cut, base_kg / base_units * cut
            projected = actual / DAYS * days
            budget = target if entry["basis"] == "absolute" else per_unit * units / DAYS * days
            assert row["days_with_data"] == DAYS, "both simulated days are complete"
            assert row["target_kg_co2e"] == pytest.approx(target, rel=1e-12)
            assert row["target_kg_co2e_per_unit"] == pytest.approx(per_unit, rel=1e-12)
            assert float(row["actual_kg_co2e"]) == pytest.approx(actual, rel=1e-12)
            assert row["actual_kg_co2e_per_unit"] == pytest.approx(actual / units, rel=1e-12)
            assert row["projected_kg_co2e"] == pytest.approx(projected, rel=1e-12)
            assert row["budget_kg_co2e"] == pytest.approx(budget, rel=1e-12)
            assert row["projected_vs_target_pct"] == pytest.approx(
                round(100 * (projected / budget - 1), 2)
            )
            threshold = entry.get("replan_threshold", 0.05)
            status = (
                "replan"
                if projected > budget * (1 + threshold)
                else "at_risk"
                if projected > budget
                else "on_track"
            )
            assert row["status"] == status


# -- documentation of the data -------------------------------------------------------------------
def test_wattprint_docs_describes_every_published_column(plant, capsys):
    from orchestration.cli import main

    code = main(["--home", str(plant.settings.home), "docs"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    docs = plant.settings.home / "docs"
    assert (docs / "static_index.html").stat().st_size > 100_000
    dictionary = (docs / "data_dictionary.md").read_text()
    rows = pl.read_csv(docs / "data_dictionary.csv", infer_schema=False)
    with duckdb.connect(str(plant.published), read_only=True) as con:
        published = con.execute(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where schema_name = 'marts' order by all"
        ).fetchall()
    documented = {(t, c): (u or "", d or "") for _, t, c, _, u, d in rows.iter_rows()}
    for table, column, data_type in published:
        assert f"## marts.{table}" in dictionary
        unit, description = documented[(table, column)]
        assert description, f"marts.{table}.{column} has no description"
        if data_type.startswith(("DECIMAL", "DOUBLE", "BIGINT", "INTEGER", "HUGEINT")):
            assert unit, f"marts.{table}.{column} ({data_type}) has no unit"
    assert documented[("fct_emissions_daily", "kg_co2e")][0] == "kgCO2e"
    assert documented[("fct_energy_interval", "kwh")][0] == "kWh"


def test_a_breaking_change_to_a_contracted_mart_fails_the_build(plant, tmp_path):
    """Rename a column of dim_site in a copy of the project: dbt refuses to build the mart."""
    from dbt.cli.main import dbtRunner

    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(plant.settings.warehouse_path, warehouse)

    def build() -> object:
        os.environ["WATTPRINT_WAREHOUSE"] = str(warehouse)
        try:
            return dbtRunner().invoke(
                [
                    "run",
                    "--select",
                    "dim_site",
                    "--project-dir",
                    str(project),
                    "--profiles-dir",
                    str(project),
                    "--target-path",
                    str(tmp_path / "target"),
                    "--log-path",
                    str(tmp_path / "logs"),
                ]
            )
        finally:
            os.environ.pop("WATTPRINT_WAREHOUSE", None)

    assert build().success, "the unchanged project builds"
    model = project / "models" / "marts" / "dim_site.sql"
    model.write_text(model.read_text().replace("    country,", "    country as country_code,"))
    result = build()
    assert not result.success
    failures = [r for r in result.result or [] if r.status == "error"]
    message = " ".join(str(r.message) for r in failures) + str(result.exception or "")
    assert "contract" in message.lower(), message

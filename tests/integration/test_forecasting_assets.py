"""The forecasting assets and `wattprint scenario` on a real warehouse: a 4-day simulated plant
through the real pipeline (dbt, Dagster), then the forecasts (hourly and daily partitions),
target tracking with a target the plant must miss, and the scenarios — tables, models on disk,
metadata, the re-plan request contract and its exactly-once insertion."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 1, 5)
DAYS = 4
SITE = "TW-HSINCHU-01"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from orchestration.cli.commands.simulate import simulate_into
    from orchestration.pipeline import run_pipeline

    settings = configure(home=tmp_path_factory.mktemp("forecasting"))
    simulate_into(settings, DAYS, seed=3, start=START)
    # Q1 2026 may emit 400 t (baseline 400 t, no cut): the plant emits ~5.7 t a day, ~515 t a
    # quarter → far more than 5% over → a re-plan. The per-unit target is generous → on track.
    # The 2027 target leaves its baseline to the warehouse, which holds no 2025: neither view
    # can resolve it. Written before the pipeline run, which resolves it for the mart.
    (settings.home / "targets.json").write_text(json.dumps({"targets": [
        {"site_id": SITE, "year": 2026, "reduction_pct": 0, "basis": "absolute",
         "baseline_year": 2025, "baseline": {"kg_co2e": [400_000, 400_000, 400_000, 400_000]}},
        {"site_id": SITE, "year": 2026, "reduction_pct": 0, "basis": "per_unit",
         "baseline_year": 2025, "baseline": {"kg_co2e": [400_000, 400_000, 400_000, 400_000],
                                             "units": [100_000, 100_000, 100_000, 100_000]}},
        {"site_id": SITE, "year": 2027, "reduction_pct": 4.2, "baseline_year": 2025},
    ]}))
    outcome = run_pipeline(settings, START, date.fromordinal(START.toordinal() + DAYS - 1))
    assert outcome.success, outcome.error
    # the unresolvable 2027 entry is a failed (warning) check of the run, not a failed run
    assert "targets/site_targets:targets_resolved" in outcome.failed_checks
    return settings


def _materialize(settings, assets, partition=None) -> dg.ExecuteInProcessResult:
    from orchestration.defs.forecasting.resources import ForecastSettings
    from orchestration.defs.warehouse.resources import Warehouse

    result = dg.materialize(
        assets, partition_key=partition,
        resources={"warehouse": Warehouse(path=str(settings.warehouse_path)),
                   "forecast_settings": ForecastSettings()},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )
    assert result.success, [e.event_specific_data.error.message for e in result.all_events
                            if e.is_step_failure]
    return result


def _metadata(result, key: list[str]) -> dict:
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            if mat.asset_key == dg.AssetKey(key):
                return {k: v.value for k, v in mat.metadata.items()}
    raise AssertionError(f"no materialization of {key}")


@pytest.fixture(scope="module")
def daily(home):
    from orchestration.defs.forecasting.assets import forecasts, scenarios, target_tracking

    return _materialize(home, [forecasts, target_tracking, scenarios], "daily")


def _sql(settings, query: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.sql(query).pl()


def test_daily_forecasts_cover_every_series_horizon_and_calendar_period(home, daily):
    f = _sql(home, "select * from forecasting.forecasts")
    series = f["series_id"].unique().sort().to_list()
    assert len(series) == 6  # site, largest line, largest equipment x energy, emissions
    assert {s.split("/")[1] for s in series} == {"site", "line", "equipment"}
    per = f.group_by("series_id", "horizon").len()
    assert set(per.filter(pl.col("horizon") == "daily")["len"]) == {30}
    assert set(per.filter(pl.col("horizon") == "month")["len"]) == {12}  # Jan..Dec 2026
    assert set(per.filter(pl.col("horizon") == "quarter")["len"]) == {4}
    assert ((f["yhat_lower"] <= f["yhat"]) & (f["yhat"] <= f["yhat_upper"])).all()
    q1 = f.filter((pl.col("level") == "site") & (pl.col("target") == "emissions")
                  & (pl.col("period_label") == "2026-Q1")).row(0, named=True)
    # actual so far (5-8 Jan) + 4 days before the data (1-4 Jan) at the mean day + 82 days
    # forecast (9 Jan - 31 Mar)
    assert (q1["days_actual"], q1["days_missing"], q1["days_forecast"]) == (4, 4, 82)
    assert q1["missing_estimate"] == pytest.approx(q1["actual_to_date"] / 4 * 4)


def test_models_are_saved_and_their_version_is_their_content(home, daily):
    from models.forecasting.provider import ProphetForecaster

    rows = _sql(home, "select distinct model_path, model_version from forecasting.forecasts")
    assert rows.height == 12  # a 30-day and a year-end model per daily series
    for path, version in rows.iter_rows():
        text = Path(path).read_text()
        assert hashlib.sha256(text.encode()).hexdigest()[:16] == version
    model = ProphetForecaster.load(rows["model_path"][0])
    assert model.freq == "daily" and model.model is not None
    meta = _metadata(daily, ["forecasting", "forecasts"])
    assert "data:image/png;base64," in meta["plot"]
    assert meta["series"] == 6 and meta["series_failed"] == 0


def test_backtests_say_why_a_short_history_has_none(home, daily):
    bt = _sql(home, "select * from forecasting.backtests where freq = 'daily'")
    assert bt.height == 6
    assert bt["mape"].null_count() == 6  # 4 days: below two weekly seasons
    assert bt["note"].str.contains("no backtest: 4 daily periods").all()


def test_hourly_partition_forecasts_48_hours_with_a_backtest(home, daily):
    from orchestration.defs.forecasting.assets import forecasts

    result = _materialize(home, [forecasts], "hourly")
    f = _sql(home, "select * from forecasting.forecasts")
    hourly = f.filter(pl.col("horizon") == "hourly")
    assert set(hourly.group_by("series_id").len()["len"]) == {48}
    assert f.filter(pl.col("horizon") == "daily").height == 6 * 30  # the daily rows stay
    bt = _sql(home, "select * from forecasting.backtests where freq = 'hourly'")
    # 96 hours: one 48-hour fold trained on the first 48
    assert (bt["folds"] == 1).all() and (bt["backtest_horizon"] == 48).all()
    assert bt["mape"].null_count() == 0
    assert bt["naive_mape"].null_count() == 0
    meta = _metadata(result, ["forecasting", "backtests"])
    assert "| series |" in meta["backtests"] and "data:image/png" in meta["plot"]


def test_target_progress_and_exactly_one_replan_request(home, daily):
    from orchestration.defs.forecasting.assets import target_tracking

    progress = _sql(home, "select * from forecasting.target_progress order by basis, "
                    "period_kind")
    assert progress.height == 4  # absolute and per-unit, quarter and year
    quarter = progress.filter((pl.col("basis") == "absolute")
                              & (pl.col("period_kind") == "quarter")).row(0, named=True)
    assert quarter["status"] == "replan" and quarter["target_kg_co2e"] == pytest.approx(4e5)
    assert quarter["as_of_date"] == date(2026, 1, 8)
    per_unit = progress.filter((pl.col("basis") == "per_unit")
                               & (pl.col("period_kind") == "quarter")).row(0, named=True)
    assert per_unit["status"] == "on_track"

    with duckdb.connect(str(home.warehouse_path), read_only=True) as con:
        columns = con.execute("select column_name, data_type from information_schema.columns "
                              "where table_schema = 'forecasting' and table_name = "
                              "'replan_requests' order by ordinal_position").fetchall()
    assert columns == [("request_id", "VARCHAR"), ("site_id", "VARCHAR"),
                       ("quarter", "VARCHAR"), ("as_of_date", "DATE"),
                       ("requested_at_utc", "TIMESTAMP"), ("forecast_kg_co2e", "DOUBLE"),
                       ("target_kg_co2e", "DOUBLE"), ("excess_fraction", "DOUBLE"),
                       ("reason", "VARCHAR")]
    requests = _sql(home, "select * from forecasting.replan_requests")
    assert requests.height == 1
    r = requests.row(0, named=True)
    assert r["request_id"] == f"{SITE}:2026-Q1:2026-01-08"
    assert r["forecast_kg_co2e"] == pytest.approx(quarter["projected_kg_co2e"])
    assert r["excess_fraction"] == pytest.approx(r["forecast_kg_co2e"] / 4e5 - 1)
    assert r["forecast_kg_co2e"] > 4e5 * 1.05
    assert _metadata(daily, ["forecasting", "replan_requests"])["new_requests"] == 1
    alerts = _sql(home, "select * from forecasting.target_alerts")
    assert alerts.height == 1 and alerts["severity"][0] == "critical"

    again = _materialize(home, [target_tracking])  # same day again: nothing new asked
    assert _metadata(again, ["forecasting", "replan_requests"])["new_requests"] == 0
    assert _sql(home, "select * from forecasting.replan_requests").height == 1
    assert _sql(home, "select * from forecasting.target_progress").height == 4
    checks = [e.asset_check_evaluation_data for e in again.all_events
              if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    assert [(c.check_name, c.passed) for c in checks] == [("quarter_within_target", False)]


def test_the_warehouse_mart_and_the_forecast_hold_a_quarter_to_the_same_target(home, daily):
    """Two views of progress — marts.rpt_target_progress (run rate, built by the pipeline) and
    forecasting.target_progress (forecast) — one targets.json: the same target per period."""
    columns = "target_id, period, basis, baseline_kg_co2e, target_kg_co2e, target_kg_co2e_per_unit"
    forecast = _sql(home, f"select {columns}, status from forecasting.target_progress")
    mart = _sql(home, f"select {columns}, status, days_with_data from marts.rpt_target_progress")
    assert mart.height == 2 * 5  # 2026 absolute and per unit, 4 quarters + the year; no 2027
    assert set(mart["target_id"]) == {f"{SITE}:2026:absolute", f"{SITE}:2026:per_unit"}
    both = forecast.join(mart, on=["target_id", "period"], suffix="_mart", how="left")
    assert both.height == 4 and set(both["period"]) == {"2026-Q1", "2026"}
    for row in both.iter_rows(named=True):
        for column in ("baseline_kg_co2e", "target_kg_co2e", "target_kg_co2e_per_unit"):
            assert row[column] == row[f"{column}_mart"], (row["target_id"], row["period"], column)
    q1 = both.filter((pl.col("period") == "2026-Q1") & (pl.col("basis") == "absolute"))
    assert q1["target_kg_co2e"][0] == 4e5 and q1["days_with_data"][0] == DAYS
    # ~515 t projected both ways against 400 t: both views ask for a re-plan
    assert q1["status"][0] == q1["status_mart"][0] == "replan"


def test_scenario_asset_and_command_agree(home, daily, capsys):
    from orchestration.cli import main

    table = _sql(home, "select * from forecasting.scenarios order by measure")
    assert main(["--home", str(home.home), "scenario", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["site_id"] for s in report] == [SITE]
    measures = {m["measure"]: m for m in report[0]["measures"]}
    assert set(measures) == set(table["measure"])
    assert {"HVAC control upgrade", "Compressed-air leak repair", "On-site solar PV",
            "Shift flexible load (L3-THT)"} <= set(measures)
    solar = measures["On-site solar PV"]
    assert solar["investment_twd"] == 300 * 45_000  # 300 kWp at 45,000 TWD/kWp
    hvac = measures["HVAC control upgrade"]
    assert hvac["kg_co2e_saved"] > 0 and 0 < hvac["reduction_pct"] < 10
    assert hvac["payback_months"] == pytest.approx(
        12 * hvac["investment_twd"] / hvac["cost_saving_twd"])
    shift = measures["Shift flexible load (L3-THT)"]
    assert shift["kwh_saved"] == pytest.approx(0.0, abs=1e-6)  # energy moved, not saved
    assert shift["kg_co2e_saved_annual_factor"] == pytest.approx(0.0, abs=1e-6)
    assert table.filter(pl.col("measure") == "HVAC control upgrade")["kg_co2e_saved"][0] == (
        pytest.approx(hvac["kg_co2e_saved"]))

    assert main(["--home", str(home.home), "scenario", "--measures", "air,solar",
                 "--solar-kwp", "100"]) == 0
    out = capsys.readouterr().out
    assert "Compressed-air leak repair" in out and "payback" in out
    table_text = out.split("Per year")[1].split("hourly =")[0]
    assert "On-site solar PV" in table_text and "HVAC" not in table_text
    assert "4,500,000" in out  # 100 kWp x 45,000 TWD

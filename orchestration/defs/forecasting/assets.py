"""Forecasts with their backtests, target tracking with re-plan requests, and reduction
scenarios, as assets of the `forecasting` group writing the warehouse's `forecasting` schema.

Thin by design: the marts are read (inputs.py), `models.forecasting` does the work (batch.py:
series, Prophet, backtests, totals; tracking.py: targets; scenarios.py: measures), and this
module writes the tables (store.py), saves the models and puts a person's view in the metadata:
a table of the backtests and the plots.

- forecasting/forecasts + forecasting/backtests: partitioned by horizon group (partitions.py):
  'hourly' (48 h) every hour, 'daily' (30 days, and the month/quarter/year totals to the end of
  the year) every day.
- forecasting/target_progress + forecasting/replan_requests + forecasting/target_alerts: each
  day, the current quarter and year of every site with a target ($WATTPRINT_HOME/targets.json)
  against the daily forecast's totals; a quarter forecast more than 5% over its target raises a
  critical alert and a re-plan request, which production planning consumes.
- forecasting/scenarios: the reduction measures priced on the site's own recent profile.
"""

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from models.forecasting.batch import GROUP_HORIZONS, backtest_frame, forecast_frame, forecast_site
from models.forecasting.resolved_targets import resolve_entry
from models.forecasting.scenarios import MEASURE_KINDS, build_measures, compare, hourly_profile
from models.forecasting.target_config import ensure_targets
from models.forecasting.tracking import (
    REPLAN_DDL,
    progress_frame,
    progress_row,
    replan_alerts,
    replan_requests,
)
from orchestration.defs.forecasting.inputs import NoData, read_scenario_inputs, read_sites
from orchestration.defs.forecasting.partitions import horizon_partitions
from orchestration.defs.forecasting.resources import ForecastSettings
from orchestration.defs.forecasting.store import (
    insert_new,
    model_dir,
    replace_rows,
    replace_table,
    save_models,
    upsert,
    with_model_paths,
    writer,
)
from orchestration.defs.targets.inputs import warehouse_baseline
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import load_settings
from quality.alerts import ALERT_SCHEMA

GROUP = "forecasting"
FORECASTS = dg.AssetKey(["forecasting", "forecasts"])
BACKTESTS = dg.AssetKey(["forecasting", "backtests"])
TARGET_PROGRESS = dg.AssetKey(["forecasting", "target_progress"])
REPLAN_REQUESTS = dg.AssetKey(["forecasting", "replan_requests"])
TARGET_ALERTS = dg.AssetKey(["forecasting", "target_alerts"])
SCENARIOS = dg.AssetKey(["forecasting", "scenarios"])

MARTS_READ = [
    dg.AssetKey(["marts", "fct_energy_interval"]),
    dg.AssetKey(["marts", "fct_emissions_interval"]),
    dg.AssetKey(["marts", "fct_batch_energy"]),
    dg.AssetKey(["marts", "dim_equipment"]),
    dg.AssetKey(["marts", "dim_site"]),
]
# A run that finds the warehouse locked by a pipeline run (one DuckDB writer) tries again.
RETRY = dg.RetryPolicy(max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL)


def _png_md(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def markdown_table(frame: pl.DataFrame, limit: int = 40, float_format: str = ",.2f") -> str:
    """The frame's first `limit` rows as a Markdown table for asset metadata."""
    if frame.height == 0:
        return "(no rows)"

    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:{float_format}}"
        return str(v)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.head(limit).iter_rows()
    ]
    return "\n".join(lines)


def _backtest_md(backtests: pl.DataFrame) -> str:
    pct = [pl.col(c) * 100 for c in ("mape", "naive_mape", "coverage")]
    view = backtests.select(
        pl.col("series_id").str.split("/").list.slice(1, 3).list.join(" ").alias("series"),
        "history_periods",
        "backtest_horizon",
        "folds",
        pct[0].alias("MAPE %"),
        pct[1].alias("naive MAPE %"),
        (pl.col("skill") * 100).alias("lower than naive %"),
        pct[2].alias("80% coverage %"),
        pl.coalesce("error", "note").alias("note"),
    )
    return markdown_table(view)


def _forecast_panels(results) -> list[dict]:
    panels = []
    for r in results:
        if r.forecast is None or r.history is None:
            continue
        keep = 7 * 24 if r.freq == "hourly" else 42
        frame = r.forecast.frame.head(48 if r.freq == "hourly" else 30)
        panels.append(
            {
                "history": r.history.tail(keep),
                "forecast": frame,
                "title": f"{r.scope.level} {r.scope.id} — {r.target}, {r.freq}",
                "unit": r.forecast.unit,
            }
        )
    return panels


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            FORECASTS,
            description="Prophet forecasts of energy (kWh) and emissions (kgCO2e, as the marts "
            "report them) for each site, its largest line and its largest equipment: next 48 "
            "local hours (partition 'hourly'), next 30 local days and the totals of every month, "
            "quarter and the year to its end (partition 'daily'), each with its 80% interval, "
            "the model version and the path of the saved model.",
            deps=MARTS_READ,
            kinds={"prophet", "polars", "duckdb"},
            group_name=GROUP,
        ),
        dg.AssetSpec(
            BACKTESTS,
            description="The rolling-origin backtest stored with every forecast: MAPE, WAPE, "
            "80% interval coverage and the seasonal-naive baseline's scores on the same "
            "origins, per series, with notes where a short history shrank the backtest.",
            deps=[FORECASTS],
            kinds={"prophet", "duckdb"},
            group_name=GROUP,
        ),
    ],
    partitions_def=horizon_partitions,
    retry_policy=RETRY,
)
def forecasts(
    context: dg.AssetExecutionContext, warehouse: Warehouse, forecast_settings: ForecastSettings
):
    group = context.partition_key
    spec = forecast_settings.spec()
    with warehouse.connect() as con:
        try:
            sites = read_sites(
                con,
                forecast_settings.history_days(group),
                hourly_factors=spec.emission_basis == "hourly_intensity",
            )
        except NoData as error:
            raise dg.Failure(description=str(error)) from error
    results = [r for site in sites for r in forecast_site(site, group, spec)]
    failed = [r for r in results if r.error]
    if len(failed) == len(results):
        raise dg.Failure(
            description="no series could be forecast: "
            + "; ".join(f"{r.series_id}: {r.error}" for r in failed)
        )
    home = load_settings().home
    paths = save_models(home, results)
    frame, backtests = with_model_paths(forecast_frame(results), backtest_frame(results), paths)
    fitted_at = datetime.now(UTC).replace(tzinfo=None)
    frame = frame.with_columns(pl.lit(fitted_at).alias("fitted_at_utc"))
    backtests = backtests.with_columns(pl.lit(fitted_at).alias("fitted_at_utc"))
    with writer(warehouse.resolved_path()) as con:
        replace_rows(con, "forecasts", frame, "horizon", list(GROUP_HORIZONS[group]))
        replace_rows(con, "backtests", backtests, "freq", [group])

    from models.forecasting.plots import backtest_figure, forecast_figure

    plots = model_dir(home) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    fc_png = forecast_figure(_forecast_panels(results))
    bt_png = backtest_figure(backtests) if backtests["mape"].drop_nulls().len() else None
    (plots / f"{group}-forecasts.png").write_bytes(fc_png)
    totals = frame.filter(
        pl.col("horizon").is_in(["quarter", "year"]) & (pl.col("level") == "site")
    )
    yield dg.MaterializeResult(
        asset_key=FORECASTS,
        metadata={
            "dagster/row_count": frame.height,
            "series": len(results) - len(failed),
            "series_failed": len(failed),
            "horizons": ", ".join(GROUP_HORIZONS[group]),
            "plot": dg.MetadataValue.md(_png_md(fc_png, f"{group} forecasts")),
            "plot_path": dg.MetadataValue.path(str(plots / f"{group}-forecasts.png")),
            "site_totals": dg.MetadataValue.md(
                markdown_table(
                    totals.select(
                        "site_id",
                        "target",
                        "period_label",
                        "actual_to_date",
                        "yhat",
                        "yhat_lower",
                        "yhat_upper",
                        "unit",
                    )
                )
            ),
            "models": dg.MetadataValue.json({f"{s} ({n})": p for (s, n), p in paths.items()}),
            "model_dir": dg.MetadataValue.path(str(model_dir(home))),
        },
    )
    bt_meta = {
        "dagster/row_count": backtests.height,
        "backtests": dg.MetadataValue.md(_backtest_md(backtests)),
    }
    if bt_png is not None:
        (plots / f"{group}-backtests.png").write_bytes(bt_png)
        bt_meta["plot"] = dg.MetadataValue.md(_png_md(bt_png, f"{group} backtests"))
        bt_meta["plot_path"] = dg.MetadataValue.path(str(plots / f"{group}-backtests.png"))
    site_em = backtests.filter((pl.col("level") == "site") & (pl.col("target") == "emissions"))
    for row in site_em.iter_rows(named=True):
        if row["mape"] is not None:
            bt_meta[f"site_emissions_mape_{row['site_id']}"] = float(row["mape"])
            bt_meta[f"site_emissions_naive_mape_{row['site_id']}"] = float(row["naive_mape"])
            bt_meta[f"site_emissions_coverage_{row['site_id']}"] = float(row["coverage"])
    yield dg.MaterializeResult(asset_key=BACKTESTS, metadata=bt_meta)


# ------------------------------------------------------------------------------------------
# targets


def _site_info(con) -> dict[str, str]:
    return dict(con.sql("select site_id, timezone from marts.dim_site").pl().iter_rows())


def _units_by_day(con, timezones: dict[str, str]) -> pl.DataFrame:
    """Good units per site and site-local day of the batch's end (as the baseline counts)."""
    batches = con.sql("select site_id, end_utc, good_units from marts.fct_batch_energy").pl()
    frames = []
    for site, tz in timezones.items():
        own = batches.filter(pl.col("site_id") == site)
        frames.append(
            own.select(
                "site_id",
                pl.col("end_utc")
                .dt.replace_time_zone("UTC")
                .dt.convert_time_zone(tz)
                .dt.date()
                .alias("date"),
                pl.col("good_units").cast(pl.Float64),
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={"site_id": pl.String, "date": pl.Date, "good_units": pl.Float64}
        )
    return pl.concat(frames).group_by("site_id", "date").agg(pl.col("good_units").sum())


def _top_emitters(con, site_id: str, start, end) -> str | None:
    top = con.sql(
        """
        select equipment_id, sum(kg_co2e)::double as kg from marts.fct_emissions_daily
        where site_id = ? and method = 'location' and site_local_date between ? and ?
        group by 1 order by kg desc limit 3
        """,
        params=[site_id, start, end],
    ).pl()
    total = con.sql(
        """
        select sum(kg_co2e)::double from marts.fct_emissions_daily
        where site_id = ? and method = 'location' and site_local_date between ? and ?
        """,
        params=[site_id, start, end],
    ).fetchall()[0][0]
    if top.is_empty() or not total:
        return None
    parts = [f"{r['equipment_id']} {r['kg'] / total:.0%}" for r in top.iter_rows(named=True)]
    return "largest emitters this quarter: " + ", ".join(parts)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            TARGET_PROGRESS,
            description="Daily progress of every site against its quarterly and annual "
            "reduction targets ($WATTPRINT_HOME/targets.json; absolute and per unit produced, "
            "against a baseline year): actual to date vs the pro-rata budget, and the period "
            "projected by the daily forecast (actual + forecast rest, 80% interval) vs the "
            "target, with a status: on_track, at_risk, replan (more than 5% over).",
            deps=[
                FORECASTS,
                dg.AssetKey(["marts", "fct_emissions_daily"]),
                dg.AssetKey(["marts", "fct_batch_energy"]),
            ],
            kinds={"polars", "duckdb"},
            group_name=GROUP,
        ),
        dg.AssetSpec(
            REPLAN_REQUESTS,
            description="Re-plan requests for production planning: one per site, quarter and "
            "day on which the forecast says the quarter will exceed its target by more than "
            "5% (request_id = site:quarter:as_of_date, so a re-run never asks twice). "
            "Metadata new_requests: how many this materialization added.",
            deps=[TARGET_PROGRESS],
            kinds={"duckdb"},
            group_name=GROUP,
        ),
        dg.AssetSpec(
            TARGET_ALERTS,
            description="Critical alerts for the quarters forecast over target, in the schema "
            "of quality.alerts (rule 'quarter_target'), with the site's largest emitters this "
            "quarter as the probable cause.",
            deps=[TARGET_PROGRESS],
            kinds={"duckdb"},
            group_name=GROUP,
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "quarter_within_target",
            asset=TARGET_PROGRESS,
            description="No site's current quarter is forecast more than its re-plan threshold "
            "over target.",
        )
    ],
    retry_policy=RETRY,
)
def target_tracking(context: dg.AssetExecutionContext, warehouse: Warehouse):
    settings = load_settings()
    try:
        targets, path, written = ensure_targets(settings.home)
    except ValueError as error:
        raise dg.Failure(description=str(error)) from error
    now = datetime.now(UTC).replace(tzinfo=None)
    rows, notes = [], []
    causes: dict[str, str] = {}
    with warehouse.connect() as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'forecasting' "
            "and table_name = 'forecasts'"
        ).fetchall()[0][0]
        if not exists:
            raise dg.Failure(
                description="no forecasting.forecasts table yet: materialize "
                "forecasting/forecasts, partition 'daily', first"
            )
        periods = con.sql(
            """
            select * from forecasting.forecasts
            where level = 'site' and target = 'emissions' and horizon in ('quarter', 'year')
            """
        ).pl()
        timezones = _site_info(con)
        units = _units_by_day(con, timezones)
        for site_id, tz in timezones.items():
            own = periods.filter(pl.col("site_id") == site_id)
            if own.is_empty():
                notes.append(f"{site_id}: no daily emissions forecast")
                continue
            end = own["history_end_utc"][0].replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
            as_of = (end.replace(tzinfo=None) - timedelta(days=1)).date()
            current = own.filter(
                (pl.col("ts").dt.date() <= as_of) & (pl.col("period_end").dt.date() > as_of)
            )
            entries = targets.for_site(site_id, as_of.year)
            if not entries:
                notes.append(f"{site_id}: no target for {as_of.year} in {path}")
                continue
            for entry in entries:
                try:
                    # The same resolution as the pipeline's targets/site_targets, which the
                    # run-rate mart reads: one baseline, one target per quarter in both views.
                    target = resolve_entry(
                        entry, lambda site, year: warehouse_baseline(con, site, year)
                    )
                    for period in current.iter_rows(named=True):
                        start = period["ts"].date()
                        got = units.filter(
                            (pl.col("site_id") == site_id)
                            & (pl.col("date") >= start)
                            & (pl.col("date") <= as_of)
                        )
                        rows.append(
                            progress_row(
                                entry,
                                target,
                                period,
                                as_of=as_of,
                                units_to_date=float(got["good_units"].sum())
                                if got.height
                                else None,
                                computed_at=now,
                            )
                        )
                except ValueError as error:
                    notes.append(f"{entry.target_id}: {error}")
            quarter = current.filter(pl.col("horizon") == "quarter")
            if quarter.height:
                q = quarter.row(0, named=True)
                cause = _top_emitters(con, site_id, q["ts"].date(), as_of)
                if cause:
                    causes[site_id] = cause
    progress = progress_frame(rows)
    requests = replan_requests(progress, now)
    alerts = replan_alerts(requests, progress, ALERT_SCHEMA, timezone=timezones, causes=causes)
    with writer(warehouse.resolved_path()) as con:
        upsert(con, "target_progress", progress, ["as_of_date", "target_id", "period"])
        new = insert_new(con, "replan_requests", requests, "request_id", ddl=REPLAN_DDL)
        upsert(con, "target_alerts", alerts, ["alert_id"])
    for request in requests.iter_rows(named=True):
        context.log.warning(f"re-plan requested: {request['request_id']}: {request['reason']}")
    view = progress.select(
        "site_id",
        "period",
        "basis",
        "status",
        "actual_to_date_kg_co2e",
        "budget_to_date_kg_co2e",
        "projected_kg_co2e",
        "budget_kg_co2e",
        (pl.col("excess_fraction") * 100).alias("excess %"),
    )
    fired = progress.filter(pl.col("status") == "replan")
    yield dg.MaterializeResult(
        asset_key=TARGET_PROGRESS,
        metadata={
            "dagster/row_count": progress.height,
            "targets_file": dg.MetadataValue.path(str(path)),
            "targets_file_written": written,
            "progress": dg.MetadataValue.md(markdown_table(view)),
            "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "none"),
        },
    )
    yield dg.MaterializeResult(
        asset_key=REPLAN_REQUESTS,
        metadata={
            "new_requests": new,
            "requests_today": requests.height,
            "requests": dg.MetadataValue.md(
                markdown_table(
                    requests.select(
                        "request_id",
                        "forecast_kg_co2e",
                        "target_kg_co2e",
                        (pl.col("excess_fraction") * 100).alias("excess %"),
                    )
                )
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=TARGET_ALERTS, metadata={"dagster/row_count": alerts.height}
    )
    quarters = fired.filter(pl.col("period_kind") == "quarter")
    yield dg.AssetCheckResult(
        asset_key=TARGET_PROGRESS,
        check_name="quarter_within_target",
        passed=quarters.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarters_over": quarters.height,
            "messages": dg.MetadataValue.md(
                "\n".join(f"- {m}" for m in quarters["message"].to_list()) or "none"
            ),
        },
    )


# ------------------------------------------------------------------------------------------
# scenarios


def scenario_table(
    inputs,
    kinds=MEASURE_KINDS,
    lines: tuple[str, ...] | None = None,
    solar_kwp: float | None = None,
) -> tuple[pl.DataFrame, list, pl.DataFrame]:
    """(table, skipped measures, profile) for one site's ScenarioInputs."""
    profile = hourly_profile(
        inputs.energy,
        inputs.equipment,
        inputs.factors,
        timezone=inputs.timezone,
        hourly_factor_id=inputs.hourly_factor_id,
        annual_factor_id=inputs.annual_factor_id,
    )
    measures = build_measures(tuple(kinds), inputs.lines if lines is None else lines, solar_kwp)
    table, skipped = compare(profile, inputs.equipment, measures)
    return table, skipped, profile


@dg.asset(
    key=SCENARIOS,
    description="Reduction measures — HVAC control upgrade, compressed-air leak repair, moving "
    "each line's flexible load to its day's cleanest hours, on-site solar — modelled as changes "
    "to the site's own equipment profiles over the last year of data (scaled to a year): "
    "energy and emissions saved (hourly-intensity and reported bases), TOU energy-cost saving, "
    "investment and simple payback. Same figures as `wattprint scenario`.",
    deps=MARTS_READ,
    kinds={"polars", "duckdb"},
    group_name=GROUP,
    retry_policy=RETRY,
)
def scenarios(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        try:
            sites = read_scenario_inputs(con)
        except NoData as error:
            raise dg.Failure(description=str(error)) from error
    now = datetime.now(UTC).replace(tzinfo=None)
    frames, skipped_all = [], []
    for inputs in sites:
        table, skipped, _ = scenario_table(inputs)
        skipped_all += [f"{inputs.site_id}: {name} — {why}" for name, why in skipped]
        if table.height:
            frames.append(
                table.with_columns(
                    pl.lit(inputs.site_id).alias("site_id"),
                    pl.lit(inputs.first_utc).alias("data_from_utc"),
                    pl.lit(inputs.last_utc).alias("data_to_utc"),
                    pl.lit(inputs.hourly_factor_id).cast(pl.String).alias("hourly_factor_id"),
                    pl.lit(now).alias("computed_at_utc"),
                )
            )
    frame = pl.concat(frames) if frames else pl.DataFrame()
    if frame.height:
        frame = frame.select("site_id", *[c for c in frame.columns if c != "site_id"])
        with writer(warehouse.resolved_path()) as con:
            replace_table(con, "scenarios", frame)
    view = (
        frame.select(
            "site_id",
            "measure",
            "kwh_saved",
            "kg_co2e_saved",
            "reduction_pct",
            "cost_saving_twd",
            "investment_twd",
            "payback_months",
        )
        if frame.height
        else frame
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "scenarios": dg.MetadataValue.md(markdown_table(view)),
            "not_applicable": dg.MetadataValue.md(
                "\n".join(f"- {s}" for s in skipped_all) or "none"
            ),
        }
    )

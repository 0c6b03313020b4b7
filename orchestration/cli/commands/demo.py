"""`wattprint demo`: a simulated plant (or the real steel-plant file) through the whole pipeline,
ending in tables a person can read."""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import date
from pathlib import Path

from orchestration.cli.commands.common import UserError, run_days, settings_from
from orchestration.cli.progress import Steps
from orchestration.cli.summary import print_summary
from orchestration.cli.tables import render
from orchestration.cli.validate import load_report, render_report
from orchestration.settings import PROJECT_ROOT, save_home_settings

MARKER = "demo.json"
# What a demo may delete when it starts again; the Dagster instance stays, so run history
# accumulates and the UI shows every demo run.
RESETTABLE = (
    "landing",
    "quarantine",
    "ground_truth",
    "logs",
    "wattprint.json",
    "warehouse.duckdb",
    "warehouse.duckdb.wal",
)
STEEL_CSV = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "steel_industry_2018"
    / "steel_industry_2018_january.csv"
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="simulate a plant and run the whole pipeline, then print the figures",
        description="The plant case (default): simulate an electronics plant, land its data, "
        "run the pipeline in Dagster and print daily energy and emissions, the top hotspots, "
        "the bill reconciliation, carbon intensity per SKU and the accuracy against ground "
        "truth. The steel case: import the DAEWOO steel plant's January 2018 file as "
        "published and reproduce its CO2 column.",
    )
    parser.add_argument("--case", choices=("plant", "steel"), default="plant")
    parser.add_argument("--days", type=int, default=14, help="simulated days (default 14)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    parser.add_argument(
        "--steel-csv", type=Path, default=STEEL_CSV, help="the steel plant's January 2018 CSV"
    )
    live = parser.add_argument_group(
        "live path: the plant case's last day comes over MQTT, through the ingestion service"
    )
    live.add_argument(
        "--mqtt-host", default="127.0.0.1", help="the broker to use (default 127.0.0.1)"
    )
    live.add_argument("--mqtt-port", type=int, default=1883, help="its port (default 1883)")
    live.add_argument("--mqtt-username")
    live.add_argument(
        "--mqtt-password-env",
        default="WATTPRINT_MQTT_PASSWORD",
        help="environment variable holding the password (default WATTPRINT_MQTT_PASSWORD)",
    )
    live.add_argument(
        "--embedded-broker",
        action="store_true",
        help="use an embedded broker even when one answers at --mqtt-host/--mqtt-port "
        "(without this flag, one is started only when none answers there)",
    )
    parser.set_defaults(handler=handle)


def prepare_home(home: Path, case: str) -> None:
    """Start from a clean landing zone, but only in a home the demo made (or an empty one)."""
    marker = home / MARKER
    if home.exists() and any(home.iterdir()) and not marker.exists():
        raise UserError(
            f"{home} holds data the demo did not create; run the demo with --home pointing to an "
            "empty folder (or one a previous demo made)"
        )
    for name in RESETTABLE:
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    home.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"case": case}))


def handle(args: argparse.Namespace) -> int:
    if args.case == "steel":
        return steel_case(args)
    prepare_home(settings_from(args).home, "plant")
    settings = settings_from(args)  # again: the home's saved settings were just reset
    from orchestration.cli.live_tail import simulate_with_live_tail

    if args.days < 1:
        raise UserError("--days must be at least 1")
    steps = Steps(3)
    start = date(2026, 1, 5)
    with steps.step(
        f"Simulating {args.days} days of a 24/7 electronics plant (seed {args.seed}); "
        "the last day comes over MQTT"
    ):
        tail = simulate_with_live_tail(settings, args.days, args.seed, start, mqtt_options(args))
        print(
            f"      landed {tail.counts.get('readings', 0):,} readings of the first "
            f"{args.days - 1} day{'' if args.days == 2 else 's'} as files under "
            f"{settings.home}/landing"
        )
        print(live_tail_line(tail))
        if not tail.trip.lossless:
            raise UserError(
                f"readings were lost on the MQTT path: {tail.trip.missing} published but not "
                f"landed, {tail.trip.unexpected} landed but not published, "
                f"{tail.trip.quarantined} quarantined"
            )
    with steps.step("Running the pipeline in Dagster: dbt build + checks, one run for all days"):
        run_days(settings, start, date.fromordinal(start.toordinal() + args.days - 1))
    with steps.step("Reading the figures from the warehouse"):
        print_summary(settings.warehouse_path)
        report = load_report(settings)
        print(render_report(report))
    print_next_steps(settings.home)
    return 0


def mqtt_options(args: argparse.Namespace):
    import os

    from orchestration.cli.live_tail import MqttOptions

    return MqttOptions(
        host=args.mqtt_host,
        port=args.mqtt_port,
        username=args.mqtt_username,
        password=os.environ.get(args.mqtt_password_env),
        embedded=args.embedded_broker,
    )


def live_tail_line(tail) -> str:
    trip = tail.trip
    why = f" — {tail.why_embedded}" if tail.why_embedded else ""
    outcome = (
        "none lost"
        if trip.lossless
        else f"{trip.missing} LOST, {trip.unexpected} unexpected, {trip.quarantined} quarantined"
    )
    return (
        f"      {trip.landed:,} readings of {tail.day} came over MQTT ({trip.messages:,} gateway "
        f"messages, QoS 1) via {tail.broker}{why}, landed by the ingestion service in "
        f"{trip.seconds:.1f} s: {outcome} (counted against the {trip.published:,} published)"
    )


def steel_case(args: argparse.Namespace) -> int:
    import duckdb

    from ingestion.files.cases.steel import compare_with_reported, land_steel_case

    args.home = args.home or str(Path(".wattprint") / "steel-case")
    settings = settings_from(args, timezone="Asia/Seoul", partition_start="2017-12-31")
    prepare_home(settings.home, "steel")
    save_home_settings(settings)
    steps = Steps(3)
    with steps.step(f"Importing {args.steel_csv.name} as published (one meter, 0.4585 tCO2/MWh)"):
        for report in land_steel_case(settings.home, args.steel_csv):
            print("      " + report.summary().replace("\n", "\n      "))
    with steps.step("Running the pipeline in Dagster for January 2018 (Asia/Seoul days)"):
        run_days(settings, date(2018, 1, 1), date(2018, 1, 31))
    with steps.step("Comparing the computed emissions with the file's CO2(tCO2) column"):
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            emissions = con.sql(
                "select interval_start_utc, kg_co2e::double as kgco2e "
                "from marts.fct_emissions_interval where method = 'location'"
            ).pl()
        comparison = compare_with_reported(emissions, args.steel_csv)
    print(steel_mismatch_table(comparison))
    print("\n" + comparison.summary())
    print_next_steps(settings.home, ground_truth=False)
    return 0


def steel_mismatch_table(comparison) -> str:
    rows = comparison.mismatches.select(
        "source_row", "printed_ts", "kwh", "reported_tco2", "recomputed_tco2"
    ).rows()
    return render(
        "Rows where the file's CO2(tCO2) disagrees with kWh × 0.4585 / 1000 (rounded to 0.01)",
        ["file line", "date as printed", "kWh", "reported tCO2", "recomputed tCO2"],
        rows,
        [",d", None, ",.2f", ".2f", ".4f"],
        note="A real defect in the published data: CO2 is 0 on 2 January from 08:15 to 20:30 "
        "although energy is not.",
    )


def print_next_steps(home: Path, ground_truth: bool = True) -> None:
    steps = [
        ("open the Dagster UI (lineage, runs, checks)", f"WATTPRINT_HOME={home} make ui"),
        ("query the warehouse (any DuckDB client)", f"duckdb -readonly {home}/warehouse.duckdb"),
    ]
    if ground_truth:
        steps.append(("check against ground truth", f".venv/bin/wattprint --home {home} validate"))
    print(render("Next", ["to", "run"], steps))

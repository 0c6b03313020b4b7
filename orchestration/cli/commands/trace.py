"""`wattprint trace FIGURE`: from a reported figure down to the readings, the corrections and the
factor version with its source document."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestration.cli.commands.common import UserError, settings_from

EPILOG = """\
FIGURE is SITE@PERIOD or SITE/EQUIPMENT@PERIOD (site-local days), for example
  wattprint trace TW-HSINCHU-01@2026-04                 a site-month, location-based
  wattprint trace TW-HSINCHU-01@2026-Q1 --method market a site-quarter, market-based
  wattprint trace TW-HSINCHU-01/L3-WAVE-01@2026-04-02   one equipment-day
Every level is written as CSV under --out (default $WATTPRINT_HOME/traces/<figure>/):
emission_rows, factors, reconciliation, allocation, meter_intervals, corrections, readings
(and market, instruments). The same path in SQL: the views of the warehouse's audit schema.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "trace",
        help="audit trace of a figure: emission rows → allocation → readings → factor source",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("figure", help="SITE@PERIOD or SITE/EQUIPMENT@PERIOD")
    parser.add_argument("--method", choices=("location", "market"), default="location")
    parser.add_argument("--out", type=Path, help="folder for the CSV files")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="do not open the landing files to check every traced reading is there",
    )
    parser.set_defaults(handler=handle)


def _t(kg) -> str:
    return "no figure" if kg is None else f"{kg / 1000:,.6f} t CO2e ({kg:,.3f} kg)"


def handle(args: argparse.Namespace) -> int:
    from orchestration.reporting.reader import NoWarehouse, open_reader
    from orchestration.reporting.trace import (
        TraceError,
        build_trace,
        parse_figure,
        verify_landing,
        write_csvs,
    )

    settings = settings_from(args)
    try:
        figure = parse_figure(args.figure, args.method)
        with open_reader(settings.home) as con:
            trace = build_trace(con, figure)
    except (NoWarehouse, TraceError) as error:
        raise UserError(str(error)) from None

    rows = trace.emission_rows
    print(f"Trace of {figure.label}")
    print(
        f"  window (UTC)        {trace.window_start_utc:%Y-%m-%d %H:%M} … "
        f"{trace.window_end_utc:%Y-%m-%d %H:%M}"
    )
    print(f"1 figure            {_t(trace.figure_kg)} for {trace.figure_kwh:,.3f} kWh")
    if figure.method == "location":
        print(
            f"2 emission rows     {rows.height:,} rows (equipment × interval), Σ kg "
            f"{rows.get_column('kg_co2e').sum():,.3f} = Σ kWh × factor"
        )
        for f in trace.factors.iter_rows(named=True):
            print(
                f"    factor {f['factor_id']}@{f['factor_version']} = {f['factor_kg_per_kwh']:g} "
                f"kg/kWh on {f['kwh']:,.1f} kWh → {f['kg_co2e']:,.3f} kg; source: "
                f"{f['factor_source_document']} (published {f['factor_published_at_utc']:%Y-%m-%d})"
            )
    else:
        market = trace.market
        print(
            f"2 market rows       {market.height:,} site intervals: instruments "
            f"{market.get_column('kwh_instrument').sum():,.1f} kWh, supplier "
            f"{market.get_column('kwh_supplier').sum():,.1f} kWh, residual mix "
            f"{market.get_column('kwh_residual').sum():,.1f} kWh, location fallback "
            f"{market.get_column('kwh_location_fallback').sum():,.1f} kWh"
        )
        for i in trace.instruments.iter_rows(named=True):
            print(
                f"    instrument {i['instrument_id']} ({i['instrument_type']}, "
                f"{i['factor_kg_per_kwh']:g} kg/kWh) covered "
                f"{i['kwh_covered_in_period']:,.1f} kWh; "
                f"source: {i['source_document']}"
            )
        for f in trace.factors.iter_rows(named=True):
            if "residual_factor_id" in f:
                print(
                    f"    residual mix {f['residual_factor_id']}@{f['residual_factor_version']} = "
                    f"{f['residual_kg_per_kwh']:g} kg/kWh on {f['kwh_residual']:,.1f} kWh; "
                    f"source: {f['source_document']}"
                )
    for r in trace.reconciliation.iter_rows(named=True):
        print(
            f"3 reconciliation    bill {r['bill_id'] or '(none yet)'}: "
            f"{r['kwh_bottom_up']:,.3f} kWh "
            f"bottom-up × {r['reconciliation_factor']:.6f} = {r['kwh']:,.3f} kWh"
        )
    how = rows.group_by("how_obtained").agg(pl_sum("kwh_bottom_up")).sort("how_obtained")
    print(
        "4 allocation        "
        + ", ".join(
            f"{h['how_obtained']} {h['kwh_bottom_up']:,.1f} kWh" for h in how.iter_rows(named=True)
        )
        + f" over {trace.allocation.height} equipment/source pairs"
    )
    for note in trace.notes:
        print(f"    {note}")
    mi = trace.meter_intervals
    print(
        f"5 meter intervals   {mi.height:,} for {', '.join(trace.meters)}: Σ used "
        f"{mi.get_column('meter_kwh').sum():,.3f} kWh, Σ from readings "
        f"{mi.get_column('readings_kwh').sum():,.3f} kWh"
    )
    corrections = trace.corrections
    applied = (
        corrections.filter(corrections.get_column("applied")) if corrections.height else corrections
    )
    print(
        f"6 corrections       {corrections.height} on these meter intervals, "
        f"{applied.height} applied"
    )
    for c in applied.head(5).iter_rows(named=True):
        print(
            f"    {c['meter_id']} {c['interval_start_utc']:%Y-%m-%d %H:%M} "
            f"{c['rule']}/{c['action']}: "
            f"{c['original_kwh']} → {c['corrected_kwh']} kWh — {c['reason']}"
        )
    readings = trace.readings
    sources = readings.get_column("source").unique().sort().to_list()
    print(
        f"7 readings          {readings.height:,} raw readings from "
        f"{readings.get_column('landing_file').n_unique()} landing file(s); sources: "
        + ", ".join(str(s) for s in sources[:3])
        + (" …" if len(sources) > 3 else "")
    )
    if readings.height:
        print(
            f"    received {readings.get_column('received_at_utc').min():%Y-%m-%d %H:%M} … "
            f"{readings.get_column('received_at_utc').max():%Y-%m-%d %H:%M} UTC"
        )
    if not args.no_verify:
        problems = verify_landing(trace, settings.home / "landing")
        if problems:
            print("  landing zone check FAILED:")
            for problem in problems[:10]:
                print(f"    {problem}")
        else:
            print("  landing zone check: every traced reading is in the landing file named")
    if figure.method == "location":
        try:
            rebuilt = trace.recompute_from_readings()
        except TraceError as why:
            print(f"  not recomputed from the readings: {why}")
        else:
            print(
                f"  recomputed from the readings (with the corrections applied): {rebuilt:,.6f} "
                f"kg CO2e; the figure is {trace.figure_kg:,.6f}"
            )
    folder = args.out or settings.home / "traces" / args.figure.replace("/", "_").replace("@", "_")
    for path in write_csvs(trace, folder):
        print(path)
    return 1 if not args.no_verify and problems else 0


def pl_sum(column: str):
    import polars as pl

    return pl.col(column).sum()

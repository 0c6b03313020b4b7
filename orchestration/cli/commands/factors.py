"""`wattprint factors preview FILE`: the impact of a factor file before it is landed."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestration.cli.commands.common import UserError, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "factors",
        help="emission factor files: preview the impact of a new version before landing it",
        description="Emission factors as versioned data.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    preview = actions.add_parser(
        "preview",
        help="which windows, sites and days a factor file would restate, and by how much",
        description="Reads and validates FILE as `wattprint import factors` would, lands nothing, "
        "and shows where the factor in effect would change (windows whose value is the same are "
        "not restated) with the kWh and kg CO2e of the days that already have figures.",
    )
    preview.add_argument("file", type=Path)
    preview.add_argument("--publisher", default="auto", help="as for `wattprint import factors`")
    preview.add_argument("--home", default=argparse.SUPPRESS, help="Wattprint home folder")
    preview.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    preview.set_defaults(handler=handle_preview)


def handle_preview(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from ingestion.factors import FactorFileRejected
    from orchestration.reporting.preview import preview_factor_file
    from orchestration.reporting.reader import NoWarehouse, open_reader

    settings = settings_from(args)
    if not args.file.exists():
        raise UserError(f"no such file: {args.file}")
    try:
        reader = open_reader(settings.home)
        con = reader.__enter__()
    except NoWarehouse:
        reader, con = nullcontext(), None
    try:
        try:
            result = preview_factor_file(settings.home, args.file, con, args.publisher)
        except FactorFileRejected as error:
            raise UserError(f"{error}") from None
    finally:
        reader.__exit__(None, None, None)
    print(
        f"{args.file.name} ({result.publisher}): {result.rows_in_file} factor row(s), "
        f"{result.rows_new} not yet landed. Nothing has been landed."
    )
    if result.problems:
        print(f"It would be REJECTED: {len(result.problems)} problem(s):")
        for problem in result.problems[:20]:
            print(f"  - {problem.describe()}")
        return 1
    if not result.changes.height:
        print("No factor in effect would change: landing it restates nothing.")
        return 0
    print(f"The factor in effect would change in {result.changes.height} window(s):")
    for c in result.changes.iter_rows(named=True):
        old = (
            "none"
            if c["old_value_base"] is None
            else (f"{c['old_factor_id']}@{c['old_version']} {c['old_value_base']:g}")
        )
        print(
            f"  {c['method']:<12} {c['region']:<6} {c['granularity']:<8} "
            f"{c['window_start']:%Y-%m-%d %H:%M} … {c['window_end']:%Y-%m-%d %H:%M} UTC: "
            f"{old} → {c['new_factor_id']}@{c['new_version']} {c['new_value_base']:g} "
            f"{c['base_unit']}"
        )
    if con is None:
        print("No warehouse yet: no figure to restate.")
        return 0
    impact = result.impact
    if not impact.height:
        print("No site reports with these series: no figure would change.")
        return 0
    print("Impact on the figures computed so far (site-local days):")
    for r in impact.iter_rows(named=True):
        delta = "—" if r["delta_kg"] is None else f"{r['delta_kg']:+,.1f} kg CO2e"
        print(
            f"  {r['site_id']} {r['first_day']} … {r['last_day']}: {r['days_with_figures']} day(s) "
            f"with figures, {r['kwh']:,.1f} kWh, {delta} ({r['series']})"
        )
    total = impact.get_column("delta_kg").drop_nulls().sum()
    print(f"Total change: {total:+,.1f} kg CO2e ({total / 1000:+,.3f} t)")
    return 0

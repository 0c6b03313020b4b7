"""`wattprint export --desensitized`: results for customers or public platforms, without
process parameters, equipment names or raw readings."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestration.cli.commands.common import UserError, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="export per-site and per-product results and factor sources (desensitized)",
        description="Writes site_emissions.csv, product_emissions.csv, factor_sources.csv and a "
        "README.md documenting every field. Equipment, lines, meters, batches, shifts, process "
        "parameters, readings, bills and contracts are never exported.",
    )
    parser.add_argument(
        "--desensitized",
        action="store_true",
        required=True,
        help="required: the only export there is (data stays on premises otherwise)",
    )
    parser.add_argument("--site", help="one site (default: all)")
    parser.add_argument("--period", help="e.g. 2026-Q1 (default: everything)")
    parser.add_argument("--out", type=Path, help="folder (default $WATTPRINT_HOME/export/)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from orchestration.reporting.export import export_desensitized
    from orchestration.reporting.periods import parse_period
    from orchestration.reporting.reader import NoWarehouse, open_reader

    settings = settings_from(args)
    try:
        period = parse_period(args.period) if args.period else None
    except ValueError as error:
        raise UserError(str(error)) from None
    folder = args.out or settings.home / "export"
    try:
        with open_reader(settings.home) as con:
            counts = export_desensitized(con, folder, site_id=args.site, period=period)
    except NoWarehouse as error:
        raise UserError(str(error)) from None
    for name, rows in counts.items():
        print(f"{folder / name}  ({rows} row(s))")
    print(f"{folder / 'README.md'}  (every field documented)")
    return 0

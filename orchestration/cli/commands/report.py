"""`wattprint report inventory|restatement`: the GHG inventory of a site and period, and what
was restated since it was first reported."""

from __future__ import annotations

import argparse
import csv
import time
from datetime import UTC, datetime
from pathlib import Path

from orchestration.cli.commands.common import UserError, settings_from

INVENTORY_EPILOG = """\
Writes inventory-<site>-<period>.md, .html and .csv under --out (default
$WATTPRINT_HOME/reports/): ISO 14064-1:2018 Category 2 (and Category 1 when fuel data exist),
the GHG Protocol Scope 2 dual report (location- and market-based), the market tiers, the share
of energy measured / estimated / allocated, the factor versions with their source documents,
the instruments, and any restatement. Periods: 2026-Q1, 2026-03, 2026, 2026-03-05,
2026-01-01..2026-03-31 (site-local days).
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="GHG inventory (ISO 14064-1 / GHG Protocol Scope 2) and restatement reports",
        description="Reports from the warehouse.",
    )
    reports = parser.add_subparsers(dest="report", required=True, metavar="REPORT")
    inventory = reports.add_parser(
        "inventory",
        help="ISO 14064-1 Category 2 + GHG Protocol Scope 2 dual report for a site and period",
        epilog=INVENTORY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inventory.add_argument("--site", required=True, help="site id, e.g. TW-HSINCHU-01")
    inventory.add_argument("--period", required=True, help="e.g. 2026-Q1, 2026-03, 2026")
    inventory.add_argument("--out", type=Path, help="folder for the files")
    inventory.add_argument("--quiet", action="store_true", help="print only the file paths")
    inventory.set_defaults(handler=handle_inventory)

    restatement = reports.add_parser(
        "restatement",
        help="figures as first reported (or as reported on a date) vs now, with the reason",
    )
    restatement.add_argument("--site", help="one site (default: all)")
    restatement.add_argument("--period", help="e.g. 2026-Q2 (default: everything)")
    restatement.add_argument(
        "--as-of",
        help="compare with the figures as reported at this UTC time (ISO, e.g. 2026-04-20 or "
        "2026-04-20T08:00); default: as first reported",
    )
    restatement.add_argument("--by", choices=("month", "day"), default="month")
    restatement.add_argument("--all", action="store_true", help="also periods not restated")
    restatement.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    restatement.set_defaults(handler=handle_restatement)
    for subparser in reports.choices.values():
        subparser.add_argument("--home", default=argparse.SUPPRESS, help="Wattprint home folder")
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)


def _period(text: str | None):
    from orchestration.reporting.periods import parse_period

    if text is None:
        return None
    try:
        return parse_period(text)
    except ValueError as error:
        raise UserError(str(error)) from None


def handle_inventory(args: argparse.Namespace) -> int:
    from orchestration.reporting.inventory import InventoryError, build_inventory, write_reports
    from orchestration.reporting.reader import NoWarehouse, open_reader

    settings = settings_from(args)
    period = _period(args.period)
    started = time.perf_counter()
    try:
        with open_reader(settings.home) as con:
            inventory = build_inventory(con, args.site, period)
    except (NoWarehouse, InventoryError) as error:
        raise UserError(str(error)) from None
    paths = write_reports(inventory, args.out or settings.home / "reports")
    if not args.quiet:
        total = inventory.total
        print(
            f"GHG inventory {args.site} {period.label} ({period.first_day} … {period.last_day}, "
            f"{inventory.days_with_data} day(s) with figures)"
        )
        print(f"  energy                       {total.kwh:>16,.1f} kWh")
        for label, value in (
            ("Scope 2 location-based", inventory.location_t),
            ("Scope 2 market-based", inventory.market_t),
        ):
            shown = "no figure (a factor is missing)" if value is None else f"{value:,.3f} t CO2e"
            print(f"  {label:<28} {shown:>20}")
        if inventory.fuel:
            scope1 = inventory.scope1_kg
            shown = (
                "no figure (a factor is missing)"
                if scope1 is None
                else f"{scope1 / 1000:,.3f} t CO2e"
            )
            print(f"  {'Scope 1 (fuel combustion)':<28} {shown:>20}")
        print(
            f"  measured / estimated / allocated: {inventory.share(total.kwh_measured):.1%} / "
            f"{inventory.share(total.kwh_estimated):.1%} / "
            f"{inventory.share(total.kwh_allocated):.1%}"
        )
        if inventory.restated_days:
            print(f"  {inventory.restated_days} day(s) restated since first reported")
        print(f"  in {time.perf_counter() - started:.2f} s")
    for path in paths:
        print(path)
    return 0


def handle_restatement(args: argparse.Namespace) -> int:
    from orchestration.reporting.reader import NoWarehouse, open_reader
    from orchestration.reporting.restatement import restatements

    settings = settings_from(args)
    period = _period(args.period)
    as_of = None
    if args.as_of:
        try:
            as_of = datetime.fromisoformat(args.as_of)
        except ValueError:
            raise UserError(
                f"--as-of {args.as_of!r} is not a date or time like 2026-04-20T08:00"
            ) from None
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    try:
        with open_reader(settings.home) as con:
            rows = restatements(
                con,
                site_id=args.site,
                period=period,
                as_of=as_of,
                by=args.by,
                only_changed=not args.all,
            )
    except (NoWarehouse, RuntimeError) as error:
        raise UserError(str(error)) from None
    basis = f"as reported at {as_of:%Y-%m-%d %H:%M} UTC" if as_of else "as first reported"
    if not rows:
        print(
            f"No restatement: every figure{' in ' + period.label if period else ''} is still "
            f"the figure {basis}."
        )
        return 0
    print(f"Restatements: {basis} → now (t CO2e)")
    header = ("site", args.by, "method", "days", "restated", "old t", "new t", "Δ t", "Δ %")
    print("  " + "  ".join(f"{h:>10}" if i >= 3 else f"{h:<14}" for i, h in enumerate(header)))
    for r in rows:
        old = None if r.old_kg is None else r.old_kg / 1000
        new = None if r.new_kg is None else r.new_kg / 1000
        delta = None if r.delta_kg is None else r.delta_kg / 1000
        pct = f"{100 * r.delta_kg / r.old_kg:+.2f}" if r.delta_kg is not None and r.old_kg else "—"
        cells = [r.site_id, r.period, r.method, r.days, r.days_restated, old, new, delta, pct]
        print("  " + "  ".join(_cell(c, i) for i, c in enumerate(cells)))
        print(f"      why: {r.reasons or '—'}")
        if r.sources:
            print(f"      source: {r.sources}")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "site_id",
                    args.by,
                    "method",
                    "days",
                    "days_restated",
                    "old_kg_co2e",
                    "new_kg_co2e",
                    "delta_kg_co2e",
                    "reasons",
                    "sources",
                ]
            )
            for r in rows:
                writer.writerow(
                    [
                        r.site_id,
                        r.period,
                        r.method,
                        r.days,
                        r.days_restated,
                        r.old_kg,
                        r.new_kg,
                        r.delta_kg,
                        r.reasons,
                        r.sources,
                    ]
                )
        print(args.csv)
    return 0


def _cell(value, index: int) -> str:
    if index < 3:
        return f"{value:<14}"
    if value is None:
        return f"{'—':>10}"
    if isinstance(value, int):
        return f"{value:>10}"
    if isinstance(value, str):
        return f"{value:>10}"
    return f"{value:>10,.3f}"

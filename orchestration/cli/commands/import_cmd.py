"""`wattprint import KIND FILE`: land a user's CSV/Parquet export, all of it or none of it."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestration.cli.commands.common import settings_from

KINDS = (
    "sites",
    "meters",
    "equipment",
    "readings",
    "bills",
    "production",
    "factors",
    "instruments",
    "orders",
)

EPILOG = """\
Registry, bills and production use the documented CSV format (the landing schema's column
names; see `ingestion/files` and the README). Factors may also come as the publishers' own
files (DESNZ flat file, eGRID, Ember, Electricity Maps, Taiwan/Korea official factors); units
are converted explicitly and overlapping or gapped validity windows are rejected, naming rows.
Instruments (certificates, PPAs, green tariffs, supplier-specific rates) use the documented
format in ingestion/files/formats.py; the residual mix lands as factors (method residual_mix).
Readings need a column mapping, from a YAML file (--mapping) or from flags. Example — a
15-minute export stamped at interval END in local time, whose last interval of a day is
written as 00:00 of the same date:

  wattprint import readings export.csv --site KR-GWANGYANG-STEEL --meter STEEL-MAIN \\
      --timestamp-column date --timestamp-format '%d/%m/%Y %H:%M' --timezone Asia/Seoul \\
      --interval-end --midnight-ends-day --value-column Usage_kWh --unit kWh

A file with any bad row is rejected whole (the error names the rows and columns) unless
--quarantine-bad-rows is given, which lands the good rows and keeps the bad ones, with their
reason, under $WATTPRINT_HOME/quarantine/.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import",
        help="land a CSV/Parquet export (readings, bills, production, factors, registry)",
        description="Validate a whole file and land it in the landing zone.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("file", type=Path)
    parser.add_argument("--quarantine-bad-rows", action="store_true")
    parser.add_argument(
        "--publisher",
        default="auto",
        help="factors only: the file's format — auto (from its header), wattprint, desnz, "
        "egrid, ember, electricitymaps, tw_kr_official",
    )
    mapping = parser.add_argument_group("readings column mapping")
    mapping.add_argument("--mapping", type=Path, help="YAML/JSON mapping file (flags override)")
    mapping.add_argument("--site", dest="site_id")
    mapping.add_argument("--meter", dest="meter_id", help="one meter for the whole file")
    mapping.add_argument("--meter-column", dest="meter_id_column")
    mapping.add_argument("--timestamp-column")
    mapping.add_argument("--timestamp-format", help="strptime format; ISO-8601 when omitted")
    mapping.add_argument("--timezone", help="IANA zone of naive timestamps, e.g. Asia/Seoul")
    semantics = mapping.add_mutually_exclusive_group()
    semantics.add_argument(
        "--interval-end",
        dest="interval_semantics",
        action="store_const",
        const="end",
        help="timestamps mark the END of each interval",
    )
    semantics.add_argument(
        "--interval-start",
        dest="interval_semantics",
        action="store_const",
        const="start",
        help="timestamps mark the START of each interval (default)",
    )
    mapping.add_argument("--interval-minutes", type=int)
    mapping.add_argument(
        "--midnight-ends-day",
        action="store_true",
        default=None,
        help="00:00 rows close the day they are dated (they mean 24:00)",
    )
    mapping.add_argument("--value-column")
    mapping.add_argument(
        "--unit", help="kWh, Wh, MWh, kW, W or MW; fuel: m3, l, kg, t, kWh, MJ, GJ, therm, ..."
    )
    mapping.add_argument(
        "--register",
        choices=("interval_kwh", "counter_kwh", "power_kw", "counter", "interval"),
        help="what the values are (default interval_kwh; counter / interval for fuel meters)",
    )
    parser.set_defaults(handler=handle)


MAPPING_FIELDS = (
    "site_id",
    "meter_id",
    "meter_id_column",
    "timestamp_column",
    "timestamp_format",
    "timezone",
    "interval_semantics",
    "interval_minutes",
    "midnight_ends_day",
    "value_column",
    "unit",
    "register",
)


def readings_mapping(args: argparse.Namespace):
    """The mapping file, if any, with the flags given on the command line overriding it."""
    from ingestion.files import ReadingsMapping

    flags = {k: getattr(args, k) for k in MAPPING_FIELDS}
    if args.mapping is not None:
        return ReadingsMapping.from_file(args.mapping, **flags)
    return ReadingsMapping.from_flags(**flags)


def handle(args: argparse.Namespace) -> int:
    from ingestion.files import import_file

    settings = settings_from(args)
    if args.kind == "factors":
        # Factors come in the publishers' own formats and units; their loaders convert
        # explicitly and validate validity windows against what has already landed.
        from ingestion.factors import land_factor_file

        publisher = None if args.publisher == "auto" else args.publisher
        print(land_factor_file(settings.home, args.file, publisher).summary())
        return 0
    mapping = readings_mapping(args) if args.kind == "readings" else None
    report = import_file(
        settings.home, args.kind, args.file, mapping, quarantine_bad_rows=args.quarantine_bad_rows
    )
    print(report.summary())
    print("Next: `wattprint run` processes the days this file touched.")
    return 0

"""The `wattprint` command line.

Each subcommand is a thin shell over the libraries and the Dagster pipeline; errors a user can
fix are printed as one plain sentence (exit 2), never as a traceback (use --debug for one).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from orchestration.cli import commands

DESCRIPTION = """\
Wattprint: carbon accounting for factories, from meter readings to auditable Scope 2 figures.

Typical first steps:
  wattprint demo                     simulate a plant for 14 days and run everything
  wattprint validate                 compare the figures with the simulator's ground truth
  wattprint import readings FILE ... land your own meter export (see `wattprint import -h`)
  wattprint run                      process every day that has readings

Everything is written under $WATTPRINT_HOME (default ./.wattprint) or --home.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wattprint",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--home", help="Wattprint home folder (default: $WATTPRINT_HOME or ./.wattprint)"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in commands.ALL:
        module.register(sub)
    # --home and --debug also work after the subcommand, where people tend to type them;
    # SUPPRESS keeps a value given before the subcommand from being reset to the default.
    for subparser in sub.choices.values():
        subparser.add_argument("--home", default=argparse.SUPPRESS, help="Wattprint home folder")
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `wattprint ingest` forwards its options to the service; everything else must be known.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "command", None) != "ingest":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.service_args = [*extra, *args.service_args]
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except commands.USER_ERRORS as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the last line of defence: a sentence, then the way to learn more
        if args.debug:
            traceback.print_exc()
        print(
            f"internal error: {type(error).__name__}: {error}\n"
            "run again with --debug for the traceback, and please report it",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())

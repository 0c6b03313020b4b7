"""`wattprint docs`: the dbt documentation site and the data dictionary of the public marts."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.cli.commands.common import UserError, settings_from
from orchestration.settings import DBT_PROJECT_DIR


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "docs",
        help="build the dbt documentation and the data dictionary of the public marts",
        description="Run `dbt docs generate` into $WATTPRINT_HOME/docs (the column types come "
        "from the published warehouse, so it works while a pipeline run holds the warehouse) "
        "and write data_dictionary.md and data_dictionary.csv: every public table and column "
        "with its type, unit and description. Exit code 1 when a column lacks a description "
        "or a quantity lacks a unit.",
    )
    parser.add_argument("--out", help="output folder (default: $WATTPRINT_HOME/docs)", default=None)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from orchestration.publishing.dictionary import (
        load_json,
        problems,
        public_models,
        render_csv,
        render_markdown,
    )
    from orchestration.publishing.snapshot import published_path

    settings = settings_from(args)
    out = Path(args.out).resolve() if args.out else settings.home / "docs"
    out.mkdir(parents=True, exist_ok=True)
    published = published_path(settings.home)
    generate_dbt_docs(out, published if published.exists() else None, settings.home / "logs")
    models = public_models(load_json(out / "manifest.json"), load_json(out / "catalog.json"))
    (out / "data_dictionary.md").write_text(render_markdown(models, str(published)))
    (out / "data_dictionary.csv").write_text(render_csv(models))
    columns = sum(len(m.columns) for m in models)
    print(f"dbt documentation:  {out / 'static_index.html'} (one file: open it in a browser)")
    print(f"data dictionary:    {out / 'data_dictionary.md'} and .csv")
    print(f"                    {len(models)} public tables, {columns} columns")
    if not published.exists():
        print(
            "note: nothing published yet (run the pipeline): column types come from the "
            "dbt contracts only"
        )
    missing = problems(models)
    for problem in missing:
        print(f"  incomplete: {problem}")
    return 1 if missing else 0


def generate_dbt_docs(out: Path, published: Path | None, log_dir: Path) -> None:
    """`dbt parse` then `dbt docs generate --static` into `out`. The catalog (the built tables'
    columns) is read from a private copy of the published file: dbt opens its database
    read-write, which must never happen to the file readers share, nor wait for a run that
    holds the warehouse."""
    common = [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(out),
        "--log-path",
        str(log_dir),
        "--quiet",
    ]
    with tempfile.TemporaryDirectory(prefix="wattprint-docs-") as scratch:
        copy = Path(scratch) / "catalog_source.duckdb"
        if published is not None:
            shutil.copyfile(published, copy)
            copy.chmod(0o644)
        with _warehouse(copy):
            # parse writes manifest.json; generate skips compiling (the docs describe the data,
            # and compiling needs upstream relations the published copy deliberately lacks).
            _dbt(["parse", *common], log_dir)
            generate = ["docs", "generate", "--static", "--no-compile", *common]
            _dbt(generate if published else [*generate, "--empty-catalog"], log_dir)


@contextmanager
def _warehouse(path: Path) -> Iterator[None]:
    """Point the dbt profile (WATTPRINT_WAREHOUSE) at `path` for the duration."""
    previous = os.environ.get("WATTPRINT_WAREHOUSE")
    os.environ["WATTPRINT_WAREHOUSE"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("WATTPRINT_WAREHOUSE", None)
        else:
            os.environ["WATTPRINT_WAREHOUSE"] = previous


def _dbt(args: list[str], log_dir: Path) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(args)
    if not result.success:
        reason = result.exception or f"see the dbt log in {log_dir}"
        raise UserError(f"dbt {' '.join(args[:2])} failed: {reason}")

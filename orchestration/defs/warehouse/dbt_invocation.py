"""Running dbt from an asset without re-parsing the project on every run.

dbt re-parses the whole project (1-3 s more per invocation here than a partial parse:
benchmarks/latency/parse.py) unless it finds a `partial_parse.msgpack` made under the same
conditions: the same --vars AND the same profile values — the warehouse path included, so a
parse saved for one Wattprint home is useless in another. dagster-dbt seeds each invocation
with the msgpack of the project's `target/`, written when the project was prepared, usually for
some other home.

So each home keeps its own: `<home>/dbt/partial_parse.msgpack`, seeded into every invocation's
target folder (`<home>/dbt/target/<op>-<run>-<id>/`) and refreshed from it after a successful
invocation. The daily window travels in the environment, not in --vars (see
`partitions.window_env`), so the foundation, daily and reports invocations share one parse.
Target folders also live under the home, not in the source tree, and only the newest are kept.

`WarehouseDbtCli` also removes two things dagster-dbt does before every run's first dbt
invocation that Wattprint never uses: `dbt --version` in a subprocess (about 3 s) to learn the
version of the dbt it then starts anyway, and a dbt adapter built inside the run process
(about 2 s, 0.7 s for each later invocation), used only to fetch row counts and column metadata.
On a live plant every second of a run is a second of age of the figures.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from ingestion.landing import LandingZone
from orchestration.settings import load_settings

PARSE_FILE = "partial_parse.msgpack"
# Target folders kept per home (each holds manifest.json, run_results.json and the logs of one
# invocation); older ones are removed so a live loop does not fill the disk.
KEEP_TARGETS = 30


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's CLI resource without the version subprocess and the in-process adapter."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # The dbt started is this environment's own: its dbt-core is the one installed here.
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        # Only row-count and column-metadata fetching use it; no asset here asks for either.
        return None


def dbt_home() -> Path:
    # Resolved at use, not at import: the command line and tests point WATTPRINT_HOME at a home
    # after the definitions have been loaded.
    return load_settings().home / "dbt"


def stream_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> Iterator:
    """`dbt.cli(args).stream()` with the home's saved parse, `env` added to dbt's environment."""
    # a home landed by an older version gets its landing schema markers brought up to date, so
    # the dbt sources see columns added since (e.g. meters.energy_carrier)
    LandingZone(load_settings().home).init()
    root = dbt_home()
    target = (
        root
        / "target"
        / f"{context.op_execution_context.op.name}-{context.run.run_id[:8]}-{uuid.uuid4().hex[:7]}"
    )
    target.mkdir(parents=True, exist_ok=True)
    saved = root / PARSE_FILE
    if saved.exists():
        shutil.copyfile(saved, target / PARSE_FILE)  # dagster-dbt then leaves it in place
    with _environment(env or {}):
        # dagster-dbt copies os.environ into the subprocess's environment and starts it inside
        # `cli`; it has no per-invocation env, so the variables are set just around that call.
        invocation = dbt.cli(list(args), context=context, target_path=target)
    yield from invocation.stream()
    _save_parse(target / PARSE_FILE, saved)
    _prune(target.parent, KEEP_TARGETS)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _save_parse(produced: Path, saved: Path) -> None:
    """Atomically replace the home's parse with the one this invocation used or wrote."""
    if not produced.exists():
        return
    tmp = saved.with_name(f".{saved.name}.{uuid.uuid4().hex}.tmp")
    shutil.copyfile(produced, tmp)
    os.replace(tmp, saved)


def _prune(targets: Path, keep: int) -> None:
    folders = sorted((p for p in targets.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in folders[:-keep]:
        shutil.rmtree(old, ignore_errors=True)

"""targets/site_targets: targets.json resolved to one row per target and period, written to
$WATTPRINT_HOME/resolved_targets.parquet, which dbt reads as the source targets.site_targets for
marts.rpt_target_progress.

Why an asset of the pipeline writing a Parquet file beside targets.json:
- targets are per-plant configuration that lives in the home (targets.json, target_config.py),
  not in the code repository: a dbt seed would be a second copy, with its own figures;
- resolving is the same Python the forecasting assets run (resolved_targets.resolve_entry,
  targets.quarterly_targets, inputs.warehouse_baseline), so the run-rate mart and
  forecasting.target_progress hold a quarter to the same kgCO2e by construction;
- as an asset of the pipeline job it runs in every pipeline run however the run starts (the
  command line, the landing sensor, the UI) — after the daily emissions a baseline may be
  computed from, before the dbt reports that read it (its deps say so, and Dagster orders the
  run by them). Doing it in pipeline.py or `wattprint simulate` would miss the sensor's runs;
- a file, not a table in the warehouse: dbt stays the warehouse's only writer during a run, and
  an auditor can open exactly what the mart read. Not the landing zone either: that is
  append-only raw input, while this is a snapshot replaced whole on every run.

A home without targets.json gets the default file first (target_config.ensure_targets, as the
forecasting assets do): the simulated plant's targets, which resolve to nothing for any other
site (entries of sites the warehouse does not hold are listed in the metadata, not resolved).
A targets.json that does not validate fails this asset's check with the file's problem; the
previous resolution stays in place (its `targets_sha256` says which file it came from) so one
typo does not stop the emission marts of the run.
"""

import dagster as dg
import polars as pl

from models.forecasting.resolved_targets import (
    RESOLVED_FILE,
    empty_frame,
    file_sha256,
    resolve_targets,
    write_resolved,
)
from models.forecasting.target_config import ensure_targets
from orchestration.defs.targets.inputs import warehouse_baseline, warehouse_sites
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.settings import load_settings

SITE_TARGETS = dg.AssetKey(["targets", "site_targets"])
CHECK = "targets_resolved"

# What a baseline computed from the warehouse reads (targets/inputs.py): all of it is built
# before the dbt reports, which read this asset.
READS = [
    dg.AssetKey(["marts", "fct_emissions_daily"]),
    dg.AssetKey(["staging", "stg_landing__production"]),
    dg.AssetKey(["staging", "stg_landing__sites"]),
]


def _md_table(frame: pl.DataFrame) -> str:
    if frame.is_empty():
        return "(no targets)"
    view = frame.select(
        "target_id",
        "period",
        "baseline_source",
        "baseline_kg_co2e",
        "reduction_pct",
        "target_kg_co2e",
        "target_kg_co2e_per_unit",
    )
    lines = ["| " + " | ".join(view.columns) + " |", "|" + "---|" * view.width]
    for row in view.iter_rows():
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # kgCO2e in thousands; kgCO2e per unit and % to 4 digits
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


@dg.asset(
    key=SITE_TARGETS,
    deps=READS,
    group_name="targets",
    kinds={"polars", "parquet"},
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=SITE_TARGETS,
            description="targets.json validates and every entry of a site in the warehouse "
            "resolved: its baseline is in the file or computable from the warehouse (and has "
            "good units for a per-unit target). Entries of other sites are listed, not failed.",
        )
    ],
    description="The reduction targets of $WATTPRINT_HOME/targets.json resolved to figures: one "
    "row per target (site, year, basis) and period (each quarter and the year) with its "
    "baseline — from the file, or computed from the warehouse's baseline year — and what the "
    "period may emit (kgCO2e, and kgCO2e per good unit). Written to "
    "$WATTPRINT_HOME/resolved_targets.parquet for marts.rpt_target_progress; the forecasting "
    "assets resolve the same file with the same code.",
)
def site_targets(context: dg.AssetExecutionContext, warehouse: Warehouse):
    home = load_settings().home
    out = home / RESOLVED_FILE
    try:
        targets, path, written = ensure_targets(home)
    except ValueError as error:
        if not out.exists():
            write_resolved(out, empty_frame())
        kept = pl.read_parquet(out)
        context.log.error(f"targets not resolved: {error}")
        return dg.MaterializeResult(
            metadata={
                "resolved_file": dg.MetadataValue.path(str(out)),
                "dagster/row_count": kept.height,
                "error": str(error),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=CHECK,
                    passed=False,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "error": str(error),
                        "kept": f"the previous resolution ({kept.height} rows) stays until the "
                        "file is fixed",
                    },
                )
            ],
        )
    with warehouse.connect() as con:
        resolution = resolve_targets(
            targets,
            sites=warehouse_sites(con),
            warehouse_baseline=lambda site, year: warehouse_baseline(con, site, year),
            targets_sha256=file_sha256(path),
        )
    write_resolved(out, resolution.frame)
    notes = "\n".join(f"- {n}" for n in resolution.notes) or "none"
    for note in resolution.notes:
        context.log.warning(f"target not resolved: {note}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": resolution.frame.height,
            "targets_file": dg.MetadataValue.path(str(path)),
            "targets_file_written": written,
            "targets_sha256": file_sha256(path),
            "resolved_file": dg.MetadataValue.path(str(out)),
            "targets": dg.MetadataValue.md(_md_table(resolution.frame)),
            "not_resolved": dg.MetadataValue.md(notes),
            "other_sites": ", ".join(resolution.other_sites) or "none",
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK,
                passed=not resolution.notes,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "entries": len(targets.targets),
                    "not_resolved": len(resolution.notes),
                    "notes": dg.MetadataValue.md(notes),
                },
            )
        ],
    )

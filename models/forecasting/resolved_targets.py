"""The reduction targets of `$WATTPRINT_HOME/targets.json`, resolved to figures: one row per
target (site, year, basis) and period — its four quarters and the year — with the baseline and
what the period may emit.

Both views of progress read targets through this module, so they hold every period to the same
kgCO2e by construction rather than by two implementations agreeing:
- the forecast-based view (forecasting.target_progress, tracking.py) resolves each entry with
  `resolve_entry` and takes the period's target from `targets.quarterly_targets`;
- the run-rate view in the warehouse (marts.rpt_target_progress, dbt) reads `resolved_frame`'s
  rows, which come from the same two functions, written to `$WATTPRINT_HOME/resolved_targets
  .parquet` by the pipeline (orchestration/defs/targets/assets.py).

The rules are target_config.py's: the entry's `baseline` when the file gives one, else the
warehouse's own figures for `baseline_year` (`warehouse_baseline`, by
`targets.baseline_from_daily`: every quarter needs data, partial quarters are scaled up pro
rata by days). An entry that cannot be resolved — a baseline year without data in every
quarter, a per-unit target without good units in the baseline — is left out with a note saying
why; the other entries still resolve. Entries of sites the warehouse does not hold are set
aside (listed, not resolved).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from models.forecasting.target_config import TargetEntry, TargetsFile
from models.forecasting.targets import Baseline, ReductionTarget, quarterly_targets

RESOLVED_FILE = "resolved_targets.parquet"
FROM_FILE, FROM_WAREHOUSE = "targets_file", "warehouse"

# The contract with dbt's source targets.site_targets (staging/targets/): change both together.
RESOLVED_SCHEMA: dict[str, pl.DataType] = {
    "site_id": pl.String(),
    "target_id": pl.String(),  # site:year:basis, as forecasting.target_progress
    "year": pl.Int64(),
    "basis": pl.String(),  # absolute / per_unit
    "period_kind": pl.String(),  # quarter / year
    "period": pl.String(),  # 2026-Q1 / 2026
    "period_start": pl.Date(),  # site-local, inclusive
    "period_end": pl.Date(),  # site-local, inclusive
    "reduction_pct": pl.Float64(),
    "replan_threshold": pl.Float64(),  # fraction over the budget that asks for a re-plan
    "baseline_year": pl.Int64(),
    "baseline_source": pl.String(),  # targets_file / warehouse
    "baseline_kg_co2e": pl.Float64(),
    "baseline_good_units": pl.Float64(),  # null when the baseline has no units
    "target_kg_co2e": pl.Float64(),  # what the period may emit (absolute)
    "target_kg_co2e_per_unit": pl.Float64(),  # null without baseline units
    "targets_sha256": pl.String(),  # the targets.json the row was resolved from
}

WarehouseBaseline = Callable[[str, int], Baseline]


@dataclass(frozen=True)
class Resolution:
    frame: pl.DataFrame  # RESOLVED_SCHEMA by site and target: its quarters, then its year
    notes: tuple[str, ...]  # one sentence per entry of a known site left out, with the reason
    other_sites: tuple[str, ...]  # target_ids of sites the warehouse does not hold


def resolve_entry(entry: TargetEntry, warehouse_baseline: WarehouseBaseline) -> ReductionTarget:
    """The entry with its baseline: the file's, else the warehouse's for baseline_year (a
    ValueError says why it cannot be computed)."""
    baseline = entry.given_baseline() or warehouse_baseline(entry.site_id, entry.baseline_year)
    return entry.reduction_target(baseline)


def period_rows(entry: TargetEntry, target: ReductionTarget, targets_sha256: str) -> list[dict]:
    """The four quarters and the year of one resolved target."""
    units = target.baseline.units
    rows = []
    for index, period in enumerate(quarterly_targets(target).iter_rows(named=True)):
        is_year = index == 4
        rows.append(
            {
                "site_id": entry.site_id,
                "target_id": entry.target_id,
                "year": entry.year,
                "basis": entry.basis,
                "period_kind": "year" if is_year else "quarter",
                "period": period["quarter"],
                "period_start": period["start"],
                "period_end": period["end"],
                "reduction_pct": entry.reduction_pct,
                "replan_threshold": entry.replan_threshold,
                "baseline_year": entry.baseline_year,
                "baseline_source": FROM_FILE if entry.baseline is not None else FROM_WAREHOUSE,
                "baseline_kg_co2e": period["baseline_kg"],
                "baseline_good_units": (sum(units) if is_year else units[index]) if units else None,
                "target_kg_co2e": period["target_kg"],
                "target_kg_co2e_per_unit": period["target_kg_per_unit"],
                "targets_sha256": targets_sha256,
            }
        )
    return rows


def resolve_targets(
    targets: TargetsFile,
    *,
    sites: Collection[str],
    warehouse_baseline: WarehouseBaseline,
    targets_sha256: str,
) -> Resolution:
    """Every entry of the file for a site in `sites`, resolved to period rows. Entries of other
    sites are set aside, not notes: a targets file may hold sites this warehouse does not
    process (the forecasting assets skip them too)."""
    rows: list[dict] = []
    notes: list[str] = []
    other_sites: list[str] = []
    for entry in targets.targets:
        if entry.site_id not in sites:
            other_sites.append(entry.target_id)
            continue
        try:
            target = resolve_entry(entry, warehouse_baseline)
        except ValueError as error:
            notes.append(
                f"{entry.target_id}: no baseline for {entry.baseline_year} in "
                f"targets.json and none computable from the warehouse: {error}"
            )
            continue
        entry_rows = period_rows(entry, target, targets_sha256)
        if entry.basis == "per_unit" and any(
            r["target_kg_co2e_per_unit"] is None for r in entry_rows
        ):
            notes.append(
                f"{entry.target_id}: a per-unit target needs good units in every "
                f"quarter of its {entry.baseline_year} baseline"
            )
            continue
        rows += entry_rows
    # TargetsFile allows one entry per site, year and basis, so (target_id, period) is unique.
    frame = pl.DataFrame(rows, schema=RESOLVED_SCHEMA, orient="row") if rows else empty_frame()
    frame = frame.sort("site_id", "target_id", "period_kind", "period_start")
    return Resolution(frame=frame, notes=tuple(notes), other_sites=tuple(other_sites))


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=RESOLVED_SCHEMA)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_resolved(path: str | Path, frame: pl.DataFrame) -> Path:
    """Replace the file whole (write aside, fsync, rename): dbt never reads half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.select(list(RESOLVED_SCHEMA)).cast(RESOLVED_SCHEMA).write_parquet(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

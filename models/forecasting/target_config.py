"""The reduction targets file: `$WATTPRINT_HOME/targets.json`.

    {
      "about": "free text, ignored",
      "targets": [
        {"site_id": "TW-HSINCHU-01", "year": 2026, "reduction_pct": 4.2,
         "basis": "absolute", "baseline_year": 2025,
         "baseline": {"kg_co2e": [533710, 577661, 592925, 557291],
                      "kwh": [1058949, 1146152, 1176439, 1105735],
                      "units": [1454761, 1492578, 1499827, 1493152]},
         "replan_threshold": 0.05}
      ]
    }

One entry per site, target year and basis:
- `reduction_pct`: the cut against the baseline year, e.g. 4.2 (the year's quarter q may emit
  baseline_q x (1 − 4.2%); the annual target is the sum of the quarters');
- `basis`: "absolute" (kgCO2e) or "per_unit" (kgCO2e per good unit produced; needs units);
- `baseline`: the baseline year's per-quarter figures (Q1..Q4, kgCO2e as the warehouse reports
  them, kWh, good units). Leave it out and the baseline is computed from the warehouse's own
  `marts.fct_emissions_daily` and production batches (good units by the batch's site-local end
  date) for `baseline_year` (every quarter needs data; partial quarters are scaled up pro rata
  by days; orchestration/defs/targets/inputs.py);
- `replan_threshold`: the fraction over the quarter's target that triggers a re-plan request
  (default 0.05: "more than 5%", the ERP synergy study's trigger).

This file is the only source of targets. The forecasting assets read it (forecasting.
target_progress, re-plan requests, alerts) and every pipeline run resolves it for the
warehouse's run-rate view, marts.rpt_target_progress — both through resolved_targets.py, so a
quarter has one target in both. Two entries for one site, year and basis are refused.

`default_targets()` is the file written for a home that has none: the simulated plant's
(`wattprint simulate`, seed 7) 2025 baseline and the SBTi 1.5 °C-aligned linear rate of 4.2% a
year — 2026 −4.2%, 2027 −8.4% — absolute and per unit. The baseline figures are the simulator's
ground truth for 2025 (365 days from 2025-01-01, seed 7, annual location factor 0.504 kg/kWh,
good units by the batch's local end date), computed by `simulated_baseline()`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.forecasting.targets import Baseline, Basis, ReductionTarget

TARGETS_FILE = "targets.json"
SIMULATED_SITE = "TW-HSINCHU-01"
SBTI_LINEAR_RATE_PCT = 4.2  # % of the base year a year: the 1.5 °C absolute-contraction rate

Quarters = tuple[float, float, float, float]


class BaselineFigures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kg_co2e: Quarters
    kwh: Quarters | None = None
    units: Quarters | None = None


class TargetEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: str
    year: int = Field(ge=2000, le=2100)
    reduction_pct: float = Field(ge=0, lt=100)
    basis: Basis = "absolute"
    baseline_year: int = Field(ge=2000, le=2100)
    baseline: BaselineFigures | None = None
    replan_threshold: float = Field(0.05, ge=0)

    @property
    def target_id(self) -> str:
        return f"{self.site_id}:{self.year}:{self.basis}"

    def reduction_target(self, baseline: Baseline) -> ReductionTarget:
        return ReductionTarget(baseline=baseline, year=self.year,
                               reduction_pct=self.reduction_pct, basis=self.basis,
                               replan_threshold=self.replan_threshold)

    def given_baseline(self) -> Baseline | None:
        if self.baseline is None:
            return None
        b = self.baseline
        return Baseline(site_id=self.site_id, year=self.baseline_year, kg_co2e=b.kg_co2e,
                        kwh=b.kwh or (0.0, 0.0, 0.0, 0.0), units=b.units)


class TargetsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    about: str | None = None
    targets: list[TargetEntry]

    @model_validator(mode="after")
    def _one_entry_per_target(self) -> TargetsFile:
        # Two entries for one site, year and basis would give one quarter two targets.
        seen: set[str] = set()
        twice = sorted({t.target_id for t in self.targets
                        if t.target_id in seen or seen.add(t.target_id)})
        if twice:
            raise ValueError(f"more than one entry for {', '.join(twice)} "
                             "(one per site, year and basis)")
        return self

    def for_site(self, site_id: str, year: int) -> list[TargetEntry]:
        return [t for t in self.targets if t.site_id == site_id and t.year == year]


def load_targets(path: str | Path) -> TargetsFile:
    """Read and check the file; a ValueError names the file and what is wrong in it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    try:
        return TargetsFile.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors())
        raise ValueError(f"{path}: {problems}") from error


def _problem(error: dict) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")  # our own validators' sentences
    return f"{where}: {message}" if where else message


SIMULATED_BASELINE_2025 = BaselineFigures(
    kg_co2e=(533_710.0, 577_661.0, 592_925.0, 557_291.0),
    kwh=(1_058_949.0, 1_146_152.0, 1_176_439.0, 1_105_735.0),
    units=(1_454_761.0, 1_492_578.0, 1_499_827.0, 1_493_152.0),
)


def default_targets() -> TargetsFile:
    entries = [
        TargetEntry(site_id=SIMULATED_SITE, year=year, reduction_pct=SBTI_LINEAR_RATE_PCT * k,
                    basis=basis, baseline_year=2025, baseline=SIMULATED_BASELINE_2025)
        for k, year in ((1, 2026), (2, 2027)) for basis in ("absolute", "per_unit")
    ]
    return TargetsFile(
        about="Reduction targets per site (see models/forecasting/target_config.py). Default: "
        "the simulated plant's 2025 baseline and the SBTi 1.5 C linear rate of 4.2 % a year, "
        "absolute and per good unit. Replace with your sites' targets; leave 'baseline' out to "
        "compute it from the warehouse's data for baseline_year.",
        targets=entries,
    )


def write_targets(path: str | Path, targets: TargetsFile) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(targets.model_dump(mode="json", exclude_none=True), indent=2)
                   + "\n")
    tmp.replace(path)
    return path


def ensure_targets(home: str | Path) -> tuple[TargetsFile, Path, bool]:
    """The home's targets, writing the default file first if it has none. Returns (targets,
    path, written)."""
    path = Path(home) / TARGETS_FILE
    if path.exists():
        return load_targets(path), path, False
    write_targets(path, default_targets())
    return load_targets(path), path, True


def simulated_baseline(year: int = 2025, seed: int = 7) -> Baseline:
    """The simulated plant's baseline year from the simulator's ground truth (annual location
    factor, as the marts report; good units by the batch's local end date) — how
    SIMULATED_BASELINE_2025 was computed (about 5 s)."""
    from datetime import date

    import polars as pl

    from models.forecasting.simdata import simulated_marts
    from models.forecasting.targets import baseline_from_daily

    m = simulated_marts(days=366 if year % 4 == 0 else 365, seed=seed, start=date(year, 1, 1))
    local = (pl.col("interval_start_utc").dt.replace_time_zone("UTC")
             .dt.convert_time_zone(m.timezone).dt.date())
    daily = m.emissions.group_by(local.alias("site_local_date")).agg(
        pl.col("kwh").sum(), pl.col("kg_co2e").sum())
    units = m.production.group_by(
        pl.col("end_utc").dt.replace_time_zone("UTC").dt.convert_time_zone(m.timezone).dt.date()
        .alias("site_local_date")).agg(pl.col("good_units").sum())
    daily = daily.join(units, on="site_local_date", how="left").with_columns(
        pl.col("good_units").fill_null(0))
    return baseline_from_daily(daily, m.site_id, year)

"""A home's planning files: `<home>/planning/settings.json` and `<home>/planning/materials.csv`.

settings.json (every key optional; the defaults are below):

    {
      "slot_minutes": 15,              # the planning grid
      "horizon_days": 7,               # how far ahead a plan reaches
      "history_days": 28,              # production history for rates, energy and changeovers
      "on_time_lookback_days": 28,     # shipped orders that give the recent on-time share
      "shifts": [{"name": "A", "start_hour": 6, "end_hour": 14}, ...],   # site-local hours
      "night_shift": "C",
      "night_share_bounds": [0.2, 0.4],  # share of planned units made in the night shift
      "low_carbon_min_share": 0.3,       # of the units whose material can be low-carbon
      "currency": "TWD",
      "tariff": {"name": "...", "default_price": 2.32,
                 "rules": [{"price": 8.69, "hours": [16, 22], "weekdays": [1, 2, 3, 4, 5],
                            "months": [1, 2, 3], "period": "peak"}, ...]},
      "maintenance": [{"line_id": "L1-SMT", "start": "2026-01-21T06:00:00+08:00",
                       "end": "2026-01-21T10:00:00+08:00"}]
    }

Tariff rules are tried in order and the first that matches a local time gives its price per kWh
(weekdays ISO, 1 = Monday; empty weekdays/months = all). Without a tariff the planner prices
energy at the latest bill's average cost per kWh.

materials.csv: sku, process_step, material, kg_co2e_per_unit, cost_per_unit, low_carbon — the
options for the material of one operation (`process_step` as in the order book; empty for orders
without one), per unit of product. Orders without a row have no material choice.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.planning.tariffs import RuleTariff, TariffRule

SETTINGS_FILE = "settings.json"
MATERIALS_FILE = "materials.csv"
MATERIAL_COLUMNS = {
    "sku": pl.String,
    "process_step": pl.String,
    "material": pl.String,
    "kg_co2e_per_unit": pl.Float64,
    "cost_per_unit": pl.Float64,
    "low_carbon": pl.Boolean,
}


class PlanningFileError(ValueError):
    """A planning file the planner cannot use; the message names the file and the problem."""


class ShiftSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    start_hour: int = Field(ge=0, le=23)
    end_hour: int = Field(ge=0, le=24)


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: float = Field(ge=0)
    hours: tuple[int, int] = (0, 24)
    weekdays: tuple[int, ...] = ()
    months: tuple[int, ...] = ()
    period: str = ""


class TariffSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    rules: list[RuleSpec] = Field(min_length=1)
    default_price: float | None = Field(default=None, ge=0)

    def build(self) -> RuleTariff:
        return RuleTariff(
            tuple(
                TariffRule(r.price, tuple(r.hours), tuple(r.weekdays), tuple(r.months), r.period)
                for r in self.rules
            ),
            self.default_price,
            self.name,
        )


class MaintenanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_id: str
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-01-21T06:00:00+08:00")
        return value


class PlanningSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_minutes: int = Field(15, ge=5, le=60)
    horizon_days: float = Field(7, gt=0, le=31)
    history_days: int = Field(28, ge=1)
    on_time_lookback_days: int = Field(28, ge=1)
    shifts: list[ShiftSpec] = Field(
        default_factory=lambda: [
            ShiftSpec(name="A", start_hour=6, end_hour=14),
            ShiftSpec(name="B", start_hour=14, end_hour=22),
            ShiftSpec(name="C", start_hour=22, end_hour=6),
        ]
    )
    night_shift: str = "C"
    night_share_bounds: tuple[float, float] = (0.2, 0.4)
    low_carbon_min_share: float = Field(0.3, ge=0, le=1)
    currency: str | None = None
    tariff: TariffSpec | None = None
    maintenance: list[MaintenanceSpec] = Field(default_factory=list)

    @field_validator("night_share_bounds")
    @classmethod
    def _bounds(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0 <= lo <= hi <= 1:
            raise ValueError("must be [low, high] with 0 <= low <= high <= 1")
        return value

    def shift_tuples(self) -> tuple[tuple[str, int, int], ...]:
        return tuple((s.name, s.start_hour, s.end_hour % 24) for s in self.shifts)


def _errors(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in error.errors()
    )


def load_settings(planning_dir: Path) -> tuple[PlanningSettings, str]:
    """The settings and where they came from (the file, or 'defaults' when it is absent)."""
    path = planning_dir / SETTINGS_FILE
    if not path.exists():
        return PlanningSettings(), "defaults (no planning/settings.json)"
    try:
        settings = PlanningSettings.model_validate_json(path.read_text())
    except ValidationError as error:
        raise PlanningFileError(f"{path}: {_errors(error)}") from error
    names = [s.name for s in settings.shifts]
    if settings.night_shift not in names:
        raise PlanningFileError(f"{path}: night_shift {settings.night_shift!r} is not in {names}")
    return settings, str(path)


def load_materials(planning_dir: Path) -> pl.DataFrame | None:
    """The material options, or None when the home has no materials file."""
    path = planning_dir / MATERIALS_FILE
    if not path.exists():
        return None
    try:
        frame = pl.read_csv(path, schema_overrides={"process_step": pl.String, "sku": pl.String})
    except (pl.exceptions.PolarsError, OSError) as error:
        raise PlanningFileError(f"{path}: cannot be read as CSV: {error}") from error
    missing = [c for c in MATERIAL_COLUMNS if c not in frame.columns]
    if missing:
        raise PlanningFileError(f"{path}: missing column(s) {', '.join(missing)}")
    try:
        frame = frame.select(
            pl.col(c).cast(t, strict=True) for c, t in MATERIAL_COLUMNS.items()
        ).with_columns(pl.col("process_step").replace("", None))
    except pl.exceptions.PolarsError as error:
        raise PlanningFileError(f"{path}: a value does not fit its column: {error}") from error
    bad = frame.filter(
        pl.any_horizontal(pl.col("sku", "material", "low_carbon").is_null())
        | (pl.col("kg_co2e_per_unit") < 0)
        | (pl.col("cost_per_unit") < 0)
        | pl.col("kg_co2e_per_unit").is_null()
        | pl.col("cost_per_unit").is_null()
    )
    if bad.height:
        raise PlanningFileError(
            f"{path}: {bad.height} row(s) with an empty sku, material or low_carbon, or a "
            f"missing or negative figure (first: {bad.row(0, named=True)})"
        )
    return frame

"""Contractual instruments for market-based Scope 2: their schema, row rules and CSV reader.

An *instrument* conveys the emission rate of some electricity to a consumer (GHG Protocol
Scope 2 Guidance, ch. 7): energy attribute certificates (GOs, REGOs, RECs, I-RECs, T-RECs,
...), power purchase agreements, green tariffs, and a supplier's own (supplier-specific)
emission rate. Instruments are a landing kind: `INSTRUMENT_SCHEMA` is
`ingestion.landing.schemas.SCHEMAS["instruments"]` (UTC timestamps, values and units as
published), imported with `wattprint import instruments FILE` and applied in the warehouse by
`dbt_project/models/marts/scope2/` with the same rules as `models.scope2.dual`.

One row = one claim that may be applied to one site's consumption:

==================  =========  ===  =====================================================
column              type       req  meaning
==================  =========  ===  =====================================================
instrument_id       text       yes  unique id (certificate serial range, contract + period)
instrument_type     text       yes  certificate | ppa | green_tariff | supplier_specific
scheme              text       no   tracking system: GO, REGO, REC, I-REC, T-REC, ...
contract_id         text       no   groups rows of one contract (e.g. a PPA's hourly rows)
site_id             text       yes  the site whose consumption it is claimed for
market              text       yes  market boundary it can be used in (e.g. GB, EU-AIB, US,
                                    KR); must equal the site's market to apply
period_start        timestamp  yes  UTC, inclusive: first consumption instant it may cover
period_end          timestamp  yes  UTC, exclusive; a one-hour period makes it hour-stamped
                                    (granular certificate / hourly PPA delivery)
volume              number     no   energy it covers, in volume_unit; empty = all supply in
                                    the period (only supplier_specific and green_tariff)
volume_unit         text       no   Wh | kWh | MWh | GWh (required with volume)
emission_factor     number     yes  its emission rate, 0 for renewable certificates
emission_factor_unit text      yes  as published, e.g. kgCO2e/kWh, tCO2e/MWh
technology          text       no   solar, wind, hydro, nuclear, gas, ...
generator_id        text       no   the generating facility
supplier            text       no   utility or seller
retired             boolean    yes  cancelled / redeemed on the consumer's behalf; an
                                    instrument that is not is never applied (Quality
                                    Criterion 2 of the Scope 2 Guidance)
source_document     text       yes  contract, registry statement or certificate export
==================  =========  ===  =====================================================

Quality order used by `models.scope2.dual` (Scope 2 Guidance, Table 6.3): certificates, PPAs
and green tariffs first, then supplier-specific rates, then the residual mix, and only if
none, the location-based factor (flagged).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingestion.factors.units import UnknownUnit, energy_to_kwh, to_kg_per_kwh
from ingestion.files.errors import Problem
from ingestion.landing.schemas import REQUIRED, SCHEMAS, UTC_TS

InstrumentType = Literal["certificate", "ppa", "green_tariff", "supplier_specific"]
INSTRUMENT_TYPES: tuple[str, ...] = ("certificate", "ppa", "green_tariff", "supplier_specific")
# quality tier per type: 1 = instrument conveying attributes, 2 = supplier-specific rate
TIER: dict[str, int] = {"certificate": 1, "ppa": 1, "green_tariff": 1, "supplier_specific": 2}
UNLIMITED_TYPES = frozenset({"green_tariff", "supplier_specific"})  # volume may be empty

# One contract for the landing zone, the warehouse and this library.
INSTRUMENT_SCHEMA: dict[str, pl.DataType] = SCHEMAS["instruments"]
INSTRUMENT_REQUIRED: tuple[str, ...] = REQUIRED["instruments"]


class Instrument(BaseModel):
    """One instrument row, with its rules (used to check a frame row by row)."""

    model_config = ConfigDict(extra="ignore")

    instrument_id: str = Field(min_length=1)
    instrument_type: InstrumentType
    scheme: str | None = None
    contract_id: str | None = None
    site_id: str = Field(min_length=1)
    market: str = Field(min_length=1)
    period_start: datetime
    period_end: datetime
    volume: float | None = Field(default=None, gt=0)
    volume_unit: str | None = None
    emission_factor: float = Field(ge=0)
    emission_factor_unit: str
    technology: str | None = None
    generator_id: str | None = None
    supplier: str | None = None
    retired: bool
    source_document: str = Field(min_length=1)

    @field_validator("period_start", "period_end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp without a time zone; give an offset or Z")
        return value

    @field_validator("emission_factor_unit")
    @classmethod
    def _factor_unit(cls, value: str) -> str:
        try:
            to_kg_per_kwh(1.0, value)
        except UnknownUnit as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _rules(self) -> Instrument:
        if self.period_end <= self.period_start:
            raise ValueError("period_end is not after period_start")
        if self.volume is None and self.instrument_type not in UNLIMITED_TYPES:
            raise ValueError(f"a {self.instrument_type} needs a volume")
        if self.volume is not None:
            if self.volume_unit is None:
                raise ValueError("volume_unit is required with a volume")
            try:
                energy_to_kwh(1.0, self.volume_unit)
            except UnknownUnit as exc:
                raise ValueError(str(exc)) from None
        return self

    @property
    def volume_kwh(self) -> float | None:
        return None if self.volume is None else energy_to_kwh(self.volume, self.volume_unit)

    @property
    def factor_kg_per_kwh(self) -> float:
        return to_kg_per_kwh(self.emission_factor, self.emission_factor_unit)

    @property
    def is_hourly(self) -> bool:
        return self.period_end - self.period_start <= timedelta(hours=1)


def conform_instruments(frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast to INSTRUMENT_SCHEMA (absent optional columns become nulls)."""
    missing = [c for c in INSTRUMENT_REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"instruments: missing required column(s): {', '.join(missing)}")
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in INSTRUMENT_SCHEMA.items()
        ]
    )


def _validated(frame: pl.DataFrame) -> tuple[list[Instrument | None], list[Problem]]:
    items: list[Instrument | None] = []
    problems: list[Problem] = []
    for i, row in enumerate(frame.iter_rows(named=True), start=1):
        try:
            items.append(Instrument.model_validate(row))
        except ValidationError as exc:
            items.append(None)
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else None
                shown = row.get(column) if column else None
                problems.append(
                    Problem(i, column, None if shown is None else str(shown), err["msg"])
                )
    if "instrument_id" in frame.columns:
        dupes = frame.with_row_index("__i", offset=1).filter(
            pl.col("instrument_id").is_duplicated()
        )
        for rec in dupes.iter_rows(named=True):
            problems.append(
                Problem(rec["__i"], "instrument_id", rec["instrument_id"], "id used more than once")
            )
    return items, problems


def check_instruments(frame: pl.DataFrame) -> list[Problem]:
    """Every rule broken, by row (1-based row of the frame), plus duplicate ids."""
    return _validated(frame)[1]


def prepare_instruments(frame: pl.DataFrame) -> pl.DataFrame:
    """Conformed, checked instruments plus `volume_kwh` and `factor_kg_per_kwh`.
    Raises ValueError listing every problem."""
    frame = conform_instruments(frame)
    items, problems = _validated(frame)
    if problems:
        raise ValueError(
            "instruments rejected:\n" + "\n".join(f"  - {p.describe()}" for p in problems[:20])
        )
    return frame.with_columns(
        pl.Series("volume_kwh", [item.volume_kwh for item in items], dtype=pl.Float64),
        pl.Series(
            "factor_kg_per_kwh", [item.factor_kg_per_kwh for item in items], dtype=pl.Float64
        ),
    )


def read_instruments_csv(path: Path | str) -> pl.DataFrame:
    """Read an instruments CSV (columns as in INSTRUMENT_SCHEMA; timestamps ISO-8601 with an
    offset or Z; retired true/false) into a checked frame."""
    raw = pl.read_csv(path, infer_schema=False)
    casts = []
    for name, dtype in INSTRUMENT_SCHEMA.items():
        if name not in raw.columns:
            continue
        col = pl.col(name).str.strip_chars()
        col = pl.when(col == "").then(None).otherwise(col)
        if dtype == UTC_TS:
            col = col.str.to_datetime(time_zone="UTC", time_unit="us")
        elif dtype == pl.Boolean:
            col = col.str.to_lowercase().is_in(["true", "yes", "1"])
        elif dtype == pl.Float64:
            col = col.cast(pl.Float64)
        casts.append(col.alias(name))
    return prepare_instruments(raw.with_columns(casts))

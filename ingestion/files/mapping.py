"""How to read a meter export: which column holds what, in which format, time zone and unit.

A mapping is written once per export format (a YAML or JSON file next to the exports) or given
as command-line flags. Example, for the UCI steel-industry export::

    timestamp_column: date
    timestamp_format: "%d/%m/%Y %H:%M"
    timezone: Asia/Seoul
    interval_semantics: end      # "0:15" labels the interval 00:00-00:15
    interval_minutes: 15
    midnight_ends_day: true      # "1/1/2018 0:00" at the end of 1 January means 24:00
    value_column: Usage_kWh
    unit: kWh
    meter_id: STEEL-MAIN
    site_id: KR-GWANGYANG-STEEL
    source_name: uci-steel-industry-2018

A fuel meter's export names the fuel's register and unit; the meter must already be in the
landed registry with its energy_carrier, and each row's unit must fit it (`units`)::

    timestamp_column: read_at
    register: counter            # counter | interval for fuel; counter_kwh | interval_kwh |
    unit: m3                     #   power_kw for electricity
    value_column: index_m3
    meter_id: M-GAS-BOILER
    site_id: TW-HSINCHU-01

How a timestamp label becomes the landed `ts` (UTC start of the interval):
1. parse the label with `timestamp_format` (a strptime format, e.g. ``%d/%m/%Y %H:%M``; single
   digit days and hours are accepted), or as ISO-8601 when it is None;
2. labels without an offset are wall-clock times: with `midnight_ends_day`, a label at exactly
   00:00 means 24:00 of that date, i.e. 00:00 of the next day;
3. wall-clock times are placed in `timezone` (IANA). A time that does not exist there (the hour
   skipped when clocks go forward) is a problem; a time that occurs twice (clocks going back) is
   read in file order per meter — its first occurrence is the earlier instant, its second the
   later one, as exports list them;
4. converted to UTC; with interval_semantics 'end' the interval length is then subtracted, in
   UTC, so intervals across a DST change keep their true length.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingestion.files.parsing import is_timezone
from ingestion.files.units import (
    ELECTRICITY_UNITS,
    ENERGY_UNITS,
    FUEL_BASE_UNIT,
    FUEL_REGISTERS,
    KNOWN_UNITS,
    POWER_UNITS,
)


class MappingError(ValueError):
    """The mapping itself is wrong (not the file): names each setting and what is wrong."""


class ReadingsMapping(BaseModel):
    """Column mapping and time semantics of a meter-readings export."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    timestamp_column: str = Field(min_length=1)
    timestamp_format: str | None = Field(
        default=None, description="strptime format; None reads ISO-8601"
    )
    timezone: str | None = Field(
        default=None,
        description="IANA zone of timestamps printed without offset; None uses the site's "
        "timezone from the landed sites registry",
    )
    interval_semantics: Literal["start", "end"] = "start"
    interval_minutes: int = Field(default=15, ge=1, le=1440)
    midnight_ends_day: bool = False
    value_column: str = Field(min_length=1)
    unit: str | None = None
    unit_column: str | None = None
    # "register" in files and flags (as in the meters registry); not a field name because
    # pydantic's BaseModel already has a `register` attribute. Electricity: interval_kwh,
    # counter_kwh, power_kw; fuel meters (m3 of gas, litres of diesel, ...): counter, interval.
    meter_register: Literal["interval_kwh", "counter_kwh", "power_kw", "counter", "interval"] = (
        Field(default="interval_kwh", alias="register")
    )
    meter_id: str | None = None
    meter_id_column: str | None = None
    site_id: str = Field(min_length=1)
    source_name: str | None = Field(
        default=None, description="label in raw_id; defaults to the file name"
    )
    quality: Literal["good", "estimated", "suspect"] | None = None
    quality_column: str | None = None
    delimiter: str = Field(default=",", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ReadingsMapping:
        problems: list[str] = []
        if (self.meter_id is None) == (self.meter_id_column is None):
            problems.append("give exactly one of meter_id (constant) or meter_id_column")
        if (self.unit is None) == (self.unit_column is None):
            problems.append("give exactly one of unit (constant) or unit_column")
        if self.quality is not None and self.quality_column is not None:
            problems.append("give at most one of quality (constant) or quality_column")
        if self.unit is not None:
            problems.extend(self._unit_problems(self.unit))
        if self.timezone is not None and not is_timezone(self.timezone):
            problems.append(f"timezone {self.timezone!r} is not an IANA time zone name")
        if self.midnight_ends_day and self.interval_semantics != "end":
            problems.append(
                "midnight_ends_day describes interval-END labels; set interval_semantics: end"
            )
        if self.meter_register in ("counter_kwh", "counter") and self.interval_semantics == "end":
            problems.append(
                "counter readings are instants, not intervals; use interval_semantics: start"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _unit_problems(self, unit: str) -> list[str]:
        register = self.meter_register
        if unit not in KNOWN_UNITS:
            return [
                f"unknown unit {unit!r}; expected one of "
                f"{', '.join(sorted(ELECTRICITY_UNITS))} (electricity) or "
                f"{', '.join(FUEL_BASE_UNIT)} (fuel, register counter or interval)"
            ]
        if register == "power_kw" and unit not in POWER_UNITS:
            return [f"register power_kw needs a power unit, not {unit}"]
        if register in FUEL_REGISTERS and unit not in FUEL_BASE_UNIT:
            return [
                f"register {register} (a fuel meter) needs a fuel quantity unit "
                f"({', '.join(FUEL_BASE_UNIT)}), not {unit}"
            ]
        if register not in FUEL_REGISTERS and register != "power_kw" and unit not in ENERGY_UNITS:
            hint = "" if unit in POWER_UNITS else " (a fuel meter's register: counter or interval)"
            return [f"register {register} needs an energy unit, not {unit}{hint}"]
        return []

    @classmethod
    def build(cls, **settings: Any) -> ReadingsMapping:
        """Validate settings (None values are dropped, so unset CLI flags keep the defaults)."""
        clean = {k: v for k, v in settings.items() if v is not None}
        try:
            return cls(**clean)
        except ValidationError as exc:
            raise MappingError(_plain(exc)) from None

    @classmethod
    def from_flags(cls, **flags: Any) -> ReadingsMapping:
        """From command-line flags (names as the fields; unset flags as None)."""
        return cls.build(**flags)

    @classmethod
    def from_file(cls, path: Path | str, **overrides: Any) -> ReadingsMapping:
        """From a YAML (.yaml/.yml) or JSON file; `overrides` (e.g. CLI flags) win."""
        path = Path(path)
        try:
            body = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise MappingError(f"cannot read mapping file {path}: {exc}") from exc
        try:
            data = json.loads(body) if path.suffix.lower() == ".json" else yaml.safe_load(body)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise MappingError(f"mapping file {path} is not valid YAML/JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise MappingError(f"mapping file {path} must hold key: value settings")
        # an unset flag (None) keeps the file's setting rather than erasing it
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls.build(**{**data, **given})

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(exclude_none=True, by_alias=True), sort_keys=False)

    def file_columns(self) -> list[str]:
        """The columns this mapping reads from the file."""
        cols = [
            self.timestamp_column,
            self.value_column,
            self.meter_id_column,
            self.unit_column,
            self.quality_column,
        ]
        return [c for c in cols if c]


def _plain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "mapping"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "not a known setting (check the spelling)"
        parts.append(f"{where}: {msg}")
    return "invalid readings mapping — " + "; ".join(parts)

"""What a simulation run is asked to do: the plant config and the fault-injection switches.

Both are frozen dataclasses so a config can be hashed, compared and written to
`ground_truth/plant.json` verbatim; `fingerprint()` names the landing batches of a run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date


@dataclass(frozen=True)
class FaultConfig:
    """Fault-injection switches, all off by default. Each injected fault is logged in
    `ground_truth/faults.parquet` with its true start and end."""

    gaps: bool = False  # a meter's readings missing for a window (outage)
    rollover: bool = False  # a counter started just below its rollover value
    meter_replacement: bool = False  # a meter removed at T, a new meter id counting from 0
    spikes: bool = False  # single absurd readings
    stuck: bool = False  # a counter frozen while its equipment runs, then resuming
    compressor_cycling: bool = False  # a compressor's TRUE energy +25% for a window
    process_excess: bool = False  # a reflow oven's TRUE energy +40% during three of its batches
    drift: bool = False  # a sub meter reading high by a growing % over weeks
    duplicates: bool = False  # identical re-sends and conflicting re-sends (same raw_id)
    late: bool = False  # readings received 3 days after their timestamp

    @classmethod
    def all_on(cls) -> FaultConfig:
        return cls(**{f.name: True for f in fields(cls)})

    @classmethod
    def only(cls, *names: str) -> FaultConfig:
        """Just the named switches on, e.g. `FaultConfig.only("gaps", "late")`."""
        known = {f.name for f in fields(cls)}
        unknown = set(names) - known
        if unknown:
            raise ValueError(f"unknown fault switch(es): {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{name: True for name in names})

    def enabled(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if getattr(self, f.name))


@dataclass(frozen=True)
class PlantConfig:
    """A run of the simulated plant: `days` whole site-local days from `start_date` 00:00."""

    seed: int = 7
    start_date: date = date(2026, 1, 5)
    days: int = 14
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.days, int) or self.days < 1:
            raise ValueError(f"days must be a positive integer, got {self.days!r}")
        if not isinstance(self.start_date, date):
            raise ValueError(f"start_date must be a date, got {self.start_date!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def to_json_dict(self) -> dict:
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        out["faults_on"] = list(self.faults.enabled())
        return out

    def fingerprint(self) -> str:
        """Short stable hash of the config: the same run always lands under the same batch ids."""
        text = json.dumps(self.to_json_dict(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

"""A plant of N cumulative-kWh meters read every 15 s, for the latency benchmark.

The simulator's plant (ingestion/simulator) has a fixed 36-meter tree with 15-minute registers,
and `PlantConfig` has no size knob, so the benchmark generates its own registry at the size it
needs, with the same landing contract (`ingestion.landing.schemas`):

    M-UTIL (utility)                          · TX-LOSSES (unmetered)
    └─ M-A01 … M-A04 (main, one per hall)      · HALL-LIGHT (unmetered)
       └─ M-A01-L01 … (sub, one per line)      · CONV (unmetered)
          └─ M-A01-L01-E001 … (equipment meters, one per metered machine)

With 500 meters: 1 utility, 4 mains, 20 subs and 475 equipment meters. Every meter is a
`counter_kwh` register (only a counter can be read every 15 s and still describe a 15-minute
interval: a reading at t closes the span since the previous one). Counter values are exact
functions of time, so any instant — the history landed before the run and every live tick —
has one value per meter: `counters(ticks)`. A parent meter reads its children plus 5 % of
unmetered load, so every node has a positive residual for the platform to allocate.

Each equipment meter's counter rises by at least 2 kW × 15 s ≈ 0.008 kWh per tick and is
published with 3 decimals, so the energy an interval holds identifies exactly the last reading
that went into it: that is how the benchmark tells which readings a mart row already reflects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

import numpy as np
import polars as pl

from ingestion.landing.schemas import conform
from ingestion.simulator.factors import annual_factors

SITE_ID = "TW-BENCH-01"
TIMEZONE = "Asia/Taipei"
TICK = timedelta(seconds=15)
COMMISSIONED = datetime(2024, 3, 1, tzinfo=UTC)
UNMETERED_SHARE = 0.05  # a node reads its children + this share of unmetered load
DECIMALS = 3  # counters are published in kWh with 3 decimals (a register's resolution)
# Load varies slowly (so energy per interval is not flat): ±10 % over a period per machine.
SWING = 0.10


@dataclass(frozen=True)
class Node:
    meter_id: str
    parent: str | None
    kind: str  # utility | main | sub | equipment
    measures_kind: str
    measures_id: str
    gateway: str


@dataclass(frozen=True)
class BenchPlant:
    """`meters` in total; `mains` halls of `lines_per_main` lines each; equipment meters fill
    the rest, spread evenly over the lines; `gateways` gateways each publishing one message per
    tick for its share of the meters."""

    meters: int = 500
    mains: int = 4
    lines_per_main: int = 5
    gateways: int = 10
    seed: int = 1

    def __post_init__(self) -> None:
        if self.equipment_meters < self.lines:
            raise ValueError(
                f"{self.meters} meters cannot hold 1 utility, {self.mains} mains and "
                f"{self.lines} sub meters with at least one equipment meter each"
            )

    @property
    def lines(self) -> int:
        return self.mains * self.lines_per_main

    @property
    def equipment_meters(self) -> int:
        return self.meters - 1 - self.mains - self.lines

    # -- the tree ---------------------------------------------------------------------------
    @cached_property
    def nodes(self) -> tuple[Node, ...]:
        def gateway(i: int) -> str:
            return f"gw-{i % self.gateways + 1:02d}"

        nodes = [Node("M-UTIL", None, "utility", "site", SITE_ID, gateway(0))]
        line_ids = []
        for a in range(1, self.mains + 1):
            main = f"M-A{a:02d}"
            nodes.append(Node(main, "M-UTIL", "main", "area", f"HALL-{a:02d}", gateway(a)))
            for line in range(1, self.lines_per_main + 1):
                sub = f"{main}-L{line:02d}"
                line_ids.append(sub)
                nodes.append(Node(sub, main, "sub", "line", _line_id(sub), gateway(len(nodes))))
        counts = np.full(self.lines, self.equipment_meters // self.lines)
        counts[: self.equipment_meters % self.lines] += 1
        k = 0
        for sub, n in zip(line_ids, counts, strict=True):
            for e in range(1, int(n) + 1):
                meter = f"{sub}-E{e:03d}"
                nodes.append(
                    Node(meter, sub, "equipment", "equipment", _equipment_id(meter), gateway(k))
                )
                k += 1
        return tuple(nodes)

    @cached_property
    def meter_ids(self) -> list[str]:
        return [n.meter_id for n in self.nodes]

    @cached_property
    def equipment_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "equipment"]

    @cached_property
    def _power(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per equipment meter: mean kW, swing period (s), phase, counter at COMMISSIONED."""
        rng = np.random.default_rng(self.seed)
        n = len(self.equipment_nodes)
        mean_kw = rng.uniform(2.0, 40.0, n)
        period = rng.uniform(600.0, 7200.0, n)
        phase = rng.uniform(0.0, 2 * np.pi, n)
        start = rng.uniform(1_000.0, 50_000.0, n)
        return mean_kw, period, phase, start

    # -- values -----------------------------------------------------------------------------
    def _equipment_kwh(self, ticks: np.ndarray) -> np.ndarray:
        """Unrounded counter of each equipment meter at each tick: shape (ticks, meters).
        P(t) = mean × (1 + SWING·sin(2πt/period + phase)), integrated exactly."""
        mean_kw, period, phase, start = self._power
        t = (ticks - _epoch(COMMISSIONED))[:, None].astype(np.float64)  # seconds
        omega = 2 * np.pi / period
        swing = SWING * mean_kw / omega * (np.cos(phase) - np.cos(omega * t + phase))
        return start + (mean_kw * t + swing) / 3600.0

    def counters(self, ticks: np.ndarray) -> np.ndarray:
        """Published counter values (kWh, 3 decimals) of every meter at each tick (epoch
        seconds): shape (ticks, meters), columns in `meter_ids` order. A parent reads the sum
        of its children's energy since commissioning × (1 + UNMETERED_SHARE)."""
        equipment = self._equipment_kwh(np.asarray(ticks, dtype=np.int64))
        index = {n.meter_id: i for i, n in enumerate(self.nodes)}
        values = np.zeros((equipment.shape[0], len(self.nodes)))
        first = index[self.equipment_nodes[0].meter_id]
        values[:, first:] = equipment
        # Parents from the leaves up: nodes are ordered root → mains/subs → equipment, and each
        # parent's energy is its children's (minus their start values) plus unmetered load.
        _, _, _, start = self._power
        energy = values.copy()
        energy[:, first:] -= start
        for node in reversed(self.nodes[:first]):
            children = [index[c.meter_id] for c in self.nodes if c.parent == node.meter_id]
            energy[:, index[node.meter_id]] = energy[:, children].sum(axis=1) * (
                1 + UNMETERED_SHARE
            )
            values[:, index[node.meter_id]] = 100_000.0 + energy[:, index[node.meter_id]]
        return np.round(values, DECIMALS)

    def readings(self, ticks: np.ndarray, received_delay: float = 1.0) -> pl.DataFrame:
        """Readings of every meter at each tick, in the landing schema (raw_id as the MQTT
        service derives it when a gateway sends no id: '<meter>|<ts ISO UTC>')."""
        ticks = np.asarray(ticks, dtype=np.int64)
        values = self.counters(ticks)
        n_ticks, n_meters = values.shape
        ts = pl.Series("ts", np.repeat(ticks * 1_000_000, n_meters)).cast(pl.Datetime("us", "UTC"))
        meters = pl.Series("meter_id", self.meter_ids * n_ticks)
        gateways = pl.Series("gateway", [n.gateway for n in self.nodes] * n_ticks)
        frame = pl.DataFrame({"meter_id": meters, "ts": ts, "value": values.reshape(-1)})
        frame = frame.with_columns(
            (pl.col("meter_id") + "|" + pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).alias(
                "raw_id"
            ),
            pl.lit(SITE_ID).alias("site_id"),
            pl.lit("kWh").alias("unit"),
            pl.lit("good").alias("quality"),
            ("sim://" + pl.lit(SITE_ID) + "/" + gateways).alias("source"),
            (pl.col("ts") + timedelta(seconds=received_delay)).alias("received_at"),
        )
        return conform("readings", frame)

    # -- the registry -----------------------------------------------------------------------
    def registry(self, year: int) -> dict[str, pl.DataFrame]:
        """sites, meters, equipment and the annual grid factor of `year` (and the next, so a
        run across New Year still finds one), ready for `LandingZone.write`."""
        sites = pl.DataFrame(
            {
                "site_id": [SITE_ID],
                "site_name": ["Latency benchmark plant (generated)"],
                "timezone": [TIMEZONE],
                "grid_region": ["TW"],
                "country": ["TW"],
                "location_factor_granularity": ["annual"],
            }
        )
        meters = pl.DataFrame(
            [
                {
                    "meter_id": n.meter_id,
                    "site_id": SITE_ID,
                    "parent_meter_id": n.parent,
                    "meter_kind": n.kind,
                    "measures_kind": n.measures_kind,
                    "measures_id": n.measures_id,
                    "register": "counter_kwh",
                    "unit": "kWh",
                    "multiplier": 1.0,
                    "rollover_value": None,
                    "interval_minutes": 15,
                    "installed_at": COMMISSIONED,
                    "removed_at": None,
                }
                for n in self.nodes
            ]
        )
        mean_kw, *_ = self._power
        equipment = [
            {
                "equipment_id": n.measures_id,
                "site_id": SITE_ID,
                "equipment_name": f"Machine {n.meter_id[-4:]} of {_line_id(n.parent)}",
                "line_id": _line_id(n.parent),
                "process_step": "assembly",
                "equipment_type": "machine",
                "nameplate_kw": round(float(kw) * 1.3, 1),
                "is_metered": True,
                "supply_meter_id": n.meter_id,
                "idle_load_fraction": 0.4,
                "running_load_fraction": 0.8,
            }
            for n, kw in zip(self.equipment_nodes, mean_kw, strict=True)
        ]
        unmetered = {
            "sub": ("CONV", "conveyor", 3.0),
            "main": ("HALL-LIGHT", "lighting", 8.0),
            "utility": ("TX-LOSSES", "transformer_losses", 20.0),
        }
        for n in self.nodes:
            if n.kind in unmetered:
                suffix, kind, kw = unmetered[n.kind]
                equipment.append(
                    {
                        "equipment_id": f"{n.meter_id.removeprefix('M-')}-{suffix}",
                        "site_id": SITE_ID,
                        "equipment_name": f"{kind} under {n.meter_id}",
                        "line_id": _line_id(n.meter_id) if n.kind == "sub" else None,
                        "process_step": "auxiliary",
                        "equipment_type": kind,
                        "nameplate_kw": kw,
                        "is_metered": False,
                        "supply_meter_id": n.meter_id,
                        "idle_load_fraction": 0.5,
                        "running_load_fraction": 0.8,
                    }
                )
        return {
            "sites": conform("sites", sites),
            "meters": conform("meters", meters),
            "equipment": conform("equipment", pl.DataFrame(equipment)),
            "factors": conform("factors", annual_factors([year, year + 1])),
        }


def _line_id(sub_meter_id: str) -> str:
    return sub_meter_id.removeprefix("M-")


def _equipment_id(meter_id: str) -> str:
    return meter_id.removeprefix("M-")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def tick_floor(moment: datetime) -> datetime:
    """The last 15-second boundary at or before `moment` (UTC)."""
    seconds = int(moment.timestamp()) // 15 * 15
    return datetime.fromtimestamp(seconds, UTC)

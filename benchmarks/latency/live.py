"""The two live loops of the latency benchmark, each in its own thread.

- `TickPublisher`: every 15 s on the wall clock, the readings of every meter stamped with that
  instant, one JSON message per gateway at QoS 1 (`ingestion.simulator.live.gateway_messages`,
  the simulator's own gateway format), recording when each tick was handed to the broker.
- `PublicationWatcher`: what a BI reader sees. It polls the published warehouse
  (`<home>/published/wattprint.duckdb`, swapped in atomically after every good run) and, for
  each new publication, reads the energy of the live intervals from
  `marts.fct_emissions_interval`. It never opens the live warehouse: even a read-only open there
  takes the lock the next dbt step needs.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import paho.mqtt.client as mqtt

from benchmarks.latency.plant import BenchPlant
from ingestion.simulator.live import gateway_messages


@dataclass(eq=False)  # a Thread must stay hashable
class TickPublisher(threading.Thread):
    plant: BenchPlant
    host: str
    port: int
    first_tick: int  # epoch seconds, a multiple of 15
    ticks: int
    username: str | None = None
    password: str | None = None
    published_at: dict[int, float] = field(default_factory=dict)  # tick → wall time handed over
    late: int = 0  # ticks published more than 1 s after their instant (this process was slow)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, name="tick-publisher", daemon=True)
        self.stop_event = threading.Event()

    def run(self) -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wattprint-bench-gw")
        if self.username:
            client.username_pw_set(self.username, self.password)
        try:
            client.connect(self.host, self.port, keepalive=30)
            client.loop_start()
            for k in range(self.ticks):
                tick = self.first_tick + 15 * k
                # Build the messages before the instant, publish at it: the readings' timestamp
                # is the instant they are handed to the broker, as a gateway reading its meters.
                messages = list(gateway_messages(self.plant.readings(np.array([tick]))))
                if self.stop_event.wait(max(0.0, tick - time.time())):
                    return
                handed = time.time()
                if handed - tick > 1.0:
                    self.late += 1
                infos = [client.publish(m.topic, m.payload, qos=1) for m in messages]
                self.published_at[tick] = handed
                for info in infos:
                    info.wait_for_publish(timeout=30)
                    if not info.is_published():
                        raise ConnectionError(f"the broker did not acknowledge tick {tick}")
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            self.error = error
        finally:
            client.loop_stop()
            client.disconnect()


@dataclass(frozen=True)
class Publication:
    swapped_at: float  # when the file was renamed into place (its ctime): queryable from then
    seen_at: float
    run_id: str
    # (equipment_id, interval start epoch seconds) → kWh
    energy: dict[tuple[str, int], float]


@dataclass(eq=False)
class PublicationWatcher(threading.Thread):
    path: Path
    since_epoch: int  # only intervals starting at or after this
    poll_seconds: float = 0.5
    publications: list[Publication] = field(default_factory=list)
    read_errors: int = 0

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, name="publication-watcher", daemon=True)
        self.stop_event = threading.Event()
        self._last_ctime = 0.0

    def run(self) -> None:
        while not self.stop_event.wait(self.poll_seconds):
            self.poll()

    def poll(self) -> Publication | None:
        try:
            before = os.stat(self.path).st_ctime
        except FileNotFoundError:
            return None
        if before == self._last_ctime:
            return None
        try:
            publication = self._read(before)
        except duckdb.Error:
            self.read_errors += 1
            return None
        if os.stat(self.path).st_ctime != before:
            return None  # swapped while reading: read the newer one on the next poll
        self._last_ctime = before
        self.publications.append(publication)
        return publication

    def _read(self, swapped_at: float) -> Publication:
        with duckdb.connect(str(self.path), read_only=True) as con:
            run_id = con.execute("select source_run_id from meta.publication").fetchone()[0]
            rows = con.execute(
                """
                select equipment_id, epoch(interval_start_utc)::bigint, kwh::double
                from marts.fct_emissions_interval
                where method = 'location' and interval_start_utc >= make_timestamp(?)
                """,
                [self.since_epoch * 1_000_000],
            ).fetchall()
        return Publication(
            swapped_at, time.time(), run_id, {(e, int(s)): float(k) for e, s, k in rows}
        )

"""Counters of the ingestion service, shared by the network thread and the writer."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class IngestStats:
    """What the service did. Once every received message has been processed:
    `readings_received == readings_landed + duplicates + quarantined_total`.

    A message that yields no readings at all (malformed JSON, wrong shape, bad topic) counts
    as one received reading and one quarantined row, so the equation holds for it too.
    """

    messages_received: int = 0
    messages_acked: int = 0
    readings_received: int = 0
    readings_landed: int = 0
    duplicates: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)  # reason → rows
    batches: int = 0
    files_landed: int = 0
    quarantine_files: int = 0
    connects: int = 0
    disconnects: int = 0
    # Received but deliberately left unacknowledged: arrived while stopping, or on a
    # connection that has since dropped; the broker delivers them again.
    left_for_redelivery: int = 0
    landing_failures: int = 0
    # How often the hand-off buffer was full so the network thread had to wait (the broker sent
    # more than our Receive Maximum); reading paused, nothing was dropped.
    buffer_full_waits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def set(self, **values: int) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self, name, value)

    def add_quarantined(self, by_reason: dict[str, int]) -> None:
        with self._lock:
            merged = Counter(self.quarantined)
            merged.update(by_reason)
            self.quarantined = dict(sorted(merged.items()))

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy as plain data (for logs, JSON, tests)."""
        with self._lock:
            data = {f.name: getattr(self, f.name) for f in fields(self) if f.name[0] != "_"}
            data["quarantined"] = dict(self.quarantined)
        data["quarantined_total"] = sum(data["quarantined"].values())
        return data

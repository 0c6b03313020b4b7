"""One micro-batch from received messages to (rows to land, rows to quarantine). No I/O.

`BatchBuilder.add` is called for each message as it comes off the queue (it parses the JSON
then, so the batch knows its size in readings); `process` runs the checks and the
deduplication on the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ingestion.mqtt.dedup import RecentIds
from ingestion.mqtt.payloads import Columns, PayloadError, decode, original_text
from ingestion.mqtt.registry import MeterRegistry
from ingestion.mqtt.topics import parse_topic
from ingestion.mqtt.validate import Limits, assemble, check, rejected_rows, valid_readings

MAX_ORIGINAL_CHARS = 1_000_000  # a quarantined payload is kept whole up to this size


@dataclass(slots=True)
class Incoming:
    """A received message as the network thread hands it over (no parsing done there)."""

    topic: bytes | str
    payload: bytes
    mid: int
    qos: int
    received_at: float  # epoch seconds
    generation: int  # which connection it arrived on (acks are only valid on that one)


@dataclass
class BatchBuilder:
    cols: Columns = field(default_factory=Columns)
    messages: list[Incoming] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    sites: list[str | None] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    entries: list[list[Any] | PayloadError] = field(default_factory=list)
    readings: int = 0
    first_at: float | None = None

    def __len__(self) -> int:
        return len(self.messages)

    def add(self, message: Incoming, now: float) -> int:
        """Parse one message into the batch; returns the rows it added."""
        if self.first_at is None:
            self.first_at = now
        topic = message.topic
        if isinstance(topic, bytes):
            topic = topic.decode("utf-8", "backslashreplace")
        parts = parse_topic(topic)
        entries: list[Any] | PayloadError
        if parts is None:
            entries = PayloadError(
                "bad_topic", f"topic {topic!r} is not wattprint/<site>/<gateway>/readings"
            )
        else:
            entries = decode(message.payload)
        self.messages.append(message)
        self.topics.append(topic)
        self.sites.append(parts.site if parts else None)
        self.received_at.append(message.received_at)
        self.entries.append(entries)
        if isinstance(entries, PayloadError):
            self.cols.add_rejected_message(entries.reason, entries.detail)
            n = 1
        else:
            n = self.cols.add_message(entries)
        self.readings += n
        return n

    def original(self, msg: int, row: int) -> str | None:
        """The reading entry (or, for a message-level problem, the payload) as text."""
        entries = self.entries[msg]
        if isinstance(entries, PayloadError):
            text = self.messages[msg].payload.decode("utf-8", "backslashreplace")
            if len(text) > MAX_ORIGINAL_CHARS:
                text = text[:MAX_ORIGINAL_CHARS] + f"... [truncated, {len(text)} characters]"
            return text
        return original_text(entries[row - 1])


@dataclass
class Outcome:
    readings: pl.DataFrame  # valid, first-seen: to land
    rejected: pl.DataFrame  # to quarantine (text columns, with reason)
    received: int
    duplicates: int
    quarantined: dict[str, int]

    @property
    def landed(self) -> int:
        return self.readings.height


def process(
    batch: BatchBuilder, registry: MeterRegistry, limits: Limits, recent: RecentIds
) -> Outcome:
    """Check every row, split valid from rejected, drop readings already landed (by raw_id,
    within the batch and against `recent`). `recent` is NOT updated here: the caller adds the
    ids once the readings have landed durably."""
    frame = assemble(batch.cols, batch.topics, batch.sites, batch.received_at)
    checked = check(frame, registry, limits)
    good = valid_readings(checked)
    rejected = rejected_rows(checked, limits, batch.original)
    before = good.height
    if before:
        good = good.filter(pl.col("raw_id").is_first_distinct())
        fresh = recent.unseen(good["raw_id"].to_list())
        if not all(fresh):
            good = good.filter(pl.Series(fresh, dtype=pl.Boolean))
    quarantined = dict(rejected.group_by("reason").len().iter_rows()) if rejected.height else {}
    return Outcome(good, rejected, frame.height, before - good.height, quarantined)

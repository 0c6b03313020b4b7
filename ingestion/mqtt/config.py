"""Settings of the ingestion service (`wattprint ingest`)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ingestion.mqtt.topics import DEFAULT_FILTER, subscription


def default_home() -> Path:
    return Path(os.environ.get("WATTPRINT_HOME", ".wattprint"))


class IngestConfig(BaseModel):
    """Everything `run_service` needs. Defaults suit one plant on one machine."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # -- broker ---------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    # Fixed, not random: the broker keeps this client's persistent session (its subscription
    # and every message queued while the service is down) under this id.
    client_id: str = "wattprint-ingest"
    topic_filter: str = DEFAULT_FILTER
    # None: a plain subscription. A name: `$share/<name>/<filter>`, so several ingestors (each
    # with its own client_id) split the stream — each message reaches one of them.
    shared_group: str | None = None
    # QoS 1 only. The service acknowledges a message after it has landed; with QoS 2, paho
    # answers PUBREC on receipt, after which the broker no longer re-sends the message, so a
    # crash before landing would lose it. QoS 1 + dedup by raw_id gives the exactly-once effect.
    qos: Literal[1] = 1
    keepalive: int = Field(60, ge=5, le=300)
    # MQTT 5 by default (Receive Maximum, session expiry, shared subscriptions). "3.1.1" for a
    # broker that speaks only 3.1.1, such as the demo's embedded amqtt: the session is then
    # persistent (clean session off) unless session_expiry_seconds is 0, and the in-flight
    # window is the broker's own setting, not receive_maximum.
    protocol: Literal["5", "3.1.1"] = "5"
    # How long the broker keeps the session (and queues for it) while the service is away.
    session_expiry_seconds: int = Field(7 * 24 * 3600, ge=0)
    # MQTT v5 Receive Maximum: how many unacknowledged messages the broker may have in flight
    # to us. A batch closes at half of it (so the other half streams in while it is written),
    # so it sets the largest batch in messages: 10,000 lets single-reading messages land in
    # batches of 5,000 (fixed costs per batch — Parquet file, fsyncs — about 12 ms).
    receive_maximum: int = Field(10_000, ge=10, le=65535)
    # Memory bound: the hand-off buffer between the network thread and the writer holds at
    # most 2 x receive_maximum + 100 messages AND at most this many payload bytes (a message
    # arriving into an empty buffer is always taken, whatever its size). When full, the
    # network thread stops reading and TCP holds the rest back in the broker.
    queue_max_bytes: int = Field(64 * 1024 * 1024, ge=1024 * 1024)
    reconnect_min_delay: int = Field(1, ge=1)
    reconnect_max_delay: int = Field(60, ge=1)
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    # -- micro-batches ----------------------------------------------------------------------
    batch_max_readings: int = Field(50_000, ge=1)
    batch_max_seconds: float = Field(2.0, gt=0)

    # -- where and what -----------------------------------------------------------------------
    home: Path = Field(default_factory=default_home)
    # meter_id → site_id. None: load from `<home>/landing/meters` (`known_meters_from_landing`)
    # and reload every `registry_refresh_seconds`, so newly registered meters are picked up.
    known_meters: dict[str, str] | None = None
    # meter_id → register (counter_kwh | interval_kwh | power_kw), for the energy-vs-power unit
    # check. None with known_meters None: from the landing registry; None otherwise: no check.
    meter_registers: dict[str, str] | None = None
    registry_refresh_seconds: float = Field(60.0, gt=0)

    # -- checks -------------------------------------------------------------------------------
    max_future_seconds: float = Field(300.0, ge=0)  # clock skew tolerated on gateways
    min_ts: datetime = datetime(2000, 1, 1, tzinfo=UTC)  # e.g. a gateway clock reset to 1970
    max_value: float = Field(1e10, gt=0)  # above this a raw value is absurd

    # -- deduplication ------------------------------------------------------------------------
    dedup_max_ids: int = Field(500_000, ge=1000)
    # At start, raw_ids this client landed in the last N seconds are loaded back, so messages
    # the broker re-delivers after a crash (landed, not yet acknowledged) are not landed twice.
    dedup_warmup_seconds: float = Field(3600.0, ge=0)

    stats_log_seconds: float = Field(60.0, gt=0)
    # Python's GIL switch interval while the service runs (restored on exit; None: leave it).
    # The writer thread parses JSON in long pure-Python stretches; with the default 5 ms,
    # paho's network thread — which reads one packet per wake-up — waits that long for its
    # turn. 1 ms measured +45% readings/s with 50-reading messages (benchmarks/ingest).
    gil_switch_interval: float | None = Field(0.001, gt=0)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        return home.expanduser().absolute()

    @field_validator("min_ts", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("min_ts needs a time zone (UTC)")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _check(self) -> IngestConfig:
        subscription(self.topic_filter, self.shared_group)  # raises on a bad group name
        if not self.client_id:
            raise ValueError("client_id must not be empty: the persistent session lives under it")
        if self.protocol == "3.1.1" and self.shared_group is not None:
            raise ValueError(
                "shared subscriptions need MQTT 5: drop shared_group or use protocol 5"
            )
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        return self

    @property
    def subscription(self) -> str:
        return subscription(self.topic_filter, self.shared_group)

    @property
    def batch_max_messages(self) -> int:
        """A batch closes at half the in-flight window: while it is being written, the other
        half keeps arriving, so the network and the disk work in parallel."""
        return max(1, self.receive_maximum // 2)

    @property
    def queue_max_messages(self) -> int:
        """The hand-off buffer holds at most one window of the current connection plus one
        of the previous one (messages received before a reconnect, not yet acknowledged)."""
        return 2 * self.receive_maximum + 100

    @property
    def batch_prefix(self) -> str:
        """Landed files of this client start with this; used to warm up deduplication."""
        return "mqtt-" + re.sub(r"[^A-Za-z0-9_.-]", "_", self.client_id) + "-"

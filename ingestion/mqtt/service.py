"""The ingestion service: MQTT subscriber → micro-batches → landing zone → acknowledgements.

Two threads:
- paho's network thread runs `_on_message`, which only wraps the message and puts it on a
  bounded hand-off buffer — no parsing, no I/O — so reading the socket, keepalives and acks
  are never held up by slow work;
- the writer thread (the caller of `run`) takes micro-batches off the buffer, parses and checks
  them, lands the valid readings durably (atomic, fsync'd Parquet), quarantines the rest, and
  only THEN acknowledges every message of the batch (`client.ack(mid, qos)`).

A message is acknowledged only once everything in it is on disk, so a crash at any point
loses nothing: the broker re-delivers whatever was not acknowledged, and deduplication by
raw_id (see `dedup`) keeps re-deliveries from landing twice.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

import paho.mqtt.client as mqtt
import polars as pl
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingestion.landing import LandingZone
from ingestion.landing.store import new_batch_id
from ingestion.mqtt.batcher import HandOff, MicroBatcher
from ingestion.mqtt.config import IngestConfig
from ingestion.mqtt.dedup import RecentIds, warm_up
from ingestion.mqtt.payloads import REASONS
from ingestion.mqtt.pipeline import BatchBuilder, Incoming, Outcome, process
from ingestion.mqtt.registry import MeterRegistry
from ingestion.mqtt.stats import IngestStats
from ingestion.mqtt.validate import QUARANTINE_COLUMNS, Limits

log = logging.getLogger("wattprint.ingest")


class IngestService:
    """One ingestor. `run()` blocks until `stop_event` is set (or `stop()` is called), then
    lands and acknowledges what it has already received, disconnects and returns the stats."""

    def __init__(
        self,
        config: IngestConfig,
        stop_event: threading.Event | None = None,
        *,
        after_landing: Callable[[BatchBuilder], None] | None = None,
    ):
        """`after_landing` is called for each batch once it is on disk and before any of its
        messages is acknowledged (for instrumentation and crash tests)."""
        self.config = config
        self.after_landing = after_landing
        self.stop_event = stop_event or threading.Event()
        self.stats = IngestStats()
        self.subscribed = threading.Event()  # set once the subscription is in place
        self.zone = LandingZone(config.home)
        self.limits = Limits(config.max_future_seconds, config.min_ts, config.max_value)
        self.recent = RecentIds(config.dedup_max_ids)
        # Backpressure. Primarily the broker's in-flight window: we announce a Receive Maximum
        # (MQTT v5) and acknowledge only after landing, so a compliant broker never has more
        # than `receive_maximum` unacknowledged QoS 1 messages out to us; when landing slows
        # down or stops, the window fills, the broker stops sending and queues for our
        # persistent session instead (max_queued_messages in mosquitto.conf): memory stays
        # bounded here, durable there. The hand-off buffer is sized for the current
        # connection's window plus the previous one's (received before a reconnect, still
        # being landed), so normally `put` never waits.
        # Safety net: the buffer is also bounded in bytes, and when full the network thread
        # waits in `put` until the writer takes messages off — never dropping a QoS 1 message
        # (a dropped one would hold a slot of the window until the next reconnect). That
        # matters: Mosquitto 2.0.11 overshoots the Receive Maximum once it has a backlog
        # queued for a client that acknowledges slowly (measured: 17,000 unacknowledged with a
        # window of 2,000; cf. eclipse-mosquitto/mosquitto#2301). While waiting, the socket is
        # not read, so TCP flow control holds the rest back in the broker.
        self.inbox = HandOff(config.queue_max_messages, config.queue_max_bytes)
        self.batcher = MicroBatcher(
            self.inbox,
            max_readings=config.batch_max_readings,
            max_messages=config.batch_max_messages,
            max_seconds=config.batch_max_seconds,
        )
        self._accepting = True
        self._connected = False
        self._generation = 0
        self._registry: MeterRegistry = MeterRegistry.build({})
        self._registry_loaded_at = float("-inf")
        self._client: mqtt.Client | None = None
        self._last_stats_log = time.monotonic()
        self._last_snapshot = self.stats.snapshot()

    # -- public -----------------------------------------------------------------------------
    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> IngestStats:
        cfg = self.config
        self.zone.init()
        self._refresh_registry(force=True)
        warm_up(
            self.recent, self.zone.kind_root("readings"), cfg.batch_prefix, cfg.dedup_warmup_seconds
        )
        client = self._make_client()
        self._client = client
        log.info(
            "connecting to the MQTT broker at %s:%d as %r, subscribing to %r; landing in %s",
            cfg.host,
            cfg.port,
            cfg.client_id,
            cfg.subscription,
            self.zone.root,
        )
        if cfg.protocol == "5":
            client.connect_async(
                cfg.host,
                cfg.port,
                keepalive=cfg.keepalive,
                clean_start=False,
                properties=self._connect_properties(),
            )
        else:  # 3.1.1: the session's persistence was set on the client (clean_session)
            client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive)
        client.loop_start()  # paho's network thread; it also reconnects with backoff
        switch_interval = sys.getswitchinterval()
        if cfg.gil_switch_interval is not None:
            sys.setswitchinterval(cfg.gil_switch_interval)
        try:
            while not self.stop_event.is_set():
                batch = self.batcher.collect(self.stop_event)
                if batch is not None:
                    self._handle(batch)
                self._maybe_log_stats()
        finally:
            self._shutdown(client)
            sys.setswitchinterval(switch_interval)
        return self.stats

    # -- MQTT ---------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        if cfg.protocol == "5":
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=cfg.client_id,
                protocol=mqtt.MQTTv5,
                manual_ack=True,
            )
        else:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=cfg.client_id,
                protocol=mqtt.MQTTv311,
                clean_session=cfg.session_expiry_seconds == 0,
                manual_ack=True,
            )
        if cfg.username is not None:
            client.username_pw_set(
                cfg.username, cfg.password.get_secret_value() if cfg.password else None
            )
        if cfg.tls_ca_file is not None:
            client.tls_set(
                ca_certs=str(cfg.tls_ca_file),
                certfile=str(cfg.tls_cert_file) if cfg.tls_cert_file else None,
                keyfile=str(cfg.tls_key_file) if cfg.tls_key_file else None,
            )
        client.reconnect_delay_set(cfg.reconnect_min_delay, cfg.reconnect_max_delay)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        # Persistent session: with clean_start=False the broker keeps our subscription and
        # queues messages for us while we are away, for this long.
        props.SessionExpiryInterval = self.config.session_expiry_seconds
        props.ReceiveMaximum = self.config.receive_maximum
        return props

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        cfg = self.config
        if reason_code.is_failure:
            log.error(
                "the broker at %s:%d refused the connection: %s%s",
                cfg.host,
                cfg.port,
                reason_code,
                " — check the username and password" if reason_code.value in (134, 135) else "",
            )
            return
        self._generation += 1
        self._connected = True
        self.stats.add(connects=1)
        log.info(
            "connected to the broker at %s:%d; %s",
            cfg.host,
            cfg.port,
            "it kept our session, so messages queued while we were away follow"
            if flags.session_present
            else "a new session was started",
        )
        # Subscribe on every connect: harmless when the session kept the subscription, and
        # needed when the broker lost it (a crash before it saved its state).
        client.subscribe(cfg.subscription, options=SubscribeOptions(qos=cfg.qos))

    def _on_connect_fail(self, client, userdata) -> None:
        log.warning(
            "could not reach the broker at %s:%d; retrying (every %d s at most)",
            self.config.host,
            self.config.port,
            self.config.reconnect_max_delay,
        )

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.error(
                "the broker refused the subscription to %r: %s — check the ACL",
                self.config.subscription,
                failed[0],
            )
            return
        log.info("subscribed to %r (QoS %d)", self.config.subscription, self.config.qos)
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected = False
        self.subscribed.clear()
        self.stats.add(disconnects=1)
        if self._accepting:
            log.warning(
                "lost the connection to the broker (%s); reconnecting with backoff — "
                "messages not yet acknowledged will be delivered again",
                reason_code,
            )

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        # Runs on paho's network thread: no parsing, no I/O — wrap the message, hand it over.
        if not self._accepting:
            return  # stopping: left unacknowledged, the broker delivers it again next time
        try:
            topic: str | bytes = message.topic
        except UnicodeDecodeError:  # not valid UTF-8: kept as bytes, quarantined as bad_topic
            topic = message._topic
        item = Incoming(
            topic, message.payload, message.mid, message.qos, time.time(), self._generation
        )
        # `put` returns at once unless the hand-off buffer is full, which a broker honouring
        # our Receive Maximum never causes; then it waits for the writer (see __init__).
        if self.inbox.put(item):
            self.stats.add(messages_received=1)

    # -- the writer ---------------------------------------------------------------------------
    def _refresh_registry(self, force: bool = False) -> None:
        cfg = self.config
        if cfg.known_meters is not None:
            if force:
                self._registry = MeterRegistry.build(cfg.known_meters, cfg.meter_registers)
            return
        now = time.monotonic()
        if not force and now - self._registry_loaded_at < cfg.registry_refresh_seconds:
            return
        self._registry_loaded_at = now
        try:
            registry = MeterRegistry.from_landing(cfg.home)
        except Exception as exc:  # noqa: BLE001 - keep the previous registry
            log.error("could not read the meter registry from %s: %s", self.zone.root, exc)
            return
        if len(registry) != len(self._registry) or force:
            log.info(
                "meter registry: %d meters from %s", len(registry), self.zone.kind_root("meters")
            )
            if not len(registry):
                log.warning(
                    "the meter registry is empty: every reading will be quarantined "
                    "as unknown_meter until meters are imported"
                )
        self._registry = registry

    def _handle(self, batch: BatchBuilder) -> None:
        self._refresh_registry()
        try:
            outcome = process(batch, self._registry, self.limits, self.recent)
        except Exception as exc:  # a bug must not lose the batch nor stop the service
            log.exception(
                "failed to process a batch of %d messages; quarantining them whole", len(batch)
            )
            outcome = _internal_error_outcome(batch, exc)
        if not self._write(outcome):
            self.stats.add(left_for_redelivery=len(batch))
            return  # stopping while the disk fails: nothing acknowledged
        if self.after_landing is not None:
            self.after_landing(batch)
        if outcome.landed:
            self.recent.add(outcome.readings["raw_id"].to_list())
        self.stats.set(buffer_full_waits=self.inbox.waits)
        self.stats.add(
            readings_received=outcome.received,
            readings_landed=outcome.landed,
            duplicates=outcome.duplicates,
            batches=1,
        )
        if outcome.quarantined:
            self.stats.add_quarantined(outcome.quarantined)
            log.warning(
                "quarantined %d of %d readings: %s",
                outcome.rejected.height,
                outcome.received,
                "; ".join(
                    f"{n} {reason} ({REASONS.get(reason, reason)})"
                    for reason, n in sorted(outcome.quarantined.items())
                ),
            )
        self._ack(batch)

    def _write(self, outcome: Outcome) -> bool:
        """Land and quarantine durably, retrying with backoff while the disk fails. False
        only if asked to stop before it succeeded."""
        prefix = self.config.batch_prefix.rstrip("-")
        batch_id = new_batch_id(prefix)
        landed = outcome.readings.height == 0
        quarantined = outcome.rejected.height == 0
        delay = 0.5
        while True:
            try:
                if not landed:
                    result = self.zone.write("readings", outcome.readings, batch_id=batch_id)
                    landed = True
                    self.stats.add(files_landed=len(result.files))
                if not quarantined:
                    self.zone.quarantine_rows(
                        "readings",
                        outcome.rejected,
                        source=self._quarantine_source(outcome),
                        batch_id=batch_id,
                    )
                    quarantined = True
                    self.stats.add(quarantine_files=1)
                return True
            except Exception as exc:  # noqa: BLE001 - disk full, permissions, ...
                self.stats.add(landing_failures=1)
                log.error(
                    "could not write batch %s under %s: %s — nothing acknowledged, "
                    "retrying in %.1f s",
                    batch_id,
                    self.config.home,
                    exc,
                    delay,
                )
                if self.stop_event.wait(delay):
                    return False
                delay = min(delay * 2, 30.0)
                if not landed:
                    # A failed write may have left some partition files of this id behind;
                    # a new id never collides with them (their rows dedup downstream).
                    batch_id = new_batch_id(prefix)

    def _quarantine_source(self, outcome: Outcome) -> str:
        topics = outcome.rejected["topic"].unique()
        if topics.len() == 1 and topics[0] is not None:
            return topics[0]
        return f"mqtt:{self.config.topic_filter} (topic per row)"

    def _ack(self, batch: BatchBuilder) -> None:
        """Acknowledge, in the order received, every message of a landed batch that came on
        the current connection. Messages from an earlier connection are left alone: the broker
        re-delivers them on this one, dedup drops them, and that copy is acknowledged."""
        client = self._client
        generation = self._generation
        acked = stale = 0
        for message in batch.messages:
            if message.qos == 0:
                continue
            if message.generation == generation and self._connected and client is not None:
                client.ack(message.mid, message.qos)
                acked += 1
            else:
                stale += 1
        self.stats.add(messages_acked=acked, left_for_redelivery=stale)

    def _maybe_log_stats(self) -> None:
        now = time.monotonic()
        if now - self._last_stats_log < self.config.stats_log_seconds:
            return
        snap = self.stats.snapshot()
        prev = self._last_snapshot
        self._last_stats_log, self._last_snapshot = now, snap
        log.info(
            "in the last %.0f s: %d messages, %d readings received, %d landed, %d duplicates, "
            "%d quarantined; %d messages waiting in the queue",
            self.config.stats_log_seconds,
            snap["messages_received"] - prev["messages_received"],
            snap["readings_received"] - prev["readings_received"],
            snap["readings_landed"] - prev["readings_landed"],
            snap["duplicates"] - prev["duplicates"],
            snap["quarantined_total"] - prev["quarantined_total"],
            self.inbox.qsize(),
        )

    def _shutdown(self, client: mqtt.Client) -> None:
        """Stop taking messages, land and acknowledge what was already received, disconnect."""
        self._accepting = False
        self.inbox.close()  # a network thread waiting to hand over gives up
        while (batch := self.batcher.drain()) is not None:
            self._handle(batch)
        # DISCONNECT is queued behind the acknowledgements, so they reach the broker first.
        client.disconnect()
        client.loop_stop()
        self._connected = False
        snap = self.stats.snapshot()
        log.info(
            "stopped: %d readings received, %d landed, %d duplicates dropped, %d quarantined %s",
            snap["readings_received"],
            snap["readings_landed"],
            snap["duplicates"],
            snap["quarantined_total"],
            snap["quarantined"] or "",
        )


def _internal_error_outcome(batch: BatchBuilder, exc: Exception) -> Outcome:
    n = len(batch)
    rows = {name: [None] * n for name in QUARANTINE_COLUMNS}
    rows["reason"] = ["internal_error"] * n
    rows["detail"] = [f"{type(exc).__name__}: {exc}"] * n
    rows["topic"] = list(batch.topics)
    rows["source_row"] = ["0"] * n
    rows["received_at"] = [str(t) for t in batch.received_at]
    rows["original"] = [m.payload.decode("utf-8", "backslashreplace") for m in batch.messages]
    rejected = pl.DataFrame(rows, schema={c: pl.String for c in QUARANTINE_COLUMNS})
    empty = pl.DataFrame(schema={})
    return Outcome(empty, rejected, n, 0, dict(Counter({"internal_error": n})))


def run_service(config: IngestConfig, stop_event: threading.Event | None = None) -> IngestStats:
    """Run the ingestion service until `stop_event` is set; returns what it did.

    Never raises on bad input (it is quarantined) nor on a lost broker (it reconnects)."""
    return IngestService(config, stop_event).run()

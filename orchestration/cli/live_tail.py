"""The demo's live path: a simulated plant whose last day arrives over MQTT.

Everything but the last site-local day's readings lands as files (the history an importer would
bring in); the last day's readings go the way a plant's telemetry does — gateway messages, QoS 1,
an MQTT broker, the ingestion service, micro-batches in the landing zone — and are counted
against what was published. The broker is the one at the configured address when something
answers there, else an embedded amqtt broker started in this process
(`ingestion.mqtt.embedded`), so the demo runs on a machine with nothing installed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import polars as pl

from ingestion.mqtt.embedded import BrokerChoice, embedded_choice, find_broker
from ingestion.mqtt.roundtrip import RoundTrip, send_through_mqtt


@dataclass(frozen=True)
class MqttOptions:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    embedded: bool = False  # always use an embedded broker, whatever answers at host:port


@dataclass(frozen=True)
class LiveTail:
    counts: dict  # what landed as files (write_simulation's counts)
    day: date  # the site-local day that came over MQTT
    trip: RoundTrip
    broker: str  # which broker, in words
    why_embedded: str | None = None  # why an embedded broker, when it was one


def simulate_with_live_tail(
    settings, days: int, seed: int, start: date, mqtt: MqttOptions
) -> LiveTail:
    from ingestion.simulator import PlantConfig, simulate, write_simulation
    from ingestion.simulator.plant import TIMEZONE

    sim = simulate(PlantConfig(seed=seed, start_date=start, days=days))
    day = date.fromordinal(start.toordinal() + days - 1)
    cutoff = datetime.combine(day, time(0), tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)
    live = sim.readings.filter(pl.col("ts") >= cutoff)
    counts = write_simulation(
        dataclasses.replace(sim, readings=sim.readings.filter(pl.col("ts") < cutoff)),
        settings.home,
    )
    trip, choice = _send(live, settings.home, mqtt)
    return LiveTail(counts, day, trip, choice.description, choice.reason)


def _send(live: pl.DataFrame, home, mqtt: MqttOptions) -> tuple[RoundTrip, BrokerChoice]:
    choice = find_broker(mqtt.host, mqtt.port, embedded=mqtt.embedded)
    try:
        trip = _through(live, home, choice, mqtt)
    except ConnectionError as error:
        choice.stop()
        if choice.embedded is not None:
            raise
        # Something answers at the address but will not take the demo (an MQTT 3 broker,
        # credentials, ACLs): the demo still runs, on an embedded broker, and says why.
        choice = embedded_choice(
            f"the broker at {mqtt.host}:{mqtt.port} could not be used: {error}"
        )
        try:
            trip = _through(live, home, choice, mqtt)
        finally:
            choice.stop()
        return trip, choice
    choice.stop()
    return trip, choice


def _through(live: pl.DataFrame, home, choice: BrokerChoice, mqtt: MqttOptions) -> RoundTrip:
    credentials = {} if choice.embedded else {"username": mqtt.username, "password": mqtt.password}
    return send_through_mqtt(
        live, home, choice.host, choice.port, protocol=choice.protocol, **credentials
    )

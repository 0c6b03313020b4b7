"""MQTT ingestion: readings from plant gateways → the landing zone, at-least-once, deduplicated.

Topic layout
------------
Gateways publish at QoS 1 to

    wattprint/<site>/<gateway>/readings        e.g. wattprint/TW-HSINCHU-01/gw-01/readings

`<site>` is the site_id of the meters the gateway reads (the broker's ACL lets a gateway user
publish only under its own site); `<gateway>` is the gateway's name. The service subscribes to
`wattprint/+/+/readings`, or `$share/<group>/wattprint/+/+/readings` when several ingestors
share the stream.

Payloads (JSON, UTF-8)
----------------------
Gateway message — the common case, up to thousands of readings per message:

    {"gateway": "gw-01",
     "readings": [{"meter": "M-1", "ts": "2026-01-05T00:15:00Z", "value": 123.4, "unit": "kWh",
                   "id": "optional stable id", "quality": "good"}, ...]}

Single reading — one per message:

    {"meter": "M-1", "ts": "2026-01-05T00:15:00Z", "value": 123.4, "unit": "kWh"}

meter: string, a meter_id of the registry. ts: ISO 8601 with `Z` or a UTC offset (a timestamp
without an offset is rejected, never guessed). value: JSON number, as the register shows it.
unit: Wh | kWh | MWh (energy registers) or W | kW | MW (power registers); a fuel meter's unit of
its own quantity (a gas meter registered in m3: l or m3; see ingestion/files/units.py). id
(optional, string or integer): the reading's stable identity. quality (optional): good |
estimated | suspect, default good. Unknown keys are ignored; the site comes from the topic, not
the payload.

Mapping to the landing zone (`readings`, see ingestion/landing/schemas.py)
-------------------------------------------------------------------------
    raw_id       id if given, else "<meter>|<ts as ISO UTC>", e.g. "M-1|2026-01-05T00:15:00Z"
                 (fractional seconds only when present: "...T00:15:00.500Z")
    meter_id     meter
    site_id      <site> from the topic (checked against the meter's site in the registry)
    ts           ts converted to UTC
    value, unit  as published (unit conversion happens in dbt)
    quality      quality, default "good"
    source       the MQTT topic
    received_at  when the service received the message (UTC)
Files land as `landing/readings/site=<site>/date=<UTC date of ts>/<batch_id>.parquet`, one per
micro-batch and partition, so late and out-of-order readings land in the day they belong to.
Batch ids start with `mqtt-<client_id>-`.

What is rejected
----------------
Nothing is dropped silently: every problem goes to `quarantine/readings/<batch_id>.parquet`
(one file per micro-batch) with a reason code, a detail in plain words, the topic, the position
in the message and the original entry or payload — see `payloads.REASONS`: malformed JSON,
wrong shape, missing or mistyped fields, unknown meter, site in the topic ≠ meter's site,
unknown unit or a unit that does not fit the meter (energy/power vs the register, fuel vs
electricity, a fuel quantity of another kind than the meter's), NaN/inf/negative/absurd value
(above `max_value`), ts unparseable, without offset, too far in the future
(`max_future_seconds`) or before `min_ts`. Counts per reason are in `IngestStats.quarantined`.

Delivery
--------
Persistent MQTT v5 session (fixed client id, clean_start=False, session expiry), QoS 1,
manual acknowledgements: a message is acknowledged only after its readings (and its rejects)
are durably on disk. Anything not acknowledged is re-delivered by the broker, so delivery is
at-least-once; readings are deduplicated by raw_id in the service (a bounded set of recent ids,
warmed up at start from the files this client landed recently) and again in dbt staging:
at-least-once delivery + idempotent keys = exactly-once effect.

With `protocol="3.1.1"` (a broker without MQTT 5, such as the demo's embedded amqtt broker,
`embedded.py`) acknowledgement after landing and deduplication are the same; the session is
persistent through clean_session=False, and there is no Receive Maximum (the broker's own
in-flight limit applies) and no shared subscription.
"""

from ingestion.mqtt.config import IngestConfig
from ingestion.mqtt.registry import known_meters_from_landing, meter_registers_from_landing
from ingestion.mqtt.service import IngestService, run_service
from ingestion.mqtt.stats import IngestStats

__all__ = [
    "IngestConfig",
    "IngestService",
    "IngestStats",
    "known_meters_from_landing",
    "meter_registers_from_landing",
    "run_service",
]

"""Message payloads → raw reading columns. Pure functions, no I/O, no MQTT.

Two JSON shapes are accepted (UTF-8):

    gateway message   {"gateway": "gw-01", "readings": [{"meter": "M-1", "ts": "...", ...}, ...]}
    single reading    {"meter": "M-1", "ts": "2026-01-05T00:15:00Z", "value": 123.4, "unit": "kWh"}

A reading has `meter` (string), `ts` (ISO 8601 string with a UTC offset or `Z`), `value`
(JSON number), `unit` (string), and optionally `id` (string or integer: the reading's stable
identity) and `quality` (good | estimated | suspect; default good). Other keys are ignored.
Fuel meters (gas, diesel, ...) send the same shape, in their unit: e.g. a gas counter
``{"meter": "M-GAS", "ts": "...", "value": 283415.25, "unit": "m3"}``.

Here only the JSON shape and the types are checked (`add_message` records a problem per
reading); meaning — known meter, site, unit, time, value range — is checked on the whole batch
at once in `validate`. Problems are reason codes from `REASONS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Reason codes, in plain words (used for quarantine rows, stats and logs).
REASONS: dict[str, str] = {
    "malformed_json": "the message is not valid JSON (or not UTF-8)",
    "bad_payload": "the message is JSON but neither a gateway message nor a single reading",
    "bad_topic": "the topic does not follow wattprint/<site>/<gateway>/readings",
    "bad_reading": "an entry of 'readings' is not a JSON object",
    "missing_field": "a required field (meter, ts, value, unit) is missing or null",
    "bad_field": "a field has the wrong JSON type",
    "not_a_number": "value is not a JSON number",
    "unknown_meter": "the meter is not in the meter registry",
    "site_mismatch": "the site in the topic is not the meter's site",
    "unknown_unit": "the unit is neither an electricity unit (Wh, kWh, MWh, W, kW, MW) nor a "
    "fuel unit (GWh, MJ, GJ, TJ, therm, l, m3, kg, t)",
    "wrong_unit": "the unit does not fit the meter: an energy unit for a power register or a "
    "power unit for an energy register, a fuel unit on an electricity meter, or a fuel quantity "
    "of another kind than the fuel meter's own unit (kWh on a gas meter registered in m3)",
    "bad_ts": "ts is not an ISO 8601 timestamp with a UTC offset",
    "future_ts": "ts is further in the future than allowed",
    "old_ts": "ts is before the earliest allowed time",
    "non_finite_value": "value is NaN or infinite",
    "negative_value": "value is negative",
    "absurd_value": "value is above the configured maximum",
    "bad_quality": "quality is not good, estimated or suspect",
    "internal_error": "the service failed on this message (a bug): kept for replay",
}

REQUIRED = ("meter", "ts", "value", "unit")
_NUMBER = frozenset({float, int})
_STR = frozenset({str})
_OPTIONAL_STR = frozenset({str, type(None)})


class PayloadError(NamedTuple):
    """A message that yields no readings at all."""

    reason: str
    detail: str


_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def decode(payload: bytes | str) -> list[Any] | PayloadError:
    """The readings of one message: the `readings` list of a gateway message, or a one-element
    list for a single reading."""
    # JSONDecoder.raw_decode on text is about twice as fast as json.loads on bytes for the
    # small single-reading messages; it is the same parser, so the same JSON is accepted.
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else payload
        if text[:1] in _WHITESPACE or text[:1] == "\ufeff":
            text = text.lstrip(_WHITESPACE + "\ufeff")
        doc, end = _DECODER.raw_decode(text)
        if end != len(text) and text[end:].strip(_WHITESPACE):
            raise ValueError(f"extra data after the JSON value at char {end}")
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return PayloadError("malformed_json", f"not valid JSON: {exc}")
    if type(doc) is not dict:
        return PayloadError("bad_payload", f"expected a JSON object, got {type(doc).__name__}")
    if "readings" in doc:
        readings = doc["readings"]
        if type(readings) is not list:
            return PayloadError("bad_payload", "'readings' is not a list")
        return readings
    return [doc]


def _classify(entry: Any) -> tuple[str, str]:
    """Why one reading entry failed the fast type check (reason code, detail)."""
    if type(entry) is not dict:
        return "bad_reading", f"entry is a {type(entry).__name__}, not an object"
    missing = [k for k in REQUIRED if entry.get(k) is None]
    if missing:
        return "missing_field", f"missing field(s): {', '.join(missing)}"
    value = entry["value"]
    if type(value) not in _NUMBER:
        return "not_a_number", f"value {value!r} is not a number"
    for key in ("meter", "ts", "unit"):
        if type(entry[key]) is not str:
            return "bad_field", f"{key} {entry[key]!r} is not a string"
    ident = entry.get("id")
    if ident is not None and type(ident) not in (str, int):
        return "bad_field", f"id {ident!r} is not a string or integer"
    quality = entry.get("quality")
    if quality is not None and type(quality) is not str:
        return "bad_field", f"quality {quality!r} is not a string"
    return "", ""


@dataclass(slots=True)
class Columns:
    """Raw reading columns of a micro-batch, appended message by message.

    `problem` / `detail` hold the parse-level reason for a reading (None when its types are
    right). Per-message values (topic, receive time) live with the message; `counts[i]` is
    how many rows message i contributed, so row → message is a repeat of the message index.
    """

    meter: list[Any] = field(default_factory=list)
    ts: list[Any] = field(default_factory=list)
    value: list[Any] = field(default_factory=list)
    unit: list[Any] = field(default_factory=list)
    id: list[Any] = field(default_factory=list)
    quality: list[Any] = field(default_factory=list)
    problem: list[str | None] = field(default_factory=list)
    detail: list[str | None] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.meter)

    def add_message(self, readings: list[Any]) -> int:
        """Append one message's readings; returns how many rows were added."""
        n = len(readings)
        if n == 1:
            self._add_one(readings[0])
        elif n and not self._add_fast(readings):
            self._add_slow(readings)
        self.counts.append(n)
        return n

    def add_rejected_message(self, reason: str, detail: str) -> None:
        """A message that yields no readings takes one row, carrying the message's reason, so
        it is quarantined (with its payload) like any bad reading."""
        for col in (self.meter, self.ts, self.value, self.unit, self.id, self.quality):
            col.append(None)
        self.problem.append(reason)
        self.detail.append(detail)
        self.counts.append(1)

    def _add_one(self, entry: Any) -> None:
        """A single-reading message: the same checks without the column-wise machinery."""
        if type(entry) is dict:
            meter = entry.get("meter")
            ts = entry.get("ts")
            value = entry.get("value")
            unit = entry.get("unit")
            ident = entry.get("id")
            quality = entry.get("quality")
            if (
                type(meter) is str
                and type(ts) is str
                and type(unit) is str
                and (type(value) is float or type(value) is int)
                and (ident is None or type(ident) is str)
                and (quality is None or type(quality) is str)
            ):
                self.meter.append(meter)
                self.ts.append(ts)
                self.value.append(value)
                self.unit.append(unit)
                self.id.append(ident)
                self.quality.append(quality)
                self.problem.append(None)
                self.detail.append(None)
                return
        self._add_slow([entry])

    def _add_fast(self, readings: list[Any]) -> bool:
        """The common case: every entry is an object with well-typed fields. Column-wise list
        comprehensions and type-set checks run at C speed; any surprise falls back to the
        exact per-entry path."""
        try:
            meter = [r["meter"] for r in readings]
            ts = [r["ts"] for r in readings]
            value = [r["value"] for r in readings]
            unit = [r["unit"] for r in readings]
            ident = [r.get("id") for r in readings]
            quality = [r.get("quality") for r in readings]
        except (KeyError, TypeError, AttributeError):
            return False
        if (
            set(map(type, meter)) != _STR
            or set(map(type, ts)) != _STR
            or not set(map(type, value)) <= _NUMBER
            or set(map(type, unit)) != _STR
            or not set(map(type, ident)) <= _OPTIONAL_STR
            or not set(map(type, quality)) <= _OPTIONAL_STR
        ):
            return False
        n = len(readings)
        self.meter += meter
        self.ts += ts
        self.value += value
        self.unit += unit
        self.id += ident
        self.quality += quality
        self.problem += [None] * n
        self.detail += [None] * n
        return True

    def _add_slow(self, readings: list[Any]) -> None:
        for entry in readings:
            reason, detail = _classify(entry)
            if reason:
                get = entry.get if type(entry) is dict else (lambda _k: None)
                self.meter.append(_text(get("meter")))
                self.ts.append(_text(get("ts")))
                self.value.append(None)
                self.unit.append(_text(get("unit")))
                self.id.append(_text(get("id")))
                self.quality.append(_text(get("quality")))
                self.problem.append(reason)
                self.detail.append(detail)
            else:
                ident = entry.get("id")
                self.meter.append(entry["meter"])
                self.ts.append(entry["ts"])
                self.value.append(entry["value"])
                self.unit.append(entry["unit"])
                self.id.append(str(ident) if ident is not None else None)
                self.quality.append(entry.get("quality"))
                self.problem.append(None)
                self.detail.append(None)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def original_text(entry: Any) -> str:
    """A reading entry as JSON text, for the quarantine."""
    return json.dumps(entry, default=str, ensure_ascii=False)

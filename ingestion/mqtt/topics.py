"""The topic layout: `wattprint/<site>/<gateway>/readings`, and the subscription built on it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

PREFIX = "wattprint"
SUFFIX = "readings"
DEFAULT_FILTER = f"{PREFIX}/+/+/{SUFFIX}"
_WILDCARDS = ("+", "#")


@dataclass(frozen=True, slots=True)
class TopicParts:
    site: str
    gateway: str


@lru_cache(maxsize=4096)
def parse_topic(topic: str) -> TopicParts | None:
    """Site and gateway of a readings topic, or None when the topic does not follow the layout.

    >>> parse_topic("wattprint/TW-HSINCHU-01/gw-01/readings")
    TopicParts(site='TW-HSINCHU-01', gateway='gw-01')
    """
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != PREFIX or parts[3] != SUFFIX:
        return None
    site, gateway = parts[1], parts[2]
    if not site or not gateway:
        return None
    return TopicParts(site, gateway)


def readings_topic(site: str, gateway: str) -> str:
    """The topic a gateway publishes its readings to."""
    for name, level in (("site", site), ("gateway", gateway)):
        if not level or "/" in level or any(w in level for w in _WILDCARDS):
            raise ValueError(f"{name} {level!r} cannot be a topic level (empty, '/', '+' or '#')")
    return f"{PREFIX}/{site}/{gateway}/{SUFFIX}"


def subscription(topic_filter: str = DEFAULT_FILTER, shared_group: str | None = None) -> str:
    """What to subscribe to: the filter itself, or `$share/<group>/<filter>` so that several
    ingestors with the same group split the stream between them (MQTT v5 shared subscription;
    each message goes to exactly one member of the group)."""
    if shared_group is None:
        return topic_filter
    if not shared_group or "/" in shared_group or any(w in shared_group for w in _WILDCARDS):
        raise ValueError(f"shared group {shared_group!r} must be a name without '/', '+' or '#'")
    return f"$share/{shared_group}/{topic_filter}"

"""Deduplication by raw_id within the service: a bounded set of recently landed ids.

Delivery from the broker is at-least-once (QoS 1): a message is re-delivered when its
acknowledgement did not reach the broker — the connection dropped, the broker restarted, the
service was killed between landing a batch and acknowledging it — and a gateway may itself
re-send. Every reading has a stable raw_id, so

    at-least-once delivery + idempotent keys = exactly-once effect.

Here the service drops readings whose raw_id it landed recently, so in normal operation (and,
thanks to the warm-up below, after a crash) each reading lands once. Downstream, the dbt
staging model deduplicates by raw_id as well, which covers what this bounded set cannot (an id
older than the last `max_ids` landed, a gateway re-sending a whole day).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

log = logging.getLogger(__name__)


class RecentIds:
    """The raw_ids of the last ~`max_ids` landed readings (evicted oldest batch first)."""

    def __init__(self, max_ids: int = 500_000):
        self.max_ids = max_ids
        self._ids: set[str] = set()
        self._chunks: deque[list[str]] = deque()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, raw_id: object) -> bool:
        return raw_id in self._ids

    def unseen(self, raw_ids: Sequence[str]) -> list[bool]:
        """True for each id not landed recently (ids repeated within `raw_ids` are the
        caller's business: the batch removes those first)."""
        seen = self._ids
        return [rid not in seen for rid in raw_ids]

    def add(self, raw_ids: Iterable[str]) -> None:
        """Remember ids that have just landed durably."""
        chunk = [rid for rid in raw_ids if rid not in self._ids]
        if not chunk:
            return
        self._ids.update(chunk)
        self._chunks.append(chunk)
        while len(self._ids) > self.max_ids and len(self._chunks) > 1:
            self._ids.difference_update(self._chunks.popleft())


def recent_landed_files(
    readings_root: Path, batch_prefix: str, since_seconds: float, now: float | None = None
) -> list[Path]:
    """Files under `readings_root` (site=…/date=…/) landed by batches named `batch_prefix…`
    in the last `since_seconds`. Partition folders untouched since then are not listed."""
    now = time.time() if now is None else now
    cutoff = now - since_seconds
    name = re.compile(re.escape(batch_prefix) + r"\d{8}T\d{6}")
    found: list[Path] = []
    if not readings_root.is_dir():
        return found
    for site_dir in os.scandir(readings_root):
        if not site_dir.is_dir() or not site_dir.name.startswith("site="):
            continue
        for date_dir in os.scandir(site_dir.path):
            # A folder's mtime moves when a file is added to it: old partitions are skipped.
            if not date_dir.is_dir() or date_dir.stat().st_mtime < cutoff:
                continue
            for entry in os.scandir(date_dir.path):
                if (
                    entry.name.endswith(".parquet")
                    and name.match(entry.name)
                    and entry.stat().st_mtime >= cutoff
                ):
                    found.append(Path(entry.path))
    return found


def warm_up(recent: RecentIds, readings_root: Path, batch_prefix: str, since_seconds: float) -> int:
    """Load the raw_ids this client landed recently into `recent`; returns how many."""
    if since_seconds <= 0:
        return 0
    files = recent_landed_files(readings_root, batch_prefix, since_seconds)
    if not files:
        return 0
    files.sort(key=lambda p: p.stat().st_mtime)
    loaded = 0
    for path in files:
        try:
            ids = pl.read_parquet(path, columns=["raw_id"])["raw_id"].to_list()
        except Exception as exc:  # noqa: BLE001 - a damaged file must not stop the service
            log.warning("could not read %s to warm up deduplication: %s", path, exc)
            continue
        recent.add(ids)
        loaded += len(ids)
    log.info(
        "deduplication warmed up with %d reading ids from %d recently landed files",
        loaded,
        len(files),
    )
    return loaded

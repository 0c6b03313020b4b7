"""The hand-off between the network thread and the writer, and micro-batching on top of it.

`HandOff` is a FIFO bounded by message count AND bytes. `MicroBatcher` takes messages off it
until a batch is due: when it holds `max_readings` readings or `max_messages` messages, or
`max_seconds` after its first message arrived — whichever comes first — or when the service
stops (then whatever is pending is returned, so it can still be landed and acknowledged).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable

from ingestion.mqtt.pipeline import BatchBuilder, Incoming

IDLE_POLL_SECONDS = 0.2  # how often an idle writer looks at the stop flag


class HandOff:
    """A FIFO of received messages bounded by count and by payload bytes.

    `put` returns at once while there is room (always, for a message arriving into an empty
    buffer, however large). When the buffer is full it WAITS until the writer has taken
    messages off, or until `close()`: the network thread then stops reading the socket, TCP
    flow control pushes back on the broker, and the broker keeps the messages — nothing is
    dropped and memory here stays bounded. See `IngestService.__init__` for when that happens.
    """

    def __init__(self, max_messages: int, max_bytes: int):
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: deque[Incoming] = deque()
        self._bytes = 0
        self._closed = False
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self.waits = 0  # how many times `put` had to wait (a full buffer)

    def qsize(self) -> int:
        return len(self._items)

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def _full(self) -> bool:
        return bool(self._items) and (
            len(self._items) >= self.max_messages or self._bytes >= self.max_bytes
        )

    def put(self, item: Incoming) -> bool:
        """Append `item`, waiting while the buffer is full; False if closed meanwhile."""
        with self._not_full:
            if self._full():
                self.waits += 1
                while self._full() and not self._closed:
                    self._not_full.wait(0.5)
            if self._closed:
                return False
            self._items.append(item)
            self._bytes += len(item.payload)
            self._not_empty.notify()
            return True

    def _take(self) -> Incoming:
        item = self._items.popleft()
        self._bytes -= len(item.payload)
        self._not_full.notify()
        return item

    def get(self, timeout: float) -> Incoming:
        with self._not_empty:
            if not self._items:
                self._not_empty.wait(timeout)
                if not self._items:
                    raise queue.Empty
            return self._take()

    def get_nowait(self) -> Incoming:
        with self._lock:
            if not self._items:
                raise queue.Empty
            return self._take()

    def close(self) -> None:
        """Release a waiting `put` (it returns False) and refuse further ones."""
        with self._lock:
            self._closed = True
            self._not_full.notify_all()


class MicroBatcher:
    def __init__(
        self,
        inbox: HandOff,
        *,
        max_readings: int,
        max_messages: int,
        max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.inbox = inbox
        self.max_readings = max_readings
        self.max_messages = max_messages
        self.max_seconds = max_seconds
        self.clock = clock

    def _full(self, batch: BatchBuilder) -> bool:
        return batch.readings >= self.max_readings or len(batch) >= self.max_messages

    def collect(self, stop: threading.Event) -> BatchBuilder | None:
        """Block until a batch is due; None when stopping with nothing pending."""
        batch = BatchBuilder()
        deadline: float | None = None
        get, get_nowait = self.inbox.get, self.inbox.get_nowait
        while True:
            if deadline is None:
                if stop.is_set():
                    return None
                timeout = IDLE_POLL_SECONDS
            else:
                timeout = deadline - self.clock()
                if timeout <= 0 or stop.is_set():
                    return batch
                timeout = min(timeout, IDLE_POLL_SECONDS)
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                continue
            now = self.clock()
            if deadline is None:
                deadline = now + self.max_seconds
            batch.add(item, now)
            # Take whatever else is already waiting without sleeping between messages.
            while not self._full(batch):
                try:
                    batch.add(get_nowait(), now)
                except queue.Empty:
                    break
            if self._full(batch):
                return batch

    def drain(self) -> BatchBuilder | None:
        """What is in the queue right now, up to one batch, without waiting."""
        batch = BatchBuilder()
        now = self.clock()
        while not self._full(batch):
            try:
                batch.add(self.inbox.get_nowait(), now)
            except queue.Empty:
                break
        return batch if len(batch) else None

"""Step-by-step progress lines with timings, so long work never looks hung."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Steps:
    def __init__(self, total: int):
        self.total = total
        self.done = 0

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self.done += 1
        print(f"[{self.done}/{self.total}] {what} …", flush=True)
        started = time.perf_counter()
        yield
        print(f"      done in {time.perf_counter() - started:.1f} s", flush=True)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)

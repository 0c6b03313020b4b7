"""Independent, named random streams derived from the run seed.

Each part of the simulation draws from its own stream (`rng(seed, "production")`, ...), so turning
a fault on or adding a draw in one module never shifts the numbers another module sees: the
baseline plant is identical with and without faults.
"""

from __future__ import annotations

import zlib

import numpy as np


def rng(seed: int, stream: str) -> np.random.Generator:
    # crc32 rather than hash(): Python's str hash is salted per process.
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])

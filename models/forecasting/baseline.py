"""Seasonal-naive forecasts: the bar every Prophet forecast must clear.

ŷ(T+h) = y(T+h − m·k), k = ⌈h/m⌉: each future period repeats the same period of the last
observed season (m = 24 hours or 7 days). Its 80% interval is empirical: the 80th percentile of
|y(t) − y(t−m)| over the history, widened by √k for forecasts k seasons ahead (a random walk
over seasons), so the baseline is scored on coverage too, not only on MAPE.
"""

from __future__ import annotations

import numpy as np


def seasonal_naive(y: np.ndarray, horizon: int, season: int, interval_width: float = 0.8
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yhat, lower, upper) for the `horizon` periods after `y` (oldest first, no gaps)."""
    y = np.asarray(y, dtype=float)
    if y.size < season:
        raise ValueError(f"need at least one season ({season} periods), got {y.size}")
    h = np.arange(1, horizon + 1)
    k = np.ceil(h / season).astype(int)
    yhat = y[y.size - season + (h - 1) % season]
    diffs = np.abs(y[season:] - y[:-season])
    half = float(np.quantile(diffs, interval_width)) if diffs.size else 0.0
    width = half * np.sqrt(k)
    return yhat, np.clip(yhat - width, 0, None), yhat + width

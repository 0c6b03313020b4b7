"""Split-conformal calibration of the forecast interval, from past forecasts' errors only.

Prophet's interval knows its in-sample noise and (through the sample paths) the uncertainty of
the projected weather and grid intensity, but not how wrong the whole set-up is a month out, so
its nominal 80% is not 80%. The backtest forecasts from many past origins; each forecast's
errors say by how much its interval would have had to be stretched. The nonconformity score of
an actual y against a forecast ŷ with interval [lo, hi] is

    r = |y − ŷ| / (half-width on the error's side: hi − ŷ above, ŷ − lo below)

and the interval of a new forecast is ŷ ± q·(its own half-widths), q the conformal 80% quantile
of the scores: it keeps Prophet's shape (asymmetry, lead-time growth, the regressors' share)
and fixes its size.

Honesty: every score remembers the row position of its actual. A forecast made at origin c
(its first forecast row) is calibrated on the scores of actuals at positions < c only: errors
of earlier origins whose horizon reaches past c are used only up to c, and nothing of the
forecast's own actuals (or later ones) ever is. The same holds for `level_sd`, the share of a
horizon total's error that persists over the whole horizon: only forecasts whose whole horizon
was observed before c count.

Measured on the simulated plant (issue #6, site series, seeds 1-29): for emissions the score's
80% quantile hardly moves with the lead time (0.95-1.11 from the first to the last step, daily
and hourly), so one quantile pooled over all steps is used; per-step or per-lead-time-bin
quantiles, recency-weighted quantiles and scores of raw relative errors |y − ŷ|/ŷ were no better
over the seeds. What no calibration from past errors removes: a fold whose level is off for its
whole horizon is in or out as a block, so the coverage of a handful of folds swings by seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def ratio_scores(y: np.ndarray, yhat: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """|error| / the interval half-width on the error's side: the factor each point needs."""
    y, yhat = np.asarray(y, dtype=float), np.asarray(yhat, dtype=float)
    half = np.where(y >= yhat, np.asarray(hi) - yhat, yhat - np.asarray(lo))
    return np.abs(y - yhat) / np.maximum(half, 1e-9 * np.maximum(np.abs(yhat), 1.0))


def conformal_quantile(scores: np.ndarray, width: float) -> float:
    """The ⌈(n+1)·width⌉-th smallest score: with exchangeable scores, a new score falls at or
    below it with probability ≥ width (split conformal). With too few scores for that rank
    (n < width / (1 − width)) the largest one — the best the data can say."""
    s = np.sort(np.asarray(scores, dtype=float))
    if s.size == 0:
        raise ValueError("no scores to take a quantile of")
    k = min(math.ceil((s.size + 1) * width), s.size)
    return float(s[k - 1])


@dataclass(frozen=True)
class Calibrated:
    """What a forecast at one origin may use: the interval scale, the level error's relative
    sd, and how many past actuals (scores) and whole past horizons they rest on."""

    scale: float
    level_sd: float
    points: int
    horizons: int


class IntervalCalibration:
    """Collects past forecasts' errors, tagged with where their actuals are; answers what a
    forecast at origin c may use (`at(c)`) or, for the final forecast, everything (`at()`)."""

    def __init__(self, width: float = 0.8) -> None:
        if not 0 < width < 1:
            raise ValueError(f"interval width must be in (0, 1), got {width}")
        self.width = width
        self._scores: list[np.ndarray] = []
        self._positions: list[np.ndarray] = []
        # per forecast: (position after its last actual, relative total error, relative sd of
        # the sample paths' totals)
        self._totals: list[tuple[int, float, float]] = []

    def add(self, origin: int, y: np.ndarray, yhat: np.ndarray, lo: np.ndarray,
            hi: np.ndarray, path_totals: np.ndarray | None = None) -> None:
        """A forecast made at row position `origin` (its first row) with its actuals `y`;
        `path_totals`: its sample paths' horizon totals, for the level error."""
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(y)
        self._scores.append(ratio_scores(y, yhat, lo, hi)[ok])
        self._positions.append(origin + np.flatnonzero(ok))
        point = float(np.sum(yhat))
        if path_totals is not None and ok.all() and point > 0:
            self._totals.append((origin + y.size, (float(y.sum()) - point) / point,
                                 float(np.std(path_totals)) / point))

    def at(self, origin: int | None = None) -> Calibrated:
        """Scale and level error for a forecast at row position `origin`, from the actuals
        observed before it (None: all of them). No scores yet: scale 1 (Prophet's own
        interval), level 0."""
        if self._scores:
            scores = np.concatenate(self._scores)
            if origin is not None:
                scores = scores[np.concatenate(self._positions) < origin]
        else:
            scores = np.empty(0)
        totals = [t for t in self._totals if origin is None or t[0] <= origin]
        scale = conformal_quantile(scores, self.width) if scores.size else 1.0
        return Calibrated(scale=scale, level_sd=level_sd([t[1:] for t in totals]),
                          points=int(scores.size), horizons=len(totals))


def level_sd(errors: list[tuple[float, float]]) -> float:
    """sqrt(max(0, mean relative total error² − mean relative path-total variance)): the part of
    the horizon-total error the independent-period sample paths do not explain."""
    if not errors:
        return 0.0
    e = np.array(errors)
    return float(np.sqrt(max(0.0, np.mean(e[:, 0] ** 2) - np.mean(e[:, 1] ** 2))))

"""The reference study's adaptive-weight decision rule.

FV = alpha (1 - C/C0) + beta (1 - Co/Co0) + gamma (D/D0), against the current plan's emissions C0,
cost Co0 and on-time share D0. alpha in [0.3, 0.5], beta in [0.2, 0.4], gamma in [0.2, 0.4],
alpha + beta + gamma = 1. When recent on-time delivery falls below 95 %, gamma rises by 0.05 (at
most 0.4) and alpha and beta give it up in proportion, kept within their bounds. The recommended
plan is the feasible front member with the largest FV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHA_BOUNDS = (0.3, 0.5)
BETA_BOUNDS = (0.2, 0.4)
GAMMA_BOUNDS = (0.2, 0.4)
ON_TIME_THRESHOLD = 0.95
GAMMA_STEP = 0.05
_TOL = 1e-9


@dataclass(frozen=True)
class Weights:
    alpha: float = 0.4  # carbon
    beta: float = 0.3  # cost
    gamma: float = 0.3  # on-time delivery

    def __post_init__(self) -> None:
        for value, (lo, hi), name in (
            (self.alpha, ALPHA_BOUNDS, "alpha"),
            (self.beta, BETA_BOUNDS, "beta"),
            (self.gamma, GAMMA_BOUNDS, "gamma"),
        ):
            if not lo - _TOL <= value <= hi + _TOL:
                raise ValueError(f"{name}={value} outside [{lo}, {hi}]")
        if abs(self.alpha + self.beta + self.gamma - 1.0) > 1e-6:
            raise ValueError("alpha + beta + gamma must be 1")


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Baseline:
    """The current plan's figures: emissions C0, cost Co0, on-time share D0."""

    kg_co2e: float
    cost: float
    on_time_share: float

    @property
    def on_time_reference(self) -> float:
        # a current plan with nothing on time would make D/D0 undefined: compare D itself
        return self.on_time_share if self.on_time_share > 0 else 1.0


def adapt_weights(
    weights: Weights,
    recent_on_time: float | None,
    threshold: float = ON_TIME_THRESHOLD,
    step: float = GAMMA_STEP,
) -> Weights:
    """Raise gamma by `step` (capped at its upper bound) when recent on-time delivery is below
    `threshold`; alpha and beta shrink in proportion to share the rest, then are clipped to their
    bounds with the excess moved to the other so the three still sum to one."""
    if recent_on_time is None or recent_on_time >= threshold:
        return weights
    gamma = min(weights.gamma + step, GAMMA_BOUNDS[1])
    rest = 1.0 - gamma
    ab = weights.alpha + weights.beta
    # proportional share, then the nearest alpha that keeps both alpha and beta = rest - alpha
    # inside their bounds
    lo = max(ALPHA_BOUNDS[0], rest - BETA_BOUNDS[1])
    hi = min(ALPHA_BOUNDS[1], rest - BETA_BOUNDS[0])
    alpha = min(max(weights.alpha * rest / ab, lo), hi)
    beta = rest - alpha
    return Weights(round(alpha, 12), round(beta, 12), round(gamma, 12))


def fitness(
    kg_co2e: np.ndarray | float,
    cost: np.ndarray | float,
    on_time_share: np.ndarray | float,
    baseline: Baseline,
    weights: Weights,
) -> np.ndarray:
    """FV of one or many plans (higher is better; the current plan scores gamma)."""
    return (
        weights.alpha * (1.0 - np.asarray(kg_co2e) / baseline.kg_co2e)
        + weights.beta * (1.0 - np.asarray(cost) / baseline.cost)
        + weights.gamma * (np.asarray(on_time_share) / baseline.on_time_reference)
    )


def fitness_of_F(F: np.ndarray, baseline: Baseline, weights: Weights) -> np.ndarray:
    """FV from objective rows (kgCO2e, cost, late share)."""
    F = np.atleast_2d(F)
    return fitness(F[:, 0], F[:, 1], 1.0 - F[:, 2], baseline, weights)


def pick(F: np.ndarray, feasible: np.ndarray, baseline: Baseline, weights: Weights) -> int:
    """Index of the feasible member with the largest FV (ties: the first); -1 if none."""
    fv = np.where(feasible, fitness_of_F(F, baseline, weights), -np.inf)
    return int(np.argmax(fv)) if np.isfinite(fv).any() else -1

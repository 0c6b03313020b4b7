"""Carbon-aware production planning (reference study 2): a seeded NSGA-II over order plans with
real constraints, the adaptive-weight decision rule, and an exact MILP to prove it on small cases.

    from models.planning import plan, week_instance, Weights
    result = plan(week_instance(seed=0), Weights(0.4, 0.3, 0.3), recent_on_time=0.93)
    result.front, result.schedule, result.deltas

Modules, one job each: `problem` (instance data and the pymoo Problem), `tables` (precomputed
per-block figures), `decoder` (genomes -> schedules, vectorised), `instances` (a realistic week,
small instances, from frames), `grid` / `tariffs` (intensity and prices per slot), `seeding`
(FIFO, EDD, greedy plans), `operators` (pymoo sampling, crossover, mutation, survival),
`polish` (FV local search), `decision` (weights, gamma rule, FV, pick), `solver` (the run),
`result` (`PlanResult`), `exact` (MILP and enumeration), `evaluation` (hit rate, GB weeks),
`plant` (an instance from a plant's own data: order book, measured rates, energy per step,
changeovers, intensity, tariff, materials) and `plant_settings` (the home's planning files).
Nothing here imports dagster.
"""

from models.planning.decision import Baseline, Weights, adapt_weights, fitness, pick
from models.planning.exact import enumerate_best, solve_milp
from models.planning.instances import from_frames, small_instance, week_instance
from models.planning.problem import (
    Line,
    MaterialOption,
    Order,
    PlanningInstance,
    PlanningProblem,
    ShiftCalendar,
)
from models.planning.result import PlanResult
from models.planning.solver import SolverConfig, optimize, plan

__all__ = [
    "Baseline",
    "Line",
    "MaterialOption",
    "Order",
    "PlanResult",
    "PlanningInstance",
    "PlanningProblem",
    "ShiftCalendar",
    "SolverConfig",
    "Weights",
    "adapt_weights",
    "enumerate_best",
    "fitness",
    "from_frames",
    "optimize",
    "pick",
    "plan",
    "small_instance",
    "solve_milp",
    "week_instance",
]

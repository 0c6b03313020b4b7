"""Carbon-aware production planning: the decision rule by hand, constraints that constrain,
seeded determinism, the exact solver on a toy checked by hand, and the optimizer reaching the
exact optimum on small instances."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.planning.decision import Baseline, Weights, adapt_weights, fitness, pick
from models.planning.decoder import decode, genome
from models.planning.evaluation import SMALL_CONFIG, check_instance
from models.planning.exact import enumerate_best, solve_milp
from models.planning.instances import energy_per_unit, from_frames, small_instance
from models.planning.problem import (
    Line,
    MaterialOption,
    Order,
    PlanningInstance,
    PlanningProblem,
)
from models.planning.seeding import fifo_plan
from models.planning.solver import SolverConfig, baseline_of, optimize, plan
from models.planning.tables import compile_instance

# ---------------------------------------------------------------- the decision rule


def test_fitness_by_hand():
    base = Baseline(kg_co2e=100.0, cost=200.0, on_time_share=0.9)
    w = Weights(0.4, 0.3, 0.3)
    # 0.4 (1 - 80/100) + 0.3 (1 - 210/200) + 0.3 (0.95/0.9) = 0.08 - 0.015 + 0.316667
    assert fitness(80.0, 210.0, 0.95, base, w) == pytest.approx(0.381666667)
    # the current plan itself scores gamma
    assert fitness(100.0, 200.0, 0.9, base, w) == pytest.approx(0.3)
    # nothing on time in the current plan: D is compared as is
    assert fitness(100.0, 200.0, 0.5, Baseline(100.0, 200.0, 0.0), w) == pytest.approx(0.15)


def test_pick_takes_the_best_feasible_member():
    base = Baseline(100.0, 100.0, 1.0)
    F = np.array([[50.0, 100.0, 0.0], [90.0, 100.0, 0.0], [95.0, 90.0, 0.0]])
    w = Weights(0.4, 0.3, 0.3)
    assert pick(F, np.array([True, True, True]), base, w) == 0
    assert pick(F, np.array([False, True, True]), base, w) == 2  # 0.4*.05 + 0.3*.1 > 0.4*.1
    assert pick(F, np.array([False, False, False]), base, w) == -1


@pytest.mark.parametrize(
    ("start", "recent", "expected"),
    [
        # proportional: alpha and beta share the 0.05 in the ratio 4:3
        ((0.4, 0.3, 0.3), 0.90, (0.4 * 0.65 / 0.7, 0.3 * 0.65 / 0.7, 0.35)),
        # alpha would fall to 0.2786 < 0.3: held at its bound, beta gives the rest
        ((0.3, 0.4, 0.3), 0.90, (0.3, 0.35, 0.35)),
        # gamma capped at 0.4: nothing moves
        ((0.4, 0.2, 0.4), 0.50, (0.4, 0.2, 0.4)),
        ((0.35, 0.3, 0.35), 0.94, (0.35 * 0.6 / 0.65, 0.3 * 0.6 / 0.65, 0.4)),
        # on-time at the threshold or better, or unknown: unchanged
        ((0.4, 0.3, 0.3), 0.95, (0.4, 0.3, 0.3)),
        ((0.4, 0.3, 0.3), None, (0.4, 0.3, 0.3)),
    ],
)
def test_gamma_adaptation(start, recent, expected):
    w = adapt_weights(Weights(*start), recent)
    assert (w.alpha, w.beta, w.gamma) == pytest.approx(expected)
    assert w.alpha + w.beta + w.gamma == pytest.approx(1.0)
    assert 0.3 <= w.alpha <= 0.5 and 0.2 <= w.beta <= 0.4 and 0.2 <= w.gamma <= 0.4


def test_gamma_rises_to_its_bound_over_repeated_poor_weeks():
    w = Weights(0.4, 0.3, 0.3)
    for _ in range(5):
        w = adapt_weights(w, 0.9)
    assert w.gamma == pytest.approx(0.4)
    assert w.alpha + w.beta == pytest.approx(0.6) and w.alpha >= 0.3 and w.beta >= 0.2


@pytest.mark.parametrize("bad", [(0.6, 0.2, 0.2), (0.3, 0.3, 0.3), (0.45, 0.1, 0.45)])
def test_weights_outside_the_rule_are_refused(bad):
    with pytest.raises(ValueError):
        Weights(*bad)


# ---------------------------------------------------------------- the 3-order toy
#
# One line, 10 units/h, 1 kWh/unit; three orders of 10 units = one hourly slot each; four slots
# from 20:00 (GMT): 20, 21 day; 22, 23 night (shift C). Night share in [0.2, 0.4] of 30 units
# means exactly one order at night. Materials: standard 1.0 kg/£1.0 per unit, low-carbon
# 0.6 kg/£2.0 (>= 30 % of units: at least one order). Due: A by 22:00, B by 23:00, C by 24:00.
# Intensity 0.5, 0.3, 0.4, 0.1 kg/kWh; tariff 0.2, 0.2, 0.1, 0.3 per kWh.
#
# FIFO: A@20 B@21 C@22, A low-carbon: C0 = 10(.5+.3+.4) + 6 + 20 = 38 kg, Co0 = 10(.2+.2+.1)
# + 20 + 20 = £45, D0 = 1. Moving C to 23:00: C = 9 + 26 = 35, Co = 7 + 40 = 47, all on time:
# FV = 0.4 (3/38) - 0.3 (2/45) + 0.3 = 0.3182456. B at 23:00 would be late (-0.1); a second
# low-carbon order gains 0.4*4/38 = 0.042 but costs 0.3*10/45 = 0.067; so that is the optimum.
TOY_FV = 0.4 * (1 - 35 / 38) + 0.3 * (1 - 47 / 45) + 0.3


def toy_instance() -> PlanningInstance:
    start = datetime(2022, 1, 10, 20, tzinfo=UTC)
    due = [start + timedelta(hours=h) for h in (2, 3, 4)]
    return PlanningInstance(
        orders=tuple(Order(n, "S", 10, d) for n, d in zip("ABC", due, strict=True)),
        lines=(Line("L"),),
        rates={("S", "L"): 10.0},
        kwh_per_unit={("S", "L"): 1.0},
        materials={"S": (MaterialOption("std", 1.0, 1.0), MaterialOption("low", 0.6, 2.0, True))},
        start=start,
        n_slots=4,
        slot_minutes=60,
        intensity=np.array([0.5, 0.3, 0.4, 0.1]),
        tariff=np.array([0.2, 0.2, 0.1, 0.3]),
        name="toy",
    )


def test_toy_current_plan_by_hand():
    tb = compile_instance(toy_instance())
    assert list(tb.night) == [False, False, True, True]
    x = fifo_plan(tb)
    assert list(x) == [0, 0, 0, 1, 0, 0, 0, 1, 2]  # lines | A low-carbon | starts 0 1 2
    base = baseline_of(tb, x)
    assert (base.kg_co2e, base.cost, base.on_time_share) == pytest.approx((38.0, 45.0, 1.0))


@pytest.mark.parametrize("solver", [solve_milp, enumerate_best])
def test_exact_solvers_on_the_toy(solver):
    tb = compile_instance(toy_instance())
    base = baseline_of(tb, fifo_plan(tb))
    best = solver(tb, base, Weights(0.4, 0.3, 0.3))
    assert best.fv == pytest.approx(TOY_FV)
    assert best.milp_fv == pytest.approx(TOY_FV)
    d = decode(tb, best.x)
    assert d.start[0, 2] == 3  # C in the clean, last night slot
    assert sorted(d.start[0, :2]) == [0, 1]
    assert d.material[0].sum() == 1  # one low-carbon order, no more


def test_optimizer_on_the_toy():
    result = plan(toy_instance(), Weights(0.4, 0.3, 0.3), config=SolverConfig(40, 20, seed=3))
    assert result.recommended["fv"] == pytest.approx(TOY_FV)
    assert result.deltas["carbon_pct"] == pytest.approx(100 * (35 / 38 - 1))
    assert result.deltas["cost_pct"] == pytest.approx(100 * (47 / 45 - 1))
    assert result.deltas["on_time_pp"] == pytest.approx(0.0)
    sched = result.schedule
    assert sched["units"].sum() == pytest.approx(30.0)
    c = sched.filter(pl.col("order_id") == "C").row(0, named=True)
    assert (c["line_id"], c["shift"], c["shift_day"]) == ("L", "C", "2022-01-10")
    assert result.front.filter(pl.col("recommended")).height == 1


# ---------------------------------------------------------------- constraints are constraints


def test_violations_show_in_G():
    tb = compile_instance(toy_instance())
    problem = PlanningProblem(tb)
    ok = fifo_plan(tb)
    two_at_night = genome([0, 0, 0], [1, 0, 0], [0, 2, 3])  # 20/30 units at night
    no_low_carbon = genome([0, 0, 0], [0, 0, 0], [0, 1, 2])
    out = problem.evaluate(np.array([ok, two_at_night, no_low_carbon]), return_as_dictionary=True)
    G = out["G"]
    assert (G[0] <= 0).all()
    assert G[1, 1] == pytest.approx(20 / 30 - 0.4) and G[1, 1] > 0
    assert G[2, 2] == pytest.approx(0.3) and (np.delete(G[2], 2) <= 0).all()
    # objectives are not penalised: the night-heavy plan still reports its own emissions
    assert out["F"][1, 0] == pytest.approx(10 * (0.5 + 0.4 + 0.1) + 6 + 20)


def test_night_share_lower_bound_and_unplaced_orders():
    tb = compile_instance(toy_instance())
    # two orders in the day and the third cannot fit after the horizon: unplaced share > 0
    d = decode(tb, genome([0, 0, 0], [1, 0, 0], [0, 1, 3]))
    assert d.feasible[0]
    d = decode(tb, genome([0, 0, 0], [1, 0, 0], [3, 3, 3]))
    assert d.G[0, 3] == pytest.approx(2 / 3)  # only one of three orders fits
    inst = replace(toy_instance(), n_slots=4)
    inst = replace(inst, calendar=replace(inst.calendar, night_share_bounds=(0.5, 0.6)))
    d = decode(compile_instance(inst), fifo_plan(compile_instance(inst)))
    assert d.G[0, 0] == pytest.approx(0.5 - 1 / 3)


# ---------------------------------------------------------------- determinism and exactness


def test_same_seed_same_front():
    tb = compile_instance(small_instance(3))
    base = baseline_of(tb, fifo_plan(tb))
    cfg = SolverConfig(pop_size=40, n_gen=15, seed=7)
    a = optimize(tb, base, Weights(), cfg)
    b = optimize(tb, base, Weights(), cfg)
    assert np.array_equal(a.F, b.F) and np.array_equal(a.X, b.X)


@pytest.mark.parametrize("seed", range(8))
def test_optimizer_hits_the_exact_optimum(seed):
    record = check_instance(seed, SMALL_CONFIG)
    assert record is not None
    assert record.hit, (record.exact_fv, record.found_fv)


def test_energy_per_unit_from_batches_and_steps():
    batches = pl.DataFrame(
        {
            "sku": ["S", "S", "S"],
            "line_id": ["L1", "L1", "L2"],
            "kwh": [100.0, 300.0, 50.0],
            "good_units": [10, 30, 10],
        }
    )
    assert energy_per_unit(batches) == {("S", "L1"): 10.0, ("S", "L2"): 5.0}
    steps = pl.DataFrame(
        {
            "sku": ["S"] * 4,
            "line_id": ["L1"] * 4,
            "step": ["cut", "cut", "heat", "heat"],
            "kwh_per_unit": [1.0, 3.0, 5.0, 5.0],
        }
    )
    assert energy_per_unit(steps) == {("S", "L1"): 2.0 + 5.0}


def test_from_frames_builds_a_plannable_instance():
    start = datetime(2022, 1, 10, 20, tzinfo=UTC)
    inst = from_frames(
        orders=pl.DataFrame(
            {
                "order_id": ["A", "B", "C"],
                "sku": ["S"] * 3,
                "quantity": [10, 10, 10],
                "due": [start + timedelta(hours=h) for h in (2, 3, 4)],
            }
        ),
        rates=pl.DataFrame({"sku": ["S"], "line_id": ["L"], "units_per_hour": [10.0]}),
        energy=pl.DataFrame(
            {"sku": ["S", "S"], "line_id": ["L", "L"], "kwh": [40.0, 60.0], "good_units": [40, 60]}
        ),
        materials=pl.DataFrame(
            {
                "sku": ["S", "S"],
                "material": ["std", "low"],
                "kg_co2e_per_unit": [1.0, 0.6],
                "cost_per_unit": [1.0, 2.0],
                "low_carbon": [False, True],
            }
        ),
        start=start,
        intensity=np.array([0.5, 0.3, 0.4, 0.1]),
        tariff=np.array([0.2, 0.2, 0.1, 0.3]),
        slot_minutes=60,
    )
    tb = compile_instance(inst)
    base = baseline_of(tb, fifo_plan(tb))
    assert solve_milp(tb, base, Weights(0.4, 0.3, 0.3)).fv == pytest.approx(TOY_FV)

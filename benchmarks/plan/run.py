"""Planner benchmark: a realistic week (50 orders, 3 lines, 672 fifteen-minute slots).

Speed: one seeded run at the production setting (population 200 x 100 generations + the FV
polish), wall time split into NSGA-II and polish; then the hypervolume its front reaches relative
to a reference front merged from longer runs (default: 2 seeds x 500 generations), both measured
with pymoo's HV on objectives normalised by the reference front's ideal and nadir points
(reference point 1.1 in each normalised objective).

    .venv/bin/python benchmarks/plan/run.py                 # speed + hypervolume
    .venv/bin/python benchmarks/plan/run.py --value         # GB weeks: value against FIFO

The grid intensity is the real GB 2022 hourly series when the file is there (else synthetic).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from time import perf_counter

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.planning.decision import DEFAULT_WEIGHTS, adapt_weights  # noqa: E402
from models.planning.evaluation import _print_value, value_weeks  # noqa: E402
from models.planning.grid import (  # noqa: E402
    DEFAULT_GB_2022,
    DIRECT,
    LIFE_CYCLE,
    load_hourly,
    slot_intensity,
)
from models.planning.instances import local_datetime, week_instance  # noqa: E402
from models.planning.seeding import fifo_plan  # noqa: E402
from models.planning.solver import DEFAULT_CONFIG, baseline_of, optimize  # noqa: E402
from models.planning.tables import compile_instance  # noqa: E402

WEEK = date(2022, 3, 7)


def _instance(grid: Path):
    if grid.exists():
        intensity = slot_intensity(load_hourly(grid), local_datetime(WEEK, 6), 672)
        return week_instance(seed=0, week_start=WEEK, intensity=intensity), "GB 2022 (direct)"
    return week_instance(seed=0, week_start=WEEK), "synthetic (GB file not found)"


def hypervolume_ratio(front: np.ndarray, reference_runs: list[np.ndarray]) -> tuple[float, int]:
    merged = np.vstack([front, *reference_runs])
    ref_front = merged[NonDominatedSorting().do(merged, only_non_dominated_front=True)]
    ideal, nadir = ref_front.min(axis=0), ref_front.max(axis=0)
    span = np.where(nadir > ideal, nadir - ideal, 1.0)
    hv = HV(ref_point=np.full(merged.shape[1], 1.1))
    ratio = hv((front - ideal) / span) / hv((ref_front - ideal) / span)
    return float(ratio), len(ref_front)


def speed(args) -> None:
    inst, source = _instance(Path(args.grid))
    began = perf_counter()
    tb = compile_instance(inst)
    current = fifo_plan(tb)
    baseline = baseline_of(tb, current)
    weights = adapt_weights(DEFAULT_WEIGHTS, baseline.on_time_share)
    config = replace(DEFAULT_CONFIG, seed=args.seed)
    opt = optimize(tb, baseline, weights, config)
    wall = perf_counter() - began
    print(f"week of {WEEK}: {tb.n} orders, {tb.n_lines} lines, {tb.T} slots; grid {source}")
    print(
        f"pop {config.pop_size} x {config.n_gen} gen, seed {config.seed}: wall {wall:.2f} s "
        f"(NSGA-II {opt.nsga_seconds:.2f} s, polish {opt.seconds - opt.nsga_seconds:.2f} s, "
        f"set-up {wall - opt.seconds:.2f} s); {opt.n_evals} evaluations; front of {len(opt.F)}"
    )
    print(f"FV of the pick: NSGA-II {opt.nsga_best_fv:.5f} -> polished {opt.fv[opt.best]:.5f}")
    if args.ref_gens <= 0:
        return
    refs, fvs = [], []
    t = perf_counter()
    for s in range(args.ref_seeds):
        ref_cfg = replace(DEFAULT_CONFIG, n_gen=args.ref_gens, seed=100 + s)
        r = optimize(tb, baseline, weights, ref_cfg)
        refs.append(r.F)
        fvs.append(r.fv[r.best])
    ratio, size = hypervolume_ratio(opt.F, refs)
    print(
        f"reference: {args.ref_seeds} seeds x {args.ref_gens} gen ({perf_counter() - t:.0f} s), "
        f"merged front of {size}; best FV there {max(fvs):.5f}"
    )
    print(f"hypervolume of the benchmark front / reference front: {ratio:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--value", action="store_true", help="GB weeks against FIFO instead")
    ap.add_argument("--life-cycle", action="store_true", help="life-cycle intensity (--value)")
    ap.add_argument("--grid", default=str(DEFAULT_GB_2022))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ref-gens", type=int, default=500, help="0 skips the hypervolume")
    ap.add_argument("--ref-seeds", type=int, default=2)
    args = ap.parse_args()
    if args.value:
        column = LIFE_CYCLE if args.life_cycle else DIRECT
        _print_value(value_weeks(grid_path=args.grid, column=column), column)
    else:
        speed(args)


if __name__ == "__main__":
    main()

"""Forecast benchmark: fit + predict many daily series with Prophet, sequentially and in
parallel processes, in one run.

    .venv/bin/python benchmarks/forecast/run.py                   # 200 series x 120 days
    .venv/bin/python benchmarks/forecast/run.py --series 20       # a quick check

Series: the simulated plant's daily energy per piece of equipment (one 120-day run), each copy
rescaled and given its own noise so no two are alike. Per series: fit ProphetForecaster (weekly
seasonality, TW holidays, default settings of the package) and predict the next 30 days with
the 80% interval (400 sample paths). Parallel: a spawn-context process pool (a forked child
would inherit Polars' thread pool mid-state), series sent in chunks. Both passes must give the
same forecasts; the figures are printed, never asserted (the machine is shared, timings vary).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from time import perf_counter

# One BLAS thread per process in both passes: a fair sequential baseline, and no
# oversubscription when every core runs its own worker (spawned workers inherit this).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.forecasting.config import ProphetSettings  # noqa: E402
from models.forecasting.provider import ProphetForecaster  # noqa: E402
from models.forecasting.series import holidays_frame  # noqa: E402


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def make_series(n: int, days: int, seed: int = 7) -> list[pl.DataFrame]:
    from models.forecasting.simdata import simulated_marts

    m = simulated_marts(days=days, seed=seed)
    local = (pl.col("interval_start_utc").dt.replace_time_zone("UTC")
             .dt.convert_time_zone(m.timezone).dt.replace_time_zone(None).dt.truncate("1d"))
    daily = m.energy.group_by("equipment_id", local.alias("ds")).agg(pl.col("kwh").sum())
    base = daily.partition_by("equipment_id", as_dict=True, maintain_order=True)
    keys = sorted(base)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        frame = base[keys[i % len(keys)]].sort("ds")
        y = frame["kwh"].to_numpy() * rng.uniform(0.5, 2.0)
        y = y * (1 + rng.normal(0, 0.02, y.size))
        out.append(pl.DataFrame({"ds": frame["ds"], "y": y}))
    return out


def _fit_predict(series: pl.DataFrame, horizon: int, holidays) -> np.ndarray:
    model = ProphetForecaster(ProphetSettings(), "daily", (), holidays).fit(series)
    future = pl.DataFrame({"ds": pl.datetime_range(
        series["ds"].max(), series["ds"].max() + pl.duration(days=horizon), "1d",
        closed="right", eager=True)})
    pred = model.predict(future)
    return pred.select("yhat", "yhat_lower", "yhat_upper").to_numpy()


def _warm(_: int) -> int:
    """Import Prophet and load the Stan model in a worker (what its first task would pay)."""
    import time

    from prophet import Prophet

    Prophet()
    time.sleep(0.5)  # keep this worker busy so the others take their own warm-up task
    return os.getpid()


def _chunk(args) -> list[np.ndarray]:
    chunk, horizon = args
    holidays = holidays_frame("TW", [2026])
    return [_fit_predict(s, horizon, holidays) for s in chunk]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", type=int, default=200)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--horizon", type=int, default=30)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    a = p.parse_args(argv)

    series = make_series(a.series, a.days)
    print(f"{a.series} daily series x {a.days} days, {a.horizon}-day forecasts with 80% "
          f"intervals; {os.cpu_count()} CPUs, load average {_load():.2f} at start (other work "
          "on a shared machine counts in it)")

    t0 = perf_counter()
    sequential = _chunk((series, a.horizon))
    t_seq = perf_counter() - t0
    print(f"  sequential:          {t_seq:7.1f} s  ({1000 * t_seq / a.series:.0f} ms per series);"
          f" load average after {_load():.2f}")

    size = max(1, -(-a.series // (a.workers * 4)))  # ~4 chunks per worker: balance, few pickles
    chunks = [series[i:i + size] for i in range(0, a.series, size)]
    t0 = perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(a.workers, mp_context=ctx) as pool:
        pids = set(pool.map(_warm, range(a.workers)))
        t_start = perf_counter() - t0
        t1 = perf_counter()
        parallel = [r for part in pool.map(_chunk, [(c, a.horizon) for c in chunks]) for r in part]
        t_work = perf_counter() - t1
    t_par = perf_counter() - t0
    print(f"  parallel ({a.workers} procs): {t_par:7.1f} s  ({1000 * t_par / a.series:.0f} ms per "
          f"series) = pool start-up {t_start:.1f} s ({len(pids)} workers warmed) + work "
          f"{t_work:.1f} s; load average after {_load():.2f}")
    print(f"  speed-up: {t_seq / t_par:.2f}x overall, {t_seq / t_work:.2f}x excluding start-up")
    same = all(np.allclose(s[:, 0], q[:, 0]) for s, q in zip(sequential, parallel, strict=True))
    print(f"  identical point forecasts in both passes: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

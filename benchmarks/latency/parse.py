"""What passing the daily window in the environment instead of --vars saves per dbt run.

    .venv/bin/python benchmarks/latency/parse.py            # 3 windows each way

On one simulated home (3 days, warehouse built once), the daily dbt set is built for each day's
window, alternately:
- as before: `dbt build --select tag:daily --vars '{window_start_utc: …, window_end_utc: …}'` —
  the vars change with every window, so dbt re-parses the whole project every time;
- as now: the same command with the window in WATTPRINT_WINDOW_START_UTC/_END_UTC, so the
  saved parse stays valid.
Both start from the same saved parse (`dbt parse` with no vars, as the per-home cache holds),
run as the subprocess dagster-dbt starts, and are timed from start to exit.

Then the foundation set (no window) with the parse saved for another home — what dagster-dbt
seeded every invocation with before — against this home's own saved parse (what
orchestration/defs/warehouse/dbt_invocation.py keeps per home now).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orchestration.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR  # noqa: E402

START = date(2026, 1, 5)


def dbt(args: list[str], target: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [DBT_EXECUTABLE, *args, "--target-path", str(target), "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-3000:]}")
    return time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--windows", type=int, default=3, help="daily windows each way (default 3)")
    p.add_argument("--workdir", type=Path)
    args = p.parse_args()

    from orchestration.settings import configure

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="wattprint-parse-"))
    settings = configure(home=workdir / "home")  # before the partitions read the settings
    from orchestration.cli.commands.simulate import simulate_into
    from orchestration.defs.warehouse.partitions import daily_partitions, window_env, window_vars

    simulate_into(settings, args.windows, seed=7, start=START)
    env = {**os.environ, "WATTPRINT_HOME": str(settings.home)}
    env.pop("WATTPRINT_WAREHOUSE", None)
    base = workdir / "target-base"
    dbt(["parse"], base, env)
    dbt(["build"], base, env)  # every model once, all time: the windows then re-run days

    build = ["build", "--select", "tag:daily", "--indirect-selection", "buildable"]
    timings: dict[str, list[float]] = {"--vars": [], "environment": []}
    for i in range(args.windows):
        key = date.fromordinal(START.toordinal() + i).isoformat()
        window = daily_partitions.time_window_for_partition_key(key)
        for way in timings:
            target = workdir / f"target-{way.strip('-')}-{i}"
            target.mkdir()
            shutil.copyfile(base / "partial_parse.msgpack", target / "partial_parse.msgpack")
            if way == "--vars":
                seconds = dbt([*build, "--vars", json.dumps(window_vars(window))], target, env)
            else:
                seconds = dbt(build, target, {**env, **window_env(window)})
            timings[way].append(seconds)
            print(f"  {key} window via {way:<12} {seconds:6.1f} s", flush=True)

    old, new = statistics.median(timings["--vars"]), statistics.median(timings["environment"])
    print(
        f"\ndaily dbt build, median of {args.windows}: window in --vars {old:.1f} s, in the "
        f"environment {new:.1f} s — {old - new:.1f} s less per run ({new / old:.2f}×)"
    )

    # The foundation and reports sets have no window, but dagster-dbt seeds them with the parse
    # saved when the project was prepared — for whichever home that was. The profile (the
    # warehouse path) differs, so dbt re-parsed everything; the home's own saved parse does not.
    other = workdir / "target-other-home"
    dbt(["parse"], other, {**env, "WATTPRINT_HOME": str(workdir / "another-home")})
    foundation = ["build", "--select", "+tag:daily", "--exclude", "tag:daily"]
    seeded: dict[str, list[float]] = {"another home": [], "this home": []}
    for i in range(args.windows):
        for way, source in (("another home", other), ("this home", base)):
            target = workdir / f"target-foundation-{way.replace(' ', '-')}-{i}"
            target.mkdir()
            shutil.copyfile(source / "partial_parse.msgpack", target / "partial_parse.msgpack")
            seeded[way].append(dbt(foundation, target, env))
            print(f"  foundation set, parse saved for {way:<13} {seeded[way][-1]:6.1f} s")
    old, new = statistics.median(seeded["another home"]), statistics.median(seeded["this home"])
    print(
        f"\nfoundation dbt build, median of {args.windows}: parse saved for another home "
        f"{old:.1f} s, for this home {new:.1f} s — {old - new:.1f} s less per invocation "
        f"({new / old:.2f}×); the reports set is in the same case"
    )
    print(f"(work folder {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

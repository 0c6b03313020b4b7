"""Publish → queryable latency: how old are the figures a BI reader sees on a live plant?

    .venv/bin/python benchmarks/latency/run.py                  # 500 meters, 10 minutes live
    .venv/bin/python benchmarks/latency/run.py --minutes 3 --history-hours 1   # a quicker look

What runs, each as in a deployment (see services.py):
- a generated plant of `--meters` cumulative-kWh meters (plant.py) on one site: the registry,
  the grid factor and `--history-hours` of readings every 15 s land as files first, as if the
  plant had been running;
- Mosquitto with the shipped config (or the broker on 127.0.0.1:1883 when none is installed);
- `python -m ingestion.mqtt`, the ingestion service, in its own process;
- `dagster-daemon run` over the project's workspace with the shipped instance settings (one run
  at a time, queued): the `landing_sensor` turns landed files into runs, each in its own
  process — `wattprint_live` (the daily dbt set, its checks, and the publication of the
  read-only warehouse copy readers query) for readings between full runs, and every 5 minutes
  the full `wattprint_pipeline` (also the dbt foundation and reports sets and quality rules);
- this process: every 15 s on the wall clock it publishes every meter's counter stamped with
  that instant, one QoS 1 message per gateway; and it polls the published warehouse
  (`<home>/published/wattprint.duckdb`) as a BI tool would.

Latency of a reading = when the publication that first holds it in `marts.fct_emissions_interval`
was swapped in (the file's ctime) − when the reading was handed to the broker. A publication
holds a reading when its interval's kWh for that meter's equipment includes the reading's
counter step (measure.py explains why that identifies the exact reading). Readers open only the
published copy: opening the live warehouse, even read-only, would take the lock a run needs.
Also shown: when the reading was committed in the warehouse (end of the run's dbt_daily step,
the earliest it exists anywhere) and where the time went, per stage and per run.

After `--minutes` of publishing, the loop runs until every published reading is queryable or
`--drain-minutes` pass; readings never seen count as slowest in the percentiles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.latency.live import PublicationWatcher, TickPublisher  # noqa: E402
from benchmarks.latency.measure import (  # noqa: E402
    first_inclusion,
    landed_times,
    percentile,
    run_timings,
)
from benchmarks.latency.plant import SITE_ID, BenchPlant, tick_floor  # noqa: E402
from benchmarks.latency.services import start_broker, start_daemon, start_ingest  # noqa: E402
from ingestion.landing import LandingZone  # noqa: E402

# The landing sensor's two lanes: the live job for readings between full pipeline runs.
JOBS = ("wattprint_live", "wattprint_pipeline")
TARGET_P95 = 60.0
# Steps shown one by one (by the end of their step key); every other step is an asset check.
STEPS = ("dbt_foundation", "dbt_daily", "dbt_reports", "quality_rules", "published_warehouse")


def step_seconds(run, step: str) -> float | None:
    spans = [end - start for key, (start, end) in run.steps.items() if key.endswith(step)]
    return sum(spans) if spans else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--minutes", type=float, default=10.0, help="publishing time (default 10)")
    p.add_argument("--meters", type=int, default=500, help="meters in the plant (default 500)")
    p.add_argument("--gateways", type=int, default=10, help="gateways, one message each per tick")
    p.add_argument(
        "--history-hours",
        type=float,
        default=6.0,
        help="readings every 15 s landed before the live part (default 6)",
    )
    p.add_argument("--warmup-minutes", type=float, default=30.0, help="max wait for the first run")
    p.add_argument("--drain-minutes", type=float, default=15.0, help="max wait after publishing")
    p.add_argument("--broker", choices=("auto", "shipped", "system"), default="auto")
    p.add_argument("--poll-seconds", type=float, default=0.5, help="how often readers look")
    p.add_argument("--workdir", type=Path, help="keep home, logs and broker here")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args(argv)


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def land_history(zone: LandingZone, plant: BenchPlant, start: int, end: int, batch: str) -> int:
    """Readings of every meter at every tick in [start, end), in one landing batch."""
    if end <= start:
        return 0
    frame = plant.readings(np.arange(start, end, 15))
    zone.write("readings", frame, batch_id=batch)
    return frame.height


def pipeline_runs_waiting(instance: dg.DagsterInstance) -> int:
    busy = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    return len(instance.get_runs(filters=dg.RunsFilter(statuses=busy)))


def wait_for_steady_state(watcher, instance, services, deadline: float) -> None:
    """The first publication (of the history run) exists and no run is queued or running."""
    quiet_since = None
    while time.time() < deadline:
        for service in services:
            if not service.running():
                raise RuntimeError(f"{service.name} exited; see {service.log}")
        watcher.poll()
        if watcher.publications and pipeline_runs_waiting(instance) == 0:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 20:  # the sensors have had a tick to react
                return
        else:
            quiet_since = None
        time.sleep(2)
    raise TimeoutError("no publication of the history within --warmup-minutes")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="wattprint-latency-")).absolute()
    home = workdir / "home"
    if home.exists():
        shutil.rmtree(home)
    dagster_home = home / "dagster"
    env = {**os.environ, "WATTPRINT_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    env.pop("WATTPRINT_WAREHOUSE", None)
    os.environ.update(WATTPRINT_HOME=str(home), DAGSTER_HOME=str(dagster_home))

    plant = BenchPlant(meters=args.meters, gateways=args.gateways)
    zone = LandingZone(home)
    zone.init()
    now = tick_floor(datetime.now(UTC))
    history_start = int(now.timestamp()) - int(args.history_hours * 3600) // 15 * 15
    for kind, frame in plant.registry(now.year).items():
        zone.write(kind, frame, batch_id=f"bench-{kind}")
    history = land_history(zone, plant, history_start, int(now.timestamp()), "bench-history")
    log(
        f"plant: {args.meters} meters on {args.gateways} gateways, {history:,} readings of "
        f"history ({args.history_hours:g} h) under {home}"
    )

    broker = start_broker(workdir, SITE_ID, args.broker)
    log(f"broker: {broker.description}")
    services = []
    watcher = PublicationWatcher(
        home / "published" / "wattprint.duckdb", 0, poll_seconds=args.poll_seconds
    )
    publisher = None
    try:
        services.append(start_ingest(home, broker, workdir, env))
        log(f"ingest service subscribed (log {services[-1].log})")
        services.append(start_daemon(dagster_home, workdir, env))
        log(f"dagster-daemon started (log {services[-1].log}); waiting for the history's run")
        instance = dg.DagsterInstance.from_config(str(dagster_home))
        wait_for_steady_state(watcher, instance, services, time.time() + args.warmup_minutes * 60)
        # The history ended when this process started; land what the meters read since, so
        # the live counters continue without a gap, then publish from the next tick on.
        first_tick = int(tick_floor(datetime.now(UTC)).timestamp()) + 30
        land_history(zone, plant, int(now.timestamp()), first_tick, "bench-catch-up")
        ticks = int(args.minutes * 60 // 15)
        watcher.since_epoch = (first_tick - 1) // 900 * 900
        watcher.start()
        live_since = time.time()
        publisher = TickPublisher(
            plant, broker.host, broker.port, first_tick, ticks,
            broker.gateway_user, broker.gateway_password,
        )  # fmt: skip
        publisher.start()
        log(f"publishing {ticks} ticks × {args.meters} readings every 15 s from "
            f"{datetime.fromtimestamp(first_tick, UTC):%H:%M:%S} UTC")  # fmt: skip
        publisher.join()
        if publisher.error is not None:
            raise RuntimeError(f"publisher failed: {publisher.error!r}")
        log("publishing done; waiting for the last readings to become queryable")
        deadline = time.time() + args.drain_minutes * 60
        last = first_tick + 15 * (ticks - 1)
        while time.time() < deadline:
            if watcher.publications:
                inclusion = first_inclusion(plant, [last], watcher.publications)
                if len(inclusion.first) == len(inclusion.probes):
                    break
            time.sleep(5)
    finally:
        watcher.stop_event.set()
        if publisher is not None:
            publisher.stop_event.set()
        for service in reversed(services):
            service.stop()
        broker.stop()

    figures = report(args, plant, home, instance, publisher, watcher, live_since, broker)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"\nEverything is under {workdir} (logs: ingest.log, dagster-daemon.log)")
    return 0


def _fmt(seconds: float) -> str:
    return "never" if seconds == float("inf") else f"{seconds:6.1f}"


def _stats(values: list[float]) -> str:
    if not values:
        return "     —"
    return f"{_fmt(percentile(values, 50))} {_fmt(percentile(values, 95))} {_fmt(max(values))}"


def print_runs(job: str, runs: list) -> None:
    """Run and step durations of one job's runs."""
    finished = [r for r in runs if r.ended and r.started]
    print()
    print(f"{job} runs since the live part began: {len(runs)} "
          f"({sum(r.status == 'SUCCESS' for r in runs)} succeeded)")  # fmt: skip
    if not finished:
        return
    print(f"  {'seconds':<46} {'median':>7} {'max':>7}")

    def row(label: str, values: list[float]) -> None:
        if values:
            print(f"  {label:<46} {statistics.median(values):7.1f} {max(values):7.1f}")

    row("queue + run process start (created → started)",
        [r.started - r.created for r in finished])  # fmt: skip
    row("whole run (started → ended)", [r.ended - r.started for r in finished])
    for step in STEPS:
        row(f"  {step}", [v for r in finished if (v := step_seconds(r, step)) is not None])
    row("  asset checks (all)", [
        sum(e - s for k, (s, e) in r.steps.items() if not k.endswith(STEPS))
        for r in finished
    ])  # fmt: skip


def report(args, plant, home, instance, publisher, watcher, live_since, broker) -> dict:
    ticks = sorted(publisher.published_at)
    publications = watcher.publications
    inclusion = first_inclusion(plant, ticks, publications)
    landed = landed_times(home)
    runs = {r.run_id: r for r in run_timings(instance, JOBS, live_since - 60)}

    queryable, committed = [], []
    stages: dict[str, list[float]] = {"ingest": [], "wait": [], "run": [], "publish": []}
    for t in ticks:
        sent = publisher.published_at[t]
        for j in range(len(inclusion.probes)):
            p = inclusion.first.get((t, j))
            if p is None:
                queryable.append(float("inf"))
                continue
            publication = publications[p]
            queryable.append(publication.swapped_at - sent)
            run = runs.get(publication.run_id)
            if run is None or run.daily_end is None or run.started is None:
                continue
            committed.append(run.daily_end - sent)
            if j == 0 and t in landed:  # stages per tick (every meter of a tick shares them)
                stages["ingest"].append(landed[t] - sent)
                stages["wait"].append(run.started - landed[t])
                stages["run"].append(run.daily_end - run.started)
                stages["publish"].append(publication.swapped_at - run.daily_end)

    p50, p95 = percentile(queryable, 50), percentile(queryable, 95)
    never = sum(1 for v in queryable if v == float("inf"))
    print()
    print("Publish → queryable latency, live plant with the landing sensor and Dagster runs")
    print(
        f"  {args.meters} meters every 15 s ({len(inclusion.probes)} equipment meters probed), "
        f"{len(ticks)} ticks over {args.minutes:g} min, {args.history_hours:g} h of history; "
        f"{broker.description}"
    )
    print(f"  machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")  # fmt: skip
    print()
    print(f"  {'seconds':<58} {'p50':>6} {'p95':>6} {'max':>6}")
    print(f"  {'publish → queryable in the published warehouse (readers)':<58} {_stats(queryable)}")
    print(f"  {'publish → committed in the warehouse (end of dbt_daily)':<58} {_stats(committed)}")
    print("  per tick, where the time went:")
    for name, label in (
        ("ingest", "publish → landed (MQTT, micro-batch, fsync'd Parquet)"),
        ("wait", "landed → its run starts (sensor tick, queue, previous run)"),
        ("run", "run start → dbt_daily done (process, foundation, daily)"),
        ("publish", "dbt_daily done → published (checks, reports, quality, copy)"),
    ):
        print(f"    {label:<56} {_stats(stages[name])}")
    print(
        f"  readings: {len(queryable):,} probed, {never:,} never queryable before the end; "
        f"{inclusion.mismatches} mismatching kWh figures; {len(publications)} publications; "
        f"{publisher.late} ticks published > 1 s late; {watcher.read_errors} reader errors"
    )
    verdict = "PASS" if p95 < TARGET_P95 else "MISS"
    print(f"  target p95 < {TARGET_P95:.0f} s: {verdict} (p50 {_fmt(p50).strip()} s, "
          f"p95 {_fmt(p95).strip()} s)")  # fmt: skip

    for job in JOBS:
        print_runs(job, [r for r in runs.values() if r.job == job])
    return {
        "runs_per_job": {job: sum(r.job == job for r in runs.values()) for job in JOBS},
        "meters": args.meters,
        "minutes": args.minutes,
        "history_hours": args.history_hours,
        "ticks": len(ticks),
        "readings_probed": len(queryable),
        "never_queryable": never,
        "queryable_p50_s": p50,
        "queryable_p95_s": p95,
        "queryable_max_s": max(queryable) if queryable else None,
        "committed_p50_s": percentile(committed, 50),
        "committed_p95_s": percentile(committed, 95),
        "stages_median_s": {k: statistics.median(v) for k, v in stages.items() if v},
        "runs": len(runs),
        "mismatches": inclusion.mismatches,
    }


if __name__ == "__main__":
    sys.exit(main())

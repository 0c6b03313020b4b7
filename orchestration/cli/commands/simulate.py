"""`wattprint simulate`: land a simulated plant's data and its ground truth."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import date

from orchestration.cli.commands.common import UserError, parse_day, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "simulate",
        help="simulate an electronics plant (readings, bills, production, factors + ground truth)",
        description="Simulate a 24/7 electronics-components plant: 4 lines, site utilities, a "
        "meter tree with counters, interval and power registers, bills, batches and grid "
        "factors. Writes the observed data to the landing zone and the true energy and "
        "emissions to $WATTPRINT_HOME/ground_truth/. Deterministic for a given --seed.",
    )
    parser.add_argument("--days", type=int, default=14, help="number of days (default 14)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--start",
        type=parse_day,
        default=date(2026, 1, 5),
        help="first local day (default 2026-01-05)",
    )
    parser.add_argument(
        "--faults",
        default="",
        help="comma-separated faults to inject, or 'all': gaps, rollover, meter_replacement, "
        "spikes, stuck, compressor_cycling, process_excess, drift, duplicates, late",
    )
    parser.add_argument(
        "--fuel",
        action="store_true",
        help="also a boiler natural-gas meter and a diesel generator meter (Scope 1)",
    )
    live = parser.add_argument_group("live mode: publish readings over MQTT like gateways")
    live.add_argument(
        "--live", action="store_true", help="publish readings instead of landing them"
    )
    live.add_argument(
        "--speed",
        type=float,
        default=900.0,
        help="time compression (1 = real time; default 900: one 15-minute interval a second; "
        "0 = as fast as the broker acknowledges)",
    )
    live.add_argument("--host", default="127.0.0.1")
    live.add_argument("--port", type=int, default=1883)
    live.add_argument("--username")
    live.add_argument("--password-env", default="WATTPRINT_MQTT_PASSWORD")
    parser.set_defaults(handler=handle)


def fault_config(spec: str):
    from ingestion.simulator import FaultConfig

    if spec.strip() == "all":
        return FaultConfig.all_on()
    names = [n.strip() for n in spec.split(",") if n.strip()]
    known = {field.name for field in dataclasses.fields(FaultConfig)}
    unknown = sorted(set(names) - known)
    if unknown:
        raise UserError(
            f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return FaultConfig(**{n: True for n in names})


def simulate_into(
    settings, days: int, seed: int, start: date, faults: str = "", fuel: bool = False
) -> dict:
    from ingestion.simulator import PlantConfig, simulate, write_simulation

    if days < 1:
        raise UserError("--days must be at least 1")
    config = PlantConfig(seed=seed, start_date=start, days=days, faults=fault_config(faults))
    return write_simulation(simulate(config), settings.home, fuel=fuel)


def handle(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.live:
        return publish_live(args, settings)
    counts = simulate_into(settings, args.days, args.seed, args.start, args.faults, args.fuel)
    print(f"Simulated {args.days} days into {settings.home}:")
    for name, count in counts.items():
        print(f"  {name:<28} {count}")
    return 0


def publish_live(args: argparse.Namespace, settings) -> int:
    """Land the registry, production, bills and factors as files (they are not telemetry),
    then publish the readings over MQTT for `wattprint ingest` to land."""
    import os

    from ingestion.simulator import PlantConfig, simulate, write_simulation
    from ingestion.simulator.live import publish

    config = PlantConfig(
        seed=args.seed, start_date=args.start, days=args.days, faults=fault_config(args.faults)
    )
    sim = simulate(config)
    write_simulation(dataclasses.replace(sim, readings=sim.readings.head(0)), settings.home)
    print(
        f"Publishing {sim.readings.height:,} readings to {args.host}:{args.port} "
        f"(speed ×{args.speed or 'max'}); registry and ground truth under {settings.home}"
    )
    try:
        sent = publish(
            sim.readings,
            host=args.host,
            port=args.port,
            username=args.username,
            password=os.environ.get(args.password_env),
            speed=args.speed or None,
        )
    except (ConnectionError, OSError) as error:
        raise UserError(
            f"cannot publish to the MQTT broker at {args.host}:{args.port}: {error}"
        ) from error
    print(f"Published {sent:,} readings.")
    return 0

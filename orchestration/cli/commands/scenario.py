"""`wattprint scenario`: what each reduction measure would save on this plant, and its payback.

Reads the home's warehouse (read-only: it can run while a pipeline run holds the writer) and
prices the measures of models/forecasting/scenarios.py on the site's own recent equipment
profile — the same figures the `forecasting/scenarios` asset writes.
"""

from __future__ import annotations

import argparse
import json
import math

import duckdb

from orchestration.cli.commands.common import UserError, settings_from
from orchestration.cli.tables import render

MEASURE_HELP = (
    "hvac (BMS control upgrade), air (compressed-air leak repair), shift (move each "
    "line's flexible load to its day's cleanest hours), solar (rooftop PV)"
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "scenario",
        help="model reduction measures: emissions and cost saved, investment, payback",
        description="Price reduction measures on the warehouse's recent equipment profile "
        "(up to the last --days days, scaled to a year): emission reduction in kgCO2e and %, "
        "energy-cost saving on the time-of-use tariff, investment and simple payback. "
        "Measures: " + MEASURE_HELP + ".",
    )
    parser.add_argument("--site", help="site id (default: every site in the warehouse)")
    parser.add_argument(
        "--measures",
        default="hvac,air,shift,solar",
        help="comma-separated, from: hvac, air, shift, solar (default: all)",
    )
    parser.add_argument(
        "--line",
        action="append",
        dest="lines",
        metavar="LINE",
        help="line whose flexible load is shifted (repeatable; default: each line of the site)",
    )
    parser.add_argument(
        "--solar-kwp", type=float, default=None, help="size of the PV plant in kWp (default 300)"
    )
    parser.add_argument(
        "--days", type=int, default=365, help="days of data to price the measures on (default 365)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(handler=handle)


def _clean(value):
    """JSON-safe and readable: no infinite payback (None = never), no "-0" from a load shift
    whose energy change sums to a rounding error."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if abs(value) < 1e-6:
            return 0.0
    return value


def handle(args: argparse.Namespace) -> int:
    from models.forecasting.scenarios import REFERENCE, TouTariff
    from orchestration.defs.forecasting.assets import scenario_table
    from orchestration.defs.forecasting.inputs import NoData, read_scenario_inputs

    settings = settings_from(args)
    kinds = tuple(k.strip() for k in args.measures.split(",") if k.strip())
    if args.days < 1:
        raise UserError("--days must be at least 1")
    if args.solar_kwp is not None and args.solar_kwp <= 0:
        raise UserError("--solar-kwp must be positive")
    if not settings.warehouse_path.exists():
        raise UserError(
            f"no warehouse at {settings.warehouse_path}: run `wattprint demo` or "
            "`wattprint import ...` and `wattprint run` first"
        )
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    except duckdb.IOException as error:
        raise UserError(f"the warehouse is busy ({error}); try again in a minute") from error
    try:
        sites = read_scenario_inputs(con, site_id=args.site, days=args.days)
    except NoData as error:
        raise UserError(str(error)) from error
    finally:
        con.close()

    report = []
    for inputs in sites:
        lines = tuple(args.lines) if args.lines else None
        try:
            table, skipped, profile = scenario_table(inputs, kinds, lines, args.solar_kwp)
        except ValueError as error:
            raise UserError(str(error)) from error
        hours = profile["hour_utc"].n_unique()
        year = 8760 / hours
        base_kwh = float(profile["kwh"].sum()) * year
        base_cost = float((profile["kwh"] * profile["price"]).sum()) * year
        report.append(
            {
                "site_id": inputs.site_id,
                "data_from_utc": inputs.first_utc.isoformat(),
                "data_to_utc": inputs.last_utc.isoformat(),
                "hours_of_data": hours,
                "annual_kwh": base_kwh,
                "annual_energy_cost_twd": base_cost,
                "hourly_factor_id": inputs.hourly_factor_id,
                "annual_factor_id": inputs.annual_factor_id,
                "measures": [
                    {k: _clean(v) for k, v in row.items()} for row in table.iter_rows(named=True)
                ],
                "not_applicable": [{"measure": n, "why": w} for n, w in skipped],
            }
        )
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    tariff = TouTariff()
    for site in report:
        print(
            f"Reduction measures for {site['site_id']}, priced on "
            f"{site['data_from_utc'][:16]} … {site['data_to_utc'][:16]} UTC "
            f"({site['hours_of_data']:,} hours) and scaled to a year: "
            f"{site['annual_kwh']:,.0f} kWh, energy charge {site['annual_energy_cost_twd']:,.0f}"
            f" {tariff.currency} a year on the time-of-use tariff."
        )
        rows = []
        for m in site["measures"]:
            payback = m["payback_months"]
            rows.append(
                [
                    m["measure"],
                    m["kwh_saved"],
                    m["kg_co2e_saved"],
                    m["reduction_pct"],
                    m["kg_co2e_saved_annual_factor"],
                    m["reduction_pct_annual_factor"],
                    m["cost_saving_twd"],
                    m["investment_twd"],
                    "never" if payback is None else f"{payback:.0f} months",
                ]
            )
        print(
            render(
                "Per year",
                [
                    "measure",
                    "kWh saved",
                    "kgCO2e saved (hourly)",
                    "−% (hourly)",
                    "kgCO2e saved (reported)",
                    "−% (reported)",
                    f"saving {tariff.currency}",
                    f"investment {tariff.currency}",
                    "payback",
                ],
                rows,
                [None, ",.0f", ",.0f", ".2f", ",.0f", ".2f", ",.0f", ",.0f", None],
                note="hourly = kWh × the hour's grid intensity ("
                + (site["hourly_factor_id"] or "none published: annual factor")
                + "); reported = "
                f"kWh × the annual factor the marts use ({site['annual_factor_id']}), where moving "
                "load in time saves nothing. Payback = investment / monthly saving, undiscounted.",
            )
        )
        for item in site["not_applicable"]:
            print(f"  not applicable: {item['measure']} — {item['why']}")
        print(
            "  For comparison, the reference study: "
            + "; ".join(
                f"{name} −{pct}% with a {months}-month payback" for name, pct, months in REFERENCE
            )
            + "."
        )
        if site["hours_of_data"] < 24 * 300:
            print(
                f"  Note: {site['hours_of_data'] / 24:.0f} days of data scaled to a year: the "
                "seasons it misses (summer cooling, winter) bias the yearly figures."
            )
        print("  Assumptions:")
        for m in site["measures"]:
            print(f"    {m['measure']}: {m['assumptions']}")
    return 0

"""Reduction measures as changes to the plant's own equipment profiles → emission reduction,
energy-cost saving, investment and simple payback.

Each measure changes the hourly energy of the equipment it touches (or, for solar, the site's
grid import) and the difference is priced with a time-of-use tariff and weighted by the grid
intensity of each hour. Two emission bases are reported: hourly location-based (kWh x the
hour's grid intensity — what a load shift can earn) and the annual location factor the marts
report today (under which shifting load in time changes nothing). Payback is simple (investment
/ monthly saving, no discounting, no tariff escalation). The savings come from whatever period
the frames cover, scaled to a year — feed a full year, or accept the seasonal bias.

`python -m models.forecasting.scenarios` runs the measures on a full simulated year of the
simulated plant and prints the comparison with the reference study (CAS-EMS: HVAC upgrade −4.2%,
14-month payback; compressed-air optimisation −3.8%, 7 months).

The TOU tariff (TWD/kWh, defined here, illustrative): shaped on Taipower's high-voltage
three-stage time-of-use structure; summer = June–September. Weekdays: peak 16:00–22:00, mid-peak
09:00–16:00 and 22:00–24:00, off-peak 00:00–09:00; Saturdays: mid-peak 09:00–24:00, else
off-peak; Sundays off-peak. Rates: summer peak 9.39 / mid 5.85 / off 2.53; non-summer 8.69 /
5.47 / 2.32 — the same schedule the simulator bills with, so savings reconcile with its bills.
Demand (capacity) charges are left out: the measures' effect on the contracted capacity is not
modelled.
"""

from __future__ import annotations

import argparse
import math
from datetime import date

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from models.forecasting.series import hourly_intensity, to_local, utc_naive

# --------------------------------------------------------------------------------------------
# tariff


class TouTariff(BaseModel):
    """Three-stage TOU energy charge in TWD/kWh (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    summer_months: tuple[int, ...] = (6, 7, 8, 9)
    summer: dict[str, float] = {"peak": 9.39, "mid": 5.85, "off": 2.53}
    other: dict[str, float] = {"peak": 8.69, "mid": 5.47, "off": 2.32}
    currency: str = "TWD"

    def period(self, local: pl.Expr) -> pl.Expr:
        h, wd = local.dt.hour(), local.dt.weekday()
        workday = wd <= 5
        return (pl.when(workday & (h >= 16) & (h < 22)).then(pl.lit("peak"))
                .when(workday & (h >= 9)).then(pl.lit("mid"))
                .when((wd == 6) & (h >= 9)).then(pl.lit("mid"))
                .otherwise(pl.lit("off")))

    def price(self, local: pl.Expr) -> pl.Expr:
        """TWD/kWh for a naive site-local timestamp expression."""
        period = self.period(local)
        summer = local.dt.month().is_in(list(self.summer_months))
        expr = pl.lit(None, pl.Float64)
        for name in ("peak", "mid", "off"):
            expr = (pl.when(summer & (period == name)).then(pl.lit(self.summer[name]))
                    .when(~summer & (period == name)).then(pl.lit(self.other[name]))
                    .otherwise(expr))
        return expr


# --------------------------------------------------------------------------------------------
# the hourly profile every measure works on


def hourly_profile(energy: pl.DataFrame, equipment: pl.DataFrame, factors: pl.DataFrame,
                   *, timezone: str = "Asia/Taipei", tariff: TouTariff | None = None,
                   hourly_factor_id: str | None = "TW-GRID-HOURLY-SIM",
                   annual_factor_id: str = "TW-MOEA-GRID") -> pl.DataFrame:
    """Per (equipment, UTC hour): kwh, the equipment's registry fields, the local time, the
    hour's grid intensity (g/kWh), the annual factor (kg/kWh) and the TOU price.
    `hourly_factor_id` None: no hourly intensity is published for the grid, the annual factor
    stands in for every hour (and shifting load in time then earns nothing)."""
    tariff = tariff or TouTariff()
    e = utc_naive(energy, "interval_start_utc").with_columns(pl.col("kwh").cast(pl.Float64))
    hourly = e.group_by("equipment_id", pl.col("interval_start_utc").dt.truncate("1h")
                        .alias("hour_utc")).agg(pl.col("kwh").sum())
    eq = equipment.select("equipment_id", "equipment_type", "line_id", "process_step",
                          "nameplate_kw", "idle_load_fraction", "running_load_fraction")
    out = hourly.join(eq, on="equipment_id", how="left")
    out = out.with_columns(to_local(pl.col("hour_utc"), timezone).alias("local"))
    annual = _annual_factor(factors, annual_factor_id)
    out = out.with_columns(pl.col("local").dt.year().alias("_y")).join(annual, on="_y",
                                                                         how="left").drop("_y")
    if hourly_factor_id is None:
        out = out.with_columns((pl.col("annual_kg_per_kwh") * 1000.0).alias("grid_intensity"))
    else:
        out = out.join(hourly_intensity(factors, hourly_factor_id), on="hour_utc", how="left")
    return out.with_columns(tariff.price(pl.col("local")).alias("price")).sort(
        "equipment_id", "hour_utc")


def _annual_factor(factors: pl.DataFrame, factor_id: str) -> pl.DataFrame:
    f = factors.filter(pl.col("factor_id") == factor_id)
    start = "valid_from_utc" if "valid_from_utc" in f.columns else "valid_from"
    value = "value_kg_per_kwh" if "value_kg_per_kwh" in f.columns else "value"
    f = utc_naive(f, start)
    # valid from local 1 January; +1 day puts a UTC-stored local midnight in the right year
    return f.select((pl.col(start) + pl.duration(days=1)).dt.year().alias("_y"),
                    pl.col(value).cast(pl.Float64).alias("annual_kg_per_kwh")).unique("_y")


# --------------------------------------------------------------------------------------------
# measures: each returns the change in grid import per (equipment or site, hour)


def fan_power(speed: float, exponent: float) -> float:
    """Share of power at a speed share (affinity laws; exponent < 3 for real systems)."""
    return speed**exponent


class HvacControlUpgrade(BaseModel):
    """BMS control upgrade: VSDs and occupancy scheduling on the air handlers, chilled-water
    supply-temperature reset and optimised staging on the chillers, VSD on the CHW pumps."""

    model_config = ConfigDict(frozen=True)
    name: str = "HVAC control upgrade"
    unoccupied_hours: tuple[int, int] = (20, 7)  # local: AHUs slow down from 20:00 to 07:00
    ahu_unoccupied_speed: float = 0.80
    ahu_occupied_saving: float = 0.08  # static-pressure reset while occupied
    fan_law_exponent: float = 2.5  # below the ideal 3: motor/drive losses, minimum pressure
    chiller_saving: float = 0.08  # ~2.5%/K x ~3 K supply-temperature reset, sequencing
    pump_speed: float = 0.85
    bms_twd: float = 900_000.0  # controllers, sensors, integration, commissioning
    vsd_twd_per_kw: float = 6_000.0  # installed, per kW of fan and pump motor
    chiller_optimisation_twd: float = 600_000.0

    def delta(self, p: pl.DataFrame) -> pl.DataFrame:
        a, b = self.unoccupied_hours
        h = pl.col("local").dt.hour()
        unocc = (h >= a) | (h < b) if a > b else (h >= a) & (h < b)
        night = fan_power(self.ahu_unoccupied_speed, self.fan_law_exponent) - 1
        pump = fan_power(self.pump_speed, self.fan_law_exponent) - 1
        t = pl.col("equipment_type")
        factor = (pl.when(t == "air_handler").then(
            pl.when(unocc).then(night).otherwise(-self.ahu_occupied_saving))
            .when(t == "chiller").then(-self.chiller_saving)
            .when((t == "pump") & (pl.col("process_step") == "chilled_water")).then(pump)
            .otherwise(0.0))
        return p.select("equipment_id", "hour_utc", (pl.col("kwh") * factor).alias("delta_kwh"))

    def investment(self, equipment: pl.DataFrame) -> float:
        kw = equipment.filter(pl.col("equipment_type").is_in(["air_handler", "pump"]))
        return self.bms_twd + self.vsd_twd_per_kw * float(kw["nameplate_kw"].sum()) + (
            self.chiller_optimisation_twd)

    def assumptions(self) -> str:
        return (f"AHUs {self.ahu_unoccupied_speed:.0%} speed {self.unoccupied_hours[0]:02d}-"
                f"{self.unoccupied_hours[1]:02d}h (power = speed^{self.fan_law_exponent}), "
                f"−{self.ahu_occupied_saving:.0%} occupied; chillers −{self.chiller_saving:.0%};"
                f" CHW pumps {self.pump_speed:.0%} speed; capex BMS {self.bms_twd:,.0f} + VSD "
                f"{self.vsd_twd_per_kw:,.0f}/kW + chiller optimisation "
                f"{self.chiller_optimisation_twd:,.0f} TWD")


class CompressedAirLeakRepair(BaseModel):
    """Ultrasonic leak survey and repair. Leaks are a share of the air delivered; the power
    that follows delivered air is the compressor's draw above its unloaded power."""

    model_config = ConfigDict(frozen=True)
    name: str = "Compressed-air leak repair"
    leak_share: float = 0.25  # of delivered air (typical surveys find 20-30%)
    repair_effectiveness: float = 0.70  # share of leak flow removed (leaks come back)
    unloaded_fraction: float = 0.20  # of nameplate: drawn at zero flow
    survey_twd: float = 150_000.0
    repairs_twd: float = 250_000.0

    def delta(self, p: pl.DataFrame) -> pl.DataFrame:
        flow_kwh = (pl.col("kwh") - self.unloaded_fraction * pl.col("nameplate_kw")).clip(0)
        saving = flow_kwh * self.leak_share * self.repair_effectiveness
        return p.select("equipment_id", "hour_utc", pl.when(
            pl.col("equipment_type") == "air_compressor").then(-saving).otherwise(0.0)
            .alias("delta_kwh"))

    def investment(self, equipment: pl.DataFrame) -> float:
        return self.survey_twd + self.repairs_twd

    def assumptions(self) -> str:
        return (f"leaks {self.leak_share:.0%} of delivered air, {self.repair_effectiveness:.0%}"
                f" of them fixed; draw above {self.unloaded_fraction:.0%} of nameplate follows "
                f"flow; capex survey {self.survey_twd:,.0f} + repairs {self.repairs_twd:,.0f} TWD")


class FlexibleLoadShift(BaseModel):
    """Each local day, move a share of a line's energy out of its `hours` highest-intensity
    hours into its `hours` lowest-intensity hours, within the line's running capacity
    (nameplate x running load fraction) — energy is conserved, only its timing changes."""

    model_config = ConfigDict(frozen=True)
    name: str = "Shift flexible load (L4-TEST)"
    line_id: str = "L4-TEST"
    flexible_share: float = 0.30  # of the line's energy in the source hours
    hours: int = 4
    investment_twd: float = 250_000.0  # WIP buffer racks, scheduling rules, training

    def delta(self, p: pl.DataFrame) -> pl.DataFrame:
        line = p.filter(pl.col("line_id") == self.line_id)
        if line.is_empty():
            raise ValueError(f"no equipment on line {self.line_id}")
        cap = float((line.unique("equipment_id")["nameplate_kw"]
                     * line.unique("equipment_id")["running_load_fraction"]).sum())
        hourly = line.group_by("hour_utc", "local", "grid_intensity").agg(
            pl.col("kwh").sum()).with_columns(pl.col("local").dt.date().alias("day")).sort(
            "hour_utc")  # ordinal ranks break intensity ties by time: deterministic
        hourly = hourly.with_columns(
            pl.col("grid_intensity").rank("ordinal", descending=True).over("day").alias("_hi"),
            pl.col("grid_intensity").rank("ordinal").over("day").alias("_lo"),
        )
        src = pl.col("_hi") <= self.hours
        dst = pl.col("_lo") <= self.hours
        headroom = (cap - pl.col("kwh")).clip(0)
        per_day = hourly.group_by("day").agg(
            (pl.col("kwh").filter(src).sum() * self.flexible_share).alias("_want"),
            headroom.filter(dst).sum().alias("_room"),
            pl.col("kwh").filter(src).sum().alias("_src"))
        per_day = per_day.with_columns(pl.min_horizontal("_want", "_room").alias("_move"))
        hourly = hourly.join(per_day, on="day").with_columns(
            pl.when(src).then(-pl.col("_move") * pl.col("kwh") / pl.col("_src"))
            .when(dst).then(pl.col("_move") * headroom / pl.col("_room"))
            .otherwise(0.0).fill_nan(0.0).alias("delta_kwh"))
        return hourly.select(pl.lit(f"line:{self.line_id}").alias("equipment_id"), "hour_utc",
                             "delta_kwh")

    def investment(self, equipment: pl.DataFrame) -> float:
        return self.investment_twd

    def assumptions(self) -> str:
        return (f"{self.line_id}: {self.flexible_share:.0%} of the energy in each day's "
                f"{self.hours} dirtiest hours moved to its {self.hours} cleanest, capped by the "
                f"line's running capacity; capex {self.investment_twd:,.0f} TWD")


class OnSiteSolar(BaseModel):
    """Rooftop PV, all self-consumed (capped by the site's load in each hour)."""

    model_config = ConfigDict(frozen=True)
    name: str = "On-site solar PV"
    kwp: float = 300.0
    specific_yield: float = 1_150.0  # kWh/kWp/year, northern Taiwan (approximate)
    # Monthly shares of the annual yield (approximate, northern Taiwan: wet winters).
    monthly_shares: tuple[float, ...] = (0.055, 0.058, 0.070, 0.078, 0.093, 0.100, 0.120, 0.113,
                                         0.098, 0.085, 0.068, 0.062)
    sunrise: float = 6.0
    sunset: float = 18.0
    capex_twd_per_kwp: float = 45_000.0
    om_twd_per_kwp_year: float = 600.0

    def generation(self, local: pl.Series) -> np.ndarray:
        """kWh per local hour (hour-start timestamps)."""
        month = local.dt.month().to_numpy()
        mid = local.dt.hour().to_numpy() + 0.5
        span = self.sunset - self.sunrise
        shape = np.clip(np.sin(np.pi * (mid - self.sunrise) / span), 0, None)
        day_shape = sum(max(0.0, math.sin(math.pi * (h + 0.5 - self.sunrise) / span))
                        for h in range(24))
        days = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month - 1]
        shares = np.asarray(self.monthly_shares)[month - 1] / np.sum(self.monthly_shares)
        daily_kwh = self.kwp * self.specific_yield * shares / days
        return daily_kwh * shape / day_shape

    def delta(self, p: pl.DataFrame) -> pl.DataFrame:
        site = p.group_by("hour_utc", "local").agg(pl.col("kwh").sum()).sort("hour_utc")
        gen = self.generation(site["local"])
        used = np.minimum(gen, site["kwh"].to_numpy())
        return site.select(pl.lit("site:pv").alias("equipment_id"), "hour_utc").with_columns(
            pl.Series("delta_kwh", -used))

    def investment(self, equipment: pl.DataFrame) -> float:
        return self.kwp * self.capex_twd_per_kwp

    def annual_cost(self) -> float:
        return self.kwp * self.om_twd_per_kwp_year

    def assumptions(self) -> str:
        return (f"{self.kwp:,.0f} kWp, {self.specific_yield:,.0f} kWh/kWp/yr, all self-consumed;"
                f" capex {self.capex_twd_per_kwp:,.0f} TWD/kWp, O&M "
                f"{self.om_twd_per_kwp_year:,.0f} TWD/kWp/yr")


Measure = HvacControlUpgrade | CompressedAirLeakRepair | FlexibleLoadShift | OnSiteSolar


def not_applicable(measure: Measure, equipment: pl.DataFrame) -> str | None:
    """Why the measure does not apply to this plant (None: it does): an HVAC upgrade needs air
    handlers or chillers, a leak repair an air compressor, a load shift its line."""
    types = set(equipment["equipment_type"].drop_nulls().to_list())
    if isinstance(measure, HvacControlUpgrade) and not types & {"air_handler", "chiller"}:
        return "no air handler or chiller in the registry"
    if isinstance(measure, CompressedAirLeakRepair) and "air_compressor" not in types:
        return "no air compressor in the registry"
    if isinstance(measure, FlexibleLoadShift) and measure.line_id not in set(
            equipment["line_id"].drop_nulls().to_list()):
        return f"no equipment on line {measure.line_id}"
    return None


def default_measures(shift_lines: tuple[str, ...] = ("L4-TEST",)) -> list[Measure]:
    shifts = [FlexibleLoadShift(line_id=line, name=f"Shift flexible load ({line})")
              for line in shift_lines]
    return [HvacControlUpgrade(), CompressedAirLeakRepair(), *shifts, OnSiteSolar()]


# --------------------------------------------------------------------------------------------
# evaluation


def evaluate_measures(profile: pl.DataFrame, equipment: pl.DataFrame,
                      measures: list[Measure] | None = None) -> pl.DataFrame:
    """One row per measure: annual kWh saved, tCO2e saved and reduction % on both emission
    bases, TOU cost saving, investment and simple payback (months)."""
    measures = measures or default_measures()
    hours = profile["hour_utc"].n_unique()
    year = 8760.0 / hours
    prices = profile.group_by("hour_utc").agg(pl.col("price").first(),
                                              pl.col("grid_intensity").first(),
                                              pl.col("annual_kg_per_kwh").first())
    base_kg_h = float((profile["kwh"] * profile["grid_intensity"]).sum()) / 1000 * year
    base_kg_a = float((profile["kwh"] * profile["annual_kg_per_kwh"]).sum()) * year
    base_kwh = float(profile["kwh"].sum()) * year
    rows = []
    for m in measures:
        d = m.delta(profile).group_by("hour_utc").agg(pl.col("delta_kwh").sum()).join(
            prices, on="hour_utc", how="left")
        kwh = -float(d["delta_kwh"].sum()) * year
        shifted = float(d["delta_kwh"].clip(lower_bound=0).sum()) * year
        kg_h = -float((d["delta_kwh"] * d["grid_intensity"]).sum()) / 1000 * year
        kg_a = -float((d["delta_kwh"] * d["annual_kg_per_kwh"]).sum()) * year
        cost = -float((d["delta_kwh"] * d["price"]).sum()) * year
        if isinstance(m, OnSiteSolar):
            cost -= m.annual_cost()
        inv = m.investment(equipment)
        rows.append({
            "measure": m.name,
            "kwh_saved": kwh,
            "kwh_shifted": shifted,
            "energy_reduction_pct": 100 * kwh / base_kwh,
            "kg_co2e_saved": kg_h,
            "kg_co2e_saved_annual_factor": kg_a,
            "tco2e_saved": kg_h / 1000,
            "reduction_pct": 100 * kg_h / base_kg_h,
            "reduction_pct_annual_factor": 100 * kg_a / base_kg_a,
            "cost_saving_twd": cost,
            "investment_twd": inv,
            "payback_months": 12 * inv / cost if cost > 0 else float("inf"),
            "assumptions": m.assumptions(),
        })
    return pl.DataFrame(rows)


MEASURE_KINDS = ("hvac", "air", "shift", "solar")


def build_measures(kinds: tuple[str, ...] = MEASURE_KINDS, lines: tuple[str, ...] = (),
                   solar_kwp: float | None = None) -> list[Measure]:
    """The measures by short name: hvac, air (compressed-air leaks), shift (one per line in
    `lines`), solar (`solar_kwp` kWp, default 300)."""
    unknown = set(kinds) - set(MEASURE_KINDS)
    if unknown:
        raise ValueError(f"unknown measure(s) {sorted(unknown)}: choose from "
                         f"{', '.join(MEASURE_KINDS)}")
    out: list[Measure] = []
    if "hvac" in kinds:
        out.append(HvacControlUpgrade())
    if "air" in kinds:
        out.append(CompressedAirLeakRepair())
    if "shift" in kinds:
        out += [FlexibleLoadShift(line_id=line, name=f"Shift flexible load ({line})")
                for line in lines]
    if "solar" in kinds:
        out.append(OnSiteSolar() if solar_kwp is None else OnSiteSolar(kwp=solar_kwp))
    return out


def compare(profile: pl.DataFrame, equipment: pl.DataFrame, measures: list[Measure]
            ) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """evaluate_measures on the measures that apply to the plant; the others come back as
    (name, why not) instead of a row with a full investment and no saving."""
    skipped = [(m.name, why) for m in measures if (why := not_applicable(m, equipment))]
    usable = [m for m in measures if not not_applicable(m, equipment)]
    if not usable:
        return pl.DataFrame(), skipped
    return evaluate_measures(profile, equipment, usable), skipped


REFERENCE = (("HVAC control upgrade", 4.2, 14), ("Compressed-air optimisation", 3.8, 7))


def format_table(table: pl.DataFrame) -> str:
    lines = [f"  {'measure':36s} {'kWh/yr':>10s} {'shifted':>8s} {'CO2e −% (hourly)':>17s} "
             f"{'−% (annual f.)':>14s} {'tCO2e/yr':>9s} {'saving TWD/yr':>14s} "
             f"{'invest TWD':>12s} {'payback':>9s}"]
    for r in table.iter_rows(named=True):
        r = {k: (0.0 if isinstance(v, float) and abs(v) < 1e-6 else v) for k, v in r.items()}
        pb = "never" if not np.isfinite(r["payback_months"]) else f"{r['payback_months']:.0f} mo"
        lines.append(f"  {r['measure']:36s} {r['kwh_saved']:>10,.0f} "
                     f"{r['kwh_shifted']:>8,.0f} {r['reduction_pct']:>16.2f}%"
                     f" {r['reduction_pct_annual_factor']:>13.2f}% {r['tco2e_saved']:>9,.1f} "
                     f"{r['cost_saving_twd']:>14,.0f} {r['investment_twd']:>12,.0f} {pb:>9s}")
    for name, pct, months in REFERENCE:
        lines.append(f"  {'(study) ' + name:36s} {'':>10s} {'':>8s} {pct:>16.1f}% {'':>14s} "
                     f"{'':>9s} {'':>14s} {'':>12s} {months:>6d} mo")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from models.forecasting.simdata import simulated_marts

    p = argparse.ArgumentParser(prog="python -m models.forecasting.scenarios",
                                description="Compare reduction measures on the simulated plant.")
    p.add_argument("--days", type=int, default=364)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args(argv)
    m = simulated_marts(days=a.days, seed=a.seed, start=date(2026, 1, 5))
    profile = hourly_profile(m.energy, m.equipment, m.factors, timezone=m.timezone)
    lines = tuple(sorted(m.equipment["line_id"].drop_nulls().unique().to_list()))
    table = evaluate_measures(profile, m.equipment, default_measures(shift_lines=lines))
    base_kwh = float(profile["kwh"].sum()) * 8760 / profile["hour_utc"].n_unique()
    base_cost = float((profile["kwh"] * profile["price"]).sum()) * 8760 / profile[
        "hour_utc"].n_unique()
    print(f"Reduction measures on the simulated plant {m.site_id} (seed {a.seed}, {a.days} days "
          f"from 2026-01-05, the simulator's true equipment energy), scaled to a year: "
          f"{base_kwh / 1e6:,.2f} GWh, energy charge {base_cost / 1e6:,.1f} M TWD on the TOU "
          "tariff (scenarios.py docstring).")
    print(format_table(table))
    print("Assumptions:")
    for r in table.iter_rows(named=True):
        print(f"  {r['measure']}: {r['assumptions']}")
    print("Emission bases: 'hourly' = kWh x the hour's grid intensity; 'annual f.' = kWh x the "
          "annual location factor (what the marts report): load shifting only counts on the "
          "first. Payback = investment / monthly TOU energy-charge saving, undiscounted.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A planning instance from a plant's own data: what the warehouse and the home's planning files
hold, as plain frames (the orchestration layer reads them; nothing here touches a database).

- Orders: the newest order-book snapshot of the site; its open orders due before the horizon's
  end are planned (later ones are deferred and listed), in first-in-first-out order of
  `created_at` — the order the current (FIFO) plan follows. An order is one operation: its
  `process_step` limits it to the lines with equipment of that step.
- Lines, rates: every line that made the SKU in the last `history_days` of production, at its
  measured speed Σ good units / Σ batch hours.
- Energy per unit: measured per process step — the energy of the line's equipment of that step
  during the SKU's batches, pooled as Σ kWh / Σ good units (`models.labels.batch_step_energy`)
  — and summed over the line's steps.
- Changeovers: the median gap between consecutive batches of different SKUs on a line within a
  shift, per SKU pair (the overall median for pairs never seen), closed under the triangle
  inequality (a direct changeover never takes longer than going through a third SKU).
- Grid intensity per slot: an hourly forecast when one covers the horizon; otherwise the latest
  observed hourly location-based intensity of the same hour of the week (seasonal naive);
  otherwise the site's constant location factor, with which timing cannot change emissions.
- Tariff: the settings' time-of-use rules, else the latest bill's average price per kWh.
- Materials: the options of `materials.csv` per (SKU, operation); an operation without options
  has one, "no material choice". The low-carbon rule (>= 30 %) applies to the units whose
  material can be low-carbon: as a share of all planned units it is 0.3 x those units / all.
- Recent on-time delivery (the gamma rule's input): the share of orders shipped in the last
  `on_time_lookback_days` that shipped by their due time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from models.labels import batch_step_energy
from models.planning.plant_settings import PlanningSettings
from models.planning.problem import Line, MaterialOption, Order, PlanningInstance, ShiftCalendar
from models.planning.tariffs import FlatTariff, slot_tariff

NO_CHOICE = MaterialOption("no material choice", 0.0, 0.0, low_carbon=False)
UTC_US = pl.Datetime("us", "UTC")


class PlanningDataError(ValueError):
    """The plant's data cannot make a plan; the message says what is missing."""


@dataclass(frozen=True)
class PlantData:
    """Everything the builder reads, as frames (see `orchestration/defs/planning/inputs.py`).

    orders: the landing `orders` rows of the site (every snapshot).
    production: batch_id, line_id, sku, start_utc, end_utc, good_units, shift (UTC naive or aware).
    intervals: equipment_id, interval_start_utc, kwh — reconciled energy per equipment.
    equipment: equipment_id, line_id, process_step.
    observed_intensity: hour_utc, kg_per_kwh — hourly location-based factors (may be empty).
    forecast_intensity: hour_utc, kg_per_kwh — an hourly forecast, or None.
    constant_factor: (kg/kWh, factor id) of the site's annual/monthly location factor, or None.
    bill_price: (currency per kWh, bill id, currency) of the latest bill, or None.
    """

    site_id: str
    timezone: str
    orders: pl.DataFrame
    production: pl.DataFrame
    intervals: pl.DataFrame
    equipment: pl.DataFrame
    observed_intensity: pl.DataFrame
    settings: PlanningSettings
    materials: pl.DataFrame | None = None
    forecast_intensity: pl.DataFrame | None = None
    constant_factor: tuple[float, str] | None = None
    bill_price: tuple[float, str, str] | None = None
    settings_source: str = "defaults"


@dataclass(frozen=True)
class SitePlanInputs:
    """A built instance and what it was built from."""

    instance: PlanningInstance
    site_id: str
    as_of: datetime  # the order book's snapshot time
    jobs: pl.DataFrame  # order_id, sku, process_step, job (the instance's SKU key), quantity
    deferred: pl.DataFrame  # open orders not planned, with the reason
    capabilities: pl.DataFrame  # line_id, sku, process_step, units_per_hour, kwh_per_unit, ...
    changeovers: pl.DataFrame  # from_job, to_job, lines, measured, minutes
    recent_on_time: float | None
    sources: dict[str, str] = field(default_factory=dict)


def _naive_utc(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    exprs = []
    for c in columns:
        dtype = frame.schema[c]
        e = pl.col(c)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            e = e.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        exprs.append(e.cast(pl.Datetime("us")).alias(c))
    return frame.with_columns(exprs)


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


# --- the order book ---------------------------------------------------------------------------


def latest_snapshot(orders: pl.DataFrame) -> tuple[pl.DataFrame, datetime]:
    """The rows of the newest snapshot (an order listed twice in it: the row landed last)."""
    if orders.height == 0:
        raise PlanningDataError("no order book has landed for this site")
    orders = _naive_utc(orders, "snapshot_at", "due_ts", "created_at", "shipped_at")
    as_of = orders["snapshot_at"].max()
    book = orders.filter(pl.col("snapshot_at") == as_of)
    if "landed_at" in book.columns:
        book = book.sort("landed_at")
    book = book.unique("order_id", keep="last", maintain_order=True)
    return book, _aware(as_of)


def recent_on_time(book: pl.DataFrame, as_of: datetime, lookback_days: int) -> float | None:
    """Share of the orders shipped in the lookback window that shipped by their due time."""
    since = as_of.replace(tzinfo=None) - timedelta(days=lookback_days)
    shipped = book.filter(
        (pl.col("status") == "shipped")
        & pl.col("shipped_at").is_not_null()
        & (pl.col("shipped_at") >= since)
    )
    if shipped.height == 0:
        return None
    return float((shipped["shipped_at"] <= shipped["due_ts"]).mean())


# --- lines: rates, energy per unit per step, changeovers ------------------------------------


def line_steps(equipment: pl.DataFrame) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in equipment.drop_nulls("line_id").iter_rows(named=True):
        out.setdefault(row["line_id"], set()).add(row["process_step"])
    return out


def measured_rates(production: pl.DataFrame) -> pl.DataFrame:
    """line_id, sku, units_per_hour (Σ good / Σ hours), batches, hours."""
    hours = (pl.col("end_utc") - pl.col("start_utc")).dt.total_seconds() / 3600.0
    return (
        production.filter(pl.col("end_utc") > pl.col("start_utc"))
        .group_by("line_id", "sku")
        .agg(
            pl.col("good_units").sum().cast(pl.Float64).alias("good_units"),
            hours.sum().alias("hours"),
            pl.len().alias("batches"),
        )
        .filter(pl.col("good_units") > 0)
        .with_columns((pl.col("good_units") / pl.col("hours")).alias("units_per_hour"))
        .sort("line_id", "sku")
    )


def step_energy(
    intervals: pl.DataFrame, equipment: pl.DataFrame, production: pl.DataFrame
) -> pl.DataFrame:
    """line_id, sku, process_step, kwh_per_unit (Σ kWh / Σ good units over the SKU's batches),
    batches."""
    steps = batch_step_energy(intervals, equipment, production)
    return (
        steps.group_by("line_id", "sku", "process_step")
        .agg(
            (pl.col("kwh").sum() / pl.col("good_units").sum()).alias("kwh_per_unit"),
            pl.len().alias("batches"),
        )
        .sort("line_id", "sku", "process_step")
    )


def changeover_gaps(production: pl.DataFrame) -> pl.DataFrame:
    """line_id, from_sku, to_sku, minutes: every gap between consecutive batches of different
    SKUs on a line within one shift (a gap across shifts or a stop is no changeover)."""
    ordered = production.sort("line_id", "start_utc").with_columns(
        pl.col("sku").shift(1).over("line_id").alias("from_sku"),
        pl.col("end_utc").shift(1).over("line_id").alias("prev_end"),
        pl.col("shift").shift(1).over("line_id").alias("prev_shift"),
    )
    return ordered.filter(
        pl.col("from_sku").is_not_null()
        & (pl.col("from_sku") != pl.col("sku"))
        & (pl.col("prev_shift") == pl.col("shift"))
        & ((pl.col("start_utc") - pl.col("prev_end")) < pl.duration(hours=8))
    ).select(
        "line_id",
        "from_sku",
        pl.col("sku").alias("to_sku"),
        ((pl.col("start_utc") - pl.col("prev_end")).dt.total_seconds() / 60.0).alias("minutes"),
    )


def job_changeovers(
    gaps: pl.DataFrame, lines_of: dict[str, list[str]]
) -> tuple[dict[tuple[str, str], float], pl.DataFrame]:
    """Minutes between every ordered pair of jobs (SKU keys of the instance) that share a line:
    the median gap of that SKU pair on their common lines, else the median of all SKU changes
    on those lines, else of all lines (0 when the history shows none); 0 between two operations
    of the same SKU. Pairs without a common
    line never meet and get a value too long to shorten any other pair; then the matrix is
    closed under the triangle inequality (Floyd-Warshall) that the exact check relies on.
    Returns the map and the table of pairs that share a line."""
    everywhere = float(gaps["minutes"].median()) if gaps.height else 0.0
    jobs = sorted(lines_of)
    never = 10.0 * (float(gaps["minutes"].max()) if gaps.height else 0.0) + 1440.0
    n = len(jobs)
    d = np.zeros((n, n))
    rows = []
    for i, a in enumerate(jobs):
        for j, b in enumerate(jobs):
            if i == j:
                continue
            common = sorted(set(lines_of[a]) & set(lines_of[b]))
            if not common:
                d[i, j] = never
                continue
            on_lines = gaps.filter(pl.col("line_id").is_in(common))
            sku_a, sku_b = a.split("@")[0], b.split("@")[0]
            pair = on_lines.filter((pl.col("from_sku") == sku_a) & (pl.col("to_sku") == sku_b))
            if sku_a == sku_b:  # two operations of one SKU: nothing to change over
                d[i, j], how = 0.0, "same SKU"
            elif pair.height:
                d[i, j], how = float(pair["minutes"].median()), f"{pair.height} changes"
            elif on_lines.height:
                d[i, j], how = float(on_lines["minutes"].median()), "lines' median"
            else:
                d[i, j], how = everywhere, "site median"
            rows.append({"from_job": a, "to_job": b, "lines": ", ".join(common), "measured": how})
    for k in range(n):
        d = np.minimum(d, d[:, [k]] + d[[k], :])
    index = {job: i for i, job in enumerate(jobs)}
    table = pl.DataFrame(
        [{**r, "minutes": float(d[index[r["from_job"]], index[r["to_job"]]])} for r in rows],
        schema={
            "from_job": pl.String,
            "to_job": pl.String,
            "lines": pl.String,
            "measured": pl.String,
            "minutes": pl.Float64,
        },
    )
    return {
        (a, b): float(d[i, j]) for i, a in enumerate(jobs) for j, b in enumerate(jobs) if i != j
    }, table


# --- grid intensity ---------------------------------------------------------------------------


def slot_hours(start: datetime, n_slots: int, slot_minutes: int) -> list[datetime]:
    """UTC hour (naive) each slot starts in."""
    base = _aware(start).replace(tzinfo=None)
    return [
        (base + timedelta(minutes=slot_minutes * i)).replace(minute=0, second=0, microsecond=0)
        for i in range(n_slots)
    ]


def seasonal_naive(
    hourly: pl.DataFrame, start: datetime, n_slots: int, slot_minutes: int
) -> tuple[np.ndarray, str]:
    """kg/kWh per slot: the latest observation of the same hour of the week (of the day when
    less than a week was observed); the hour itself when it was observed."""
    hourly = _naive_utc(hourly, "hour_utc").drop_nulls().sort("hour_utc")
    lookup = dict(zip(hourly["hour_utc"].to_list(), hourly["kg_per_kwh"].to_list(), strict=True))
    first, last = hourly["hour_utc"][0], hourly["hour_utc"][-1]
    period = timedelta(days=7) if last - first >= timedelta(days=7, hours=-1) else timedelta(days=1)
    out = np.empty(n_slots)
    for i, hour in enumerate(slot_hours(start, n_slots, slot_minutes)):
        k = max(0, math.ceil((hour - last) / period))
        value = lookup.get(hour - k * period)
        while value is None and hour - k * period >= first:
            k += 1
            value = lookup.get(hour - k * period)
        if value is None:
            raise PlanningDataError(f"no observed grid intensity for the hour of {hour} UTC")
        out[i] = value
    label = "week" if period.days == 7 else "day"
    return out, (
        f"observed hourly intensity {first:%Y-%m-%d} … {last:%Y-%m-%d %H:00} UTC, same hour of "
        f"the {label} (seasonal naive)"
    )


def horizon_intensity(
    data: PlantData, start: datetime, n_slots: int, slot_minutes: int
) -> tuple[np.ndarray, str]:
    """kg/kWh per slot: the forecast for the hours it covers, the seasonal-naive projection of
    the observed hourly intensity for the rest, or the constant factor without hourly data."""
    forecast: dict[datetime, float] = {}
    if data.forecast_intensity is not None and data.forecast_intensity.height:
        hourly = _naive_utc(data.forecast_intensity, "hour_utc").drop_nulls()
        forecast = dict(
            zip(hourly["hour_utc"].to_list(), hourly["kg_per_kwh"].to_list(), strict=True)
        )
    hours = slot_hours(start, n_slots, slot_minutes)
    from_forecast = np.array([h in forecast for h in hours])
    if from_forecast.all():
        return np.array([forecast[h] for h in hours]), "hourly grid-intensity forecast"
    if data.observed_intensity.height:
        values, source = seasonal_naive(data.observed_intensity, start, n_slots, slot_minutes)
        if from_forecast.any():
            values[from_forecast] = [
                forecast[h] for h, f in zip(hours, from_forecast, strict=True) if f
            ]
            source = (
                f"hourly grid-intensity forecast for {from_forecast.mean():.0%} of the horizon, "
                f"then {source}"
            )
        return values, source
    if data.constant_factor is not None:
        value, factor_id = data.constant_factor
        return np.full(n_slots, value), (
            f"constant location factor {factor_id} ({value:.4f} kg/kWh): no hourly intensity, "
            "so timing cannot change emissions"
        )
    raise PlanningDataError(
        "no grid intensity for the site: land an hourly or annual location factor first"
    )


# --- the instance -----------------------------------------------------------------------------


def _slot_ceil(t: datetime, slot_minutes: int) -> datetime:
    t = _aware(t)
    step = slot_minutes * 60
    seconds = math.ceil(t.timestamp() / step) * step
    return datetime.fromtimestamp(seconds, tz=UTC)


def _job_key(sku: str, step: str | None) -> str:
    return sku if step is None else f"{sku}@{step}"


def build_site_instance(data: PlantData, horizon_days: float | None = None) -> SitePlanInputs:
    settings = data.settings
    horizon_days = horizon_days or settings.horizon_days
    slot = settings.slot_minutes
    book, as_of = latest_snapshot(data.orders)
    start = _slot_ceil(as_of, slot)
    n_slots = int(round(horizon_days * 24 * 60 / slot))
    end = start + timedelta(minutes=slot * n_slots)

    since = as_of.replace(tzinfo=None) - timedelta(days=settings.history_days)
    production = _naive_utc(data.production, "start_utc", "end_utc").filter(
        (pl.col("start_utc") >= since) & (pl.col("start_utc") < as_of.replace(tzinfo=None))
    )
    if production.height == 0:
        raise PlanningDataError(
            f"no production batches in the {settings.history_days} days before {as_of:%Y-%m-%d}: "
            "rates and energy per unit are measured from them"
        )
    rates = measured_rates(production)
    energy = step_energy(data.intervals, data.equipment, production)
    per_line = energy.group_by("line_id", "sku").agg(pl.col("kwh_per_unit").sum().alias("kwh"))
    kwh_of = {(r["sku"], r["line_id"]): r["kwh"] for r in per_line.iter_rows(named=True)}
    steps_of_line = line_steps(data.equipment)

    open_orders = book.filter(pl.col("status") == "open").sort("created_at", "order_id")
    jobs, deferred = [], []
    capable: dict[str, list[tuple[str, float]]] = {}
    for row in open_orders.iter_rows(named=True):
        step = row["process_step"]
        if row["quantity"] is None or row["quantity"] <= 0:
            deferred.append({**row, "reason": "quantity is not positive"})
            continue
        if row["due_ts"] > end.replace(tzinfo=None):
            deferred.append({**row, "reason": "due after the horizon"})
            continue
        lines = [
            (r["line_id"], r["units_per_hour"])
            for r in rates.filter(pl.col("sku") == row["sku"]).iter_rows(named=True)
            if (step is None or step in steps_of_line.get(r["line_id"], set()))
            and (row["sku"], r["line_id"]) in kwh_of
        ]
        if not lines:
            where = f" with {step} equipment" if step else ""
            deferred.append(
                {**row, "reason": f"no line{where} made {row['sku']} in the history window"}
            )
            continue
        job = _job_key(row["sku"], step)
        capable[job] = lines
        jobs.append(
            {
                "order_id": row["order_id"],
                "sku": row["sku"],
                "process_step": step,
                "job": job,
                "quantity": int(row["quantity"]),
                "due_ts": row["due_ts"],
                "priority": float(row["priority"]) if row["priority"] is not None else 1.0,
                "created_at": row["created_at"],
            }
        )
    if not jobs:
        raise PlanningDataError(
            f"no open order of the {as_of:%Y-%m-%d %H:%M} UTC order book can be planned in the "
            f"{horizon_days:g}-day horizon ({len(deferred)} deferred)"
        )

    check_capacity(jobs, capable, horizon_days * 24)
    rate_map = {(job, line): rate for job, lines in capable.items() for line, rate in lines}
    kwh_map = {
        (job, line): kwh_of[(job.split("@")[0], line)]
        for job, lines in capable.items()
        for line, _ in lines
    }
    materials, low_share, material_source = _materials(data.materials, jobs, settings)

    gaps = changeover_gaps(production)
    changeovers, changeover_table = job_changeovers(
        gaps, {job: [line for line, _ in lines] for job, lines in capable.items()}
    )

    intensity, intensity_source = horizon_intensity(data, start, n_slots, slot)
    tariff, tariff_source, currency = _tariff(data, settings)
    calendar = ShiftCalendar(
        timezone=data.timezone,
        shifts=settings.shift_tuples(),
        night_shift=settings.night_shift,
        night_share_bounds=tuple(settings.night_share_bounds),
    )
    unavailable: dict[str, list[tuple[datetime, datetime]]] = {}
    for m in settings.maintenance:
        unavailable.setdefault(m.line_id, []).append((_aware(m.start), _aware(m.end)))
    line_ids = sorted({line for lines in capable.values() for line, _ in lines})
    instance = PlanningInstance(
        orders=tuple(
            Order(j["order_id"], j["job"], j["quantity"], _aware(j["due_ts"]), j["priority"])
            for j in jobs
        ),
        lines=tuple(Line(lid, tuple(unavailable.get(lid, ()))) for lid in line_ids),
        rates=rate_map,
        kwh_per_unit=kwh_map,
        materials=materials,
        start=start,
        n_slots=n_slots,
        intensity=intensity,
        tariff=slot_tariff(start, n_slots, slot, data.timezone, tariff),
        slot_minutes=slot,
        calendar=calendar,
        changeover_minutes=changeovers,
        low_carbon_min_share=low_share,
        currency=currency,
        name=f"{data.site_id} from {start:%Y-%m-%d %H:%M} UTC, {horizon_days:g} days",
    )
    capabilities = energy.join(
        rates.select("line_id", "sku", "units_per_hour", pl.col("batches").alias("rate_batches")),
        on=["line_id", "sku"],
        how="inner",
    ).select("line_id", "sku", "process_step", "kwh_per_unit", "batches", "units_per_hour")
    deferred_frame = (
        pl.DataFrame(deferred).select(
            "order_id", "sku", "process_step", "quantity", "due_ts", "reason"
        )
        if deferred
        else pl.DataFrame(
            schema={
                "order_id": pl.String,
                "sku": pl.String,
                "process_step": pl.String,
                "quantity": pl.Int64,
                "due_ts": pl.Datetime("us"),
                "reason": pl.String,
            }
        )
    )
    return SitePlanInputs(
        instance=instance,
        site_id=data.site_id,
        as_of=as_of,
        jobs=pl.DataFrame(jobs),
        deferred=deferred_frame,
        capabilities=capabilities,
        changeovers=changeover_table,
        recent_on_time=recent_on_time(book, as_of, settings.on_time_lookback_days),
        sources={
            "settings": data.settings_source,
            "orders": f"order book as of {as_of:%Y-%m-%d %H:%M} UTC: {len(jobs)} planned, "
            f"{len(deferred)} deferred",
            "history": f"{production.height} batches {since:%Y-%m-%d} … {as_of:%Y-%m-%d}",
            "intensity": intensity_source,
            "tariff": tariff_source,
            "materials": material_source,
            "changeovers": f"{gaps.height} SKU changes in the history, median "
            f"{(gaps['minutes'].median() or 0) if gaps.height else 0:g} min",
        },
    )


def check_capacity(
    jobs: list[dict], capable: dict[str, list[tuple[str, float]]], horizon_hours: float
) -> None:
    """A clear error instead of "no feasible plan" when the book cannot fit: the orders that
    can only run on a set of lines need, at their fastest line, no more hours than those lines
    have in the horizon (a necessary condition, checked for every set that occurs)."""
    need: dict[frozenset[str], float] = {}
    for j in jobs:
        lines = capable[j["job"]]
        key = frozenset(line for line, _ in lines)
        need[key] = need.get(key, 0.0) + j["quantity"] / max(rate for _, rate in lines)
    for lines in need:
        hours = sum(h for key, h in need.items() if key <= lines)
        available = len(lines) * horizon_hours
        if hours > available:
            raise PlanningDataError(
                f"the open orders need {hours:,.0f} h on {', '.join(sorted(lines))} but the "
                f"horizon has {available:,.0f} h there: plan a longer horizon or fewer orders"
            )


def _materials(
    frame: pl.DataFrame | None, jobs: list[dict], settings: PlanningSettings
) -> tuple[dict[str, tuple[MaterialOption, ...]], float, str]:
    options: dict[str, tuple[MaterialOption, ...]] = {}
    for j in jobs:
        if j["job"] in options:
            continue
        rows = []
        if frame is not None:
            step = j["process_step"]
            rows = frame.filter(
                (pl.col("sku") == j["sku"])
                & (
                    pl.col("process_step").is_null()
                    if step is None
                    else pl.col("process_step") == step
                )
            ).iter_rows(named=True)
        found = tuple(
            MaterialOption(
                r["material"], r["kg_co2e_per_unit"], r["cost_per_unit"], r["low_carbon"]
            )
            for r in rows
        )
        options[j["job"]] = found or (NO_CHOICE,)
    total = sum(j["quantity"] for j in jobs)
    can_be_low = sum(j["quantity"] for j in jobs if any(m.low_carbon for m in options[j["job"]]))
    share = settings.low_carbon_min_share * can_be_low / total if total else 0.0
    if frame is None:
        source = "no planning/materials.csv: no material choice, no low-carbon rule"
    else:
        source = (
            f"planning/materials.csv; low-carbon >= {settings.low_carbon_min_share:.0%} of the "
            f"{can_be_low:,} units that can be (= {share:.1%} of all {total:,})"
        )
    return options, share, source


def _tariff(data: PlantData, settings: PlanningSettings):
    if settings.tariff is not None:
        return (
            settings.tariff.build(),
            f"time-of-use rules from planning/settings.json ({settings.tariff.name or 'unnamed'})",
            settings.currency or (data.bill_price[2] if data.bill_price else "currency"),
        )
    if data.bill_price is not None:
        price, bill_id, currency = data.bill_price
        return (
            FlatTariff(price, f"bill {bill_id}"),
            f"flat {price:.4f} {currency}/kWh, the average of bill {bill_id} (no time-of-use "
            "tariff in planning/settings.json)",
            settings.currency or currency,
        )
    raise PlanningDataError(
        "no tariff: add a time-of-use tariff to planning/settings.json or land a bill"
    )

"""A hand-made plant for the quality tests (imported by the other test_quality_* modules).

Site S1 (UTC), one day of 96 intervals from T0 = 2026-03-02 00:00 (naive UTC, as the warehouse
stores it). Meter tree and the true energy per interval k:

    M-G  utility, interval kWh                         = P + C + 0.2 (unmetered lighting EQ-L)
    ├─ M-P  line L1, interval kWh                      = A + B + 0.25 (unmetered conveyor EQ-U)
    │  ├─ M-A  EQ-A (L1, 8 kW), counter kWh, rollover 1000, starts at 100:
    │  │       A = 1.0 while batch B1 runs (k 8..23), 0.5 otherwise
    │  └─ M-B  EQ-B (L1, 4 kW), interval kWh: B = 0.5 + 0.01·(k mod 3)
    └─ M-C  EQ-C (no line, 12 kW), power kW: 2.0 + 0.1·(k mod 2) kW → C = kW / 4

Capacities (nameplate × 0.25 h × 1.1): M-A 2.2 kWh, M-B 1.1 kWh, M-C 3.3 kWh.
Readings are staged (stg_landing__readings shape); each is received 15 min 10 s after its ts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

T0 = datetime(2026, 3, 2)
STEP = timedelta(minutes=15)
SITE = "S1"


def t(k: float) -> datetime:
    return T0 + k * STEP


def a_kwh(k: int, batches=((8, 24),)) -> float:
    return 1.0 if any(a <= k < b for a, b in batches) else 0.5


def b_kwh(k: int) -> float:
    return 0.5 + 0.01 * (k % 3)


def c_kw(k: int) -> float:
    return 2.0 + 0.1 * (k % 2)


def meters() -> pl.DataFrame:
    rows = [
        ("M-G", None, "utility", "site", SITE, "interval_kwh", "kWh", None),
        ("M-P", "M-G", "sub", "line", "L1", "interval_kwh", "kWh", None),
        ("M-A", "M-P", "equipment", "equipment", "EQ-A", "counter_kwh", "kWh", 1000.0),
        ("M-B", "M-P", "equipment", "equipment", "EQ-B", "interval_kwh", "kWh", None),
        ("M-C", "M-G", "equipment", "equipment", "EQ-C", "power_kw", "kW", None),
    ]
    return pl.DataFrame(
        [{"meter_id": m, "site_id": SITE, "parent_meter_id": p, "meter_kind": kind,
          "measures_kind": mk, "measures_id": mid, "register": reg, "unit": unit,
          "multiplier": 1.0, "rollover_value": ro, "interval_minutes": 15,
          "installed_at_utc": datetime(2025, 1, 1), "removed_at_utc": None}
         for m, p, kind, mk, mid, reg, unit, ro in rows],
        schema_overrides={"removed_at_utc": pl.Datetime("us"),
                          "installed_at_utc": pl.Datetime("us"), "rollover_value": pl.Float64},
    )


def equipment() -> pl.DataFrame:
    rows = [
        ("EQ-A", "L1", "press", 8.0, True, "M-A", 0.25, 0.5),
        ("EQ-B", "L1", "oven", 4.0, True, "M-B", 0.5, 0.5),
        ("EQ-U", "L1", "conveyor", 2.0, False, "M-P", 0.125, 0.125),
        ("EQ-C", None, "compressed_air", 12.0, True, "M-C", 0.15, 0.2),
        ("EQ-L", None, "lighting", 2.0, False, "M-G", 0.4, 0.4),
    ]
    return pl.DataFrame(
        [{"equipment_id": e, "site_id": SITE, "line_id": line, "process_step": step,
          "nameplate_kw": kw, "is_metered": metered, "supply_meter_id": supply,
          "idle_load_fraction": idle, "running_load_fraction": run}
         for e, line, step, kw, metered, supply, idle, run in rows],
        schema_overrides={"line_id": pl.String},
    )


def production(batches=(("B1", 8, 24, 400),)) -> pl.DataFrame:
    return pl.DataFrame(
        [{"batch_id": b, "site_id": SITE, "line_id": "L1", "sku": "X", "start_utc": t(a),
          "end_utc": t(e), "good_units": units, "scrap_units": 0, "shift": "A"}
         for b, a, e, units in batches],
        schema_overrides={"start_utc": pl.Datetime("us"), "end_utc": pl.Datetime("us")},
    )


def sites() -> pl.DataFrame:
    return pl.DataFrame({"site_id": [SITE], "timezone": ["UTC"]})


def truth(n: int = 96, batches=((8, 24),)) -> pl.DataFrame:
    rows = []
    for k in range(n):
        a, b, c = a_kwh(k, batches), b_kwh(k), c_kw(k) / 4
        p = a + b + 0.25
        for m, v in (("M-A", a), ("M-B", b), ("M-C", c), ("M-P", p), ("M-G", p + c + 0.2)):
            rows.append({"meter_id": m, "interval_start_utc": t(k), "kwh": v})
    return pl.DataFrame(rows)


def reading(meter: str, k: float, value: float, register: str, unit: str = "kWh",
            raw_id: str | None = None, received: datetime | None = None) -> dict:
    ts = t(k)
    return {"raw_id": raw_id or f"{meter}|{ts:%Y-%m-%dT%H:%M}", "meter_id": meter,
            "site_id": SITE, "ts_utc": ts, "register": register, "raw_value": value,
            "unit": unit, "value": value, "quality": "good",
            "received_at_utc": received or ts + STEP + timedelta(seconds=10)}


def readings(n: int = 96, batches=((8, 24),), counter_start: float = 100.0,
             rollover: float | None = None) -> pl.DataFrame:
    rows = []
    cum = counter_start
    for k in range(n + 1):
        shown = cum % rollover if rollover else cum
        rows.append(reading("M-A", k, round(shown, 6), "counter_kwh"))
        if k < n:
            cum += a_kwh(k, batches)
            a, b, c = a_kwh(k, batches), b_kwh(k), c_kw(k)
            p = a + b + 0.25
            rows.append(reading("M-B", k, b, "interval_kwh"))
            rows.append(reading("M-C", k, c, "power_kw", unit="kW"))
            rows.append(reading("M-P", k, p, "interval_kwh"))
            rows.append(reading("M-G", k, p + c / 4 + 0.2, "interval_kwh"))
    return frame(rows)


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={
        "raw_id": pl.String, "meter_id": pl.String, "site_id": pl.String,
        "ts_utc": pl.Datetime("us"), "register": pl.String, "raw_value": pl.Float64,
        "unit": pl.String, "value": pl.Float64, "quality": pl.String,
        "received_at_utc": pl.Datetime("us")})


def set_value(r: pl.DataFrame, meter: str, k: float, value: float) -> pl.DataFrame:
    hit = (pl.col("meter_id") == meter) & (pl.col("ts_utc") == t(k))
    return r.with_columns(
        pl.when(hit).then(pl.lit(value)).otherwise(pl.col("value")).alias("value"),
        pl.when(hit).then(pl.lit(value)).otherwise(pl.col("raw_value")).alias("raw_value"))


def drop(r: pl.DataFrame, meter: str, ks) -> pl.DataFrame:
    return r.filter(~((pl.col("meter_id") == meter) & pl.col("ts_utc").is_in([t(k) for k in ks])))


def test_the_plant_balances() -> None:
    tr = truth()
    wide = tr.pivot(on="meter_id", index="interval_start_utc", values="kwh")
    assert ((wide["M-P"] - wide["M-A"] - wide["M-B"] - 0.25).abs() < 1e-12).all()
    assert ((wide["M-G"] - wide["M-P"] - wide["M-C"] - 0.2).abs() < 1e-12).all()
    r = readings()
    assert r.height == 97 + 4 * 96
    assert r.filter(pl.col("meter_id") == "M-A")["value"][-1] == 100 + 16 * 1.0 + 80 * 0.5

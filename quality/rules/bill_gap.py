"""Bill gap: the utility bill against the sum of the site's root meters over the bill period.

residual = (bill kWh − metered kWh) / bill kWh over the bill's period (site-local dates, both
inclusive, turned into UTC with the site's time zone). The residual must sit inside the site's
expected band — `bands` (site_id, band_low, band_high as fractions), default ±`default_band`
(2 %): a utility meter reads within a fraction of a percent of the revenue meter, so a larger
gap means missing or wrong readings, an unmetered feed, or a billing error. The metered side is
the root meters of the tree (meter_kind utility, or no parent). Interval coverage of the period
is in the details (a meter missing a day shows up as coverage < 1, and usually as the gap).
Run it on corrected intervals.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from quality.rules.common import anomalies, empty_anomalies, normalize

RULE = "bill_gap"


def detect_bill_gaps(bills: pl.DataFrame, intervals: pl.DataFrame, meters: pl.DataFrame,
                     sites: pl.DataFrame, *, bands: pl.DataFrame | None = None,
                     default_band: float = 0.02, interval_minutes: int = 15) -> pl.DataFrame:
    b = normalize(bills)
    m = normalize(meters)
    tz = dict(zip(normalize(sites)["site_id"], normalize(sites)["timezone"], strict=True))
    roots = m.filter(pl.col("parent_meter_id").is_null() | (pl.col("meter_kind") == "utility"))
    mi = normalize(intervals).join(roots.select("meter_id"), on="meter_id")
    rows = []
    for bill in b.iter_rows(named=True):
        zone = tz.get(bill["site_id"], "UTC")
        start = _local_midnight_utc(bill["period_start"], zone)
        end = _local_midnight_utc(bill["period_end"] + timedelta(days=1), zone)
        part = mi.filter((pl.col("site_id") == bill["site_id"])
                         & (pl.col("interval_start_utc") >= start)
                         & (pl.col("interval_start_utc") < end))
        expected = int((end - start) / timedelta(minutes=interval_minutes)) * max(
            roots.filter(pl.col("site_id") == bill["site_id"]).height, 1)
        metered = float(part["kwh"].sum()) if part.height else 0.0
        rows.append({**bill, "start": start, "end": end, "metered_kwh": metered,
                     "coverage": part.height / expected if expected else 0.0})
    if not rows:
        return empty_anomalies()
    frame = pl.DataFrame(rows).with_columns(
        ((pl.col("kwh") - pl.col("metered_kwh")) / pl.col("kwh")).alias("residual"))
    if bands is not None:
        frame = frame.join(normalize(bands), on="site_id", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("band_low"),
                                   pl.lit(None, pl.Float64).alias("band_high"))
    frame = frame.with_columns(
        pl.col("band_low").fill_null(-default_band), pl.col("band_high").fill_null(default_band))
    out = frame.filter((pl.col("residual") < pl.col("band_low"))
                       | (pl.col("residual") > pl.col("band_high")))
    return anomalies(out.select(
        pl.lit(RULE).alias("rule"), pl.lit("outside_band").alias("check"),
        pl.lit("warning").alias("severity"), "site_id",
        pl.lit("bill").alias("subject_kind"), pl.col("bill_id").alias("subject_id"),
        pl.col("start").alias("window_start_utc"), pl.col("end").alias("window_end_utc"),
        pl.col("end").alias("detected_at_utc"),
        pl.col("residual").alias("observed"), pl.lit(0.0).alias("expected"),
        pl.lit("share").alias("unit"),
        pl.format("bill {}: {} kWh billed vs {} kWh metered ({}%), outside the band [{}%, {}%]",
                  "bill_id", "kwh", pl.col("metered_kwh").round(1),
                  (pl.col("residual") * 100).round(2), (pl.col("band_low") * 100).round(2),
                  (pl.col("band_high") * 100).round(2)).alias("message"),
        pl.struct("kwh", "metered_kwh", "coverage", "band_low", "band_high")
        .struct.json_encode().alias("details"),
    ))


def _local_midnight_utc(day, zone: str):
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(
        tzinfo=None)

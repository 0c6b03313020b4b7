"""GHG Protocol Scope 2 dual reporting: location-based and market-based, side by side.

Location-based: every kWh × the grid-average factor of the site's grid region, at the
granularity the site reports with (annual / monthly / hourly), valid at the interval start.

Market-based (Scope 2 Guidance ch. 6–7, Table 6.3 quality order), per consumption interval:

1. **instruments** — certificates, PPAs, green tariffs (`instruments.TIER` 1) — cover kWh only
   where *all* of these match: the instrument's site, its market (= the site's market; a GO
   for FR never covers a GB site), its period (the interval starts inside
   [period_start, period_end)), and it is retired/cancelled for the consumer. Their volume is
   spread over the uncovered kWh of their period *pro rata* (each interval gets the same
   share), never beyond the consumption: a surplus is reported as unused, not banked.
   Hour-stamped instruments go first, then by period_start, then id.
2. **supplier-specific** rates (tier 2) — same matching; without a volume they cover all
   still-uncovered kWh of their period.
3. **residual mix** of the site's market (factors with method ``residual_mix``; finest
   granularity available: hourly, then monthly, then annual).
4. Where no residual mix is published: the **location-based factor**, and the interval is
   flagged (``residual_mix_missing``) — the Guidance allows it but it must be disclosed.

A kWh with no factor at all gets no figure (null kg, flag ``no_*_factor``) — never a silent 0.

Hourly matching (``matching="hourly"``): instruments of tier 1 count only in the hour they
are stamped with — an instrument whose period is longer than an hour is not applied (listed
with the reason) — so a certificate's surplus in one hour cannot cover a deficit in another.
Consumption must then come in intervals of an hour or less. Supplier-specific rates are rates,
not attribute volumes, and apply in both modes.

Factors are rows of the landing contract (`SCHEMAS["factors"]`, values as published); they
are converted with `ingestion.factors.units`. Only CO2e (or, failing that, CO2-only)
electricity factors are used; among those covering an instant the finer granularity, then CO2e
before CO2, then the latest published, then the highest version wins. ``as_of`` keeps only
factors published by then (the figure "as reported on" that date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl

from ingestion.factors.units import with_base_values
from ingestion.landing.schemas import UTC_TS
from models.scope2.instruments import TIER, prepare_instruments

Matching = Literal["annual", "hourly"]
GRANULARITY_ORDER = ("hourly", "monthly", "annual")  # finest first

FLAG_RESIDUAL_MISSING = "residual_mix_missing: location factor used"
FLAG_NO_MARKET = "no_market_factor"
FLAG_NO_LOCATION = "no_location_factor"

CONSUMPTION_REQUIRED = ("site_id", "interval_start", "interval_end", "kwh", "grid_region")


@dataclass(frozen=True)
class DualResult:
    """`intervals`: one row per consumption interval with both methods; `allocations`: which
    instrument covered how many kWh of which interval; `instruments`: per instrument, volume,
    applied and unused kWh, status and the reason when not (fully) applied."""

    intervals: pl.DataFrame
    allocations: pl.DataFrame
    instruments: pl.DataFrame
    matching: Matching

    def totals(self, by: tuple[str, ...] = ("site_id",)) -> pl.DataFrame:
        """Sums per `by`: kWh, location- and market-based kg and t CO2e, kWh per market tier.
        A group with any interval lacking a factor gets a null figure for that method."""
        sums = [
            pl.col(c).sum()
            for c in (
                "kwh",
                "kwh_instrument",
                "kwh_supplier",
                "kwh_residual",
                "kwh_location_fallback",
                "kwh_no_market_factor",
            )
        ]
        out = self.intervals.group_by(list(by), maintain_order=True).agg(
            *sums,
            pl.when(pl.col("location_kg").is_null().any())
            .then(None)
            .otherwise(pl.col("location_kg").sum())
            .alias("location_kg"),
            pl.when(pl.col("market_kg").is_null().any())
            .then(None)
            .otherwise(pl.col("market_kg").sum())
            .alias("market_kg"),
            pl.col("flags")
            .drop_nulls()
            .str.split("; ")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .alias("flags"),
        )
        return out.with_columns(
            (pl.col("location_kg") / 1000).alias("location_t"),
            (pl.col("market_kg") / 1000).alias("market_t"),
        )


def _prepare_factors(factors: pl.DataFrame, as_of: datetime | None) -> pl.DataFrame:
    frame = factors.filter(
        (pl.col("energy_carrier") == "electricity")
        & (pl.col("gas").is_null() | pl.col("gas").is_in(["CO2e", "CO2"]))
    )
    if as_of is not None:
        frame = frame.filter(pl.col("published_at") <= as_of)
    frame = with_base_values(frame).filter(pl.col("base_unit").is_in(["kgCO2e/kWh", "kgCO2/kWh"]))
    return frame.with_columns(
        pl.col("value_base").alias("kg_per_kwh"),
        pl.when(pl.col("gas").fill_null("CO2e") == "CO2e").then(0).otherwise(1).alias("__gas_rank"),
        pl.col("granularity")
        .replace_strict(
            {g: i for i, g in enumerate(GRANULARITY_ORDER)}, default=9, return_dtype=pl.Int32
        )
        .alias("__gran_rank"),
    )


def _lookup(
    cons: pl.DataFrame,
    factors: pl.DataFrame,
    method: str,
    region_col: str,
    granularity_col: str | None,
) -> pl.DataFrame:
    """Best factor per consumption row (`__i`) of `method` in the row's region, valid at the
    interval start; columns: __i, factor_id, version, kg_per_kwh, gas, granularity."""
    out_schema = {
        "__i": pl.Int64,
        "factor_id": pl.String,
        "version": pl.String,
        "kg_per_kwh": pl.Float64,
        "gas": pl.String,
        "granularity": pl.String,
    }
    candidates = factors.filter(pl.col("method") == method)
    if candidates.height == 0 or cons.height == 0:
        return pl.DataFrame(schema=out_schema)
    left = cons.select(
        "__i",
        pl.col(region_col).alias("__region"),
        "interval_start",
        *([pl.col(granularity_col).alias("__want")] if granularity_col else []),
    ).sort("interval_start")
    matches = []
    group_keys = ["factor_id", "version", "gas", "granularity"]
    for _, group in candidates.group_by(group_keys, maintain_order=True):
        right = group.select(
            pl.col("region").alias("__region"),
            "valid_from",
            "valid_to",
            "factor_id",
            "version",
            "kg_per_kwh",
            "gas",
            "granularity",
            "published_at",
            "__gas_rank",
            "__gran_rank",
        ).sort("valid_from")
        joined = left.join_asof(
            right,
            left_on="interval_start",
            right_on="valid_from",
            by="__region",
            strategy="backward",
            check_sortedness=False,
        ).filter(pl.col("valid_to").is_not_null() & (pl.col("interval_start") < pl.col("valid_to")))
        if granularity_col:
            joined = joined.filter(pl.col("granularity") == pl.col("__want"))
        matches.append(joined)
    found = pl.concat(matches, how="vertical_relaxed")
    best = found.sort(
        ["__i", "__gran_rank", "__gas_rank", "published_at", "version", "factor_id"],
        descending=[False, False, False, True, True, False],
        nulls_last=True,
    ).unique("__i", keep="first", maintain_order=True)
    return best.select(list(out_schema)).cast(out_schema)


def _prepare_consumption(
    consumption: pl.DataFrame, location_granularity: str, matching: Matching
) -> pl.DataFrame:
    missing = [c for c in CONSUMPTION_REQUIRED if c not in consumption.columns]
    if missing:
        raise ValueError(f"consumption: missing column(s) {', '.join(missing)}")
    frame = consumption.with_columns(
        pl.col("interval_start").cast(UTC_TS),
        pl.col("interval_end").cast(UTC_TS),
        pl.col("kwh").cast(pl.Float64),
        (pl.col("market") if "market" in consumption.columns else pl.col("grid_region"))
        .fill_null(pl.col("grid_region"))
        .alias("market"),
        (
            pl.col("location_granularity")
            if "location_granularity" in consumption.columns
            else pl.lit(location_granularity)
        )
        .fill_null(location_granularity)
        .alias("location_granularity"),
    ).sort(["site_id", "interval_start"])
    problems = []
    if frame.filter(pl.col("kwh").is_null() | (pl.col("kwh") < 0)).height:
        problems.append("kwh must be a number >= 0 in every row")
    if frame.filter(pl.col("interval_end") <= pl.col("interval_start")).height:
        problems.append("interval_end must be after interval_start")
    if frame.select(pl.struct("site_id", "interval_start").is_duplicated().any()).item():
        problems.append("an interval appears twice for the same site")
    if frame.group_by("site_id").agg(pl.col("market").n_unique() > 1).to_series(1).any():
        problems.append("a site has more than one market")
    if (
        matching == "hourly"
        and frame.filter(
            pl.col("interval_end") - pl.col("interval_start") > timedelta(hours=1)
        ).height
    ):
        problems.append("hourly matching needs consumption in intervals of an hour or less")
    if problems:
        raise ValueError("consumption rejected: " + "; ".join(problems))
    return frame.with_row_index("__i").with_columns(pl.col("__i").cast(pl.Int64))


def dual_report(
    consumption: pl.DataFrame,
    factors: pl.DataFrame,
    instruments: pl.DataFrame | None = None,
    *,
    matching: Matching = "annual",
    location_granularity: str = "annual",
    as_of: datetime | None = None,
) -> DualResult:
    """Location- and market-based emissions for each consumption interval.

    consumption: site_id, interval_start, interval_end (UTC), kwh, grid_region (matches
      factors.region for the location factor), and optionally market (the market boundary for
      instruments and the residual mix; default grid_region) and location_granularity
      (default `location_granularity`).
    factors: rows of the landing contract (location, residual_mix, ... as published).
    instruments: rows of `instruments.INSTRUMENT_SCHEMA` (or None).
    """
    if matching not in ("annual", "hourly"):
        raise ValueError("matching must be 'annual' or 'hourly'")
    cons = _prepare_consumption(consumption, location_granularity, matching)
    prepared = _prepare_factors(factors, as_of)
    loc = _lookup(cons, prepared, "location", "grid_region", "location_granularity")
    res = _lookup(cons, prepared, "residual_mix", "market", None)

    n = cons.height
    remaining = cons.get_column("kwh").to_numpy().astype(float).copy()
    starts = cons.get_column("interval_start").dt.epoch("us").to_numpy()
    sites = cons.get_column("site_id").to_list()
    markets = cons.get_column("market").to_list()
    site_bounds: dict[str, tuple[int, int]] = {}
    for i, site in enumerate(sites):
        lo, _ = site_bounds.get(site, (i, i))
        site_bounds[site] = (lo, i + 1)
    site_market = {site: markets[lo] for site, (lo, _) in site_bounds.items()}

    kwh_by_tier = {1: np.zeros(n), 2: np.zeros(n)}
    kg_instruments = np.zeros(n)
    alloc_parts: list[dict] = []
    usage: list[dict] = []
    if instruments is not None and instruments.height:
        inst = prepare_instruments(instruments).with_columns(
            pl.col("period_start").dt.epoch("us").alias("__ps"),
            pl.col("period_end").dt.epoch("us").alias("__pe"),
            (pl.col("period_end") - pl.col("period_start")).alias("__len"),
            pl.col("instrument_type").replace_strict(TIER, return_dtype=pl.Int32).alias("__tier"),
        )
        order = inst.sort(["__tier", "__len", "period_start", "instrument_id"])
        for rec in order.iter_rows(named=True):
            tier = rec["__tier"]
            hourly_stamped = rec["__len"] <= timedelta(hours=1)
            volume = rec["volume_kwh"]
            entry = {
                "instrument_id": rec["instrument_id"],
                "instrument_type": rec["instrument_type"],
                "site_id": rec["site_id"],
                "market": rec["market"],
                "period_start": rec["period_start"],
                "period_end": rec["period_end"],
                "volume_kwh": volume,
                "applied_kwh": 0.0,
                "unused_kwh": volume,
                "status": "not applied",
                "reason": None,
            }
            usage.append(entry)
            bounds = site_bounds.get(rec["site_id"])
            if not rec["retired"]:
                entry["reason"] = "not retired/cancelled on the consumer's behalf"
                continue
            if bounds is None:
                entry["reason"] = f"no consumption of site {rec['site_id']}"
                continue
            if rec["market"] != site_market[rec["site_id"]]:
                entry["reason"] = (
                    f"market {rec['market']} is not the site's market {site_market[rec['site_id']]}"
                )
                continue
            if matching == "hourly" and tier == 1 and not hourly_stamped:
                entry["reason"] = (
                    "hourly matching: the instrument is not hour-stamped (period of "
                    f"{rec['__len'].total_seconds() / 3600:g} h)"
                )
                continue
            lo, hi = bounds
            a = lo + int(np.searchsorted(starts[lo:hi], rec["__ps"], side="left"))
            b = lo + int(np.searchsorted(starts[lo:hi], rec["__pe"], side="left"))
            if a >= b:
                entry["reason"] = (
                    f"period {rec['period_start']:%Y-%m-%d %H:%M} … "
                    f"{rec['period_end']:%Y-%m-%d %H:%M} UTC has no consumption of the site"
                )
                continue
            open_kwh = remaining[a:b]
            total_open = float(open_kwh.sum())
            if volume is None:
                share = 1.0
            else:
                share = min(1.0, volume / total_open) if total_open > 0 else 0.0
            covered = open_kwh * share
            remaining[a:b] = np.clip(open_kwh - covered, 0.0, None)
            used = float(covered.sum())
            kwh_by_tier[tier][a:b] += covered
            kg_instruments[a:b] += covered * rec["factor_kg_per_kwh"]
            nonzero = np.nonzero(covered > 0)[0]
            if nonzero.size:
                alloc_parts.append(
                    {
                        "instrument_id": rec["instrument_id"],
                        "instrument_type": rec["instrument_type"],
                        "tier": tier,
                        "__i": (a + nonzero).astype(np.int64),
                        "kwh_covered": covered[nonzero],
                        "factor_kg_per_kwh": rec["factor_kg_per_kwh"],
                    }
                )
            entry["applied_kwh"] = used
            if volume is None:
                entry["unused_kwh"] = None
                entry["status"] = "applied"
            else:
                entry["unused_kwh"] = max(volume - used, 0.0)
                entry["status"] = "applied" if entry["unused_kwh"] <= 1e-9 else "partly used"
                if entry["status"] == "partly used":
                    entry["reason"] = (
                        "volume exceeds the uncovered consumption of its period"
                        + (" and hour" if hourly_stamped else "")
                        + "; the surplus is not carried over"
                    )

    out = (
        cons.join(loc.rename(lambda c: c if c == "__i" else f"location_{c}"), on="__i", how="left")
        .join(res.rename(lambda c: c if c == "__i" else f"residual_{c}"), on="__i", how="left")
        .sort("__i")
        .with_columns(
            pl.Series("kwh_instrument", kwh_by_tier[1]),
            pl.Series("kwh_supplier", kwh_by_tier[2]),
            pl.Series("__open", remaining),
            pl.Series("instrument_kg", kg_instruments),
        )
    )
    has_res = pl.col("residual_kg_per_kwh").is_not_null()
    has_loc = pl.col("location_kg_per_kwh").is_not_null()
    out = (
        out.with_columns(
            pl.when(has_res).then(pl.col("__open")).otherwise(0.0).alias("kwh_residual"),
            pl.when(~has_res & has_loc)
            .then(pl.col("__open"))
            .otherwise(0.0)
            .alias("kwh_location_fallback"),
            pl.when(~has_res & ~has_loc)
            .then(pl.col("__open"))
            .otherwise(0.0)
            .alias("kwh_no_market_factor"),
            (pl.col("kwh") * pl.col("location_kg_per_kwh")).alias("location_kg"),
        )
        .with_columns(
            pl.when(pl.col("kwh_no_market_factor") > 0)
            .then(None)
            .otherwise(
                pl.col("instrument_kg")
                + pl.col("kwh_residual") * pl.col("residual_kg_per_kwh").fill_null(0.0)
                + pl.col("kwh_location_fallback") * pl.col("location_kg_per_kwh").fill_null(0.0)
            )
            .alias("market_kg"),
            pl.concat_str(
                pl.when(pl.col("kwh_location_fallback") > 0).then(pl.lit(FLAG_RESIDUAL_MISSING)),
                pl.when(pl.col("kwh_no_market_factor") > 0).then(pl.lit(FLAG_NO_MARKET)),
                pl.when(~has_loc).then(pl.lit(FLAG_NO_LOCATION)),
                separator="; ",
                ignore_nulls=True,
            ).alias("flags"),
        )
        .with_columns(pl.when(pl.col("flags") == "").then(None).otherwise("flags").alias("flags"))
    )

    intervals = out.select(
        "site_id",
        "interval_start",
        "interval_end",
        "grid_region",
        "market",
        "kwh",
        "location_kg",
        "market_kg",
        "location_factor_id",
        "location_version",
        "location_kg_per_kwh",
        "location_granularity",
        "kwh_instrument",
        "kwh_supplier",
        "kwh_residual",
        "kwh_location_fallback",
        "kwh_no_market_factor",
        "instrument_kg",
        "residual_factor_id",
        "residual_version",
        "residual_kg_per_kwh",
        "flags",
    )
    allocations = _allocations(alloc_parts, cons)
    usage_frame = pl.DataFrame(
        usage,
        schema={
            "instrument_id": pl.String,
            "instrument_type": pl.String,
            "site_id": pl.String,
            "market": pl.String,
            "period_start": UTC_TS,
            "period_end": UTC_TS,
            "volume_kwh": pl.Float64,
            "applied_kwh": pl.Float64,
            "unused_kwh": pl.Float64,
            "status": pl.String,
            "reason": pl.String,
        },
    )
    return DualResult(intervals, allocations, usage_frame, matching)


def _allocations(parts: list[dict], cons: pl.DataFrame) -> pl.DataFrame:
    schema = {
        "instrument_id": pl.String,
        "instrument_type": pl.String,
        "tier": pl.Int32,
        "site_id": pl.String,
        "interval_start": UTC_TS,
        "kwh_covered": pl.Float64,
        "factor_kg_per_kwh": pl.Float64,
        "kg_co2e": pl.Float64,
    }
    if not parts:
        return pl.DataFrame(schema=schema)
    sizes = np.array([len(p["__i"]) for p in parts])
    which = np.repeat(np.arange(len(parts)), sizes)  # the part each allocation row belongs to
    frame = pl.DataFrame(
        {
            "__part": which,
            "__i": np.concatenate([p["__i"] for p in parts]),
            "kwh_covered": np.concatenate([p["kwh_covered"] for p in parts]),
        }
    )
    meta = pl.DataFrame(
        {
            "__part": np.arange(len(parts)),
            "instrument_id": [p["instrument_id"] for p in parts],
            "instrument_type": [p["instrument_type"] for p in parts],
            "tier": pl.Series([p["tier"] for p in parts], dtype=pl.Int32),
            "factor_kg_per_kwh": [float(p["factor_kg_per_kwh"]) for p in parts],
        }
    )
    joined = (
        frame.join(meta, on="__part", how="left")
        .join(cons.select("__i", "site_id", "interval_start"), on="__i", how="left")
        .sort("__part", "__i")
    )
    return joined.with_columns(
        (pl.col("kwh_covered") * pl.col("factor_kg_per_kwh")).alias("kg_co2e")
    ).select(list(schema))

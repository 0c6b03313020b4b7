"""The meter stage of the quality layer: the rules whose decisions change interval energy.

Gaps, range/spike, counter rollover, meter replacement, stuck meters and drift are found on the
readings and the base meter intervals (dbt's int_meter_interval_energy); their decisions are
overlay rows on (meter_id, interval_start_utc). Both the warehouse and the evaluation call this
one function: the dbt model int_meter_interval_corrections (which the marts use) for a
partition window, and `quality.evaluation.run_quality` for the Dagster quality asset and the
evaluation against ground truth. Nothing here modifies a reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from quality import corrections as c
from quality.rules import drift, gaps, range_spike, replacement, rollover, stuck
from quality.rules.common import concat_anomalies, normalize, shared_in_service

# How much history the estimators and detectors look at: profiles use the previous 28 days and
# drift needs weeks of parent/child trends, both on interval energy; a spike, a stuck run or a
# gap is judged by its neighbours, so the readings — 5,760 a day per meter reporting every 15 s
# — are needed for READING_CONTEXT only, and gaps are owed from there: missing readings weeks
# before the window cannot change a decision inside it, yet cost seconds on every live run.
HISTORY = timedelta(days=35)
READING_CONTEXT = timedelta(days=2)
LOOKAHEAD = timedelta(hours=6)


@dataclass(frozen=True)
class MeterStage:
    findings: pl.DataFrame  # ANOMALY_SCHEMA: meter-level findings, drift included
    decisions: pl.DataFrame  # OVERLAY_SCHEMA: every decision on those findings
    corrected: pl.DataFrame  # the base intervals with the interval decisions applied


def _untimed(_name: str, fn: Callable, *args, **kwargs):
    return fn(*args, **kwargs)


def meter_stage(*, readings: pl.DataFrame, meters: pl.DataFrame, equipment: pl.DataFrame,
                production: pl.DataFrame, intervals: pl.DataFrame, window_start: datetime,
                window_end: datetime, timezone: str = "UTC",
                timed: Callable = _untimed) -> MeterStage:
    """Findings and decisions of the meter-level rules, then drift on the corrected energy (a
    spike or a gap would bend a trend), and the corrected intervals."""
    with shared_in_service():  # every rule below starts from the same in-service readings
        found = concat_anomalies([
            timed("gaps", gaps.detect_gaps, readings, meters, equipment, window_start,
                  window_end),
            timed("gaps", gaps.detect_batch_gaps, readings, meters, equipment, production),
            timed("range_spike", range_spike.detect_range_spikes, readings, meters, equipment),
            timed("rollover", rollover.detect_rollovers, readings, meters, equipment),
            timed("replacement", replacement.detect_replacements, readings, meters, equipment),
            timed("stuck", stuck.detect_stuck, readings, meters, equipment, production),
        ])
    first = timed("corrections", c.decide, found, intervals=intervals, meters=meters,
                  equipment=equipment, production=production, timezone=timezone)
    corrected_first = c.apply_overlay(intervals, first)
    drifts = timed("drift", drift.detect_drift, corrected_first, meters, timezone=timezone)
    second = timed("corrections", c.decide, drifts, intervals=corrected_first, meters=meters,
                   equipment=equipment, production=production, timezone=timezone)
    decisions = c.concat_overlay([first, second])
    return MeterStage(
        findings=concat_anomalies([found, drifts]),
        decisions=decisions,
        corrected=c.apply_overlay(intervals, decisions),
    )


def window_corrections(*, readings: pl.DataFrame, meters: pl.DataFrame,
                       equipment: pl.DataFrame, production: pl.DataFrame,
                       intervals: pl.DataFrame, window_start: datetime, window_end: datetime,
                       timezone: str = "UTC") -> pl.DataFrame:
    """The interval decisions for one partition window, as the warehouse stores them.

    `intervals` should cover HISTORY before the window and `readings` READING_CONTEXT, both
    LOOKAHEAD after it.
    Gaps are owed only up to the newest reading: intervals of today that have not happened yet
    are not missing (the newest reading itself is owed by no one: a counter's reading at t
    closes the interval before t, an interval register's opens the one at t). Only decisions
    on intervals inside the window are returned, so each window owns its rows and a re-run
    replaces exactly them."""
    if readings.height == 0:
        return c.empty_overlay()
    r = normalize(readings)
    owed_until = min(_naive(window_end), r["ts_utc"].max())
    stage = meter_stage(
        readings=r, meters=meters, equipment=equipment, production=production,
        intervals=intervals, window_start=_naive(window_start) - READING_CONTEXT,
        window_end=owed_until, timezone=timezone,
    )
    start, end = _naive(window_start), _naive(window_end)
    return stage.decisions.filter(
        (pl.col("target") == "interval")
        & (pl.col("interval_start_utc") >= start)
        & (pl.col("interval_start_utc") < end)
    )


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment

"""The thin Great Expectations runner: an ExpectationSuite + a Polars frame → anomaly rows.

GX 1.x validates pandas frames, so the frame is converted at this boundary (Polars in, Polars
out). Each expectation carries in its `meta` what the finding is: rule, check, severity and a
message; the suite's caller says which frame columns name the subject and the time of a row
(`fields`). Failing rows come back through GX's `unexpected_index_list` (result format
COMPLETE with `unexpected_index_column_names`), so every anomaly names its row.

One ephemeral context per process (`context()`); nothing is written to disk, no YAML.
(`dagster-ge` targets GX < 1.0 and is not used — the orchestration wraps this function.)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import pandas as pd
import polars as pl

from quality.rules.common import ANOMALY_SCHEMA, anomalies, empty_anomalies

# Which frame column fills which anomaly field (subject_id is required).
FIELDS = ("subject_id", "site_id", "meter_id", "equipment_id", "raw_id", "window_start_utc",
          "window_end_utc", "detected_at_utc")


@dataclass(frozen=True)
class ValidationOutcome:
    """anomalies: ANOMALY_SCHEMA rows, one per failing row of each failed expectation.
    summary: one row per expectation — expectation, rule, check, column, success,
    element_count, unexpected_count (what a Dagster asset check reports)."""

    anomalies: pl.DataFrame
    summary: pl.DataFrame

    @property
    def success(self) -> bool:
        return bool(self.summary["success"].all()) if self.summary.height else True


@lru_cache(maxsize=1)
def context():
    """The process's ephemeral GX context (imported lazily: GX takes seconds to import)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _batch(frame: pd.DataFrame, name: str):
    ctx = context()
    source = ctx.data_sources.add_or_update_pandas("wattprint")
    try:
        asset = source.get_asset(name)
    except (LookupError, ValueError, KeyError):
        asset = source.add_dataframe_asset(name=name)
    try:
        definition = asset.get_batch_definition("whole")
    except (LookupError, ValueError, KeyError):
        definition = asset.add_batch_definition_whole_dataframe("whole")
    return definition.get_batch(batch_parameters={"dataframe": frame})


def _plain(value):
    """A GX/pandas/numpy scalar as a plain Python value (NaN/NaT → None)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        value = value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value
        return value.to_pydatetime()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def run_suite(suite, frame: pl.DataFrame, *, fields: dict[str, str],
              asset_name: str | None = None) -> ValidationOutcome:
    """Validate `frame` against `suite`; failing rows become anomalies.

    fields: anomaly field → frame column, e.g. {"subject_id": "raw_id", "meter_id":
    "meter_id", "window_start_utc": "ts_utc", "detected_at_utc": "received_at_utc"}.
    """
    if "subject_id" not in fields:
        raise ValueError("fields must name the subject_id column")
    missing = [c for c in fields.values() if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the column(s) {missing} named in fields")
    id_columns = list(dict.fromkeys(fields.values()))
    pdf = frame.to_pandas()
    batch = _batch(pdf, asset_name or suite.name)
    result = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": id_columns,
        "return_unexpected_index_query": False})
    summary_rows, found = [], []
    for r in result.results:
        cfg = r.expectation_config
        meta = cfg.meta or {}
        kwargs = cfg.kwargs
        column = kwargs.get("column") or "|".join(
            str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs) or None
        res = r.result or {}
        summary_rows.append({
            "expectation": cfg.type, "rule": meta.get("rule"), "check": meta.get("check"),
            "column": column, "success": bool(r.success),
            "element_count": res.get("element_count"),
            "unexpected_count": res.get("unexpected_count"),
        })
        if r.success:
            continue
        base = {
            "rule": meta.get("rule", "contract"), "check": meta.get("check", cfg.type),
            "severity": meta.get("severity", "warning"),
            "subject_kind": meta.get("subject_kind", "row"), "unit": meta.get("unit"),
        }
        rows = res.get("unexpected_index_list") or []
        if not rows:
            # a table-level failure (or one GX could not attribute to rows): one finding
            found.append({**base, "subject_id": suite.name, "message":
                          f"{meta.get('message', cfg.type)} ({column})",
                          "details": json.dumps({"result": {k: str(v) for k, v in res.items()}
                                                 })})
            continue
        for row in rows:
            values = {k: _plain(v) for k, v in row.items()} if isinstance(row, dict) else {}
            observed = values.get(kwargs.get("column")) if kwargs.get("column") else None
            item = {**base}
            for field, col in fields.items():
                item[field] = values.get(col)
            if isinstance(observed, int | float) and not isinstance(observed, bool):
                item["observed"] = float(observed)
            shown = {k: (v.isoformat() if isinstance(v, datetime) else v)
                     for k, v in values.items()}
            item["message"] = f"{meta.get('message', cfg.type)}: {shown}"
            item["details"] = json.dumps({"expectation": cfg.type, "row": shown,
                                          **({"column": column} if column else {})},
                                         default=str, sort_keys=True)
            found.append(item)
    summary = pl.DataFrame(summary_rows, schema={
        "expectation": pl.String(), "rule": pl.String(), "check": pl.String(),
        "column": pl.String(), "success": pl.Boolean(), "element_count": pl.Int64(),
        "unexpected_count": pl.Int64()})
    if not found:
        return ValidationOutcome(empty_anomalies(), summary)
    schema = {k: v for k, v in ANOMALY_SCHEMA.items() if k != "anomaly_id"}
    frame_out = pl.DataFrame(found, schema={k: schema[k] for k in schema
                                            if any(k in f for f in found)}, strict=False)
    return ValidationOutcome(anomalies(frame_out), summary)

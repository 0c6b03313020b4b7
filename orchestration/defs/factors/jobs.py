"""The jobs a factor update runs: only the SQL whose figures a factor or instrument can change.

- `factor_restatement` (daily-partitioned): the factor-versions asset (staging and
  `int_factor_versions`), then the emission models of the requested site-local days
  (`fct_emissions_interval`, `fct_emissions_daily`), then every dbt model downstream of them
  (Scope 2 dual figures, the "as reported" history, product intensity, hotspots, ...). Energy,
  allocation and bill reconciliation are not re-run: a factor does not change a kWh.
- `scope2_market` (unpartitioned): instruments and factor versions, then the market-based models
  and everything downstream in the rebuilt-whole set. For a new instrument or a residual-mix
  update, no daily partition changes.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.warehouse.dbt import dbt_daily, dbt_foundation, dbt_reports

FACTOR_VERSIONS = (
    dg.AssetKey(["staging", "stg_landing__factors"]),
    dg.AssetKey(["intermediate", "int_factor_versions"]),
)
INSTRUMENTS = dg.AssetKey(["staging", "stg_landing__instruments"])
EMISSION_MODELS = (
    dg.AssetKey(["marts", "fct_emissions_interval"]),
    dg.AssetKey(["marts", "fct_emissions_daily"]),
)

_dbt = dg.AssetSelection.assets(dbt_foundation, dbt_daily, dbt_reports)
_rebuilt_whole = dg.AssetSelection.assets(dbt_reports)
# The read-only copy BI tools and auditors open (orchestration/defs/publishing), when present:
# restated figures are published like any others.
_publishing = dg.AssetSelection.groups("publishing")

factor_restatement_job = dg.define_asset_job(
    name="factor_restatement",
    description="A new factor version: the factor-versions asset, the emission models of the "
    "site-local days inside the changed validity windows, and the dbt models downstream of them.",
    selection=dg.AssetSelection.assets(*FACTOR_VERSIONS, *EMISSION_MODELS)
    | (dg.AssetSelection.assets(*EMISSION_MODELS).downstream(include_self=False) & _dbt)
    | _publishing,
    # one DuckDB writer: dbt sets run one after another in this process
    executor_def=dg.in_process_executor,
)

scope2_market_job = dg.define_asset_job(
    name="scope2_market",
    description="New instruments or a market-side factor (residual mix): the instruments, the "
    "factor versions and the market-based models, rebuilt whole; no daily partition changes.",
    selection=dg.AssetSelection.assets(INSTRUMENTS, *FACTOR_VERSIONS)
    | (dg.AssetSelection.assets(INSTRUMENTS, *FACTOR_VERSIONS).downstream() & _rebuilt_whole)
    | _publishing,
    executor_def=dg.in_process_executor,
)

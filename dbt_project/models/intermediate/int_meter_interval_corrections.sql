{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- The correction overlay on meter interval energy, window by window: one row per decision of
-- the quality layer's meter stage (rule, action, method, original and corrected kWh, reason).
-- The raw readings and int_meter_interval_energy are never changed; the marts read
-- int_meter_interval_corrected, which applies these rows.

select
    overlay_id,
    anomaly_id,
    rule,
    "check" as rule_check,
    action,
    method,
    site_id,
    meter_id,
    interval_start_utc,
    original_value as original_kwh,
    corrected_value as corrected_kwh,
    reason
from {{ ref('int_meter_interval_corrections_window') }}
where {{ in_window('interval_start_utc') }}

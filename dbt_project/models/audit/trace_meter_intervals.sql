{{ config(schema='audit', materialized='view') }}

-- Step 2 of the audit trace: each meter node per interval — the meter's energy as used (after
-- corrections), its child meters' energy and the residual (meter − children) that allocation
-- hands to unmetered equipment — beside the energy derived from the readings alone. Where the
-- two differ, a correction of the quality overlay was applied (audit trace lists it).

select
    residual.site_id,
    residual.meter_id,
    residual.interval_start_utc,
    residual.meter_kwh,
    residual.children_kwh,
    residual.residual_kwh,
    residual.how_obtained,
    from_readings.kwh as readings_kwh,
    from_readings.how_obtained as readings_how_obtained,
    from_readings.span_count
from {{ ref('int_meter_residual') }} as residual
left join {{ ref('int_meter_interval_energy') }} as from_readings
    on residual.meter_id = from_readings.meter_id
    and residual.interval_start_utc = from_readings.interval_start_utc

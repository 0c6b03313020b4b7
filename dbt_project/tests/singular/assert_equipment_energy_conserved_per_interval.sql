-- Energy conservation, bottom-up: per site and interval, Σ energy of all equipment (metered,
-- allocated, unallocated) equals the root (utility) meters' energy. Tolerance 1e-6 kWh covers
-- the 12-decimal rounding of each allocated share. Returns the intervals that do not balance.
-- Checks the run's window (all time with the default vars).
with

roots as (
    select meter_id from {{ ref('int_meter_tree') }} where is_root
),

root_energy as (
    select meter_energy.site_id, meter_energy.interval_start_utc, sum(meter_energy.kwh) as kwh
    from {{ ref('int_meter_interval_corrected') }} as meter_energy
    inner join roots
        on meter_energy.meter_id = roots.meter_id
    where {{ in_window('meter_energy.interval_start_utc') }}
    group by all
),

equipment_energy as (
    select site_id, interval_start_utc, sum(kwh) as kwh
    from {{ ref('int_equipment_interval_energy') }}
    where {{ in_window('interval_start_utc') }}
    group by all
)

select
    coalesce(root_energy.site_id, equipment_energy.site_id) as site_id,
    coalesce(root_energy.interval_start_utc, equipment_energy.interval_start_utc)
        as interval_start_utc,
    root_energy.kwh as root_meter_kwh,
    equipment_energy.kwh as equipment_kwh
from root_energy
full outer join equipment_energy
    on root_energy.site_id = equipment_energy.site_id
    and root_energy.interval_start_utc = equipment_energy.interval_start_utc
where abs(coalesce(root_energy.kwh, 0) - coalesce(equipment_energy.kwh, 0)) > 0.000001

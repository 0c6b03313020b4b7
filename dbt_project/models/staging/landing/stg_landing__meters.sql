-- One row per meter: the latest landed version wins. A physically replaced meter is a NEW
-- meter_id (the old one gets removed_at), so this never merges two devices' counters.
-- Electricity meters only: fuel meters (energy_carrier natural_gas, diesel, ...) feed Scope 1
-- through stg_landing__fuel_meters; a null carrier is electricity (rows landed before the
-- column existed).
with

source as (
    select * from {{ source('landing', 'meters') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by meter_id order by landed_at desc, landing_batch_id desc
    ) = 1
),

electricity as (
    select * from latest where coalesce(energy_carrier, 'electricity') = 'electricity'
)

select
    meter_id,
    site_id,
    parent_meter_id,
    meter_kind,
    measures_kind,
    measures_id,
    register,
    unit,
    multiplier,
    rollover_value,
    interval_minutes,
    installed_at at time zone 'UTC' as installed_at_utc,
    removed_at at time zone 'UTC' as removed_at_utc,
    landing_batch_id,
    landed_at at time zone 'UTC' as landed_at_utc
from electricity

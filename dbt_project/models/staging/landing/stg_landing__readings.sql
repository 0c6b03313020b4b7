-- One row per raw electricity reading, deduplicated and converted to kWh (energy registers) or kW (power).
-- Ingestion is at-least-once: the same raw_id can land several times, and the FIRST received
-- copy is the reading (a later copy is a retransmission, not a correction).
with

source as (
    select * from {{ source('landing', 'readings') }}
),

deduplicated as (
    select *
    from source
    -- fuel meters' readings are Scope 1 activity (stg_landing__fuel_readings), not kWh
    where not exists (
        select 1 from {{ ref('stg_landing__fuel_meters') }} as fuel
        where fuel.meter_id = source.meter_id
    )
    {{ first_received_copy() }}
),

meters as (
    select meter_id, register, multiplier from {{ ref('stg_landing__meters') }}
),

conversions as (
    select from_unit, to_unit, multiplier from {{ ref('unit_conversions') }}
),

converted as (
    select
        deduplicated.raw_id,
        deduplicated.meter_id,
        deduplicated.site_id,
        deduplicated.ts at time zone 'UTC' as ts_utc,
        meters.register,
        deduplicated.value as raw_value,
        deduplicated.unit,
        -- a meter's CT/VT ratio times the unit's conversion; null when the meter or the unit is
        -- unknown, which the not_null test turns into a failing build
        deduplicated.value * meters.multiplier * conversions.multiplier as value,
        case when meters.register = 'power_kw' then 'kW' else 'kWh' end as value_unit,
        meters.multiplier * conversions.multiplier as conversion_factor,
        deduplicated.quality,
        deduplicated.source,
        deduplicated.received_at at time zone 'UTC' as received_at_utc,
        deduplicated.landing_batch_id,
        deduplicated.landed_at at time zone 'UTC' as landed_at_utc
    from deduplicated
    left join meters
        on deduplicated.meter_id = meters.meter_id
    left join conversions
        on deduplicated.unit = conversions.from_unit
        and conversions.to_unit = case when meters.register = 'power_kw' then 'kW' else 'kWh' end
)

select * from converted

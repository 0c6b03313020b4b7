-- One row per raw fuel-meter reading, deduplicated like stg_landing__readings (the first
-- received copy of a raw_id is the reading) and converted to the meter's base unit (kWh, l or
-- kg; fuel_units seed) times the meter's multiplier. A reading whose unit is unknown or of
-- another kind than its meter's (litres on a kWh meter) gets a null value: the not_null test
-- fails the build rather than summing incomparable numbers.
with

meters as (
    select meter_id, site_id, register, base_unit, multiplier
    from {{ ref('stg_landing__fuel_meters') }}
),

source as (
    select * from {{ source('landing', 'readings') }}
    where meter_id in (select meter_id from meters)
),

deduplicated as (
    select *
    from source
    {{ first_received_copy() }}
),

units as (
    select unit, base_unit, to_base from {{ ref('fuel_units') }}
)

select
    deduplicated.raw_id,
    deduplicated.meter_id,
    deduplicated.site_id,
    deduplicated.ts at time zone 'UTC' as ts_utc,
    meters.register,
    deduplicated.value as raw_value,
    deduplicated.unit,
    case when units.base_unit = meters.base_unit
        then deduplicated.value * meters.multiplier * units.to_base end as value,
    meters.base_unit as value_unit,
    case when units.base_unit = meters.base_unit
        then meters.multiplier * units.to_base end as conversion_factor,
    deduplicated.quality,
    deduplicated.source,
    deduplicated.received_at at time zone 'UTC' as received_at_utc,
    deduplicated.landing_batch_id,
    deduplicated.landed_at at time zone 'UTC' as landed_at_utc
from deduplicated
inner join meters
    on deduplicated.meter_id = meters.meter_id
left join units
    on deduplicated.unit = units.unit

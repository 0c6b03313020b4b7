-- One row per fuel meter (gas, diesel, LPG ...: energy_carrier other than electricity), the
-- latest landed version: the Scope 1 twin of stg_landing__meters, which keeps the electricity
-- meters. base_unit is the unit the meter's quantities are summed in (fuel_units seed); a meter
-- whose unit is not a fuel quantity unit has none, which the not_null test turns into a failing
-- build.
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

units as (
    select unit, base_unit from {{ ref('fuel_units') }}
)

select
    latest.meter_id,
    latest.site_id,
    latest.energy_carrier,
    latest.meter_kind,
    latest.measures_kind,
    latest.measures_id,
    latest.register,
    latest.unit,
    units.base_unit,
    latest.multiplier,
    latest.rollover_value,
    latest.interval_minutes,
    latest.installed_at at time zone 'UTC' as installed_at_utc,
    latest.removed_at at time zone 'UTC' as removed_at_utc,
    latest.landing_batch_id,
    latest.landed_at at time zone 'UTC' as landed_at_utc
from latest
left join units
    on latest.unit = units.unit
where coalesce(latest.energy_carrier, 'electricity') <> 'electricity'

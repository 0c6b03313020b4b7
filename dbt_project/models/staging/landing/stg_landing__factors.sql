-- One row per published factor value: (factor_id, version, region, granularity, valid_from).
-- Factors are immutable data with validity windows: a new version is a new row, never an
-- overwrite; re-landing the same file is deduplicated (first landed copy kept).
-- The value is converted to kg CO2e per kWh with the unit_conversions seed; the published value
-- and unit are kept beside it for the audit trail.
with

source as (
    select * from {{ source('landing', 'factors') }}
),

deduplicated as (
    select *
    from source
    qualify row_number() over (
        -- gas is part of a factor's identity: a publisher's CO2, CH4 and N2O rows must not
        -- collapse into one
        partition by
            factor_id, version, region, energy_carrier, method, granularity, gas, valid_from
        order by landed_at, landing_batch_id
    ) = 1
),

conversions as (
    select from_unit, multiplier
    from {{ ref('unit_conversions') }}
    where to_unit = 'kgCO2e/kWh'
)

select
    deduplicated.factor_id,
    deduplicated.version,
    deduplicated.method,
    deduplicated.region,
    deduplicated.energy_carrier,
    deduplicated.granularity,
    deduplicated.valid_from at time zone 'UTC' as valid_from_utc,
    deduplicated.valid_to at time zone 'UTC' as valid_to_utc,
    deduplicated.value,
    deduplicated.unit,
    deduplicated.value * conversions.multiplier as value_kg_per_kwh,
    deduplicated.gas,
    deduplicated.gwp_set,
    deduplicated.source_document,
    deduplicated.published_at at time zone 'UTC' as published_at_utc,
    deduplicated.landing_batch_id,
    deduplicated.landed_at at time zone 'UTC' as landed_at_utc
from deduplicated
left join conversions
    on deduplicated.unit = conversions.from_unit

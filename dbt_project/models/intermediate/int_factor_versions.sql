-- Emission factors in kg CO2e per kWh with their validity windows, one row per published value.
-- A view, so a newly landed factor version is visible to the next emissions run at once.
-- When several versions of the same factor cover an instant, the latest published one is
-- "current"; older ones stay here for restatements and the audit trail.
with

factors as (
    select * from {{ ref('stg_landing__factors') }}
),

final as (
    select
        factor_id,
        version,
        method,
        region,
        energy_carrier,
        granularity,
        valid_from_utc,
        valid_to_utc,
        value_kg_per_kwh as factor_kg_per_kwh,
        value as published_value,
        unit as published_unit,
        gas,
        gwp_set,
        source_document,
        published_at_utc,
        rank() over (
            partition by factor_id, region, method, energy_carrier, granularity, gas, valid_from_utc
            order by published_at_utc desc, version desc
        ) = 1 as is_latest_version
    from factors
    -- a per-gas factor (CH4, N2O) would need a GWP set to become CO2e: not used yet
    where coalesce(gas, 'CO2e') in ('CO2e', 'CO2')
)

select * from final

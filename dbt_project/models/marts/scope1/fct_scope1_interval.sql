-- Scope 1 (ISO 14064-1 Category 1, stationary combustion) per fuel meter and interval:
--   kg_gas = quantity (base unit) × factor (kg gas per base unit), for CO2, CH4 and N2O
--   kg_co2e = Σ kg_gas × GWP (gwp_sets seed, set = var scope1_gwp_set, default AR5)
-- the arithmetic of models/scope2/scope1.py `combustion`. Per gas, the factor is the one of the
-- meter's carrier valid at the interval start whose unit is per the quantity's base unit,
-- preferring the site's grid region or country, then the latest published (then the highest
-- version) — the library's choice. An interval missing any gas's factor has no emission figure
-- (null, listed in missing_gases), never a partial one.
{{ config(materialized='table') }}

with

quantities as (
    select * from {{ ref('int_fuel_interval_quantity') }}
),

sites as (
    select site_id, grid_region, country from {{ ref('stg_landing__sites') }}
),

factors as (
    select * from {{ ref('int_fuel_factors') }} where kg_gas_per_base is not null
),

gwp as (
    select gas, gwp
    from {{ ref('gwp_sets') }}
    where gwp_set = '{{ var("scope1_gwp_set", "AR5") }}'
),

candidates as (
    select
        quantities.meter_id,
        quantities.interval_start_utc,
        factors.gas,
        factors.factor_id,
        factors.version,
        factors.kg_gas_per_base
    from quantities
    inner join sites
        on quantities.site_id = sites.site_id
    inner join factors
        on factors.energy_carrier = quantities.energy_carrier
        and factors.base_unit = quantities.quantity_unit
        and factors.valid_from_utc <= quantities.interval_start_utc
        and factors.valid_to_utc > quantities.interval_start_utc
    qualify row_number() over (
        partition by quantities.meter_id, quantities.interval_start_utc, factors.gas
        order by
            factors.region in (sites.grid_region, sites.country) desc,
            factors.published_at_utc desc,
            factors.version desc
    ) = 1
),

per_gas as (
    select
        meter_id,
        interval_start_utc,
        max(kg_gas_per_base) filter (where gas = 'CO2') as co2_per_base,
        max(kg_gas_per_base) filter (where gas = 'CH4') as ch4_per_base,
        max(kg_gas_per_base) filter (where gas = 'N2O') as n2o_per_base,
        string_agg(factor_id || '@' || version, ',' order by factor_id || '@' || version)
            as factor_versions
    from candidates
    group by meter_id, interval_start_utc
),

masses as (
    select
        quantities.site_id,
        quantities.meter_id,
        quantities.energy_carrier,
        quantities.interval_start_utc,
        quantities.quantity,
        quantities.quantity_unit,
        quantities.how_obtained,
        {{ to_quantity('quantities.quantity * per_gas.co2_per_base') }} as kg_co2,
        {{ to_quantity('quantities.quantity * per_gas.ch4_per_base') }} as kg_ch4,
        {{ to_quantity('quantities.quantity * per_gas.n2o_per_base') }} as kg_n2o,
        per_gas.factor_versions,
        nullif(concat_ws(', ',
            case when per_gas.co2_per_base is null then 'CO2' end,
            case when per_gas.ch4_per_base is null then 'CH4' end,
            case when per_gas.n2o_per_base is null then 'N2O' end
        ), '') as missing_gases
    from quantities
    left join per_gas
        on quantities.meter_id = per_gas.meter_id
        and quantities.interval_start_utc = per_gas.interval_start_utc
),

final as (
    select
        site_id,
        meter_id,
        energy_carrier,
        interval_start_utc,
        quantity,
        quantity_unit,
        how_obtained,
        case when missing_gases is null then kg_co2 end as kg_co2,
        case when missing_gases is null then kg_ch4 end as kg_ch4,
        case when missing_gases is null then kg_n2o end as kg_n2o,
        case when missing_gases is null then {{ to_quantity(
            'kg_co2 * (select gwp from gwp where gas = \'CO2\')'
            ~ ' + kg_ch4 * (select gwp from gwp where gas = \'CH4\')'
            ~ ' + kg_n2o * (select gwp from gwp where gas = \'N2O\')'
        ) }} end as kg_co2e,
        '{{ var("scope1_gwp_set", "AR5") }}' as gwp_set,
        factor_versions,
        missing_gases
    from masses
)

select * from final

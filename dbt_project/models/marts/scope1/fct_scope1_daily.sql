-- Scope 1 per site, site-local day and fuel: the grain of ISO 14064-1 Category 1 in the
-- inventory. A day with any interval lacking a factor has no emission figure (null), never a
-- silently low one; factor_versions lists every 'factor_id@version' the figures used.
{{ config(materialized='table') }}

with

sites as (
    select site_id, timezone from {{ ref('stg_landing__sites') }}
),

intervals as (
    select
        scope1.*,
        cast({{ utc_to_local('scope1.interval_start_utc', 'sites.timezone') }} as date)
            as site_local_date,
        sites.timezone
    from {{ ref('fct_scope1_interval') }} as scope1
    inner join sites
        on scope1.site_id = sites.site_id
),

final as (
    select
        site_id,
        site_local_date,
        energy_carrier,
        quantity_unit,
        {{ local_to_utc('cast(site_local_date as timestamp)', 'any_value(timezone)') }}
            as day_start_utc,
        {{ local_to_utc('cast(site_local_date + 1 as timestamp)', 'any_value(timezone)') }}
            as day_end_utc,
        sum(quantity) as quantity,
        coalesce(sum(quantity) filter (where how_obtained = 'measured'), 0) as quantity_measured,
        coalesce(sum(quantity) filter (where how_obtained = 'estimated'), 0)
            as quantity_estimated,
        case when bool_or(kg_co2e is null) then null else sum(kg_co2) end as kg_co2,
        case when bool_or(kg_co2e is null) then null else sum(kg_ch4) end as kg_ch4,
        case when bool_or(kg_co2e is null) then null else sum(kg_n2o) end as kg_n2o,
        case when bool_or(kg_co2e is null) then null else sum(kg_co2e) end as kg_co2e,
        any_value(gwp_set) as gwp_set,
        nullif(array_to_string(list_sort(list_distinct(list_filter(flatten(list(
            string_split(coalesce(factor_versions, ''), ',')
        )), lambda x: x <> ''))), ','), '') as factor_versions,
        nullif(array_to_string(list_sort(list_distinct(list_filter(flatten(list(
            string_split(coalesce(missing_gases, ''), ', ')
        )), lambda x: x <> ''))), ', '), '') as missing_gases,
        count(distinct meter_id) as meter_count,
        count(*) as interval_count
    from intervals
    group by site_id, site_local_date, energy_carrier, quantity_unit
)

select * from final

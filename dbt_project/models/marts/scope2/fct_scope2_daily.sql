-- Scope 2 dual figures per site and site-local day: energy (and how it was obtained),
-- location-based and market-based kg CO2e, the market tiers, and every factor version and
-- instrument used — the grain at which figures are reported, and kept "as reported"
-- (audit.emissions_as_reported).
{{ config(materialized='table') }}

with

sites as (
    select site_id, timezone from {{ ref('stg_landing__sites') }}
),

intervals as (
    select
        scope2.*,
        cast({{ utc_to_local('scope2.interval_start_utc', 'sites.timezone') }} as date)
            as site_local_date,
        sites.timezone
    from {{ ref('fct_scope2_interval') }} as scope2
    inner join sites
        on scope2.site_id = sites.site_id
),

final as (
    select
        site_id,
        site_local_date,
        {{ local_to_utc('cast(site_local_date as timestamp)', 'any_value(timezone)') }}
            as day_start_utc,
        {{ local_to_utc('cast(site_local_date + 1 as timestamp)', 'any_value(timezone)') }}
            as day_end_utc,
        sum(kwh) as kwh,
        sum(kwh_measured) as kwh_measured,
        sum(kwh_estimated) as kwh_estimated,
        sum(kwh_allocated) as kwh_allocated,
        -- a day with any interval lacking a factor has no figure for that method, never a
        -- silently low one
        case when bool_or(location_kg is null) then null else sum(location_kg) end
            as location_kg,
        case when bool_or(market_kg is null) then null else sum(market_kg) end as market_kg,
        sum(kwh_instrument) as kwh_instrument,
        sum(kwh_supplier) as kwh_supplier,
        sum(kwh_residual) as kwh_residual,
        sum(kwh_location_fallback) as kwh_location_fallback,
        sum(kwh_no_market_factor) as kwh_no_market_factor,
        -- 'factor_id@version' lists, sorted, comma-separated: what the figures were computed with
        string_agg(
            distinct location_factor_id || '@' || location_factor_version, ','
            order by location_factor_id || '@' || location_factor_version
        ) as location_factor_versions,
        string_agg(
            distinct residual_factor_id || '@' || residual_factor_version, ','
            order by residual_factor_id || '@' || residual_factor_version
        ) filter (where kwh_residual > 0) as residual_factor_versions,
        array_to_string(list_sort(list_distinct(flatten(list(instrument_ids)))), ',')
            as instrument_ids,
        nullif(array_to_string(list_sort(list_distinct(flatten(list(
            string_split(coalesce(flags, ''), '; ')
        )))), '; '), '') as flags,
        count(*) as interval_count
    from intervals
    group by site_id, site_local_date
)

select
    site_id,
    site_local_date,
    day_start_utc,
    day_end_utc,
    kwh,
    kwh_measured,
    kwh_estimated,
    kwh_allocated,
    location_kg,
    market_kg,
    kwh_instrument,
    kwh_supplier,
    kwh_residual,
    kwh_location_fallback,
    kwh_no_market_factor,
    location_factor_versions,
    residual_factor_versions,
    nullif(instrument_ids, '') as instrument_ids,
    nullif(flags, '') as flags,
    interval_count
from final

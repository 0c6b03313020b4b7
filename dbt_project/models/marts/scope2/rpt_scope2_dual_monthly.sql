-- The GHG Protocol Scope 2 dual report per site and site-local month, in tonnes: location-based
-- and market-based side by side, the market tiers and the share of energy measured, estimated
-- and allocated. A view over fct_scope2_daily, for BI tools (the command line's
-- `wattprint report inventory` computes any period from the same daily rows).
{{ config(materialized='view') }}

with

days as (
    select * from {{ ref('fct_scope2_daily') }}
),

final as (
    select
        site_id,
        cast(date_trunc('month', site_local_date) as date) as month_start,
        count(*) as days,
        sum(kwh) as kwh,
        case when bool_or(location_kg is null) then null else sum(location_kg) / 1000 end
            as location_t_co2e,
        case when bool_or(market_kg is null) then null else sum(market_kg) / 1000 end
            as market_t_co2e,
        sum(kwh_instrument) as kwh_instrument,
        sum(kwh_supplier) as kwh_supplier,
        sum(kwh_residual) as kwh_residual,
        sum(kwh_location_fallback) as kwh_location_fallback,
        sum(kwh_measured) / nullif(sum(kwh), 0) as share_measured,
        sum(kwh_estimated) / nullif(sum(kwh), 0) as share_estimated,
        sum(kwh_allocated) / nullif(sum(kwh), 0) as share_allocated
    from days
    group by site_id, date_trunc('month', site_local_date)
)

select * from final

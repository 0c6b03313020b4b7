-- GHG Protocol Scope 2 dual reporting per site and interval: location-based and market-based
-- side by side (Scope 2 Guidance ch. 6-7; the rules of models/scope2/dual.py).
--   location_kg : Σ fct_emissions_interval of the site (grid-average factor, site granularity)
--   market_kg   : kWh covered by instruments × their rates (fct_instrument_segments)
--               + uncovered kWh × the residual mix of the site's market (finest granularity
--                 first: hourly, monthly, annual; CO2e before CO2; latest published)
--               + where no residual mix is published: uncovered kWh × the location factor,
--                 flagged 'residual_mix_missing: location factor used' (must be disclosed)
--               null when uncovered kWh has no factor at all ('no_market_factor').
-- Rebuilt whole on every run (instrument volumes are spread over their whole period, so a new
-- day changes the shares of every earlier day of the period).
{{ config(materialized='table') }}

with

energy as (
    select
        site_id,
        interval_start_utc,
        sum(kwh) as kwh,
        sum(case when how_obtained = 'measured' then kwh else 0 end) as kwh_measured,
        sum(case when how_obtained = 'estimated' then kwh else 0 end) as kwh_estimated,
        sum(case when how_obtained = 'allocated' then kwh else 0 end) as kwh_allocated
    from {{ ref('fct_energy_interval') }}
    group by site_id, interval_start_utc
),

sites as (
    select site_id, grid_region, grid_region as market, location_factor_granularity
    from {{ ref('stg_landing__sites') }}
),

location as (
    -- one location factor per site and interval (fct_emissions_interval matches it per site)
    select
        site_id,
        interval_start_utc,
        sum(kg_co2e) as location_kg,
        min(factor_id) as factor_id,
        min(factor_version) as factor_version,
        min(factor_kg_per_kwh) as factor_kg_per_kwh
    from {{ ref('fct_emissions_interval') }}
    where method = 'location'
    group by site_id, interval_start_utc
),

residual_factors as (
    select *
    from {{ ref('int_factor_versions') }}
    where method = 'residual_mix'
        and energy_carrier = 'electricity'
        and factor_kg_per_kwh is not null
),

residual as (
    select
        energy.site_id,
        energy.interval_start_utc,
        residual_factors.factor_id,
        residual_factors.version,
        residual_factors.factor_kg_per_kwh
    from energy
    inner join sites
        on energy.site_id = sites.site_id
    inner join residual_factors
        on residual_factors.region = sites.market
        and residual_factors.valid_from_utc <= energy.interval_start_utc
        and energy.interval_start_utc < residual_factors.valid_to_utc
    qualify row_number() over (
        partition by energy.site_id, energy.interval_start_utc
        order by
            case residual_factors.granularity
                when 'hourly' then 0 when 'monthly' then 1 when 'annual' then 2 else 9
            end,
            coalesce(residual_factors.gas, 'CO2e') = 'CO2e' desc,
            residual_factors.published_at_utc desc,
            residual_factors.version desc,
            residual_factors.factor_id
    ) = 1
),

coverage as (
    -- what the instruments did to each segment, as fractions of the segment's kWh (every
    -- interval of a segment is covered alike); the last instrument covering a segment leaves
    -- its final uncovered kWh
    select
        site_id,
        segment_start_utc,
        segment_end_utc,
        coalesce(
            sum(case when tier = 1 then covered_kwh else 0 end)
            / nullif(any_value(segment_kwh), 0), 0
        ) as tier1_fraction,
        coalesce(
            sum(case when tier = 2 then covered_kwh else 0 end)
            / nullif(any_value(segment_kwh), 0), 0
        ) as tier2_fraction,
        coalesce(
            sum(covered_kwh * factor_kg_per_kwh) / nullif(any_value(segment_kwh), 0), 0
        ) as instrument_kg_per_kwh,
        coalesce(
            greatest(arg_max(open_kwh_before - covered_kwh, step), 0)
            / nullif(any_value(segment_kwh), 0), 1
        ) as open_fraction,
        list(instrument_id order by step) as instrument_ids
    from {{ ref('fct_instrument_segments') }}
    group by site_id, segment_start_utc, segment_end_utc
),

joined as (
    select
        energy.site_id,
        energy.interval_start_utc,
        energy.interval_start_utc + {{ interval_grain() }} as interval_end_utc,
        sites.grid_region,
        sites.market,
        energy.kwh,
        energy.kwh_measured,
        energy.kwh_estimated,
        energy.kwh_allocated,
        location.location_kg,
        location.factor_id as location_factor_id,
        location.factor_version as location_factor_version,
        location.factor_kg_per_kwh as location_kg_per_kwh,
        energy.kwh * coalesce(coverage.tier1_fraction, 0) as kwh_instrument,
        energy.kwh * coalesce(coverage.tier2_fraction, 0) as kwh_supplier,
        energy.kwh * coalesce(coverage.instrument_kg_per_kwh, 0) as instrument_kg,
        energy.kwh * coalesce(coverage.open_fraction, 1) as kwh_open,
        coalesce(coverage.instrument_ids, []) as instrument_ids,
        residual.factor_id as residual_factor_id,
        residual.version as residual_factor_version,
        residual.factor_kg_per_kwh as residual_kg_per_kwh
    from energy
    inner join sites
        on energy.site_id = sites.site_id
    left join location
        on energy.site_id = location.site_id
        and energy.interval_start_utc = location.interval_start_utc
    left join residual
        on energy.site_id = residual.site_id
        and energy.interval_start_utc = residual.interval_start_utc
    left join coverage
        on energy.site_id = coverage.site_id
        and energy.interval_start_utc >= coverage.segment_start_utc
        and energy.interval_start_utc < coverage.segment_end_utc
),

tiers as (
    select
        *,
        case when residual_kg_per_kwh is not null then kwh_open else 0 end as kwh_residual,
        case
            when residual_kg_per_kwh is null and location_kg_per_kwh is not null then kwh_open
            else 0
        end as kwh_location_fallback,
        case
            when residual_kg_per_kwh is null and location_kg_per_kwh is null then kwh_open
            else 0
        end as kwh_no_market_factor
    from joined
),

final as (
    select
        site_id,
        interval_start_utc,
        interval_end_utc,
        grid_region,
        market,
        kwh,
        kwh_measured,
        kwh_estimated,
        kwh_allocated,
        location_kg,
        {{ to_quantity(
            'case when kwh_no_market_factor > 0 then null else instrument_kg'
            ~ ' + kwh_residual * coalesce(residual_kg_per_kwh, 0)'
            ~ ' + kwh_location_fallback * coalesce(location_kg_per_kwh, 0) end'
        ) }} as market_kg,
        location_factor_id,
        location_factor_version,
        location_kg_per_kwh,
        {{ to_quantity('kwh_instrument') }} as kwh_instrument,
        {{ to_quantity('kwh_supplier') }} as kwh_supplier,
        {{ to_quantity('kwh_residual') }} as kwh_residual,
        {{ to_quantity('kwh_location_fallback') }} as kwh_location_fallback,
        {{ to_quantity('kwh_no_market_factor') }} as kwh_no_market_factor,
        {{ to_quantity('instrument_kg') }} as instrument_kg,
        instrument_ids,
        residual_factor_id,
        residual_factor_version,
        residual_kg_per_kwh,
        nullif(concat_ws('; ',
            case when kwh_location_fallback > 0
                then 'residual_mix_missing: location factor used' end,
            case when kwh_no_market_factor > 0 then 'no_market_factor' end,
            case when location_kg_per_kwh is null then 'no_location_factor' end
        ), '') as flags
    from tiers
)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- Emissions per equipment per interval per Scope 2 method, with the factor version used.
-- Location-based (the only method so far): the grid factor of the site's grid_region for
-- electricity, at the granularity the site reports with (annual / monthly / hourly), valid at
-- the interval start; when several versions cover it, the latest published wins.
-- An interval without a factor gets NO row (never a silent zero or a null figure): the test
-- assert_every_energy_interval_has_factor fails and names the site and interval.

with

energy as (
    select site_id, equipment_id, interval_start_utc, kwh
    from {{ ref('fct_energy_interval') }}
    where {{ in_window('interval_start_utc') }}
),

sites as (
    select site_id, grid_region, location_factor_granularity
    from {{ ref('stg_landing__sites') }}
),

location_factors as (
    select *
    from {{ ref('int_factor_versions') }}
    where method = 'location'
        and energy_carrier = 'electricity'
),

-- Match a factor once per site and interval, then fan out to the equipment.
site_intervals as (
    select distinct site_id, interval_start_utc from energy
),

site_interval_factors as (
    select
        site_intervals.site_id,
        site_intervals.interval_start_utc,
        'location' as method,
        location_factors.factor_id,
        location_factors.version as factor_version,
        location_factors.factor_kg_per_kwh
    from site_intervals
    inner join sites
        on site_intervals.site_id = sites.site_id
    inner join location_factors
        on location_factors.region = sites.grid_region
        and location_factors.granularity = sites.location_factor_granularity
        and location_factors.valid_from_utc <= site_intervals.interval_start_utc
        and site_intervals.interval_start_utc < location_factors.valid_to_utc
    qualify row_number() over (
        partition by site_intervals.site_id, site_intervals.interval_start_utc
        -- a CO2e total beats a CO2-only figure for the same region and window (a publisher
        -- such as DESNZ lands both); then the latest publication
        order by
            coalesce(location_factors.gas, 'CO2e') = 'CO2e' desc,
            location_factors.published_at_utc desc,
            location_factors.version desc,
            location_factors.factor_id
    ) = 1
),

final as (
    select
        energy.site_id,
        energy.equipment_id,
        energy.interval_start_utc,
        site_interval_factors.method,
        energy.kwh,
        {{ to_quantity('energy.kwh * site_interval_factors.factor_kg_per_kwh') }} as kg_co2e,
        site_interval_factors.factor_id,
        site_interval_factors.factor_version,
        site_interval_factors.factor_kg_per_kwh
    from energy
    inner join site_interval_factors
        on energy.site_id = site_interval_factors.site_id
        and energy.interval_start_utc = site_interval_factors.interval_start_utc
)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('day_start_utc', 'day_end_utc') }}",
        meta={'window_column': 'day_start_utc', 'window_end_column': 'day_end_utc'},
    )
}}

-- Energy and emissions per site-local day, equipment and method. A window is normally one whole
-- local day of one site; with sites in several time zones a window can cut another site's day,
-- so every local day that OVERLAPS the window is recomputed from all of its intervals (the
-- pre-hook deletes exactly those days). The last window touching a day leaves it complete.

with

sites as (
    select site_id, timezone from {{ ref('stg_landing__sites') }}
),

emissions as (
    select
        fct_emissions_interval.*,
        sites.timezone
    from {{ ref('fct_emissions_interval') }}
    inner join sites
        on fct_emissions_interval.site_id = sites.site_id
    -- a local day is at most 26 h long and offsets are within ±14 h: this bound only prunes
    where fct_emissions_interval.interval_start_utc >= {{ window_start_utc() }} - interval 2 day
        and fct_emissions_interval.interval_start_utc < {{ window_end_utc() }} + interval 2 day
),

with_local_day as (
    select
        *,
        cast({{ utc_to_local('interval_start_utc', 'timezone') }} as date) as site_local_date
    from emissions
),

with_day_bounds as (
    select
        *,
        {{ local_to_utc('cast(site_local_date as timestamp)', 'timezone') }} as day_start_utc,
        {{ local_to_utc('cast(site_local_date + 1 as timestamp)', 'timezone') }} as day_end_utc
    from with_local_day
),

final as (
    select
        site_local_date,
        site_id,
        equipment_id,
        method,
        day_start_utc,
        day_end_utc,
        sum(kwh) as kwh,
        sum(kg_co2e) as kg_co2e,
        count(*) as interval_count
    from with_day_bounds
    where {{ in_window('day_start_utc', 'day_end_utc') }}
    group by site_local_date, site_id, equipment_id, method, day_start_utc, day_end_utc
)

select * from final

-- Every landed instrument with what became of it: applied, partly used (its volume exceeded
-- the uncovered consumption of its period: the surplus is not banked) or not applied, with the
-- reason (models/scope2/dual.py gives the same statuses and reasons).
{{ config(materialized='table') }}

with

instruments as (
    select * from {{ ref('stg_landing__instruments') }}
),

sites as (
    select site_id, grid_region as market from {{ ref('stg_landing__sites') }}
),

site_consumption as (
    select site_id, min(interval_start_utc) as first_interval_utc
    from {{ ref('fct_energy_interval') }}
    group by site_id
),

applied as (
    select instrument_id, sum(covered_kwh) as applied_kwh
    from {{ ref('fct_instrument_segments') }}
    group by instrument_id
),

period_consumption as (
    select instruments.instrument_id, count(*) as intervals
    from instruments
    inner join {{ ref('fct_energy_interval') }} as energy
        on instruments.site_id = energy.site_id
        and energy.interval_start_utc >= instruments.period_start_utc
        and energy.interval_start_utc < instruments.period_end_utc
    group by instruments.instrument_id
),

assessed as (
    select
        instruments.*,
        applied.applied_kwh,
        instruments.period_end_utc - instruments.period_start_utc <= interval 1 hour
            as is_hour_stamped,
        case
            when not instruments.retired
                then 'not retired/cancelled on the consumer''s behalf'
            when site_consumption.site_id is null
                then 'no consumption of site ' || instruments.site_id
            when instruments.market is distinct from sites.market
                then 'market ' || instruments.market || ' is not the site''s market '
                    || coalesce(sites.market, '(unknown)')
            when '{{ var("scope2_matching", "annual") }}' = 'hourly'
                and instruments.tier = 1
                and instruments.period_end_utc - instruments.period_start_utc > interval 1 hour
                then 'hourly matching: the instrument is not hour-stamped (period of '
                    || format(
                        '{:g}',
                        epoch(instruments.period_end_utc - instruments.period_start_utc) / 3600
                    )
                    || ' h)'
            when period_consumption.intervals is null
                then 'period ' || strftime(instruments.period_start_utc, '%Y-%m-%d %H:%M')
                    || ' … ' || strftime(instruments.period_end_utc, '%Y-%m-%d %H:%M')
                    || ' UTC has no consumption of the site'
        end as not_applied_reason
    from instruments
    left join sites
        on instruments.site_id = sites.site_id
    left join site_consumption
        on instruments.site_id = site_consumption.site_id
    left join period_consumption
        on instruments.instrument_id = period_consumption.instrument_id
    left join applied
        on instruments.instrument_id = applied.instrument_id
),

final as (
    select
        instrument_id,
        instrument_type,
        tier,
        site_id,
        market,
        period_start_utc,
        period_end_utc,
        volume_kwh,
        factor_kg_per_kwh,
        {{ to_quantity('coalesce(applied_kwh, 0)') }} as applied_kwh,
        {{ to_quantity(
            'case when not_applied_reason is not null or volume_kwh is null then volume_kwh'
            ~ ' else greatest(volume_kwh - coalesce(applied_kwh, 0), 0) end'
        ) }} as unused_kwh,
        case
            when not_applied_reason is not null then 'not applied'
            when volume_kwh is null then 'applied'
            when greatest(volume_kwh - coalesce(applied_kwh, 0), 0) <= 1e-9 then 'applied'
            else 'partly used'
        end as status,
        case
            when not_applied_reason is not null then not_applied_reason
            when volume_kwh is not null
                and greatest(volume_kwh - coalesce(applied_kwh, 0), 0) > 1e-9
                then 'volume exceeds the uncovered consumption of its period'
                    || case when is_hour_stamped then ' and hour' else '' end
                    || '; the surplus is not carried over'
        end as reason,
        scheme,
        technology,
        supplier,
        retired,
        source_document,
        landing_batch_id
    from assessed
)

select * from final

-- How much of which contractual instrument covered which stretch of a site's consumption:
-- the market-based allocation of GHG Protocol Scope 2 (the rules of models/scope2/dual.py,
-- which the tests hold this model to).
--
-- Per site, eligible instruments are applied one after another in the quality order
-- (tier: certificates / PPAs / green tariffs, then supplier-specific rates; then the shorter
-- period first — hour-stamped before annual — then period start, then id). Each takes
--     share = least(1, volume_kwh / still-uncovered kWh of its period)     (1 without volume)
-- of the still-uncovered kWh of every interval of its period (pro rata, never beyond the
-- consumption; a surplus is unused, not banked).
--
-- Every interval between two consecutive period boundaries is covered alike, so the sequence
-- runs on those *segments* (a handful per site) instead of on 15-minute intervals: a recursive
-- CTE carries the list of segments' uncovered kWh from one instrument to the next.
-- Grain: one row per (instrument, segment it covered part of).
{{ config(materialized='table') }}

with recursive

site_intervals as (
    select site_id, interval_start_utc, sum(kwh) as kwh
    from {{ ref('fct_energy_interval') }}
    group by site_id, interval_start_utc
),

sites as (
    -- the market boundary of a site is its grid region
    select site_id, grid_region as market from {{ ref('stg_landing__sites') }}
),

eligible as (
    select
        instruments.instrument_id,
        instruments.instrument_type,
        instruments.tier,
        instruments.site_id,
        instruments.period_start_utc,
        instruments.period_end_utc,
        instruments.volume_kwh,
        instruments.factor_kg_per_kwh,
        row_number() over (
            partition by instruments.site_id
            order by
                instruments.tier,
                instruments.period_end_utc - instruments.period_start_utc,
                instruments.period_start_utc,
                instruments.instrument_id
        ) as step
    from {{ ref('stg_landing__instruments') }} as instruments
    inner join sites
        on instruments.site_id = sites.site_id
        and instruments.market = sites.market
    where instruments.retired
        -- hourly matching: a certificate / PPA counts only in the hour it is stamped with
        and (
            '{{ var("scope2_matching", "annual") }}' = 'annual'
            or instruments.tier = 2
            or instruments.period_end_utc - instruments.period_start_utc <= interval 1 hour
        )
        and exists (
            select 1
            from site_intervals
            where site_intervals.site_id = instruments.site_id
                and site_intervals.interval_start_utc >= instruments.period_start_utc
                and site_intervals.interval_start_utc < instruments.period_end_utc
        )
),

boundaries as (
    select site_id, period_start_utc as boundary_utc from eligible
    union
    select site_id, period_end_utc as boundary_utc from eligible
),

segments as (
    select
        site_id,
        boundary_utc as segment_start_utc,
        lead(boundary_utc) over (partition by site_id order by boundary_utc) as segment_end_utc
    from boundaries
),

segment_energy as (
    select
        segments.site_id,
        segments.segment_start_utc,
        segments.segment_end_utc,
        cast(sum(site_intervals.kwh) as double) as kwh
    from segments
    inner join site_intervals
        on segments.site_id = site_intervals.site_id
        and site_intervals.interval_start_utc >= segments.segment_start_utc
        and site_intervals.interval_start_utc < segments.segment_end_utc
    where segments.segment_end_utc is not null
    group by all
),

initial as (
    select
        site_id,
        list(
            struct_pack(
                segment_start_utc := segment_start_utc,
                segment_end_utc := segment_end_utc,
                kwh := kwh,
                open_kwh := kwh
            )
            order by segment_start_utc
        ) as segments
    from segment_energy
    group by site_id
),

-- step k applies the k-th eligible instrument of the site to what steps 1..k-1 left open
allocation as (
    select site_id, cast(0 as bigint) as step, segments as segments_before,
        cast(0 as double) as share,
        segments as segments_after
    from initial
    union all
    select
        site_id,
        step,
        segments_before,
        share,
        [
            struct_pack(
                segment_start_utc := s.segment_start_utc,
                segment_end_utc := s.segment_end_utc,
                kwh := s.kwh,
                open_kwh := case
                    when s.segment_start_utc >= period_start_utc
                        and s.segment_start_utc < period_end_utc
                        then greatest(s.open_kwh - s.open_kwh * share, 0.0)
                    else s.open_kwh
                end
            )
            for s in segments_before
        ] as segments_after
    from (
        select
            *,
            case
                when volume_kwh is null then 1.0
                when open_in_period > 0 then least(1.0, volume_kwh / open_in_period)
                else 0.0
            end as share
        from (
            select
                previous.site_id,
                eligible.step,
                eligible.period_start_utc,
                eligible.period_end_utc,
                eligible.volume_kwh,
                previous.segments_after as segments_before,
                list_sum([
                    s.open_kwh for s in previous.segments_after
                    if s.segment_start_utc >= eligible.period_start_utc
                        and s.segment_start_utc < eligible.period_end_utc
                ]) as open_in_period
            from allocation as previous
            inner join eligible
                on previous.site_id = eligible.site_id
                and eligible.step = previous.step + 1
        )
    )
),

covered as (
    select
        allocation.site_id,
        allocation.step,
        allocation.share,
        unnest(allocation.segments_before) as segment
    from allocation
    where allocation.step > 0
),

final as (
    select
        covered.site_id,
        eligible.instrument_id,
        eligible.instrument_type,
        eligible.tier,
        covered.step,
        covered.segment.segment_start_utc as segment_start_utc,
        covered.segment.segment_end_utc as segment_end_utc,
        covered.segment.kwh as segment_kwh,
        covered.segment.open_kwh as open_kwh_before,
        covered.share,
        covered.segment.open_kwh * covered.share as covered_kwh,
        eligible.factor_kg_per_kwh
    from covered
    inner join eligible
        on covered.site_id = eligible.site_id
        and covered.step = eligible.step
    where covered.segment.segment_start_utc >= eligible.period_start_utc
        and covered.segment.segment_start_utc < eligible.period_end_utc
)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- The virtual meter of every node of the meter tree, per interval: what a meter measured minus
-- what its child meters measured ("parent minus children"). For a meter with children that is
-- the energy of its unmetered loads and losses; for a leaf it is simply its own energy.
-- Summed over every meter of a site this telescopes to the root meter's energy, which is what
-- makes the bottom-up allocation conserve energy.

with

meter_energy as (
    select meter_id, site_id, interval_start_utc, kwh, how_obtained
    from {{ ref('int_meter_interval_corrected') }}
    where {{ in_window('interval_start_utc') }}
),

meters as (
    select meter_id, site_id, parent_meter_id from {{ ref('stg_landing__meters') }}
),

child_energy as (
    select
        meters.parent_meter_id as meter_id,
        meter_energy.site_id,
        meter_energy.interval_start_utc,
        sum(meter_energy.kwh) as children_kwh,
        count(*) as children_reporting,
        bool_or(meter_energy.how_obtained = 'estimated') as any_child_estimated
    from meter_energy
    inner join meters
        on meter_energy.meter_id = meters.meter_id
    where meters.parent_meter_id is not null
    group by all
),

-- A node exists in an interval when the meter or any of its children reported: if the parent
-- has no data the children's energy shows as a negative residual rather than vanishing.
nodes as (
    select meter_id, site_id, interval_start_utc from meter_energy
    union
    select meter_id, site_id, interval_start_utc from child_energy
),

child_counts as (
    select parent_meter_id as meter_id, count(*) as child_count
    from meters
    where parent_meter_id is not null
    group by parent_meter_id
),

final as (
    select
        nodes.meter_id,
        nodes.site_id,
        nodes.interval_start_utc,
        coalesce(meter_energy.kwh, 0) as meter_kwh,
        coalesce(child_energy.children_kwh, 0) as children_kwh,
        {{ to_quantity('coalesce(meter_energy.kwh, 0) - coalesce(child_energy.children_kwh, 0)') }}
            as residual_kwh,
        coalesce(child_counts.child_count, 0) as child_count,
        coalesce(child_energy.children_reporting, 0) as children_reporting,
        meter_energy.kwh is not null as meter_reported,
        case
            when meter_energy.how_obtained = 'estimated'
                or child_energy.any_child_estimated
                or meter_energy.kwh is null
                then 'estimated'
            else 'measured'
        end as how_obtained
    from nodes
    left join meter_energy
        on nodes.meter_id = meter_energy.meter_id
        and nodes.interval_start_utc = meter_energy.interval_start_utc
    left join child_energy
        on nodes.meter_id = child_energy.meter_id
        and nodes.interval_start_utc = child_energy.interval_start_utc
    left join child_counts
        on nodes.meter_id = child_counts.meter_id
)

select * from final

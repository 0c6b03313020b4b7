{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- Bottom-up energy per equipment per interval: 100 % of every meter node's energy lands on an
-- equipment (or a visible pseudo equipment), so Σ per site per interval == the root meter.
--   * the node of an equipment meter → that equipment ('measured' / 'estimated')
--   * any other node (line, area, site meter) → its unmetered equipment, split by a dynamic
--     load weight ('allocated'):
--       weight = nameplate_kw × running_load_fraction  while a batch runs on the equipment's line
--                nameplate_kw × idle_load_fraction     otherwise
--                nameplate_kw × running_load_fraction  for equipment without a line (utilities)
--   * a node with no unmetered equipment (or all weights zero) → 'unallocated:<meter_id>'.

with

residuals as (
    select meter_id, site_id, interval_start_utc, residual_kwh, how_obtained
    from {{ ref('int_meter_residual') }}
    where {{ in_window('interval_start_utc') }}
),

meters as (
    select meter_id, measures_kind, measures_id from {{ ref('stg_landing__meters') }}
),

equipment as (
    select
        equipment_id,
        site_id,
        line_id,
        supply_meter_id,
        nameplate_kw,
        idle_load_fraction,
        running_load_fraction
    from {{ ref('stg_landing__equipment') }}
    where not is_metered
),

batches as (
    select site_id, line_id, start_utc, end_utc
    from {{ ref('stg_landing__production') }}
    where {{ in_window('start_utc - ' ~ interval_grain(), 'end_utc + ' ~ interval_grain()) }}
),

nodes as (
    select
        residuals.*,
        coalesce(meters.measures_kind = 'equipment', false) as is_equipment_meter,
        meters.measures_id
    from residuals
    left join meters
        on residuals.meter_id = meters.meter_id
),

metered as (
    select
        site_id,
        measures_id as equipment_id,
        interval_start_utc,
        residual_kwh as kwh,
        how_obtained,
        meter_id as source_meter_id,
        cast(null as double) as allocation_share
    from nodes
    where is_equipment_meter
),

candidates as (
    select
        nodes.meter_id,
        nodes.site_id,
        nodes.interval_start_utc,
        nodes.residual_kwh,
        equipment.equipment_id,
        equipment.nameplate_kw * case
            when equipment.line_id is null then equipment.running_load_fraction
            when exists (
                select 1
                from batches
                where batches.site_id = equipment.site_id
                    and batches.line_id = equipment.line_id
                    and batches.start_utc < nodes.interval_start_utc + {{ interval_grain() }}
                    and batches.end_utc > nodes.interval_start_utc
            ) then equipment.running_load_fraction
            else equipment.idle_load_fraction
        end as weight
    from nodes
    inner join equipment
        on nodes.meter_id = equipment.supply_meter_id
    where not nodes.is_equipment_meter
),

weighted as (
    select
        *,
        sum(weight) over (partition by meter_id, interval_start_utc) as total_weight
    from candidates
),

allocated as (
    select
        site_id,
        equipment_id,
        interval_start_utc,
        {{ to_quantity('residual_kwh * weight / total_weight') }} as kwh,
        'allocated' as how_obtained,
        meter_id as source_meter_id,
        weight / total_weight as allocation_share
    from weighted
    where total_weight > 0
),

unallocated as (
    select
        nodes.site_id,
        'unallocated:' || nodes.meter_id as equipment_id,
        nodes.interval_start_utc,
        nodes.residual_kwh as kwh,
        'allocated' as how_obtained,
        nodes.meter_id as source_meter_id,
        1.0 as allocation_share
    from nodes
    where not nodes.is_equipment_meter
        and not exists (
            select 1
            from weighted
            where weighted.meter_id = nodes.meter_id
                and weighted.interval_start_utc = nodes.interval_start_utc
                and weighted.total_weight > 0
        )
),

contributions as (
    select * from metered
    union all
    select * from allocated
    union all
    select * from unallocated
),

-- An equipment can get energy from more than one node in an interval (e.g. the last interval
-- of a replaced meter and the first of its successor); one row per equipment per interval.
final as (
    select
        site_id,
        equipment_id,
        interval_start_utc,
        sum(kwh) as kwh,
        case
            when bool_or(how_obtained = 'estimated') then 'estimated'
            when bool_or(how_obtained = 'allocated') then 'allocated'
            else 'measured'
        end as how_obtained,
        min(source_meter_id) as source_meter_id,
        sum(allocation_share) as allocation_share
    from contributions
    group by site_id, equipment_id, interval_start_utc
)

select * from final

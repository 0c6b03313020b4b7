-- Meters with their place in the tree (utility → main → sub → equipment).
with

meters as (
    select * from {{ ref('stg_landing__meters') }}
),

tree as (
    select * from {{ ref('int_meter_tree') }}
)

select
    meters.meter_id,
    meters.site_id,
    meters.parent_meter_id,
    tree.root_meter_id,
    tree.depth,
    coalesce(tree.is_root, false) as is_root,
    coalesce(tree.child_count, 0) as child_count,
    tree.meter_path,
    meters.meter_kind,
    meters.measures_kind,
    meters.measures_id,
    meters.register,
    meters.unit,
    meters.multiplier,
    meters.rollover_value,
    meters.interval_minutes,
    meters.installed_at_utc,
    meters.removed_at_utc
from meters
left join tree
    on meters.meter_id = tree.meter_id

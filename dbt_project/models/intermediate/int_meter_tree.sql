-- Each meter with its parent, its depth below the root (utility) meter and its number of child
-- meters. A view: the tree is master data and must be current when a daily window runs.
with recursive

meters as (
    select meter_id, site_id, parent_meter_id from {{ ref('stg_landing__meters') }}
),

-- Walk down from the roots. The depth cap stops a mis-mapped cycle from recursing forever; the
-- meters a cycle leaves out fail the relationship/not_null tests on dim_meter instead.
tree as (
    select
        meter_id,
        site_id,
        parent_meter_id,
        meter_id as root_meter_id,
        0 as depth,
        meter_id as meter_path
    from meters
    where parent_meter_id is null

    union all

    select
        child.meter_id,
        child.site_id,
        child.parent_meter_id,
        tree.root_meter_id,
        tree.depth + 1 as depth,
        tree.meter_path || ' > ' || child.meter_id as meter_path
    from meters as child
    inner join tree
        on child.parent_meter_id = tree.meter_id
    where tree.depth < 32
),

child_counts as (
    select parent_meter_id as meter_id, count(*) as child_count
    from meters
    where parent_meter_id is not null
    group by parent_meter_id
)

select
    tree.meter_id,
    tree.site_id,
    tree.parent_meter_id,
    tree.root_meter_id,
    tree.depth,
    tree.depth = 0 as is_root,
    coalesce(child_counts.child_count, 0) as child_count,
    tree.meter_path
from tree
left join child_counts
    on tree.meter_id = child_counts.meter_id

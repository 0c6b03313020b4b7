-- One row per equipment: the latest landed version wins.
with

source as (
    select * from {{ source('landing', 'equipment') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by equipment_id order by landed_at desc, landing_batch_id desc
    ) = 1
)

select
    equipment_id,
    site_id,
    equipment_name,
    line_id,
    process_step,
    equipment_type,
    nameplate_kw,
    is_metered,
    supply_meter_id,
    idle_load_fraction,
    running_load_fraction,
    landing_batch_id,
    landed_at at time zone 'UTC' as landed_at_utc
from latest

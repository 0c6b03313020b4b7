-- Equipment, plus one pseudo equipment 'unallocated:<meter_id>' for every meter node whose
-- residual had no unmetered equipment to go to: energy is never dropped, it shows up here.
with

equipment as (
    select * from {{ ref('stg_landing__equipment') }}
),

pseudo as (
    select distinct
        equipment_energy.equipment_id,
        equipment_energy.site_id,
        equipment_energy.source_meter_id
    from {{ ref('int_equipment_interval_energy') }} as equipment_energy
    where equipment_energy.equipment_id like 'unallocated:%'
),

final as (
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
        false as is_pseudo
    from equipment

    union all

    select
        equipment_id,
        site_id,
        'Unallocated residual of ' || source_meter_id as equipment_name,
        cast(null as varchar) as line_id,
        cast(null as varchar) as process_step,
        'unallocated' as equipment_type,
        cast(null as double) as nameplate_kw,
        false as is_metered,
        source_meter_id as supply_meter_id,
        cast(null as double) as idle_load_fraction,
        cast(null as double) as running_load_fraction,
        true as is_pseudo
    from pseudo
)

select * from final

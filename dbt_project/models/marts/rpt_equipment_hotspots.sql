-- Where the carbon goes versus where the product comes out, per site and equipment, over all
-- computed time (location-based). hotspot_ratio > 1: the equipment's share of the site's
-- emissions is larger than its line's share of the site's production.

with

emissions as (
    select site_id, equipment_id, sum(kwh) as kwh, sum(kg_co2e) as kg_co2e
    from {{ ref('fct_emissions_interval') }}
    where method = 'location'
    group by site_id, equipment_id
),

equipment as (
    select equipment_id, line_id from {{ ref('dim_equipment') }}
),

line_production as (
    select site_id, line_id, cast(sum(good_units) as bigint) as good_units
    from {{ ref('stg_landing__production') }}
    group by site_id, line_id
),

site_production as (
    select site_id, cast(sum(good_units) as bigint) as good_units
    from line_production
    group by site_id
),

shares as (
    select
        emissions.site_id,
        emissions.equipment_id,
        equipment.line_id,
        emissions.kwh,
        emissions.kg_co2e,
        -- the site total is summed as a decimal: exact, so a re-run gives the same bits (a
        -- double sum depends on the order DuckDB's threads add in)
        cast(emissions.kg_co2e as double)
            / nullif(cast(sum(emissions.kg_co2e) over (partition by emissions.site_id) as double), 0)
            as share_of_site_emissions,
        -- utilities (no line) serve all production: no "units through" of their own
        case when equipment.line_id is not null then coalesce(line_production.good_units, 0) end
            as good_units_through,
        case
            when equipment.line_id is not null
                then coalesce(line_production.good_units, 0)
                / nullif(site_production.good_units, 0)
        end as share_of_site_production
    from emissions
    left join equipment
        on emissions.equipment_id = equipment.equipment_id
    left join line_production
        on emissions.site_id = line_production.site_id
        and equipment.line_id = line_production.line_id
    left join site_production
        on emissions.site_id = site_production.site_id
),

final as (
    select
        *,
        share_of_site_emissions / nullif(share_of_site_production, 0) as hotspot_ratio,
        rank() over (
            partition by site_id order by share_of_site_emissions desc nulls last
        ) as emissions_rank
    from shares
)

select * from final

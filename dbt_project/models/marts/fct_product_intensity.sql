-- Energy and carbon intensity per site, line, SKU and shift (location-based), summed over
-- batches: per-unit figures are ratios of sums, not averages of per-batch ratios.

with

batches as (
    select * from {{ ref('fct_batch_energy') }}
),

final as (
    select
        site_id,
        line_id,
        sku,
        shift,
        count(*) as batches,
        cast(sum(good_units) as bigint) as good_units,
        sum(kwh) as kwh,
        sum(kg_co2e) as kg_co2e,
        sum(kg_co2e) / nullif(sum(good_units), 0) as kg_co2e_per_unit,
        sum(kwh) / nullif(sum(good_units), 0) as kwh_per_unit
    from batches
    group by site_id, line_id, sku, shift
)

select * from final

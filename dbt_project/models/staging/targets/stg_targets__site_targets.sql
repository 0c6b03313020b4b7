-- The resolved reduction targets: one row per target (site:year:basis) and period (quarter or
-- year). The file exists once the pipeline's targets/site_targets asset has run; a plain
-- `dbt build` before that reads no file and this model is empty with the same columns, so the
-- build passes and marts.rpt_target_progress is empty (as for a home whose targets.json holds
-- no target of its sites).

{%- set resolved = source('targets', 'site_targets') %}

with

source as (
    {% if resolved_targets_exist() -%}
        select * from {{ resolved }}
    {%- else -%}
        select
            null as site_id,
            null as target_id,
            null as year,
            null as basis,
            null as period_kind,
            null as period,
            null as period_start,
            null as period_end,
            null as reduction_pct,
            null as replan_threshold,
            null as baseline_year,
            null as baseline_source,
            null as baseline_kg_co2e,
            null as baseline_good_units,
            null as target_kg_co2e,
            null as target_kg_co2e_per_unit,
            null as targets_sha256
        where false
    {%- endif %}
)

select
    cast(site_id as varchar) as site_id,
    cast(target_id as varchar) as target_id,
    cast(year as integer) as year,
    cast(basis as varchar) as basis,
    cast(period_kind as varchar) as period_kind,
    cast(period as varchar) as period,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(reduction_pct as double) as reduction_pct,
    cast(replan_threshold as double) as replan_threshold,
    cast(baseline_year as integer) as baseline_year,
    cast(baseline_source as varchar) as baseline_source,
    cast(baseline_kg_co2e as double) as baseline_kg_co2e,
    cast(baseline_good_units as double) as baseline_good_units,
    cast(target_kg_co2e as double) as target_kg_co2e,
    cast(target_kg_co2e_per_unit as double) as target_kg_co2e_per_unit,
    cast(targets_sha256 as varchar) as targets_sha256
from source

{{
    config(
        schema='audit',
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        full_refresh=false,
    )
}}

-- Figures as reported: an append-only history of every site-day Scope 2 figure, one row per
-- version. Each run appends the site-days whose figure (kWh, kg CO2e) or basis (factor
-- versions, instruments) differs from the last version recorded — a first report, a restatement
-- after a factor update, late readings, a bill or new instruments — stamped with the time it was
-- written. Nothing is ever updated or deleted (full_refresh is off: `dbt build --full-refresh`
-- keeps the history), so "the figure as reported on date D" is the last version reported at or
-- before D (audit.emissions_reported_on has the query).
-- Only ended days are recorded: today's figure grows with every live batch and is not a report.
-- Why not a dbt snapshot: snapshots update dbt_valid_to in place; an auditor's history should be
-- append-only, and rows here also say *why* they changed.

with

daily as (
    select * from {{ ref('fct_scope2_daily') }}
    where day_end_utc <= now() at time zone 'UTC'
),

current_figures as (
    select
        site_id,
        site_local_date,
        'location' as method,
        kwh,
        location_kg as kg_co2e,
        location_factor_versions as factor_versions,
        cast(null as varchar) as instrument_ids
    from daily
    union all
    select
        site_id,
        site_local_date,
        'market' as method,
        kwh,
        market_kg as kg_co2e,
        -- the residual mix, and the location factor where it stood in for a missing residual mix
        nullif(concat_ws(',',
            residual_factor_versions,
            case when kwh_location_fallback > 0 then location_factor_versions end
        ), '') as factor_versions,
        instrument_ids
    from daily
),

{% if is_incremental() %}
previous as (
    select *
    from {{ this }}
    qualify row_number() over (
        partition by site_id, site_local_date, method order by version_no desc
    ) = 1
),
{% else %}
previous as (
    select
        cast(null as varchar) as site_id,
        cast(null as date) as site_local_date,
        cast(null as varchar) as method,
        cast(null as {{ quantity_type() }}) as kwh,
        cast(null as {{ quantity_type() }}) as kg_co2e,
        cast(null as varchar) as factor_versions,
        cast(null as varchar) as instrument_ids,
        cast(null as integer) as version_no
    where false
),
{% endif %}

changed as (
    select
        current_figures.*,
        coalesce(previous.version_no, 0) + 1 as version_no,
        concat_ws(', ',
            case when previous.site_id is null then 'first report' end,
            case when previous.site_id is not null
                and current_figures.factor_versions is distinct from previous.factor_versions
                then 'factor ' || coalesce(previous.factor_versions, 'none') || ' → '
                    || coalesce(current_figures.factor_versions, 'none') end,
            case when previous.site_id is not null
                and current_figures.instrument_ids is distinct from previous.instrument_ids
                then 'instruments ' || coalesce(previous.instrument_ids, 'none') || ' → '
                    || coalesce(current_figures.instrument_ids, 'none') end,
            case when previous.site_id is not null
                and current_figures.kwh is distinct from previous.kwh
                then 'energy revised (late readings, corrections or a bill)' end,
            case when previous.site_id is not null
                and current_figures.kg_co2e is distinct from previous.kg_co2e
                and current_figures.kwh is not distinct from previous.kwh
                and current_figures.factor_versions is not distinct from previous.factor_versions
                and current_figures.instrument_ids is not distinct from previous.instrument_ids
                then 'recomputed (same inputs, different result: investigate)' end
        ) as change_reason
    from current_figures
    left join previous
        on current_figures.site_id = previous.site_id
        and current_figures.site_local_date = previous.site_local_date
        and current_figures.method = previous.method
    where previous.site_id is null
        or current_figures.kwh is distinct from previous.kwh
        or current_figures.kg_co2e is distinct from previous.kg_co2e
        or current_figures.factor_versions is distinct from previous.factor_versions
        or current_figures.instrument_ids is distinct from previous.instrument_ids
)

select
    site_id,
    site_local_date,
    method,
    cast(kwh as {{ quantity_type() }}) as kwh,
    cast(kg_co2e as {{ quantity_type() }}) as kg_co2e,
    factor_versions,
    instrument_ids,
    cast(version_no as integer) as version_no,
    change_reason,
    now() at time zone 'UTC' as reported_at_utc,
    '{{ invocation_id }}' as dbt_invocation_id
from changed

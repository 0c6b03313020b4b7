{{ config(schema='audit', materialized='view') }}

-- Every restatement: each version of a site-day figure after the first, beside the version it
-- replaced, with the reason and the source documents of the factor versions it now uses.
-- `wattprint report restatement` sums these per period.

with

versions as (
    select
        *,
        lag(kwh) over by_figure as old_kwh,
        lag(kg_co2e) over by_figure as old_kg_co2e,
        lag(factor_versions) over by_figure as old_factor_versions,
        lag(instrument_ids) over by_figure as old_instrument_ids,
        lag(reported_at_utc) over by_figure as old_reported_at_utc
    from {{ ref('emissions_as_reported') }}
    window by_figure as (partition by site_id, site_local_date, method order by version_no)
),

factor_documents as (
    select
        factor_id || '@' || version as factor_version_key,
        any_value(source_document) as source_document,
        any_value(published_at_utc) as published_at_utc
    from {{ ref('int_factor_versions') }}
    group by factor_id, version
),

restated as (
    select * from versions where version_no > 1
),

documents as (
    select
        restated.site_id,
        restated.site_local_date,
        restated.method,
        restated.version_no,
        string_agg(distinct factor_documents.source_document, '; ') as new_source_documents
    from restated
    cross join unnest(string_split(coalesce(restated.factor_versions, ''), ',')) as used(key)
    inner join factor_documents
        on factor_documents.factor_version_key = used.key
    where coalesce(restated.old_factor_versions, '') <> coalesce(restated.factor_versions, '')
    group by all
)

select
    restated.site_id,
    restated.site_local_date,
    restated.method,
    restated.version_no,
    restated.old_reported_at_utc,
    restated.reported_at_utc,
    restated.old_kwh,
    restated.kwh as new_kwh,
    restated.old_kg_co2e,
    restated.kg_co2e as new_kg_co2e,
    restated.kg_co2e - restated.old_kg_co2e as delta_kg_co2e,
    restated.old_factor_versions,
    restated.factor_versions as new_factor_versions,
    restated.old_instrument_ids,
    restated.instrument_ids as new_instrument_ids,
    restated.change_reason,
    documents.new_source_documents
from restated
left join documents
    on restated.site_id = documents.site_id
    and restated.site_local_date = documents.site_local_date
    and restated.method = documents.method
    and restated.version_no = documents.version_no

{{ config(schema='audit', materialized='view') }}

-- Each version of a site-day figure with the span during which it was THE reported figure:
-- [reported_at_utc, superseded_at_utc). The figures as reported on instant T:
--     select * from audit.emissions_reported_on
--     where reported_at_utc <= T and (superseded_at_utc is null or superseded_at_utc > T)

select
    site_id,
    site_local_date,
    method,
    version_no,
    kwh,
    kg_co2e,
    factor_versions,
    instrument_ids,
    change_reason,
    reported_at_utc,
    lead(reported_at_utc) over (
        partition by site_id, site_local_date, method order by version_no
    ) as superseded_at_utc
from {{ ref('emissions_as_reported') }}

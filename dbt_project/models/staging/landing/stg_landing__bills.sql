-- One row per bill: the latest landed version of a bill_id wins (a re-issued bill corrects the
-- first). The period is printed in site-local dates, both inclusive; it is also given as a UTC
-- [start, end) span so it can be joined to interval data (DST-safe: local midnight → UTC).
with

source as (
    select * from {{ source('landing', 'bills') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by bill_id order by landed_at desc, landing_batch_id desc
    ) = 1
),

sites as (
    select site_id, timezone from {{ ref('stg_landing__sites') }}
)

select
    latest.bill_id,
    latest.site_id,
    latest.period_start,
    latest.period_end,
    {{ local_to_utc('cast(latest.period_start as timestamp)', 'sites.timezone') }}
        as period_start_utc,
    {{ local_to_utc('cast(latest.period_end + 1 as timestamp)', 'sites.timezone') }}
        as period_end_utc,
    latest.kwh,
    latest.cost,
    latest.currency,
    latest.tariff,
    latest.supplier,
    latest.contract_id,
    latest.landing_batch_id,
    latest.landed_at at time zone 'UTC' as landed_at_utc
from latest
left join sites
    on latest.site_id = sites.site_id

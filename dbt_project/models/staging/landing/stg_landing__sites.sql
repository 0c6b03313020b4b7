-- One row per site: the latest landed version wins (site attributes are slowly changing master
-- data; a re-landed row is a correction).
with

source as (
    select * from {{ source('landing', 'sites') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by site_id order by landed_at desc, landing_batch_id desc
    ) = 1
)

select
    site_id,
    site_name,
    timezone,
    grid_region,
    country,
    location_factor_granularity,
    landing_batch_id,
    landed_at at time zone 'UTC' as landed_at_utc
from latest

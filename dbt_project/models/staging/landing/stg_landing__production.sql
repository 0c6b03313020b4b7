-- One row per production batch: the latest landed version wins (an MES re-export with final
-- good/scrap counts corrects the running one).
with

source as (
    select * from {{ source('landing', 'production') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by batch_id order by landed_at desc, landing_batch_id desc
    ) = 1
)

select
    batch_id,
    site_id,
    line_id,
    sku,
    start_ts at time zone 'UTC' as start_utc,
    end_ts at time zone 'UTC' as end_utc,
    good_units,
    scrap_units,
    shift,
    landing_batch_id,
    landed_at at time zone 'UTC' as landed_at_utc
from latest

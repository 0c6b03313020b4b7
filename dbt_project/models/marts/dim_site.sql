-- Sites, one row each, with the time zone that turns UTC intervals into local days and shifts.
select
    site_id,
    site_name,
    timezone,
    grid_region,
    country,
    location_factor_granularity
from {{ ref('stg_landing__sites') }}

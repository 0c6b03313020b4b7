{{ config(schema='audit', materialized='view') }}

-- Every emission factor version ever landed, with its source document, publication date and the
-- landing batch it arrived in: the end of every audit trace ("which factor, from which
-- publication"). Versions are never overwritten: a restated figure and the figure it replaced
-- both find theirs here.

select
    factor_id,
    version,
    factor_id || '@' || version as factor_version_key,
    method,
    region,
    energy_carrier,
    granularity,
    valid_from_utc,
    valid_to_utc,
    value as published_value,
    unit as published_unit,
    value_kg_per_kwh as factor_kg_per_kwh,
    gas,
    gwp_set,
    source_document,
    published_at_utc,
    landing_batch_id,
    landed_at_utc
from {{ ref('stg_landing__factors') }}

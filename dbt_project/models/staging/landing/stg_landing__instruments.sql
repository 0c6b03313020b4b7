-- One row per contractual instrument (certificate, PPA, green tariff, supplier-specific rate):
-- the latest landed version of an instrument_id wins, because an instrument changes state
-- (bought, then retired/cancelled on the consumer's behalf). The volume is converted to kWh and
-- the rate to kg CO2e per kWh with the unit_conversions seed; the published values stay beside
-- them for the audit trail.
with

source as (
    select * from {{ source('landing', 'instruments') }}
),

latest as (
    select *
    from source
    qualify row_number() over (
        partition by instrument_id order by landed_at desc, landing_batch_id desc
    ) = 1
),

energy as (
    select from_unit, multiplier from {{ ref('unit_conversions') }} where to_unit = 'kWh'
),

rates as (
    select from_unit, multiplier from {{ ref('unit_conversions') }} where to_unit = 'kgCO2e/kWh'
)

select
    latest.instrument_id,
    latest.instrument_type,
    -- GHG Protocol Scope 2 quality order (Table 6.3): attribute-conveying instruments first,
    -- then a supplier's own rate; the residual mix (a factor) covers the rest
    case latest.instrument_type when 'supplier_specific' then 2 else 1 end as tier,
    latest.scheme,
    latest.contract_id,
    latest.site_id,
    latest.market,
    latest.period_start at time zone 'UTC' as period_start_utc,
    latest.period_end at time zone 'UTC' as period_end_utc,
    latest.volume,
    latest.volume_unit,
    latest.volume * energy.multiplier as volume_kwh,
    latest.emission_factor,
    latest.emission_factor_unit,
    latest.emission_factor * rates.multiplier as factor_kg_per_kwh,
    latest.technology,
    latest.generator_id,
    latest.supplier,
    latest.retired,
    latest.source_document,
    latest.landing_batch_id,
    latest.landed_at at time zone 'UTC' as landed_at_utc
from latest
left join energy
    on latest.volume_unit = energy.from_unit
left join rates
    on latest.emission_factor_unit = rates.from_unit

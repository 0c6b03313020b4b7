{{ config(schema='audit', materialized='view') }}

-- Step 1 of the audit trace: each location-based emission row with the energy row it was
-- computed from (how the kWh were obtained, the bill and reconciliation factor, the source
-- meter node) and the factor version with its source document.
--     kg_co2e = kwh × factor_kg_per_kwh,   kwh = kwh_bottom_up × reconciliation_factor

select
    emissions.site_id,
    emissions.equipment_id,
    emissions.interval_start_utc,
    emissions.method,
    emissions.kg_co2e,
    emissions.kwh,
    energy.kwh_bottom_up,
    energy.reconciliation_factor,
    energy.bill_id,
    energy.how_obtained,
    energy.source_meter_id,
    emissions.factor_id,
    emissions.factor_version,
    emissions.factor_kg_per_kwh,
    factors.source_document as factor_source_document,
    factors.published_at_utc as factor_published_at_utc
from {{ ref('fct_emissions_interval') }} as emissions
inner join {{ ref('fct_energy_interval') }} as energy
    on emissions.site_id = energy.site_id
    and emissions.equipment_id = energy.equipment_id
    and emissions.interval_start_utc = energy.interval_start_utc
left join {{ ref('factor_versions') }} as factors
    on emissions.factor_id = factors.factor_id
    and emissions.factor_version = factors.version
    and factors.valid_from_utc <= emissions.interval_start_utc
    and emissions.interval_start_utc < factors.valid_to_utc
    and coalesce(factors.gas, 'CO2e') in ('CO2e', 'CO2')
qualify row_number() over (
    partition by emissions.site_id, emissions.equipment_id, emissions.interval_start_utc,
        emissions.method
    order by coalesce(factors.gas, 'CO2e') = 'CO2e' desc
) = 1

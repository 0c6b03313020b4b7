-- Every reconciled energy row has its location-based emissions, i.e. a grid factor for the
-- site's region and granularity was valid at the interval start. fct_emissions_interval writes
-- no row (never a zero) when the factor is missing; this test names what is missing.
-- Checks the run's window (all time with the default vars).
select
    energy.site_id,
    energy.equipment_id,
    energy.interval_start_utc,
    energy.kwh
from {{ ref('fct_energy_interval') }} as energy
left join {{ ref('fct_emissions_interval') }} as emissions
    on energy.site_id = emissions.site_id
    and energy.equipment_id = emissions.equipment_id
    and energy.interval_start_utc = emissions.interval_start_utc
    and emissions.method = 'location'
where emissions.kg_co2e is null
    and {{ in_window('energy.interval_start_utc') }}

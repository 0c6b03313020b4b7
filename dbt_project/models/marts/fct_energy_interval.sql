{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- Energy per equipment per interval, reconciled to the utility bill (top-down vs bottom-up).
-- For the bill whose period covers the interval:
--     reconciliation_factor = bill kWh / Σ bottom-up kWh of the WHOLE bill period
--     kwh                   = kwh_bottom_up × reconciliation_factor
-- so Σ kwh over a bill period == bill kWh. The whole period is read from
-- int_equipment_interval_energy, not only this window: every window of a period must be re-run
-- when any of them (or the bill) changes, or the period's sum drifts from the bill — the
-- bill-conservation test catches that.
-- No bill yet → factor 1 and bill_id null (the figure is the metered one until the bill lands).

with

bottom_up as (
    select site_id, equipment_id, interval_start_utc, kwh, how_obtained, source_meter_id
    from {{ ref('int_equipment_interval_energy') }}
    where {{ in_window('interval_start_utc') }}
),

bills as (
    select bill_id, site_id, period_start_utc, period_end_utc, kwh as bill_kwh
    from {{ ref('stg_landing__bills') }}
    where {{ in_window('period_start_utc', 'period_end_utc') }}
),

bill_bottom_up as (
    select
        bills.bill_id,
        sum(equipment_energy.kwh) as period_bottom_up_kwh
    from bills
    inner join {{ ref('int_equipment_interval_energy') }} as equipment_energy
        on bills.site_id = equipment_energy.site_id
        and equipment_energy.interval_start_utc >= bills.period_start_utc
        and equipment_energy.interval_start_utc < bills.period_end_utc
    group by bills.bill_id
),

bill_factors as (
    select
        bills.bill_id,
        bills.site_id,
        bills.period_start_utc,
        bills.period_end_utc,
        -- a period with no bottom-up energy at all cannot be scaled: keep factor 1 and let the
        -- bill-conservation test report it
        coalesce(
            bills.bill_kwh / nullif(cast(bill_bottom_up.period_bottom_up_kwh as double), 0), 1.0
        ) as reconciliation_factor
    from bills
    left join bill_bottom_up
        on bills.bill_id = bill_bottom_up.bill_id
),

final as (
    select
        bottom_up.site_id,
        bottom_up.equipment_id,
        bottom_up.interval_start_utc,
        {{ to_quantity('bottom_up.kwh * coalesce(bill_factors.reconciliation_factor, 1.0)') }}
            as kwh,
        bottom_up.kwh as kwh_bottom_up,
        bottom_up.how_obtained,
        bill_factors.bill_id,
        coalesce(bill_factors.reconciliation_factor, 1.0) as reconciliation_factor,
        bottom_up.source_meter_id
    from bottom_up
    left join bill_factors
        on bottom_up.site_id = bill_factors.site_id
        and bottom_up.interval_start_utc >= bill_factors.period_start_utc
        and bottom_up.interval_start_utc < bill_factors.period_end_utc
)

select * from final

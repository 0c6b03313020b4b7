-- Top-down (bill) versus bottom-up (meters) per site and bill period, the reference study's
-- reconciliation table. A full rebuild: it is small and reads the daily tables as they stand.
--   residual_kwh          = bill − what equipment meters measured: the energy the bill says was
--                           used by unmetered loads and losses
--   reconciliation_factor = bill / bottom-up (all equipment, metered + allocated)
--   is_complete           = every interval of the period has reconciled energy

with

bills as (
    select * from {{ ref('stg_landing__bills') }}
),

root_meters as (
    select meter_id from {{ ref('int_meter_tree') }} where is_root
),

utility as (
    select
        bills.bill_id,
        sum(meter_energy.kwh) as utility_meter_kwh
    from bills
    inner join {{ ref('int_meter_interval_corrected') }} as meter_energy
        on bills.site_id = meter_energy.site_id
        and meter_energy.interval_start_utc >= bills.period_start_utc
        and meter_energy.interval_start_utc < bills.period_end_utc
    inner join root_meters
        on meter_energy.meter_id = root_meters.meter_id
    group by bills.bill_id
),

bottom_up as (
    select
        bills.bill_id,
        sum(equipment_energy.kwh) filter (where equipment_energy.how_obtained <> 'allocated')
            as metered_equipment_kwh,
        sum(equipment_energy.kwh) filter (where equipment_energy.how_obtained = 'allocated')
            as allocated_kwh,
        sum(equipment_energy.kwh) as bottom_up_kwh
    from bills
    inner join {{ ref('int_equipment_interval_energy') }} as equipment_energy
        on bills.site_id = equipment_energy.site_id
        and equipment_energy.interval_start_utc >= bills.period_start_utc
        and equipment_energy.interval_start_utc < bills.period_end_utc
    group by bills.bill_id
),

reconciled as (
    select
        bill_id,
        sum(kwh) as reconciled_kwh,
        count(distinct interval_start_utc) as intervals_present,
        -- one factor per bill when every window of the period was computed after the last change
        min(reconciliation_factor) as min_factor,
        max(reconciliation_factor) as max_factor
    from {{ ref('fct_energy_interval') }}
    where bill_id is not null
    group by bill_id
),

final as (
    select
        bills.site_id,
        bills.bill_id,
        bills.period_start,
        bills.period_end,
        bills.period_start_utc,
        bills.period_end_utc,
        bills.kwh as bill_kwh,
        coalesce(utility.utility_meter_kwh, 0) as utility_meter_kwh,
        coalesce(bottom_up.metered_equipment_kwh, 0) as metered_equipment_kwh,
        coalesce(bottom_up.allocated_kwh, 0) as allocated_kwh,
        coalesce(bottom_up.bottom_up_kwh, 0) as bottom_up_kwh,
        {{ to_quantity('bills.kwh - coalesce(bottom_up.metered_equipment_kwh, 0)') }}
            as residual_kwh,
        bills.kwh / nullif(cast(bottom_up.bottom_up_kwh as double), 0) as reconciliation_factor,
        coalesce(reconciled.reconciled_kwh, 0) as reconciled_kwh,
        cast(
            date_diff('minute', bills.period_start_utc, bills.period_end_utc)
            / {{ var('interval_minutes') }} as bigint
        ) as intervals_expected,
        coalesce(reconciled.intervals_present, 0) as intervals_present,
        coalesce(reconciled.intervals_present, 0)
            = date_diff('minute', bills.period_start_utc, bills.period_end_utc)
            / {{ var('interval_minutes') }} as is_complete,
        -- the daily windows of the period were computed against the current bill and data
        coalesce(
            abs(reconciled.reconciled_kwh - bills.kwh) <= 0.01
            and reconciled.min_factor = reconciled.max_factor,
            false
        ) as is_reconciled
    from bills
    left join utility
        on bills.bill_id = utility.bill_id
    left join bottom_up
        on bills.bill_id = bottom_up.bill_id
    left join reconciled
        on bills.bill_id = reconciled.bill_id
)

select * from final

-- Energy conservation at every node of the meter tree: Σ child meters + residual = parent, per
-- interval, recomputed independently from int_meter_interval_energy (not from the residual
-- model's own children_kwh). Returns the unbalanced nodes. Checks the run's window.
with

meters as (
    select meter_id, parent_meter_id from {{ ref('stg_landing__meters') }}
),

meter_energy as (
    select meter_id, interval_start_utc, kwh
    from {{ ref('int_meter_interval_corrected') }}
    where {{ in_window('interval_start_utc') }}
),

children as (
    select meters.parent_meter_id as meter_id, meter_energy.interval_start_utc, sum(meter_energy.kwh) as kwh
    from meter_energy
    inner join meters
        on meter_energy.meter_id = meters.meter_id
    where meters.parent_meter_id is not null
    group by all
),

residuals as (
    select meter_id, interval_start_utc, residual_kwh
    from {{ ref('int_meter_residual') }}
    where child_count > 0
        and {{ in_window('interval_start_utc') }}
)

select
    residuals.meter_id,
    residuals.interval_start_utc,
    parent.kwh as parent_kwh,
    children.kwh as children_kwh,
    residuals.residual_kwh
from residuals
left join meter_energy as parent
    on residuals.meter_id = parent.meter_id
    and residuals.interval_start_utc = parent.interval_start_utc
left join children
    on residuals.meter_id = children.meter_id
    and residuals.interval_start_utc = children.interval_start_utc
where abs(
    coalesce(children.kwh, 0) + residuals.residual_kwh - coalesce(parent.kwh, 0)
) > 0.000001

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- Meter interval energy with the correction overlay applied: what allocation, reconciliation
-- and emissions use. Per interval the strongest decision wins, as quality.corrections
-- .apply_overlay does: quarantine (the interval is dropped) > estimate > correct, and among
-- estimates a gap/spike/stuck estimate over a drift rescale. An estimate can add an interval
-- that had no energy at all (a gap of an interval register).

with

base as (
    select meter_id, site_id, interval_start_utc, kwh, how_obtained
    from {{ ref('int_meter_interval_energy') }}
    where {{ in_window('interval_start_utc') }}
),

decisions as (
    select *
    from {{ ref('int_meter_interval_corrections') }}
    where {{ in_window('interval_start_utc') }}
        and action in ('quarantine', 'estimate', 'correct')
    qualify row_number() over (
        partition by meter_id, interval_start_utc
        order by
            case action when 'quarantine' then 40 when 'estimate' then 30 else 20 end
            - case when method = 'drift_rescale' then 1 else 0 end desc,
            overlay_id
    ) = 1
),

joined as (
    select
        coalesce(base.meter_id, decisions.meter_id) as meter_id,
        coalesce(base.site_id, decisions.site_id) as site_id,
        coalesce(base.interval_start_utc, decisions.interval_start_utc) as interval_start_utc,
        base.kwh as original_kwh,
        base.how_obtained as original_how_obtained,
        decisions.action,
        decisions.method,
        decisions.rule,
        decisions.overlay_id,
        decisions.corrected_kwh
    from base
    full outer join decisions
        on base.meter_id = decisions.meter_id
        and base.interval_start_utc = decisions.interval_start_utc
),

final as (
    select
        meter_id,
        site_id,
        interval_start_utc,
        case
            when action in ('estimate', 'correct') and corrected_kwh is not null
                then {{ to_quantity('corrected_kwh') }}
            else original_kwh
        end as kwh,
        -- an exact arithmetic fix (a rollover) keeps how the energy was obtained; an estimate
        -- is an estimate
        case
            when action = 'estimate' and corrected_kwh is not null then 'estimated'
            else original_how_obtained
        end
            as how_obtained,
        original_kwh,
        rule as correction_rule,
        method as correction_method,
        overlay_id
    from joined
    where (action is null or action <> 'quarantine') and coalesce(corrected_kwh, original_kwh) is not null
)

select * from final

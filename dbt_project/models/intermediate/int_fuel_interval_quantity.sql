{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- Fuel burnt per fuel meter per interval, in the meter's base unit (kWh, l or kg): the Scope 1
-- activity data. The same span arithmetic as int_meter_interval_energy, kept deliberately
-- simpler:
--   counter  : a reading at t closes [t_prev, t); the delta (rollover-corrected) is the fuel of
--              that span, spread evenly over the intervals it covers ('estimated' when it
--              covers more than one). Spans longer than counter_max_gap_hours are not spread.
--   interval : the value is the fuel of [ts, ts + interval_minutes).
-- Not applied to fuel (yet): the electricity chain's spike filter and the quality layer's
-- correction overlay. A counter that falls without a rollover value (a reset) has no known
-- quantity and its span is dropped, never counted as negative fuel.

with

meters as (
    select
        meter_id,
        site_id,
        energy_carrier,
        register,
        base_unit,
        rollover_value,
        interval_minutes,
        installed_at_utc,
        removed_at_utc
    from {{ ref('stg_landing__fuel_meters') }}
),

-- the readings a window needs: counter spans reach at most one max gap outside it
readings as (
    select raw_id, meter_id, ts_utc, value, conversion_factor, quality, received_at_utc
    from {{ ref('stg_landing__fuel_readings') }}
    where ts_utc >= {{ window_start_utc() }} - {{ max_gap() }}
        and ts_utc <= {{ window_end_utc() }} + {{ max_gap() }}
),

in_service as (
    select readings.*, meters.site_id, meters.energy_carrier, meters.register,
        meters.base_unit, meters.rollover_value, meters.interval_minutes
    from readings
    inner join meters
        on readings.meter_id = meters.meter_id
    where readings.ts_utc >= meters.installed_at_utc
        and (
            meters.removed_at_utc is null
            or (meters.register = 'counter' and readings.ts_utc <= meters.removed_at_utc)
            or readings.ts_utc + to_minutes(meters.interval_minutes) <= meters.removed_at_utc
        )
),

-- two different raw_ids for the same meter and instant: keep the first received
one_per_instant as (
    select *
    from in_service
    qualify row_number() over (
        partition by meter_id, ts_utc order by received_at_utc, raw_id
    ) = 1
),

counter_steps as (
    select
        meter_id,
        site_id,
        energy_carrier,
        base_unit,
        interval_minutes,
        lag(ts_utc) over by_meter as span_start_utc,
        ts_utc as span_end_utc,
        value - lag(value) over by_meter as delta,
        -- rollover_value is in raw register units; conversion_factor brings it to base units
        rollover_value * conversion_factor as rollover_base,
        quality = 'estimated' or lag(quality) over by_meter = 'estimated' as source_estimated
    from one_per_instant
    where register = 'counter'
    window by_meter as (partition by meter_id order by ts_utc)
),

counter_spans as (
    select
        meter_id,
        site_id,
        energy_carrier,
        base_unit,
        span_start_utc,
        span_end_utc,
        case
            when delta >= 0 then delta
            -- wrapped past rollover_value; a fall by more than half the range is a reset
            when rollover_base is not null and delta + rollover_base between 0 and rollover_base / 2
                then delta + rollover_base
        end as span_quantity,
        span_end_utc - span_start_utc > to_minutes(interval_minutes) as is_gap,
        source_estimated
    from counter_steps
    where span_start_utc is not null
        and span_end_utc - span_start_utc <= {{ max_gap() }}
),

register_spans as (
    select
        meter_id,
        site_id,
        energy_carrier,
        base_unit,
        ts_utc as span_start_utc,
        ts_utc + to_minutes(interval_minutes) as span_end_utc,
        value as span_quantity,
        false as is_gap,
        quality = 'estimated' as source_estimated
    from one_per_instant
    where register = 'interval'
),

spans as (
    select * from counter_spans where span_quantity is not null
    union all
    select * from register_spans where span_quantity is not null
),

sliced as (
    select
        spans.*,
        unnest(generate_series(
            time_bucket({{ interval_grain() }}, span_start_utc),
            span_end_utc - interval 1 microsecond,
            {{ interval_grain() }}
        )) as interval_start_utc
    from spans
    where {{ in_window('span_start_utc', 'span_end_utc') }}
),

shared as (
    select
        *,
        date_diff(
            'microsecond',
            greatest(span_start_utc, interval_start_utc),
            least(span_end_utc, interval_start_utc + {{ interval_grain() }})
        ) / date_diff('microsecond', span_start_utc, span_end_utc) as share
    from sliced
    where {{ in_window('interval_start_utc') }}
),

final as (
    select
        meter_id,
        site_id,
        energy_carrier,
        interval_start_utc,
        sum({{ to_quantity('span_quantity * share') }}) as quantity,
        any_value(base_unit) as quantity_unit,
        case
            when bool_or(is_gap or share < 1 or source_estimated) then 'estimated'
            else 'measured'
        end as how_obtained,
        count(*) as span_count
    from shared
    group by meter_id, site_id, energy_carrier, interval_start_utc
)

select * from final

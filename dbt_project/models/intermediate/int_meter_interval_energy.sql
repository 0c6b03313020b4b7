{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_window('interval_start_utc') }}",
    )
}}

-- Energy per meter per interval (kWh), from whatever register the meter has:
--   counter_kwh  : a reading at t closes [t_prev, t); the delta (rollover-corrected) is the energy
--                  of that span. Normally the span is one interval ('measured'); after missing
--                  readings it covers several and is spread evenly over them ('estimated').
--   interval_kwh : the value is the energy of [ts, ts + interval_minutes).
--   power_kw     : the mean kW over [ts, ts + interval_minutes), times the hours.
-- Every span is then cut on the interval grid by time overlap.

with

meters as (
    select
        meter_id,
        site_id,
        register,
        rollover_value,
        interval_minutes,
        installed_at_utc,
        removed_at_utc
    from {{ ref('stg_landing__meters') }}
),

-- Only the readings this window needs. A counter span touching the window starts or ends at
-- most counter_max_gap_hours outside it, and deciding whether its end readings are outliers
-- needs their neighbours, up to another max gap away: hence twice the gap on each side. Spans
-- and neighbours farther apart than the gap are ignored, so a window run and a full run agree
-- exactly.
readings as (
    select raw_id, meter_id, ts_utc, value, conversion_factor, quality, received_at_utc
    from {{ ref('stg_landing__readings') }}
    where ts_utc >= {{ window_start_utc() }} - 2 * {{ max_gap() }}
        and ts_utc <= {{ window_end_utc() }} + 2 * {{ max_gap() }}
),

-- Meter replacement: a reading counts only while its meter is in service, so the old and the
-- new device never produce a delta between each other's counters.
in_service as (
    select
        readings.*,
        meters.site_id,
        meters.register,
        meters.rollover_value,
        meters.interval_minutes
    from readings
    inner join meters
        on readings.meter_id = meters.meter_id
    where readings.ts_utc >= meters.installed_at_utc
        and (
            meters.removed_at_utc is null
            or (meters.register = 'counter_kwh' and readings.ts_utc <= meters.removed_at_utc)
            or readings.ts_utc + to_minutes(meters.interval_minutes) <= meters.removed_at_utc
        )
),

-- Two different raw_ids for the same meter and instant: keep the first received.
one_per_instant as (
    select *
    from in_service
    qualify row_number() over (
        partition by meter_id, ts_utc order by received_at_utc, raw_id
    ) = 1
),

counter_neighbours as (
    select
        *,
        case when ts_utc - lag(ts_utc) over by_meter <= {{ max_gap() }}
            then lag(value) over by_meter end as prev_value,
        case when lead(ts_utc) over by_meter - ts_utc <= {{ max_gap() }}
            then lead(value) over by_meter end as next_value
    from one_per_instant
    where register = 'counter_kwh'
    window by_meter as (partition by meter_id order by ts_utc)
),

-- A counter only moves forward (or wraps). A single reading that breaks that order while its
-- two neighbours agree with each other (a spike up or down) is not a counter value: it is
-- skipped, and the span between its neighbours is spread as a gap ('estimated'). A wrap is
-- different: there the neighbours do not agree (99 → 0 → 1).
counter_readings as (
    select *
    from counter_neighbours
    where not coalesce(
        (value > next_value or value < prev_value) and next_value >= prev_value, false
    )
),

counter_steps as (
    select
        meter_id,
        site_id,
        interval_minutes,
        lag(ts_utc) over by_meter as span_start_utc,
        ts_utc as span_end_utc,
        value - lag(value) over by_meter as delta_kwh,
        -- rollover_value is in raw register units; conversion_factor brings it to kWh
        rollover_value * conversion_factor as rollover_kwh,
        quality = 'estimated' or lag(quality) over by_meter = 'estimated' as source_estimated
    from counter_readings
    window by_meter as (partition by meter_id order by ts_utc)
),

counter_spans as (
    select
        meter_id,
        site_id,
        span_start_utc,
        span_end_utc,
        case
            when delta_kwh >= 0 then delta_kwh
            -- the counter wrapped past rollover_value back to zero; a fall by less than half
            -- the register's range is a reset, not a wrap, and has no known energy
            when rollover_kwh is not null and delta_kwh + rollover_kwh between 0 and rollover_kwh / 2
                then delta_kwh + rollover_kwh
        end as span_kwh,
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
        ts_utc as span_start_utc,
        ts_utc + to_minutes(interval_minutes) as span_end_utc,
        case register
            when 'interval_kwh' then value
            when 'power_kw' then value * interval_minutes / 60.0
        end as span_kwh,
        false as is_gap,
        quality = 'estimated' as source_estimated
    from one_per_instant
    where register in ('interval_kwh', 'power_kw')
),

spans as (
    -- a negative counter delta without a rollover value (a reset) has no known energy: it is
    -- dropped here and the parent meter's residual carries that energy instead
    select * from counter_spans where span_kwh is not null
    union all
    select * from register_spans where span_kwh is not null
),

spans_in_window as (
    select *
    from spans
    where {{ in_window('span_start_utc', 'span_end_utc') }}
),

-- Cut each span on the interval grid.
sliced as (
    select
        spans_in_window.*,
        unnest(generate_series(
            time_bucket({{ interval_grain() }}, span_start_utc),
            span_end_utc - interval 1 microsecond,
            {{ interval_grain() }}
        )) as interval_start_utc
    from spans_in_window
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
        interval_start_utc,
        sum({{ to_quantity('span_kwh * share') }}) as kwh,
        -- estimated when any part of the interval was spread over a gap, apportioned from a
        -- longer span, or flagged estimated by the source
        case
            when bool_or(is_gap or share < 1 or source_estimated) then 'estimated'
            else 'measured'
        end as how_obtained,
        count(*) as span_count
    from shared
    group by meter_id, site_id, interval_start_utc
)

select * from final

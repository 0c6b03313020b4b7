{{ config(schema='audit', materialized='view') }}

-- The last step of the audit trace: every reading as it was received — raw id, meter, time,
-- value and unit as sent, the conversion to kWh (or kW), the quality flag of the source, where
-- it came from (MQTT topic or file), when it was received and landed, and the landing file that
-- holds it (relative to $WATTPRINT_HOME/landing; readings are Hive-partitioned by site and UTC
-- date). Deduplicated: a retransmitted raw_id is the first copy received. Two different raw ids
-- for the same meter and instant (a conflicting re-send) are both listed; energy uses the first
-- received (`superseded_duplicate` marks the other), as int_meter_interval_energy does.

select
    readings.raw_id,
    readings.meter_id,
    readings.site_id,
    readings.ts_utc,
    readings.register,
    meters.interval_minutes,
    readings.raw_value,
    readings.unit,
    readings.conversion_factor,
    readings.value,
    readings.value_unit,
    readings.quality,
    readings.source,
    readings.received_at_utc,
    readings.landing_batch_id,
    readings.landed_at_utc,
    'readings/site=' || readings.site_id || '/date=' || strftime(readings.ts_utc, '%Y-%m-%d')
        || '/' || readings.landing_batch_id || '.parquet' as landing_file,
    row_number() over (
        partition by readings.meter_id, readings.ts_utc
        order by readings.received_at_utc, readings.raw_id
    ) > 1 as superseded_duplicate
from {{ ref('stg_landing__readings') }} as readings
left join {{ ref('stg_landing__meters') }} as meters
    on readings.meter_id = meters.meter_id

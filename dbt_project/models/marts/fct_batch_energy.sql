-- Energy and emissions per production batch. The energy of a line's equipment in an interval
-- goes to the batches running on that line in that interval, by time overlap:
--     share = overlap(batch, interval) / max(interval length, Σ overlaps of all batches there)
-- so a batch running through a whole interval alone takes all of it, two parallel batches
-- split it, and the idle part of a partly covered interval stays with the line (not a batch).
-- Emissions are location-based.

with

batches as (
    select * from {{ ref('stg_landing__production') }}
),

equipment as (
    select equipment_id, site_id, line_id
    from {{ ref('stg_landing__equipment') }}
    where line_id is not null
),

line_energy as (
    select
        emissions.site_id,
        equipment.line_id,
        emissions.interval_start_utc,
        sum(emissions.kwh) as kwh,
        sum(emissions.kg_co2e) as kg_co2e
    from {{ ref('fct_emissions_interval') }} as emissions
    inner join equipment
        on emissions.equipment_id = equipment.equipment_id
    where emissions.method = 'location'
    group by all
),

batch_intervals as (
    select
        batch_id,
        site_id,
        line_id,
        start_utc,
        end_utc,
        unnest(generate_series(
            time_bucket({{ interval_grain() }}, start_utc),
            end_utc - interval 1 microsecond,
            {{ interval_grain() }}
        )) as interval_start_utc
    from batches
    where end_utc > start_utc
),

batch_overlaps as (
    select
        *,
        date_diff(
            'microsecond',
            greatest(start_utc, interval_start_utc),
            least(end_utc, interval_start_utc + {{ interval_grain() }})
        ) as overlap_us
    from batch_intervals
),

shares as (
    select
        *,
        overlap_us / greatest(
            date_diff(
                'microsecond', interval_start_utc, interval_start_utc + {{ interval_grain() }}
            ),
            sum(overlap_us) over (partition by site_id, line_id, interval_start_utc)
        ) as share
    from batch_overlaps
),

batch_totals as (
    select
        shares.batch_id,
        shares.site_id,
        shares.line_id,
        shares.start_utc,
        sum({{ to_quantity('line_energy.kwh * shares.share') }}) as kwh,
        sum({{ to_quantity('line_energy.kg_co2e * shares.share') }}) as kg_co2e,
        count(line_energy.interval_start_utc) as intervals_with_energy
    from shares
    left join line_energy
        on shares.site_id = line_energy.site_id
        and shares.line_id = line_energy.line_id
        and shares.interval_start_utc = line_energy.interval_start_utc
    group by all
),

final as (
    select
        batches.batch_id,
        batches.site_id,
        batches.line_id,
        batches.sku,
        batches.shift,
        batches.start_utc,
        batches.end_utc,
        batches.good_units,
        batches.scrap_units,
        coalesce(batch_totals.kwh, 0) as kwh,
        coalesce(batch_totals.kg_co2e, 0) as kg_co2e,
        coalesce(batch_totals.kwh, 0) / nullif(batches.good_units, 0) as kwh_per_unit,
        coalesce(batch_totals.kg_co2e, 0) / nullif(batches.good_units, 0) as kg_co2e_per_unit,
        coalesce(batch_totals.intervals_with_energy, 0) as intervals_with_energy
    from batches
    left join batch_totals
        on batches.batch_id = batch_totals.batch_id
        and batches.site_id = batch_totals.site_id
        and batches.line_id = batch_totals.line_id
        and batches.start_utc = batch_totals.start_utc
)

select * from final

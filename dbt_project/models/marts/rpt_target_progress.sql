-- Run-rate progress of each site against its reduction targets, location-based. The targets are
-- those of $WATTPRINT_HOME/targets.json as the pipeline resolved them (stg_targets__site_targets:
-- one row per target and period, with the same baseline and target kgCO2e that
-- forecasting.target_progress holds its forecast to). This view needs no forecast: it projects
-- each period at the run rate of its complete days so far.
--
-- Only COMPLETE site-local days count (every equipment has all of the day's intervals), so
-- today's partial day never makes a quarter look better than it is. Good units are those of
-- the batches that ended on a counted day (site-local end date, as the baseline counts them).
--     projected          = actual / days_with_data × days_in_period
--     budget             = absolute: target_kg_co2e
--                          per unit: target_kg_co2e_per_unit × the period's good units at the
--                          same run rate (units / days_with_data × days_in_period)
--     budget_for_days    = the same for the days counted (absolute: pro rata by days; per unit:
--                          target per unit × the units of those days)
--     projected_vs_target_pct = (projected / budget − 1) × 100
-- Status follows models/forecasting/targets.py status_of, without a forecast interval: replan
-- when projected > budget × (1 + replan_threshold), at_risk when projected > budget, else
-- on_track; no_data before the first complete day (per unit: before the first good unit).

with

targets as (
    select
        *,
        datediff('day', period_start, period_end) + 1 as days_in_period
    from {{ ref('stg_targets__site_targets') }}
),

site_days as (
    select
        site_id,
        site_local_date,
        sum(kg_co2e) as kg_co2e,
        bool_and(
            equipment_id like 'unallocated:%'
            or interval_count
            = (epoch(day_end_utc) - epoch(day_start_utc)) / ({{ var('interval_minutes') }} * 60)
        ) as is_complete
    from {{ ref('fct_emissions_daily') }}
    where method = 'location'
    group by site_id, site_local_date
),

units_by_day as (
    select
        batches.site_id,
        timezone(sites.timezone, timezone('UTC', batches.end_utc))::date as site_local_date,
        sum(batches.good_units) as good_units
    from {{ ref('stg_landing__production') }} as batches
    inner join {{ ref('stg_landing__sites') }} as sites
        on batches.site_id = sites.site_id
    group by all
),

counted_days as (
    select
        site_days.site_id,
        site_days.site_local_date,
        site_days.kg_co2e,
        coalesce(units_by_day.good_units, 0) as good_units
    from site_days
    left join units_by_day
        on site_days.site_id = units_by_day.site_id
        and site_days.site_local_date = units_by_day.site_local_date
    where site_days.is_complete
),

progress as (
    select
        targets.target_id,
        targets.period,
        count(counted_days.site_local_date) as days_with_data,
        min(counted_days.site_local_date) as first_day_counted,
        max(counted_days.site_local_date) as last_day_counted,
        coalesce(sum(counted_days.kg_co2e), 0) as actual_kg_co2e,
        coalesce(sum(counted_days.good_units), 0) as good_units
    from targets
    left join counted_days
        on targets.site_id = counted_days.site_id
        and counted_days.site_local_date between targets.period_start and targets.period_end
    group by targets.target_id, targets.period
),

measured as (
    select
        targets.*,
        progress.days_with_data,
        progress.first_day_counted,
        progress.last_day_counted,
        cast(progress.actual_kg_co2e as decimal(38, 12)) as actual_kg_co2e,
        cast(progress.good_units as bigint) as good_units,
        cast(progress.actual_kg_co2e as double) as actual,
        cast(progress.good_units as double) as units
    from targets
    inner join progress
        on targets.target_id = progress.target_id
        and targets.period = progress.period
),

projected as (
    select
        *,
        actual / nullif(units, 0) as actual_kg_co2e_per_unit,
        case
            when basis = 'per_unit' then target_kg_co2e_per_unit * units
            else target_kg_co2e * days_with_data / days_in_period
        end as budget_for_days_kg_co2e,
        case when days_with_data > 0
            then actual / days_with_data * days_in_period
        end as projected_kg_co2e,
        case
            when basis = 'absolute' then target_kg_co2e
            when days_with_data > 0 and units > 0
                then target_kg_co2e_per_unit * (units / days_with_data * days_in_period)
        end as budget_kg_co2e
    from measured
)

select
    site_id,
    target_id,
    year,
    basis,
    period_kind,
    period,
    period_start,
    period_end,
    days_in_period,
    baseline_year,
    baseline_source,
    baseline_kg_co2e,
    baseline_good_units,
    reduction_pct,
    replan_threshold,
    target_kg_co2e,
    target_kg_co2e_per_unit,
    days_with_data,
    first_day_counted,
    last_day_counted,
    actual_kg_co2e,
    good_units,
    actual_kg_co2e_per_unit,
    budget_for_days_kg_co2e,
    projected_kg_co2e,
    budget_kg_co2e,
    (projected_kg_co2e / budget_kg_co2e - 1) * 100 as projected_vs_target_pct,
    case
        when projected_kg_co2e is null or budget_kg_co2e is null then 'no_data'
        when projected_kg_co2e > budget_kg_co2e * (1 + replan_threshold) then 'replan'
        when projected_kg_co2e > budget_kg_co2e then 'at_risk'
        else 'on_track'
    end as status,
    targets_sha256
from projected

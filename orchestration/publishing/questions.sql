-- The five questions a plant manager asks first, as SQL over the published warehouse.
-- The README prints these very queries (a test keeps the two identical) and the BI test runs
-- them through SQLAlchemy. Each block starts with `-- name: <name>` and `-- title: <title>`.
--
-- "Today" is the latest site-local day with data — today on a live plant, the last simulated
-- day in the demo. Ask about another day with `SET VARIABLE as_of_date = DATE '2026-01-06';`
-- before the query (DuckDB CLI, SQLAlchemy, Superset's SQL Lab). Emissions are location-based
-- Scope 2 (kgCO2e); days, weeks (Monday to Sunday) and months are site-local.

-- name: todays_emissions_by_line
-- title: Today's emissions by line
with as_of as (
    select site_id, coalesce(getvariable('as_of_date')::date, max(site_local_date)) as day
    from marts.fct_emissions_daily
    group by site_id
)
select
    d.site_id,
    d.site_local_date as day,
    coalesce(e.line_id, '(site utilities)') as line,
    sum(d.kwh) as kwh,
    sum(d.kg_co2e) as kg_co2e
from marts.fct_emissions_daily as d
join as_of on d.site_id = as_of.site_id and d.site_local_date = as_of.day
left join marts.dim_equipment as e on d.equipment_id = e.equipment_id
where d.method = 'location'
group by all
order by d.site_id, kg_co2e desc;

-- name: top_hotspots_this_week
-- title: Top 5 hotspots this week
with as_of as (
    select site_id, coalesce(getvariable('as_of_date')::date, max(site_local_date)) as day
    from marts.fct_emissions_daily
    group by site_id
),
week as (
    select site_id, date_trunc('week', day)::date as first_day, day as last_day from as_of
),
emissions as (
    select d.site_id, d.equipment_id, sum(d.kg_co2e) as kg_co2e
    from marts.fct_emissions_daily as d
    join week on d.site_id = week.site_id
        and d.site_local_date between week.first_day and week.last_day
    where d.method = 'location'
    group by all
),
production as (
    select
        b.site_id,
        b.line_id,
        sum(b.good_units) / sum(sum(b.good_units)) over (partition by b.site_id)
            as share_of_production
    from marts.fct_batch_energy as b
    join marts.dim_site as s on b.site_id = s.site_id
    join week on b.site_id = week.site_id
        and timezone(s.timezone, timezone('UTC', b.start_utc))::date
            between week.first_day and week.last_day
    group by b.site_id, b.line_id
),
shares as (
    select
        emissions.site_id,
        emissions.equipment_id,
        e.line_id,
        emissions.kg_co2e,
        emissions.kg_co2e / sum(emissions.kg_co2e) over (partition by emissions.site_id)
            as share_of_emissions,
        production.share_of_production
    from emissions
    left join marts.dim_equipment as e on emissions.equipment_id = e.equipment_id
    left join production
        on emissions.site_id = production.site_id and e.line_id = production.line_id
)
select
    site_id,
    equipment_id,
    line_id,
    kg_co2e,
    round(100 * share_of_emissions, 2) as pct_of_emissions,
    round(100 * share_of_production, 2) as pct_of_production,
    round(share_of_emissions / share_of_production, 2) as hotspot_ratio
from shares
qualify row_number() over (partition by site_id order by kg_co2e desc, equipment_id) <= 5
order by site_id, kg_co2e desc, equipment_id;

-- name: intensity_per_sku_this_month
-- title: Carbon intensity per SKU this month
with as_of as (
    select site_id, coalesce(getvariable('as_of_date')::date, max(site_local_date)) as day
    from marts.fct_emissions_daily
    group by site_id
)
select
    b.site_id,
    b.sku,
    count(*) as batches,
    sum(b.good_units) as good_units,
    sum(b.kwh) as kwh,
    sum(b.kg_co2e) as kg_co2e,
    sum(b.kg_co2e) / sum(b.good_units) as kg_co2e_per_unit
from marts.fct_batch_energy as b
join marts.dim_site as s on b.site_id = s.site_id
join as_of on b.site_id = as_of.site_id
where date_trunc('month', timezone(s.timezone, timezone('UTC', b.start_utc)))
    = date_trunc('month', as_of.day)
group by all
having sum(b.good_units) > 0
order by b.site_id, kg_co2e_per_unit desc;

-- name: reconciliation_residual_per_bill
-- title: Reconciliation residual per bill
select
    site_id,
    bill_id,
    period_start,
    period_end,
    bill_kwh,
    metered_equipment_kwh,
    residual_kwh,
    round(100 * residual_kwh / bill_kwh, 2) as residual_pct,
    allocated_kwh,
    reconciled_kwh,
    is_complete,
    is_reconciled
from marts.fct_reconciliation
order by site_id, period_start;

-- name: progress_against_target
-- title: Progress against target
with as_of as (
    select site_id, coalesce(getvariable('as_of_date')::date, max(site_local_date)) as day
    from marts.fct_emissions_daily
    group by site_id
)
select
    t.site_id,
    t.period,
    t.basis,
    t.target_kg_co2e,
    t.target_kg_co2e_per_unit,
    t.days_with_data,
    t.actual_kg_co2e,
    t.actual_kg_co2e_per_unit,
    t.budget_for_days_kg_co2e,
    t.projected_kg_co2e,
    t.budget_kg_co2e,
    round(t.projected_vs_target_pct, 2) as projected_vs_target_pct,
    t.status
from marts.rpt_target_progress as t
join as_of on t.site_id = as_of.site_id
    and as_of.day between t.period_start and t.period_end
order by t.site_id, t.period_kind, t.basis;

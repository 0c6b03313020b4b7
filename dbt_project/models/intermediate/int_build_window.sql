{{ config(materialized='table', tags=['daily']) }}

-- The window this run of the `daily` models computes, as one row: Python models cannot call
-- the window macros, so they read it from here (dbt builds it first: they ref it).

select
    {{ window_start_utc() }} as window_start_utc,
    {{ window_end_utc() }} as window_end_utc

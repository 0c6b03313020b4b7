{#-
    Validity windows [lower_bound_column, upper_bound_column) of rows in the same partition do
    not overlap, and every window is non-empty (in the spirit of
    dbt_utils.mutually_exclusive_ranges, gaps allowed). Sorted by lower bound, a window overlaps
    an earlier one exactly when it starts before the latest end seen so far: one sort instead of
    a self-join, so a year of hourly factors stays cheap. Returns the offending rows.
-#}
{% test mutually_exclusive_ranges(model, lower_bound_column, upper_bound_column, partition_by) %}

with

ranges as (
    select
        {{ partition_by | join(', ') }},
        {{ lower_bound_column }} as lower_bound,
        {{ upper_bound_column }} as upper_bound
    from {{ model }}
),

ordered as (
    select
        *,
        max(upper_bound) over (
            partition by {{ partition_by | join(', ') }}
            order by lower_bound, upper_bound
            rows between unbounded preceding and 1 preceding
        ) as latest_earlier_end
    from ranges
)

select
    *,
    case
        when not (lower_bound < upper_bound) then 'empty or inverted window'
        else 'overlaps an earlier window'
    end as problem
from ordered
where not coalesce(lower_bound < upper_bound, false)
    or lower_bound < latest_earlier_end

{% endtest %}

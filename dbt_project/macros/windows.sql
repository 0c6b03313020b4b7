{#-
    The partition window of the `daily` models.

    The window is two UTC strings, start inclusive, end exclusive:
    `--vars '{window_start_utc: "2026-03-01 16:00:00", window_end_utc: "2026-03-02 16:00:00"}'`
    The defaults in dbt_project.yml cover all time.

    Dagster passes the window in the environment instead (WATTPRINT_WINDOW_START_UTC and
    WATTPRINT_WINDOW_END_UTC, see orchestration/defs/warehouse/partitions.py): --vars that change
    on every run make dbt re-parse the whole project each time (several seconds per run), while
    an environment variable read only at execution time (`execute`) leaves the saved parse valid.
    When set, the environment wins over --vars. Unit tests always take their window from vars
    (their `overrides`), so a window in the environment never leaks into their fixtures.
-#}

{% macro _window_var(name) -%}
    {%- set in_unit_test = model is defined and model is mapping
        and model.get('resource_type') == 'unit_test' -%}
    {%- set from_env = env_var('WATTPRINT_' ~ name | upper, '') | trim
        if execute and not in_unit_test else '' -%}
    {%- set value = (from_env or var(name)) | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error(
            (("WATTPRINT_" ~ name | upper) if from_env else ("var " ~ name))
            ~ " must be a UTC timestamp 'YYYY-MM-DD HH:MM:SS', got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return(value | replace('T', ' ')) }}
{%- endmacro %}

{% macro window_start_utc() -%}
    cast('{{ _window_var("window_start_utc") }}' as timestamp)
{%- endmacro %}

{% macro window_end_utc() -%}
    cast('{{ _window_var("window_end_utc") }}' as timestamp)
{%- endmacro %}

{#-
    `column` lies in the window. With `end_column`, rows are [column, end_column) spans and the
    predicate is "overlaps the window" (used by the site-local daily rollup).
-#}
{% macro in_window(column, end_column=none) -%}
    {%- if end_column is none -%}
        ({{ column }} >= {{ window_start_utc() }} and {{ column }} < {{ window_end_utc() }})
    {%- else -%}
        ({{ column }} < {{ window_end_utc() }} and {{ end_column }} > {{ window_start_utc() }})
    {%- endif -%}
{%- endmacro %}

{#-
    Pre-hook of every `daily` model: delete exactly the rows of the window before the insert, so a
    re-run replaces the window completely even when rows disappeared (e.g. a meter was removed
    from the tree). It runs inside the model's transaction: readers see the old window or the new
    one, never a hole. On the first build (no table yet) or a full refresh it renders nothing.
-#}
{% macro delete_window(column='interval_start_utc', end_column=none) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_window(column, end_column) }}
    {%- endif -%}
{%- endmacro %}

{#-
    The one numeric type of every stored energy or emission quantity. Sums of DECIMAL are exact,
    so a sum does not depend on the order DuckDB's threads add rows in: re-running a window gives
    byte-identical tables, and conservation checks compare exact sums.
-#}
{% macro quantity_type() -%}decimal(38, 12){%- endmacro %}

{% macro to_quantity(expr) -%}cast({{ expr }} as {{ quantity_type() }}){%- endmacro %}

{#- A naive UTC timestamp as the naive wall-clock time of an IANA zone (DST-safe). -#}
{% macro utc_to_local(ts_utc, tz) -%}
    (({{ ts_utc }}) at time zone 'UTC') at time zone ({{ tz }})
{%- endmacro %}

{#- A naive wall-clock time of an IANA zone as naive UTC. -#}
{% macro local_to_utc(ts_local, tz) -%}
    (({{ ts_local }}) at time zone ({{ tz }})) at time zone 'UTC'
{%- endmacro %}

{% macro interval_grain() -%}
    to_minutes(cast({{ var('interval_minutes') }} as bigint))
{%- endmacro %}

{#- The longest counter gap that is spread over intervals (and the readings look-back/ahead). -#}
{% macro max_gap() -%}
    to_hours(cast({{ var('counter_max_gap_hours') }} as bigint))
{%- endmacro %}

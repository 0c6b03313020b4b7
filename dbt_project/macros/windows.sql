{#-
    The partition window of the `daily` models.

    Dagster runs those models once per site-local day and passes the day as two UTC strings:
    `--vars '{window_start_utc: "2026-03-01 16:00:00", window_end_utc: "2026-03-02 16:00:00"}'`
    (start inclusive, end exclusive). The defaults in dbt_project.yml cover all time.
-#}

{% macro _window_var(name) -%}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a UTC timestamp 'YYYY-MM-DD HH:MM:SS', got '" ~ value ~ "'"
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

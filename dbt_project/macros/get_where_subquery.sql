{#-
    Scope generic tests on the `daily` models to the run's window.

    dbt wraps the model of every generic test in get_where_subquery (the hook behind the `where`
    config). A windowed run only rewrote its window, so there is no point re-testing a year of
    intervals on every daily partition: on a model tagged `daily`, tests read only the rows of
    the window (its `meta.window_column`, default interval_start_utc; with
    `meta.window_end_column` the rows whose span overlaps the window). With the default vars the
    window is all time, so a plain `dbt build` / `dbt test` still checks every row. An explicit
    `where` config is kept and combined.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window_filter = _daily_window_filter(relation) -%}
    {%- if window_filter -%}
        {%- do filters.append(window_filter) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ filters | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro _daily_window_filter(relation) -%}
    {%- if not execute or relation.identifier is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
            and 'daily' in node.tags
            and (node.alias or node.name) | lower == relation.identifier | lower
            and node.schema | lower == (relation.schema or '') | lower -%}
            {%- set meta = node.config.get('meta', {}) or {} -%}
            {{ return(in_window(
                meta.get('window_column', 'interval_start_utc'), meta.get('window_end_column')
            )) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

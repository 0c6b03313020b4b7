{#- Where the pipeline writes the resolved targets (orchestration/defs/targets/assets.py). -#}
{% macro resolved_targets_path() -%}
    {{ env_var('WATTPRINT_HOME') }}/resolved_targets.parquet
{%- endmacro %}

{#- True when the resolved targets file exists. Only known while executing (false at parse
    time), so a model must still call source() unconditionally to keep its lineage. -#}
{% macro resolved_targets_exist() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query("select count(*) from glob('" ~ resolved_targets_path() ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

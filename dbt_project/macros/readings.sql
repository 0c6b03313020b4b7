{#-
    Ingestion is at-least-once: the same raw_id can land several times. The FIRST received copy
    is the reading (a later copy is a retransmission, not a correction). Electricity and fuel
    readings share this rule, so it is written once.

    A raw_id names one meter's reading at one instant, so partitioning by (ts, raw_id) keeps the
    same rows as by raw_id alone; the unique test on raw_id fails the build if a raw_id ever
    came with two timestamps. Having ts in the partition lets DuckDB push a time filter below
    the deduplication: a daily window then deduplicates its own readings instead of the whole
    landing zone's history (0.08 s instead of 0.74 s for the last half hour of 720,000 readings).
-#}
{% macro first_received_copy() -%}
    qualify row_number() over (
        partition by ts, raw_id order by received_at, landed_at, landing_batch_id
    ) = 1
{%- endmacro %}

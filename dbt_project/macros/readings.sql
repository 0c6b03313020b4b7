{#-
    Ingestion is at-least-once: the same raw_id can land several times. The FIRST received copy
    is the reading (a later copy is a retransmission, not a correction). Electricity and fuel
    readings share this rule, so it is written once.
-#}
{% macro first_received_copy() -%}
    qualify row_number() over (
        partition by raw_id order by received_at, landed_at, landing_batch_id
    ) = 1
{%- endmacro %}

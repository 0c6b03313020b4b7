"""Dagster only: definitions, assets (thin), resources, partitions, checks and the command line.
Everything heavy lives in ingestion/, quality/, models/ and dbt_project/."""

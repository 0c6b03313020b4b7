"""Reports read from the warehouse: the ISO 14064-1 / GHG Protocol Scope 2 inventory, the
restatement report, the audit trace and the desensitized export. Plain DuckDB queries over the
marts and audit schemas (no Dagster): the command line renders what these modules return."""

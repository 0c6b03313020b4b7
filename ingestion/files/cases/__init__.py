"""Worked cases built on public data: registry, factor and mapping files plus the code that
lands them and checks the result against what the source itself reports."""

"""Anomaly rules that need more than Great Expectations can express — one module per rule, each
a pure Polars function from warehouse-shaped frames to anomaly events (common.ANOMALY_SCHEMA).

    gaps              missing readings per meter; batches with > 10 % of their data missing
    range_spike       energy above what the meter can carry; counter outliers and resets
    rollover          counter wraps (exact energy: delta + rollover value)
    replacement       meter swaps; readings outside a meter's service window
    stuck             a counter flat while its line runs; frozen registers
    energy_per_unit   batch kWh/unit > 20 % above the history of line, SKU, shift and step
    drift             a meter drifting against its parent and children over weeks
    bill_gap          the bill against the root meters, outside the site's band
    clock             duplicates (identical, conflicting); the row-level clock checks are GX
    reported          a source's own emissions against kWh × factor
    production_data   overlapping batches (row checks are GX: suites/production.py)
    factor_files      overlapping validity windows and coverage gaps (bounds are GX)

The reference order to run them in is quality.evaluation.run_quality.
"""

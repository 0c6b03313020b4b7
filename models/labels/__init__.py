"""Step energy labels: per product and production step, the best energy per unit achieved
(the benchmark), each batch's energy above it, and the product's label (Σ of its benchmarks).

    from models.labels import batch_step_energy, step_benchmarks, batch_excess, energy_labels
    steps = batch_step_energy(intervals, dim_equipment, production)
    bench = step_benchmarks(steps)
    ranked = batch_excess(steps, bench)        # rank 1 = most non-value-adding kgCO2e
    labels = energy_labels(bench)              # kWh and kgCO2e per unit per SKU

`python -m models.labels` prints them for the simulated plant.
"""

from models.labels.steps import (
    actual_vs_label,
    batch_excess,
    batch_step_energy,
    energy_labels,
    line_groups,
    step_benchmarks,
)

__all__ = [
    "actual_vs_label",
    "batch_excess",
    "batch_step_energy",
    "energy_labels",
    "line_groups",
    "step_benchmarks",
]

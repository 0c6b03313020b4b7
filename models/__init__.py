"""Analytical models on top of the warehouse: forecasting and carbon-aware production planning."""

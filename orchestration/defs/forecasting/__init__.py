"""Forecasts, backtests, target tracking, re-plan requests and reduction scenarios as assets
(the `forecasting` group, schema `forecasting` in the warehouse)."""

"""Data quality: anomaly rules (Great Expectations suites), pure correction functions, and the
accuracy of the accounting against known ground truth. Nothing here imports dagster."""

"""Great Expectations suites, one module per kind of data, built in code (no YAML).

Each module has `build_suite(...) -> gx.ExpectationSuite`, `prepare(frame) -> pl.DataFrame` (the
derived columns its expectations test) and `validate(frame, ...) -> ValidationOutcome`, which
runs the suite through `quality.validation.run_suite`. Expectation `meta` carries the rule,
check, severity and message of the anomaly a failing row becomes.
"""

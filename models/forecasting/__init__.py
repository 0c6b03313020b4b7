"""Energy and emissions forecasting (Prophet), backtests, reduction targets and scenarios.

Takes Polars frames shaped like the warehouse marts (`fct_energy_interval`,
`fct_emissions_interval`, `dim_equipment`, `stg_landing__production`, `stg_landing__factors`)
and returns plain frames and dataclasses; it never imports Dagster.

    from models.forecasting import ForecastConfig, Scope, build_series, forecast_series
    bundle = build_series(intervals, Scope("site", "TW-HSINCHU-01"), "emissions", "daily",
                          config, production=production, factors=factors)
    fc = forecast_series(bundle, config)        # fc.frame: ds, yhat, yhat_lower, yhat_upper
    fc.backtest.mape, fc.backtest.coverage      # rolling-origin score stored with the forecast

`python -m models.forecasting.evaluate [--steel]` reports the backtests on simulated (or the
steel plant's) data; `python -m models.forecasting.scenarios` prints the measures' comparison.
"""

import logging as _logging

# Prophet logs an error at import when plotly is missing and cmdstanpy logs every chain start:
# noise in a pipeline log. Silence them before anything imports prophet. cmdstanpy installs its
# own INFO handler (and resets its level) only when its logger has no handler: give it one.
for _name, _level in (("prophet.plot", _logging.CRITICAL), ("prophet", _logging.WARNING),
                      ("cmdstanpy", _logging.WARNING)):
    _logger = _logging.getLogger(_name)
    _logger.setLevel(_level)
    if _name != "prophet" and not _logger.handlers:
        _logger.addHandler(_logging.NullHandler())

from models.forecasting.config import ForecastConfig  # noqa: E402
from models.forecasting.forecast import Forecast, MonthlyForecast, forecast_monthly, forecast_series  # noqa: E402,E501
from models.forecasting.series import Scope, SeriesBundle, build_series  # noqa: E402

__all__ = [
    "Forecast",
    "ForecastConfig",
    "MonthlyForecast",
    "Scope",
    "SeriesBundle",
    "build_series",
    "forecast_monthly",
    "forecast_series",
]

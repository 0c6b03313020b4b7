"""How much the forecasting assets fit: bounded, so a scheduled run stays short."""

import dagster as dg

from models.forecasting.batch import BatchSpec


class ForecastSettings(dg.ConfigurableResource):
    """Series per site: the site, its `lines` largest lines and `equipment` largest pieces of
    equipment, each for energy and emissions: 6 Prophet series per site and horizon group by
    default. History read: the last `daily_history_days` days for the daily group (a 30-day
    backtest wants at least 72), `hourly_history_days` for the hourly one (its final model
    trains on the last 42 days; the folds need a little more)."""

    lines: int = 1
    equipment: int = 1
    daily_history_days: int = 120
    hourly_history_days: int = 56
    emission_basis: str = "reported"  # or 'hourly_intensity' (kWh x the hourly grid factor)
    hourly_factor_id: str = "TW-GRID-HOURLY-SIM"

    def spec(self) -> BatchSpec:
        return BatchSpec(
            lines=self.lines,
            equipment=self.equipment,
            emission_basis=self.emission_basis,  # type: ignore[arg-type]
            hourly_factor_id=self.hourly_factor_id,
        )

    def history_days(self, group: str) -> int:
        return self.hourly_history_days if group == "hourly" else self.daily_history_days

"""A small Prophet wrapper: fit on a Polars (ds, y, regressors) frame, predict with intervals,
draw sample paths, save and load through `prophet.serialize`.

Why a wrapper: the rest of the package speaks Polars and local naive timestamps, and a saved
model must carry what Prophet's JSON does not — the regressors it was fitted with, which were
dropped, the frequency and any interval calibration factor. (Importing any module of this
package first runs `models/forecasting/__init__.py`, which quiets Prophet's logging.)
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from models.forecasting.config import Freq, ProphetSettings

FORMAT_VERSION = 1


class ProphetForecaster:
    """fit → predict / sample → to_json / from_json. Predictions are clipped at 0 (energy and
    emissions are never negative)."""

    def __init__(
        self,
        settings: ProphetSettings | None = None,
        freq: Freq = "daily",
        regressors: tuple[str, ...] | list[str] = (),
        holidays: pd.DataFrame | None = None,
    ) -> None:
        self.settings = settings or ProphetSettings()
        self.freq = freq
        self.regressors = tuple(regressors)
        self.holidays = holidays
        self.interval_scale = 1.0  # multiplies the interval half-widths (calibration)
        self.model = None
        self.used_regressors: tuple[str, ...] = ()
        self._weeks_ok = True

    # ---------------------------------------------------------------------------------------
    def _new_model(self):
        from prophet import Prophet

        s = self.settings
        model = Prophet(
            growth=s.growth,
            n_changepoints=s.n_changepoints,
            changepoint_prior_scale=s.changepoint_prior_scale,
            seasonality_prior_scale=s.seasonality_prior_scale,
            holidays_prior_scale=s.holidays_prior_scale,
            seasonality_mode=s.seasonality_mode,
            interval_width=s.interval_width,
            uncertainty_samples=s.uncertainty_samples,
            yearly_seasonality=False,  # never two years of history here
            weekly_seasonality=s.weekly_seasonality if self._weeks_ok else False,
            daily_seasonality=(s.daily_seasonality if self.freq == "hourly"
                               and not s.weekend_daily_profile else False),
            holidays=self.holidays,
        )
        if self.freq == "hourly" and s.weekend_daily_profile:
            order = 10 if s.daily_seasonality is True else int(s.daily_seasonality or 10)
            for name in ("workday", "weekend"):
                model.add_seasonality(f"daily_{name}", period=1, fourier_order=order,
                                      condition_name=f"_{name}")
        for name in self.used_regressors:
            model.add_regressor(name, prior_scale=s.regressor_prior_scale)
        return model

    def _with_conditions(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self.freq != "hourly" or not self.settings.weekend_daily_profile:
            return frame
        weekend = pl.col("ds").dt.weekday() >= 6
        return frame.with_columns(weekend.alias("_weekend"), (~weekend).alias("_workday"))

    def _columns(self) -> list[str]:
        extra = (["_weekend", "_workday"] if self.freq == "hourly"
                 and self.settings.weekend_daily_profile else [])
        return ["ds", *self.used_regressors, *extra]

    def fit(self, history: pl.DataFrame) -> ProphetForecaster:
        """`history`: ds, y and every regressor; rows with a null are left out."""
        cols = ["ds", "y", *self.regressors]
        data = self._with_conditions(history.select(cols).drop_nulls())
        if data.height < 3:
            raise ValueError(f"too little history to fit: {data.height} rows")
        span = data["ds"].max() - data["ds"].min()  # 14 days of rows span 13 days (+ 23 h)
        self._weeks_ok = span >= timedelta(days=13)
        varying = [r for r in self.regressors if data[r].n_unique() > 1]
        self.used_regressors = tuple(varying[: data.height // self.settings.rows_per_regressor])
        self.model = self._new_model()
        self.model.fit(data.select(["y", *self._columns()]).to_pandas())
        return self

    def _frame(self, future: pl.DataFrame) -> pd.DataFrame:
        if self.model is None:
            raise RuntimeError("fit or load the model first")
        missing = [r for r in self.used_regressors if future[r].null_count()]
        if missing:
            raise ValueError(f"future regressor values missing for {missing}")
        return self._with_conditions(future).select(self._columns()).to_pandas()

    def sensitivities(self, future: pl.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
        """d yhat / d regressor per future row (constant in additive mode), by finite
        difference so it holds in multiplicative mode too."""
        frame = self._frame(future)
        saved = self.model.uncertainty_samples
        self.model.uncertainty_samples = 0
        try:
            base = self.model.predict(frame)["yhat"].to_numpy()
            out = {}
            for c in columns:
                if c not in self.used_regressors:
                    continue
                bumped = frame.copy()
                bumped[c] = bumped[c] + 1.0
                out[c] = self.model.predict(bumped)["yhat"].to_numpy() - base
        finally:
            self.model.uncertainty_samples = saved
        return out

    def sample(self, future: pl.DataFrame, deviations: dict[str, np.ndarray] | None = None,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(point, paths): Prophet's point forecast and predictive sample paths, shape
        (periods, samples), for the interval of the periods and of any total over them (a
        month's interval is not the sum of its days' intervals). `deviations` (regressor →
        sampled actual − projected values, same shape) add the uncertainty of projected
        regressors through the model's sensitivity to them. The calibration factor scales
        each path's deviation from the point."""
        frame = self._frame(future)
        state = np.random.get_state()
        np.random.seed(seed)  # Prophet samples with numpy's global generator
        try:
            paths = self.model.predictive_samples(frame)["yhat"]
        finally:
            np.random.set_state(state)
        saved = self.model.uncertainty_samples
        self.model.uncertainty_samples = 0
        try:
            point = self.model.predict(frame)["yhat"].to_numpy()
        finally:
            self.model.uncertainty_samples = saved
        spread = paths - point[:, None]
        if deviations:
            beta = self.sensitivities(future, list(deviations))
            for c, dev in deviations.items():
                if c in beta:
                    spread = spread + beta[c][:, None] * dev[:, : spread.shape[1]]
        return point, point[:, None] + self.interval_scale * spread

    def predict(self, future: pl.DataFrame, deviations: dict[str, np.ndarray] | None = None,
                seed: int = 0) -> pl.DataFrame:
        """ds, yhat, yhat_lower, yhat_upper: the settings' interval width, from the sample
        paths (see `sample`), clipped at 0."""
        point, paths = self.sample(future, deviations, seed)
        a = (1.0 - self.settings.interval_width) / 2.0
        lo, hi = np.quantile(paths, [a, 1.0 - a], axis=1)
        return pl.DataFrame({
            "ds": future["ds"],
            "yhat": np.clip(point, 0, None),
            "yhat_lower": np.clip(np.minimum(lo, point), 0, None),
            "yhat_upper": np.clip(np.maximum(hi, point), 0, None),
        })

    # ---------------------------------------------------------------------------------------
    def to_json(self) -> str:
        from prophet.serialize import model_to_json

        if self.model is None:
            raise RuntimeError("nothing to save: the model is not fitted")
        return json.dumps({
            "format": FORMAT_VERSION,
            "freq": self.freq,
            "settings": self.settings.model_dump(),
            "regressors": list(self.regressors),
            "used_regressors": list(self.used_regressors),
            "interval_scale": self.interval_scale,
            "prophet": model_to_json(self.model),
        })

    @classmethod
    def from_json(cls, text: str) -> ProphetForecaster:
        from prophet.serialize import model_from_json

        data = json.loads(text)
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown model format {data.get('format')!r}")
        out = cls(ProphetSettings(**data["settings"]), data["freq"], data["regressors"])
        out.used_regressors = tuple(data["used_regressors"])
        out.interval_scale = float(data["interval_scale"])
        out.model = model_from_json(data["prophet"])
        out.holidays = out.model.holidays
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> ProphetForecaster:
        return cls.from_json(Path(path).read_text())

"""PNG figures of forecasts and backtests, for the Dagster UI and the files next to the models.

matplotlib's object API (Figure + Agg canvas, no pyplot): no global state, safe in a worker
thread, no display needed.
"""

from __future__ import annotations

import io
import math

import polars as pl


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return buf.getvalue()


def forecast_figure(panels: list[dict], *, columns: int = 2) -> bytes:
    """One panel per series: `history` (ds, y: its recent actuals), `forecast` (ds, yhat,
    yhat_lower, yhat_upper), `title`, `unit`."""
    from matplotlib.figure import Figure

    rows = max(1, math.ceil(len(panels) / columns))
    fig = Figure(figsize=(6.2 * columns, 2.6 * rows))
    for i, p in enumerate(panels):
        ax = fig.add_subplot(rows, columns, i + 1)
        h, f = p["history"], p["forecast"]
        ax.plot(h["ds"].to_list(), h["y"].to_list(), color="#333333", lw=1.0, label="actual")
        ax.fill_between(f["ds"].to_list(), f["yhat_lower"].to_list(), f["yhat_upper"].to_list(),
                        color="#4c8bf5", alpha=0.25, lw=0, label="80% interval")
        ax.plot(f["ds"].to_list(), f["yhat"].to_list(), color="#1a56c4", lw=1.2,
                label="forecast")
        ax.set_title(p["title"], fontsize=9)
        ax.set_ylabel(p["unit"], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    return _png(fig)


def backtest_figure(backtests: pl.DataFrame) -> bytes:
    """Per series: backtest MAPE of the forecast vs seasonal-naive (bars) and the 80%
    interval's coverage (dots on the right axis, the 75–85% band shaded)."""
    from matplotlib.figure import Figure

    data = backtests.filter(pl.col("mape").is_not_null())
    labels = [s.split("/", 1)[1] for s in data["series_id"].to_list()]
    n = max(1, data.height)
    fig = Figure(figsize=(9, 0.45 * n + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    y = list(range(data.height))
    ax.barh([v + 0.2 for v in y], (data["naive_mape"] * 100).to_list(), height=0.4,
            color="#bbbbbb", label="seasonal-naive MAPE")
    ax.barh([v - 0.2 for v in y], (data["mape"] * 100).to_list(), height=0.4,
            color="#1a56c4", label="Prophet MAPE")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("MAPE % (rolling-origin backtest)", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    cov = ax.twiny()
    cov.axvspan(75, 85, color="#2e9e44", alpha=0.12)
    cov.plot((data["coverage"] * 100).to_list(), y, "o", color="#2e9e44",
             label="80% interval coverage")
    cov.set_xlim(0, 100)
    cov.set_xlabel("coverage % (target band 75–85)", fontsize=8, color="#2e9e44")
    handles = ax.get_legend_handles_labels()
    extra = cov.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], fontsize=7, loc="lower right")
    return _png(fig)

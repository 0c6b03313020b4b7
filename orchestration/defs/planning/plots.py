"""What a planner would rather look at than read: the Pareto front as a PNG and the schedule
and deltas as Markdown tables, for the Dagster UI's materialization metadata.

The PNG travels inline (a base64 data URI inside Markdown), the way Dagster's own examples put
plots in metadata, so the UI shows it without a file server.
"""

from __future__ import annotations

import base64
import io

import polars as pl


def pareto_png(front: pl.DataFrame, current: dict[str, float], currency: str) -> bytes:
    """Emissions vs cost of every front member, coloured by on-time share; the current plan and
    the recommended one marked."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=100)
    try:
        points = ax.scatter(
            front["kg_co2e"] / 1000,
            front["cost"] / 1000,
            c=100 * front["on_time_share"],
            cmap="viridis",
            s=22,
            vmin=min(100 * front["on_time_share"].min(), 100 * current["on_time_share"]),
            vmax=100,
        )
        fig.colorbar(points, ax=ax, label="on time (%)")
        best = front.filter(pl.col("recommended"))
        ax.scatter(
            best["kg_co2e"] / 1000,
            best["cost"] / 1000,
            marker="*",
            s=260,
            c="crimson",
            edgecolors="black",
            label="recommended",
            zorder=3,
        )
        ax.scatter(
            [current["kg_co2e"] / 1000],
            [current["cost"] / 1000],
            marker="X",
            s=120,
            c="black",
            label=f"current (FIFO), {100 * current['on_time_share']:.0f}% on time",
            zorder=3,
        )
        ax.set_xlabel("emissions (t CO2e)")
        ax.set_ylabel(f"cost (thousand {currency})")
        ax.set_title(f"Pareto front: {front.height} feasible non-dominated plans")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
        buffer = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)


def png_markdown(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def markdown_table(frame: pl.DataFrame, floats: str = "{:,.2f}", limit: int = 40) -> str:
    if frame.height == 0:
        return "(no rows)"

    def cell(v) -> str:
        if v is None:
            return ""
        return floats.format(v) if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    for row in frame.head(limit).iter_rows():
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if frame.height > limit:
        lines.append(f"\n… {frame.height - limit} more rows in the warehouse table")
    return "\n".join(lines)


def shift_summary(schedule: pl.DataFrame) -> pl.DataFrame:
    """Per line and shift over the horizon: orders, units, busy hours, kWh, kgCO2e, energy cost."""
    hours = (pl.col("end_utc") - pl.col("start_utc")).dt.total_minutes() / 60.0
    return (
        schedule.group_by("line_id", "shift")
        .agg(
            pl.col("order_id").n_unique().alias("orders"),
            pl.col("units").sum(),
            hours.sum().alias("busy_hours"),
            pl.col("kwh").sum(),
            pl.col("kg_co2e_energy").sum(),
            pl.col("energy_cost").sum(),
        )
        .sort("line_id", "shift")
    )

"""Plain-text tables for the terminal: aligned, titled, numbers formatted for a person."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Number


def _cell(value: object, fmt: str | None) -> str:
    if value is None:
        return "—"
    if fmt:
        return format(value, fmt)
    if isinstance(value, Number) and not isinstance(value, int):
        return f"{value:,.2f}"
    return str(value)


def render(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    formats: Sequence[str | None] | None = None,
    note: str | None = None,
) -> str:
    formats = formats or [None] * len(header)
    cells = [[_cell(v, f) for v, f in zip(row, formats, strict=True)] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    numeric = [
        bool(rows) and all(isinstance(row[i], Number) or row[i] is None for row in rows)
        for i in range(len(header))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  " + "  ".join(parts).rstrip()

    out = [f"\n{title}", line(header), "  " + "  ".join("─" * w for w in widths)]
    out += [line(r) for r in cells] or ["  (no rows)"]
    if note:
        out.append(f"  {note}")
    return "\n".join(out)

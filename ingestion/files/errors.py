"""What a rejected import tells the person who ran it: which rows, which columns, and why.

Row numbers are counted the way a person counts lines in the file: in a CSV the header is line 1
and the first data row is line 2 (a quoted field spanning several lines counts from the line the
record starts on); in a Parquet file the first row is row 1. Row 0 means "the whole file".
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

# The columns of a problems frame, as built by the validators.
PROBLEM_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
}


class Problem(NamedTuple):
    row: int  # 1-based, as a person counts lines in the file (header = line 1); 0 = whole file
    column: str | None
    value: str | None
    reason: str

    def describe(self) -> str:
        where = "the file" if self.row == 0 else f"row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        if self.value is not None:
            shown = self.value if len(self.value) <= 40 else self.value[:37] + "..."
            where += f" (value {shown!r})"
        return f"{where}: {self.reason}"


def problems_frame(rows: list[Problem] | None = None) -> pl.DataFrame:
    return pl.DataFrame(rows or [], schema=PROBLEM_SCHEMA, orient="row")


def problems_from_frame(frame: pl.DataFrame) -> list[Problem]:
    ordered = frame.sort(["row", "column"], nulls_last=True, maintain_order=True)
    return [Problem(*r) for r in ordered.select(list(PROBLEM_SCHEMA)).iter_rows()]


class ImportRejected(Exception):
    """The file was not landed, not even in part. `problems` lists every reason found, in row
    order; the message names the first few in plain words."""

    def __init__(
        self,
        summary: str,
        problems: list[Problem] | None = None,
        *,
        kind: str | None = None,
        source: str | None = None,
        quarantined_at: str | None = None,
        shown: int = 5,
    ):
        self.summary = summary
        self.problems: list[Problem] = list(problems or [])
        self.kind = kind
        self.source = source
        self.quarantined_at = quarantined_at
        self.bad_rows = sorted({p.row for p in self.problems if p.row > 0})
        super().__init__(self._message(shown))

    def _message(self, shown: int) -> str:
        lines = [self.summary]
        if self.problems:
            rows = len(self.bad_rows)
            lines.append(
                f"{len(self.problems)} problem(s)"
                + (f" in {rows} row(s)" if rows else "")
                + ", first ones:"
            )
            lines.extend(f"  - {p.describe()}" for p in self.problems[:shown])
            if len(self.problems) > shown:
                lines.append(f"  ... and {len(self.problems) - shown} more (see .problems)")
        if self.quarantined_at:
            lines.append(f"The file is recorded in quarantine: {self.quarantined_at}")
        return "\n".join(lines)

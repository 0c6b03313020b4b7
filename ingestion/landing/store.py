"""Writes to the landing zone: whole files or nothing, never an overwrite, bad rows quarantined.

Layout under `<home>/landing/<kind>/`:
    readings/site=<site>/date=<YYYY-MM-DD UTC>/<landing_batch_id>.parquet
    production/site=<site>/date=<YYYY-MM-DD UTC of start>/<landing_batch_id>.parquet
    bills/site=<site>/<landing_batch_id>.parquet
    sites|meters|equipment|factors/<landing_batch_id>.parquet
Each kind also holds `_schema.parquet`, a zero-row file with the full schema, so readers (dbt
sources) always find at least one file and every column even before the first batch lands.
The site and date are also columns inside each file (site_id, ts), so readers need not parse
the Hive path.

Rejected rows go to `<home>/quarantine/<kind>/<id>.parquet` with the original values
as text plus `reason`, `source` and `source_row`; a file that cannot be read at all goes to
`<home>/quarantine/<kind>/<id>.file.json` with the reason and the original path.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ingestion.landing.schemas import LINEAGE_COLUMNS, PARTITIONS, SCHEMAS, conform, empty_frame


@dataclass(frozen=True)
class WriteResult:
    kind: str
    batch_id: str
    rows_landed: int
    rows_quarantined: int
    files: tuple[Path, ...] = field(default=())


def new_batch_id(prefix: str = "b") -> str:
    """Sortable by time, unique across processes."""
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{prefix}-{now}-{uuid.uuid4().hex[:8]}"


def _atomic_write_parquet(frame: pl.DataFrame, target: Path) -> None:
    """Write to a temporary name in the same folder, fsync, then rename: readers see the whole
    file or none of it, even after a crash mid-write."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        tmp.unlink(missing_ok=True)


class LandingZone:
    """The landing zone and quarantine under one Wattprint home folder."""

    def __init__(self, home: Path | str):
        self.home = Path(home)
        self.root = self.home / "landing"
        self.quarantine_root = self.home / "quarantine"

    def init(self) -> None:
        """Create every kind's folder with its `_schema.parquet` (idempotent).

        A marker written by an older version lacks the columns added since (e.g.
        meters.energy_carrier): it is replaced by the current zero-row schema, so the dbt
        sources (read with union_by_name) see every column even in a home whose landed files
        all predate it. The marker holds no rows, so replacing it changes no landed data."""
        for kind in SCHEMAS:
            marker = self.root / kind / "_schema.parquet"
            if not marker.exists() or pl.read_parquet_schema(marker) != empty_frame(kind).schema:
                _atomic_write_parquet(empty_frame(kind), marker)

    def kind_root(self, kind: str) -> Path:
        return self.root / kind

    def glob(self, kind: str) -> str:
        """The glob that reads every landed file of a kind (schema file included)."""
        return str(self.root / kind / "**" / "*.parquet")

    def write(self, kind: str, rows: pl.DataFrame, batch_id: str | None = None) -> WriteResult:
        """Land conforming rows as one batch (one file per Hive partition touched).

        Rows must already be valid for the kind (use `conform` and the validators first); this
        raises ValueError rather than landing anything partial.
        """
        if kind not in SCHEMAS:
            raise ValueError(f"unknown landing kind {kind!r}; expected one of {sorted(SCHEMAS)}")
        self.init()
        batch_id = batch_id or new_batch_id(kind[:3])
        frame = conform(kind, rows).with_columns(
            pl.lit(batch_id, dtype=LINEAGE_COLUMNS["landing_batch_id"]).alias("landing_batch_id"),
            pl.lit(datetime.now(UTC), dtype=LINEAGE_COLUMNS["landed_at"]).alias("landed_at"),
        )
        if frame.height == 0:
            return WriteResult(kind, batch_id, 0, 0)
        files = []
        for partition_dir, part in self._split(kind, frame):
            target = partition_dir / f"{batch_id}.parquet"
            if target.exists():
                raise FileExistsError(f"batch {batch_id} already landed at {target}")
            _atomic_write_parquet(part, target)
            files.append(target)
        return WriteResult(kind, batch_id, frame.height, 0, tuple(files))

    def _split(self, kind: str, frame: pl.DataFrame) -> list[tuple[Path, pl.DataFrame]]:
        keys = PARTITIONS.get(kind, ())
        base = self.root / kind
        if not keys:
            return [(base, frame)]
        date_col = {"readings": "ts", "production": "start_ts"}.get(kind)
        keyed = frame.with_columns(
            pl.col("site_id").alias("__site"),
            *([pl.col(date_col).dt.date().cast(pl.String).alias("__date")] if date_col else []),
        )
        group_cols = ["__site", "__date"] if date_col else ["__site"]
        out = []
        for key, part in keyed.group_by(group_cols, maintain_order=True):
            path = base / f"site={key[0]}"
            if date_col:
                path = path / f"date={key[1]}"
            out.append((path, part.drop(group_cols)))
        return out

    def quarantine_rows(
        self, kind: str, rows: pl.DataFrame, *, source: str, batch_id: str | None = None
    ) -> Path | None:
        """Keep rejected rows with their reason. `rows` must carry a `reason` column and should
        carry `source_row` (1-based line or row number in the source)."""
        if rows.height == 0:
            return None
        if "reason" not in rows.columns:
            raise ValueError("quarantined rows need a 'reason' column")
        batch_id = batch_id or new_batch_id("q")
        as_text = rows.select([pl.col(c).cast(pl.String) for c in rows.columns]).with_columns(
            pl.lit(source).alias("source"),
            pl.lit(datetime.now(UTC).isoformat()).alias("quarantined_at"),
        )
        target = self.quarantine_root / kind / f"{batch_id}.parquet"
        _atomic_write_parquet(as_text, target)
        return target

    def quarantine_file(self, kind: str, source: Path | str, reason: str) -> Path:
        """Record a file that could not be read at all, with the reason."""
        target = self.quarantine_root / kind / f"{new_batch_id('qf')}.file.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "source": str(source),
                    "reason": reason,
                    "quarantined_at": datetime.now(UTC).isoformat(),
                },
                indent=2,
            )
        )
        os.replace(tmp, target)
        return target

    def read(self, kind: str) -> pl.DataFrame:
        """Everything landed of a kind (for tools and tests; dbt reads the files directly)."""
        self.init()
        return pl.read_parquet(self.glob(kind), hive_partitioning=False, missing_columns="insert")

"""Read a CSV or Parquet export into a frame, keeping each row's number in the file.

CSV is read with Python's csv module rather than a fast columnar reader because row numbers must
be exact — they are what a person looks up when an import is rejected — and a fast reader skips
blank lines and quoted line breaks without telling. Every CSV value stays text here; typing and
checking happen in `parsing`, where a bad value becomes a problem instead of an exception.
Parquet columns keep their types (a timestamp column stays a timestamp).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingestion.files.errors import Problem

ROW = "__row__"  # the row number column added to every raw frame
_CHUNK_ROWS = 200_000
_PARQUET_MAGIC = b"PAR1"


class UnreadableFile(Exception):
    """The file cannot be read as a table at all (the reason is for a person)."""


@dataclass
class RawTable:
    frame: pl.DataFrame  # the file's columns plus ROW (Int64)
    file_format: str  # "csv" | "parquet"
    columns: list[str]  # the file's columns, in file order
    problems: list[Problem] = field(default_factory=list)  # row-level read problems (ragged rows)

    @property
    def height(self) -> int:
        return self.frame.height


def detect_format(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == _PARQUET_MAGIC:
        return "parquet"
    if path.suffix.lower() in {".parquet", ".pq"}:
        raise UnreadableFile("the file is named .parquet but is not a Parquet file")
    return "csv"


def read_table(path: Path | str, *, delimiter: str = ",") -> RawTable:
    """Read `path` (CSV in UTF-8 with or without a byte-order mark, or Parquet)."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFile(f"no such file: {path}")
    if not path.is_file():
        raise UnreadableFile(f"not a file: {path}")
    if path.stat().st_size == 0:
        raise UnreadableFile("the file is empty (0 bytes)")
    try:
        fmt = detect_format(path)
    except OSError as exc:
        raise UnreadableFile(f"cannot open the file: {exc}") from exc
    return _read_parquet(path) if fmt == "parquet" else _read_csv(path, delimiter)


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for damaged files
        raise UnreadableFile(f"cannot read Parquet: {exc}") from exc
    if ROW in frame.columns:
        raise UnreadableFile(f"column name {ROW!r} is reserved")
    columns = list(frame.columns)
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return RawTable(frame, "parquet", columns)


def _read_csv(path: Path, delimiter: str) -> RawTable:
    problems: list[Problem] = []
    chunks: list[pl.DataFrame] = []
    last_line = 0
    try:
        # utf-8-sig drops a leading byte-order mark and reads plain UTF-8 unchanged.
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            try:
                header = next(reader)
            except StopIteration:
                raise UnreadableFile("the file has no header line") from None
            last_line = reader.line_num
            header = [name.strip() for name in header]
            _check_header(header)
            width = len(header)
            buffer: list[list[str | None]] = [[] for _ in range(width + 1)]
            for record in reader:
                line = last_line + 1  # the line this record starts on
                last_line = reader.line_num
                if not record:  # a blank line carries no data
                    continue
                if len(record) != width:
                    problems.append(
                        Problem(
                            line,
                            None,
                            delimiter.join(record)[:80],
                            f"row has {len(record)} fields but the header has {width}",
                        )
                    )
                    record = (record + [""] * width)[:width]
                for i, value in enumerate(record):
                    buffer[i].append(value)
                buffer[width].append(line)  # type: ignore[arg-type]
                if len(buffer[width]) >= _CHUNK_ROWS:
                    chunks.append(_chunk(header, buffer))
                    buffer = [[] for _ in range(width + 1)]
            if buffer[width] or not chunks:
                chunks.append(_chunk(header, buffer))
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} near line "
            f"{last_line + 1}); save the export as UTF-8"
        ) from exc
    except csv.Error as exc:
        raise UnreadableFile(f"not a readable CSV near line {last_line + 1}: {exc}") from exc
    except OSError as exc:
        raise UnreadableFile(f"cannot open the file: {exc}") from exc
    return RawTable(pl.concat(chunks, how="vertical"), "csv", header, problems)


def _check_header(header: list[str]) -> None:
    if not any(header):
        raise UnreadableFile("line 1 should name the columns but is empty")
    if any(not name for name in header):
        raise UnreadableFile("line 1 has an empty column name")
    seen: set[str] = set()
    dupes = sorted({name for name in header if name in seen or seen.add(name)})
    if dupes:
        raise UnreadableFile(f"column name(s) repeated in line 1: {', '.join(dupes)}")
    if ROW in header:
        raise UnreadableFile(f"column name {ROW!r} is reserved")


def _chunk(header: list[str], buffer: list[list]) -> pl.DataFrame:
    data = {name: pl.Series(name, buffer[i], dtype=pl.String) for i, name in enumerate(header)}
    data[ROW] = pl.Series(ROW, buffer[len(header)], dtype=pl.Int64)
    return pl.DataFrame(data)

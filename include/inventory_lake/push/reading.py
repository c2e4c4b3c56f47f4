"""Read a staging file (CSV or Parquet) into rows of raw cell values, checking nothing yet.

CSV is decoded as UTF-8 with or without the byte-order mark spreadsheet programs write.
The delimiter is taken from the header line: comma, or semicolon (what Excel writes where the
decimal separator is a comma, e.g. in Vietnamese settings), or tab. Row numbers follow what a
spreadsheet shows: a header on the first line is row 1 and the first data row is row 2.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".parq")
DELIMITERS = (",", ";", "\t")


class UnreadableFile(ValueError):
    """The file as a whole cannot be read: wrong type, encoding or structure."""


@dataclass(frozen=True)
class RawRow:
    number: int
    values: dict[str, Any]
    extra_cells: int = 0


@dataclass(frozen=True)
class RawTable:
    columns: tuple[str, ...]
    rows: tuple[RawRow, ...]


def normalise_column(name: str) -> str:
    return name.strip().lower()


def read_staged(name: str, body: bytes) -> RawTable:
    lowered = name.lower()
    if len(body) > MAX_FILE_BYTES:
        raise UnreadableFile(
            f"the file has {len(body):,} bytes; files above {MAX_FILE_BYTES:,} are not read"
        )
    if lowered.endswith(CSV_SUFFIXES):
        return read_csv(body)
    if lowered.endswith(PARQUET_SUFFIXES):
        return read_parquet(body)
    raise UnreadableFile("unsupported file type: name it .csv (UTF-8) or .parquet")


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"the file is not UTF-8 text (byte {error.start} cannot be decoded): "
            "save it as 'CSV UTF-8' from the spreadsheet program"
        ) from error


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header(cells: list[str]) -> tuple[str, ...]:
    columns = tuple(normalise_column(cell) for cell in cells)
    if any(not column for column in columns):
        raise UnreadableFile("the header row has an empty column name")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise UnreadableFile(f"the header names these columns twice: {', '.join(duplicated)}")
    return columns


def read_csv(body: bytes) -> RawTable:
    text = _decode(body)
    if "\x00" in text:
        raise UnreadableFile("the file contains NUL bytes: it is not a CSV text file")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        records = list(reader)
    except csv.Error as error:
        raise UnreadableFile(f"the CSV cannot be parsed: {error}") from error
    numbered = [(index + 1, cells) for index, cells in enumerate(records)]
    non_blank = [(number, cells) for number, cells in numbered if any(c.strip() for c in cells)]
    if not non_blank:
        raise UnreadableFile("the file is empty: it has no header row")
    columns = _header(non_blank[0][1])
    rows: list[RawRow] = []
    for number, cells in non_blank[1:]:
        padded = cells + [""] * (len(columns) - len(cells))
        extra = [cell for cell in cells[len(columns) :] if cell.strip()]
        rows.append(
            RawRow(
                number=number,
                values=dict(zip(columns, padded, strict=False)),
                extra_cells=len(extra),
            )
        )
    return RawTable(columns, tuple(rows))


def read_parquet(body: bytes) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(body))
    except (pa.ArrowException, OSError) as error:
        raise UnreadableFile(f"the file is not a readable Parquet file: {error}") from error
    columns = _header(list(table.column_names))
    values = {column: table.column(i).to_pylist() for i, column in enumerate(columns)}
    rows = tuple(
        RawRow(number=index + 2, values={column: values[column][index] for column in columns})
        for index in range(table.num_rows)
    )
    return RawTable(columns, rows)

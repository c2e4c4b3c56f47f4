"""Read a staging file (CSV or Parquet) into rows of raw cell values, checking nothing yet.

CSV is decoded as UTF-8 with or without the byte-order mark spreadsheet programs write.
The delimiter is taken from the header line: comma, or semicolon (what Excel writes where the
decimal separator is a comma, e.g. in Vietnamese settings), or tab. Row numbers follow what a
spreadsheet shows: a header on the first line is row 1 and the first data row is row 2.

CSV is parsed strictly: a quote that is never closed, or text after a closing quote, makes the
whole file unreadable (naming the row and column) instead of swallowing the rows after it.
With `max_rows`, a file with more data rows is refused before its rows are built: a small file
can hold a million rows.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".parq")
DELIMITERS = (",", ";", "\t")
# Bits of precision of Arrow's floating-point types, by bit width: whole numbers from
# 2**bits up cannot all be stored exactly, so a value there may have been rounded.
SIGNIFICAND_BITS = {16: 11, 32: 24, 64: 53}

# One line with its ending kept (\n, \r\n or a lone \r), as the csv module wants its input.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_CSV_ERRORS = {
    "unexpected end of data": (
        'a quote (") opens this cell and is never closed, '
        "so every row after it would be read into this cell"
    ),
    "expected after": (
        'text follows the quote (") that closes this cell; a cell that starts with a quote '
        'must end with one, and quotes inside it are doubled ("")'
    ),
    "field larger than field limit": (
        'this cell is too long: a quote (") that opens it is probably never closed'
    ),
}


def _cell_pattern(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    quoted = r'"[^"]*+(?:""[^"]*+)*+"'
    unquoted = rf'[^"{d}\r\n][^{d}\r\n]*+'
    return re.compile(rf"(?:{quoted}|(?:{unquoted})?)(?={d}|\r|\n|\Z)")


_CELL = {delimiter: _cell_pattern(delimiter) for delimiter in DELIMITERS}


class UnreadableFile(ValueError):
    """The file as a whole cannot be read: wrong type, encoding or structure.

    `row` and `column` name where, when the problem is at one place in the file."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.column = column


class TooManyRows(UnreadableFile):
    """More data rows than `limit`; `rows` is the exact count when known (Parquet), else None."""

    def __init__(self, limit: int, rows: int | None) -> None:
        counted = f"{rows:,}" if rows is not None else f"more than {limit:,}"
        super().__init__(
            f"the file has {counted} rows; at most {limit:,} are allowed per file: split it"
        )
        self.limit = limit
        self.rows = rows


@dataclass(frozen=True)
class RawRow:
    number: int
    values: dict[str, Any]
    extra_cells: int = 0


@dataclass(frozen=True)
class RawTable:
    """`significand_bits` gives, for each column stored as floating point (Parquet only), the
    precision of its type: see SIGNIFICAND_BITS."""

    columns: tuple[str, ...]
    rows: tuple[RawRow, ...]
    significand_bits: dict[str, int] = field(default_factory=dict)


def normalise_column(name: str) -> str:
    return name.strip().lower()


def read_staged(name: str, body: bytes, *, max_rows: int | None = None) -> RawTable:
    """Raises UnreadableFile; TooManyRows (a subclass) when `max_rows` is given and exceeded."""
    lowered = name.lower()
    if len(body) > MAX_FILE_BYTES:
        raise UnreadableFile(
            f"the file has {len(body):,} bytes; files above {MAX_FILE_BYTES:,} are not read"
        )
    if lowered.endswith(CSV_SUFFIXES):
        return read_csv(body, max_rows=max_rows)
    if lowered.endswith(PARQUET_SUFFIXES):
        return read_parquet(body, max_rows=max_rows)
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


class _Lines:
    """The text's lines one at a time (not a list of them all); `offset` is where the next
    line starts."""

    def __init__(self, text: str, delimiter: str) -> None:
        self.text = text
        self.delimiter = delimiter
        self.offset = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        match = _LINE.match(self.text, self.offset)
        if match is None:
            raise StopIteration
        self.offset = match.end()
        return match.group()


def _bad_cell(text: str, start: int, delimiter: str) -> int:
    """Index of the first malformed (or over-long) cell of the record starting at `start`: the
    csv module's error does not say which cell it is."""
    limit = csv.field_size_limit()
    index, position = 0, start
    while (match := _CELL[delimiter].match(text, position)) and match.end() - position <= limit:
        if not text.startswith(delimiter, match.end()):
            break
        index, position = index + 1, match.end() + 1
    return index


def _unparsable(
    error: csv.Error, row: int, columns: tuple[str, ...] | None, lines: _Lines, start: int
) -> UnreadableFile:
    """The error for the record that starts at offset `start` and is row `row`."""
    index = _bad_cell(lines.text, start, lines.delimiter)
    column = columns[index] if columns and index < len(columns) else None
    where = f"column {column}" if column else f"cell {index + 1}"
    why = next((why for key, why in _CSV_ERRORS.items() if key in str(error)), None)
    return UnreadableFile(
        f"row {row}, {where}: {why or f'the CSV cannot be parsed ({error})'}; "
        "nothing in the file is read",
        row=row,
        column=column,
    )


def _csv_row(number: int, columns: tuple[str, ...], cells: list[str]) -> RawRow:
    padded = cells + [""] * (len(columns) - len(cells))
    extra = [cell for cell in cells[len(columns) :] if cell.strip()]
    return RawRow(
        number=number, values=dict(zip(columns, padded, strict=False)), extra_cells=len(extra)
    )


def read_csv(body: bytes, *, max_rows: int | None = None) -> RawTable:
    text = _decode(body)
    if "\x00" in text:
        raise UnreadableFile("the file contains NUL bytes: it is not a CSV text file")
    first_line = next((line for line in _Lines(text, ",") if line.strip()), "")
    lines = _Lines(text, _delimiter(first_line))
    reader = csv.reader(lines, delimiter=lines.delimiter, strict=True)
    columns: tuple[str, ...] | None = None
    rows: list[RawRow] = []
    number = 0
    while True:
        number, start = number + 1, lines.offset
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise _unparsable(error, number, columns, lines, start) from error
        if not any(cell.strip() for cell in cells):
            continue
        if columns is None:
            columns = _header(cells)
            continue
        if max_rows is not None and len(rows) == max_rows:
            raise TooManyRows(max_rows, None)
        rows.append(_csv_row(number, columns, cells))
    if columns is None:
        raise UnreadableFile("the file is empty: it has no header row")
    return RawTable(columns, tuple(rows))


def read_parquet(body: bytes, *, max_rows: int | None = None) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # The footer's count, read before any row: a few KB can hold a million rows.
        count = pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
        if max_rows is not None and count > max_rows:
            raise TooManyRows(max_rows, count)
        table = pq.read_table(io.BytesIO(body))
    except (pa.ArrowException, OSError) as error:
        raise UnreadableFile(f"the file is not a readable Parquet file: {error}") from error
    columns = _header(list(table.column_names))
    values = {column: table.column(i).to_pylist() for i, column in enumerate(columns)}
    rows = tuple(
        RawRow(number=index + 2, values={column: values[column][index] for column in columns})
        for index in range(table.num_rows)
    )
    bits = {
        column: SIGNIFICAND_BITS[arrow_field.type.bit_width]
        for column, arrow_field in zip(columns, table.schema, strict=True)
        if pa.types.is_floating(arrow_field.type)
    }
    return RawTable(columns, rows, bits)

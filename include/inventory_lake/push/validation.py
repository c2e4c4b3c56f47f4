"""Check a whole staging file before anything is sent: every problem is collected, named by
row and column, so one report tells ops staff everything to fix."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from include.inventory_lake.push.reading import (
    SIGNIFICAND_BITS,
    RawRow,
    RawTable,
    UnreadableFile,
    read_staged,
)

REQUIRED_COLUMNS = ("location_id", "product_id", "product_variant_id", "quantity")
OPTIONAL_COLUMNS = ("sku", "barcode", "reason", "note")

# The reasons Haravan accepts on adjustorset; a blank cell means its default, `newproduct`.
REASONS = (
    "newproduct",
    "returned",
    "productionofgoods",
    "damaged",
    "shrinkage",
    "promotion",
    "transfer",
)
DEFAULT_REASON = "newproduct"
MAX_QUANTITY = 1_000_000_000
MAX_NOTE_CHARS = 200
MAX_CODE_CHARS = 255  # sku and barcode
MAX_ECHOED_CHARS = 100
# Notes sent to Haravan start with "[il <batch> <n>/<total>]" (see batch.py); older releases
# ended them with "[inventory-lake set <batch> <n>/<total>]". A note from the file must carry
# neither, or it could pass for another batch's request.
MARKER_PREFIX = "[il "
LEGACY_MARKER_PREFIX = "[inventory-lake set "
MARKER_PREFIXES = (MARKER_PREFIX, LEGACY_MARKER_PREFIX)

_WHOLE = re.compile(r"^\+?(\d+)(?:\.0*)?$")
_NEGATIVE_WHOLE = re.compile(r"^-(\d+)(?:\.0*)?$")
# What str.splitlines() breaks at: a text cell must be one line.
_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file; `row` and `column` are None for the file as a whole."""

    row: int | None
    column: str | None
    value: str | None
    problem: str


@dataclass(frozen=True)
class SetLine:
    """One validated line: set `quantity` on hand for a variant at a location."""

    row: int
    location_id: int
    product_id: int
    product_variant_id: int
    quantity: int
    reason: str
    note: str | None
    sku: str | None
    barcode: str | None

    @property
    def pair(self) -> tuple[int, int]:
        return (self.location_id, self.product_variant_id)


@dataclass(frozen=True)
class Validation:
    lines: tuple[SetLine, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _echo(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "..."


def _whole_float(value: float, significand_bits: int) -> tuple[int | None, str | None]:
    if not (math.isfinite(value) and value.is_integer()):
        return None, "is not a whole number"
    if abs(value) >= 2**significand_bits:
        return None, (
            f"is not exact: it is stored as floating point, which rounds whole numbers from "
            f"2**{significand_bits} ({2**significand_bits:,}) up; store the column as integers"
        )
    return int(value), None


def _whole_number(
    value: Any, *, significand_bits: int = SIGNIFICAND_BITS[64]
) -> tuple[int | None, str | None]:
    """(number, None) or (None, why not); accepts 12, 12.0, "12", " 12 ", "12.0".

    A float is refused beyond the whole numbers its type (`significand_bits` of precision)
    holds exactly: it may be a rounded copy of another number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "is empty"
    if isinstance(value, bool):
        return None, "is not a whole number"
    if isinstance(value, int):
        return value, None
    if isinstance(value, float):
        return _whole_float(value, significand_bits)
    if isinstance(value, Decimal):
        if value.is_finite() and value == int(value):
            return int(value), None
        return None, "is not a whole number"
    if isinstance(value, str):
        text = value.strip()
        if match := _WHOLE.match(text):
            return int(match.group(1)), None
        if match := _NEGATIVE_WHOLE.match(text):
            return -int(match.group(1)), None
        if "e" in text.lower():
            return None, (
                "is not a whole number (a spreadsheet showed it in scientific notation: "
                "format the column as a number without decimals or as text)"
            )
        return None, "is not a whole number"
    return None, f"is not a whole number (got a {type(value).__name__})"


class _RowChecker:
    def __init__(self, significand_bits: dict[str, int]) -> None:
        self.problems: list[Problem] = []
        self.significand_bits = significand_bits

    def problem(self, row: RawRow, column: str | None, problem: str) -> None:
        value = row.values.get(column) if column else None
        self.problems.append(Problem(row.number, column, _echo(value), problem))

    def whole_number(self, row: RawRow, column: str) -> int | None:
        bits = self.significand_bits.get(column, SIGNIFICAND_BITS[64])
        number, why = _whole_number(row.values.get(column), significand_bits=bits)
        if why:
            self.problem(row, column, f"{column} {why}")
        return number

    def identifier(self, row: RawRow, column: str) -> int | None:
        number = self.whole_number(row, column)
        if number is None:
            return None
        if number <= 0:
            self.problem(row, column, f"{column} must be a positive id")
            return None
        return number

    def quantity(self, row: RawRow) -> int | None:
        number = self.whole_number(row, "quantity")
        if number is None:
            return None
        if number < 0:
            self.problem(row, "quantity", "quantity is the new on-hand quantity: it cannot be < 0")
            return None
        if number > MAX_QUANTITY:
            self.problem(row, "quantity", f"quantity is above {MAX_QUANTITY:,}")
            return None
        return number

    def text(self, row: RawRow, column: str) -> tuple[bool, str | None]:
        """(True, the stripped text or None if blank), or (False, None) with a problem."""
        value = row.values.get(column)
        if value is None:
            return True, None
        if not isinstance(value, str):
            self.problem(
                row,
                column,
                f"{column} must be text, not {type(value).__name__}: store the column as strings",
            )
            return False, None
        text = value.strip()
        if _LINE_BREAK.search(text):
            self.problem(
                row,
                column,
                f'{column} contains a line break; a cell must be one line (a stray quote (") '
                "that opens a cell, closed rows later, joins those rows into it)",
            )
            return False, None
        return True, text or None

    def code(self, row: RawRow, column: str) -> tuple[bool, str | None]:
        ok, text = self.text(row, column)
        if text is not None and len(text) > MAX_CODE_CHARS:
            self.problem(row, column, f"{column} is longer than {MAX_CODE_CHARS} characters")
            return False, None
        return ok, text

    def reason(self, row: RawRow) -> str | None:
        ok, text = self.text(row, "reason")
        if not ok:
            return None
        if text is None:
            return DEFAULT_REASON
        if text.lower() in REASONS:
            return text.lower()
        self.problem(row, "reason", f"unknown reason; use one of: {', '.join(REASONS)}")
        return None

    def note(self, row: RawRow) -> tuple[bool, str | None]:
        ok, text = self.text(row, "note")
        if not ok:
            return False, None
        if text is not None and len(text) > MAX_NOTE_CHARS:
            self.problem(row, "note", f"note is longer than {MAX_NOTE_CHARS} characters")
            return False, None
        found = [prefix for prefix in MARKER_PREFIXES if text is not None and prefix in text]
        if found:
            self.problem(row, "note", f"note must not contain {found[0]!r}")
            return False, None
        return True, text

    def line(self, row: RawRow) -> SetLine | None:
        before = len(self.problems)
        if row.extra_cells:
            self.problem(row, None, f"the row has {row.extra_cells} cell(s) beyond the header")
        location_id = self.identifier(row, "location_id")
        product_id = self.identifier(row, "product_id")
        variant_id = self.identifier(row, "product_variant_id")
        quantity = self.quantity(row)
        reason = self.reason(row)
        note_ok, note = self.note(row)
        sku_ok, sku = self.code(row, "sku")
        barcode_ok, barcode = self.code(row, "barcode")
        if (
            len(self.problems) > before
            or location_id is None
            or product_id is None
            or variant_id is None
            or quantity is None
            or reason is None
            or not (note_ok and sku_ok and barcode_ok)
        ):
            return None
        return SetLine(
            row=row.number,
            location_id=location_id,
            product_id=product_id,
            product_variant_id=variant_id,
            quantity=quantity,
            reason=reason,
            note=note,
            sku=sku,
            barcode=barcode,
        )


def _column_problems(columns: tuple[str, ...]) -> list[Problem]:
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    problems = [
        Problem(None, column, None, f"required column {column} is missing")
        for column in REQUIRED_COLUMNS
        if column not in columns
    ]
    allowed = ", ".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    problems += [
        Problem(None, column, None, f"unknown column; the columns are: {allowed}")
        for column in columns
        if column not in known
    ]
    return problems


def validate(table: RawTable, *, max_lines: int) -> Validation:
    """All lines, or every problem found; a file with any problem sends nothing."""
    problems = _column_problems(table.columns)
    if problems:
        return Validation((), tuple(problems))
    if not table.rows:
        return Validation((), (Problem(None, None, None, "the file has no data rows"),))
    if len(table.rows) > max_lines:
        return Validation(
            (),
            (
                Problem(
                    None,
                    None,
                    None,
                    f"the file has {len(table.rows):,} rows; at most {max_lines:,} are allowed "
                    "per file (DAG param max_lines): split it",
                ),
            ),
        )
    checker = _RowChecker(table.significand_bits)
    lines: list[SetLine] = []
    first_row: dict[tuple[int, int], int] = {}
    for row in table.rows:
        line = checker.line(row)
        if line is None:
            continue
        seen = first_row.setdefault(line.pair, line.row)
        if seen != line.row:
            checker.problem(
                row,
                "product_variant_id",
                f"duplicate: row {seen} already sets variant {line.product_variant_id} "
                f"at location {line.location_id}",
            )
            continue
        lines.append(line)
    if checker.problems:
        return Validation((), tuple(checker.problems))
    return Validation(tuple(lines), ())


def read_and_validate(name: str, body: bytes, *, max_lines: int) -> Validation:
    """A staged file's lines, or its problems; a file with more rows than allowed is refused
    before its rows are read."""
    try:
        table = read_staged(name, body, max_rows=max_lines)
    except UnreadableFile as error:
        return Validation((), (Problem(error.row, error.column, None, str(error)),))
    return validate(table, max_lines=max_lines)

"""CSV files for people (rejection reports, plans), safe to open in a spreadsheet.

Text that starts with = + - @ or a tab / carriage return would be run as a formula by Excel,
LibreOffice or Google Sheets (CSV injection): such cells get a leading apostrophe, which the
spreadsheet shows as plain text. Numbers the pipeline computed are written as numbers.
Files are UTF-8 with a byte-order mark so that spreadsheet programs read Vietnamese text right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from include.inventory_lake.push.validation import Problem

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
REPORT_COLUMNS = ("row", "column", "value", "problem")


def safe_cell(value: Any) -> str | int:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def rejection_report(problems: Iterable[Problem]) -> bytes:
    """One row per problem: the spreadsheet row (header = 1; blank for the whole file)."""
    return csv_bytes(
        REPORT_COLUMNS,
        ((p.row, p.column, p.value, p.problem) for p in problems),
    )

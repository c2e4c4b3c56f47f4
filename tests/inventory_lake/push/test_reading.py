"""Reading staging files: a broken CSV is refused whole, and an oversized file is refused before
its rows are built."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.push.reading import TooManyRows, UnreadableFile, read_staged

HEADER = "location_id,product_id,product_variant_id,quantity,sku,note\n"
MEMORY_BOUND = 50 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "row", "column", "fragment"),
    [
        # The reviewer's file: a sku `"ABC` on row 3 of 6 swallowed rows 4-6 into that cell.
        (
            HEADER + '1,2,3,4,A,\n1,2,4,5,"ABC,\n1,2,5,6,B,\n1,2,6,7,C,\n1,2,7,8,D,\n',
            3,
            "sku",
            "never closed",
        ),
        (HEADER + '1,2,3,4,A,\n1,2,4,5,B,"no end', 3, "note", "never closed"),
        (
            HEADER.replace(",", ";") + '1;2;3;4;A;\n1;2;4;5;"ABC;\n1;2;5;6;B;\n',
            3,
            "sku",
            "never closed",
        ),
        # Closed by the next quoted cell, which leaves text after the closing quote.
        (HEADER + '1,2,3,4,"ABC,\n1,2,4,5,"B",x\n1,2,5,6,C,\n', 2, "sku", "text follows"),
        (HEADER + '1,2,3,4,"AB"C,\n', 2, "sku", "text follows"),
    ],
    ids=["open-to-end", "last-cell-no-newline", "semicolons", "closed-by-next-quote", "AB-C"],
)
def test_a_stray_quote_refuses_the_whole_file_naming_where_it_opened(
    body: str, row: int, column: str, fragment: str
) -> None:
    with pytest.raises(UnreadableFile) as raised:
        read_staged("f.csv", body.encode())
    assert (raised.value.row, raised.value.column) == (row, column)
    assert f"row {row}, column {column}: " in str(raised.value)
    assert fragment in str(raised.value)


def test_quoted_cells_keep_delimiters_and_doubled_quotes() -> None:
    body = HEADER + '1,2,3,4,"A,""B""",n\r\n\r\n1,2,4,5,C,"x;y"\r\n'
    table = read_staged("f.csv", body.encode())
    assert [(row.number, row.values["sku"], row.values["note"]) for row in table.rows] == [
        (2, 'A,"B"', "n"),
        (4, "C", "x;y"),
    ]


@pytest.mark.parametrize("max_rows", [None, 3])
def test_max_rows_allows_up_to_the_limit_not_counting_blank_rows(max_rows: int | None) -> None:
    body = HEADER + "1,2,3,4,,\n\n,,,,,\n1,2,4,4,,\n1,2,5,4,,\n"
    table = read_staged("f.csv", body.encode(), max_rows=max_rows)
    assert [row.number for row in table.rows] == [2, 5, 6]


def parquet_of(rows: int) -> bytes:
    table = pa.table({"quantity": pa.repeat(pa.scalar(7, pa.int64()), rows)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_max_rows_refuses_one_row_more() -> None:
    with pytest.raises(TooManyRows, match="more than 2 rows; at most 2 are allowed"):
        read_staged("f.csv", (HEADER + "1,2,3,4,,\n1,2,4,4,,\n1,2,5,4,,\n").encode(), max_rows=2)
    with pytest.raises(TooManyRows, match="the file has 3 rows; at most 2 are allowed"):
        read_staged("f.parquet", parquet_of(3), max_rows=2)


def peak_bytes(call: Callable[[], object]) -> int:
    """The most memory `call` held at once: Python objects (tracemalloc) plus Arrow buffers,
    which Arrow allocates outside tracemalloc's view."""
    arrow = pa.proxy_memory_pool(pa.default_memory_pool())
    previous = pa.default_memory_pool()
    pa.set_memory_pool(arrow)
    tracemalloc.start()
    try:
        call()
    finally:
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        pa.set_memory_pool(previous)
    return python_peak + arrow.max_memory()


def million_row_csv() -> bytes:
    return (HEADER + "1,2,3,4,,\n" * 1_000_000).encode()


@pytest.mark.parametrize(
    ("name", "build", "message"),
    [
        (
            "million.parquet",
            lambda: parquet_of(1_000_000),
            "the file has 1,000,000 rows; at most 10,000 are allowed per file",
        ),
        (
            "million.csv",
            million_row_csv,
            "the file has more than 10,000 rows; at most 10,000 are allowed per file",
        ),
    ],
    ids=["parquet", "csv"],
)
def test_a_million_row_file_is_refused_without_building_its_rows(
    name: str, build: Callable[[], bytes], message: str
) -> None:
    body = build()
    refused: list[TooManyRows] = []

    def read() -> None:
        with pytest.raises(TooManyRows) as raised:
            read_staged(name, body, max_rows=10_000)
        refused.append(raised.value)

    assert peak_bytes(read) < MEMORY_BOUND
    assert message in str(refused[0])

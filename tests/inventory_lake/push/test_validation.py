"""Reading and validating staging files: every bad input is named by row and column."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.push.reading import UnreadableFile, read_staged
from include.inventory_lake.push.validation import Problem, SetLine, validate

SAMPLES = Path(__file__).resolve().parents[3] / "include" / "inventory_lake" / "push" / "samples"
HEADER = "location_id,product_id,product_variant_id,quantity"


def check(text: str, *, max_lines: int = 100, name: str = "f.csv") -> tuple[SetLine, ...]:
    result = validate(read_staged(name, text.encode()), max_lines=max_lines)
    assert result.ok, result.problems
    return result.lines


def problems(text: str | bytes, *, max_lines: int = 100, name: str = "f.csv") -> list[Problem]:
    body = text.encode() if isinstance(text, str) else text
    result = validate(read_staged(name, body), max_lines=max_lines)
    assert not result.lines
    return list(result.problems)


def test_the_shipped_sample_is_valid_and_the_template_is_its_header() -> None:
    sample = (SAMPLES / "set_adjustments_sample.csv").read_bytes()
    template = (SAMPLES / "set_adjustments_template.csv").read_bytes()
    assert sample.startswith(b"\xef\xbb\xbf"), "saved as spreadsheet programs save UTF-8 CSV"
    lines = validate(read_staged("sample.csv", sample), max_lines=100).lines
    assert len(lines) == 7
    assert lines[0].note == "Kiểm kê cuối tháng 1" and lines[0].reason == "shrinkage"
    assert lines[3].reason == "newproduct" and lines[3].sku is None
    assert template.decode().splitlines()[0] == sample.decode("utf-8-sig").splitlines()[0]


def test_bom_semicolons_blank_rows_spaces_and_case_are_accepted() -> None:
    text = (
        "\ufeffLocation_ID ; Product_ID;product_variant_id;QUANTITY;Reason\r\n"
        " 10 ; 20 ; 30 ; 5 ; Damaged \r\n"
        ";;;;\r\n"
        "10;20;31;7.0;\r\n"
    )
    lines = check(text)
    assert [(line.row, line.product_variant_id, line.quantity) for line in lines] == [
        (2, 30, 5),
        (4, 31, 7),
    ]
    assert [line.reason for line in lines] == ["damaged", "newproduct"]


def test_parquet_with_integer_and_integral_float_columns() -> None:
    table = pa.table(
        {
            "location_id": pa.array([10, 10], pa.int64()),
            "product_id": pa.array([20, 20], pa.int64()),
            "product_variant_id": pa.array([30, 31], pa.int64()),
            "quantity": pa.array([5.0, 0.0], pa.float64()),
            "note": pa.array(["a", None]),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    result = validate(read_staged("f.parquet", buffer.getvalue()), max_lines=10)
    assert [(line.row, line.quantity, line.note) for line in result.lines] == [
        (2, 5, "a"),
        (3, 0, None),
    ]


@pytest.mark.parametrize(
    ("body", "row", "column", "fragment"),
    [
        ("location_id,product_id,quantity\n1,2,3\n", None, "product_variant_id", "missing"),
        (f"{HEADER},colour\n1,2,3,4,red\n", None, "colour", "unknown column"),
        (f"{HEADER}\n1,2,3,4.5\n", 2, "quantity", "not a whole number"),
        (f"{HEADER}\n1,2,3,ten\n", 2, "quantity", "not a whole number"),
        (f"{HEADER}\n1,2,3,-4\n", 2, "quantity", "cannot be < 0"),
        (f"{HEADER}\n1,2,1.07E+09,4\n", 2, "product_variant_id", "scientific notation"),
        (f"{HEADER}\n,2,3,4\n", 2, "location_id", "empty"),
        (f"{HEADER}\n1,2, ,4\n", 2, "product_variant_id", "empty"),
        (f"{HEADER}\n0,2,3,4\n", 2, "location_id", "positive"),
        (f"{HEADER},reason\n1,2,3,4,stolen\n", 2, "reason", "unknown reason"),
        (f"{HEADER}\n1,2,3,4,99\n", 2, None, "beyond the header"),
        (f"{HEADER}\n", None, None, "no data rows"),
        (f"{HEADER},note\n1,2,3,4,x [inventory-lake set ab 1/2]\n", 2, "note", "must not contain"),
        (f"{HEADER},note\n1,2,3,4,{'n' * 201}\n", 2, "note", "longer than 200"),
    ],
)
def test_each_bad_input_is_named(
    body: str, row: int | None, column: str | None, fragment: str
) -> None:
    found = problems(body)
    assert any(p.row == row and p.column == column and fragment in p.problem for p in found), found


def test_duplicate_pairs_name_the_first_row() -> None:
    found = problems(f"{HEADER}\n1,2,3,4\n1,2,4,4\n1,2,3,5\n")
    assert [(p.row, p.problem) for p in found] == [
        (4, "duplicate: row 2 already sets variant 3 at location 1")
    ]


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    found = problems(f"{HEADER}\n1,2,3,x\n1,2,4,4\n,2,5,-1\n")
    assert {(p.row, p.column) for p in found} == {
        (2, "quantity"),
        (4, "location_id"),
        (4, "quantity"),
    }


def test_more_rows_than_the_maximum() -> None:
    body = HEADER + "\n" + "".join(f"1,2,{v},1\n" for v in range(1, 12))
    assert "11 rows; at most 10" in problems(body, max_lines=10)[0].problem


@pytest.mark.parametrize(
    ("name", "body", "fragment"),
    [
        ("f.csv", b"", "empty"),
        ("f.csv", "location_id;quantité\n".encode("cp1258") + b"\xff\xfe", "not UTF-8"),
        ("f.xlsx", b"PK\x03\x04", "unsupported file type"),
        ("f.parquet", b"not parquet at all", "not a readable Parquet"),
        ("f.csv", b"a,a\n1,2\n", "twice"),
    ],
)
def test_unreadable_files(name: str, body: bytes, fragment: str) -> None:
    with pytest.raises(UnreadableFile, match=fragment):
        read_staged(name, body)

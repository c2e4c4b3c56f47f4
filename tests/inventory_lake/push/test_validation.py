"""Reading and validating staging files: every bad input is named by row and column."""

from __future__ import annotations

import io
from decimal import Decimal
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
        (f'{HEADER},sku\n1,2,3,4,"AB\nC"\n', 2, "sku", "contains a line break"),
        (f'{HEADER},barcode\n1,2,3,4,"89\r\n38"\n', 2, "barcode", "contains a line break"),
        (f'{HEADER},note\n1,2,3,4,"first\nsecond"\n', 2, "note", "contains a line break"),
        (f"{HEADER},sku\n1,2,3,4,{'S' * 256}\n", 2, "sku", "longer than 255"),
        (f"{HEADER},barcode\n1,2,3,4,{'8' * 256}\n", 2, "barcode", "longer than 255"),
    ],
)
def test_each_bad_input_is_named(
    body: str, row: int | None, column: str | None, fragment: str
) -> None:
    found = problems(body)
    assert any(p.row == row and p.column == column and fragment in p.problem for p in found), found


def test_a_stray_quote_closed_rows_later_cannot_join_those_rows_into_a_cell() -> None:
    # The quote opened on row 3 is closed by another stray quote on line 5: the CSV parses,
    # with lines 3-5 as one row whose sku holds the other two.
    body = f'{HEADER},sku\n1,2,3,4,A\n1,2,4,5,"ABC\n1,2,5,6,B\n1,2,6,7,C"\n1,2,7,8,D\n'
    assert [(p.row, p.column, p.problem.split(";")[0]) for p in problems(body)] == [
        (3, "sku", "sku contains a line break")
    ]


def test_sku_and_barcode_of_255_characters_are_kept() -> None:
    (line,) = check(f"{HEADER},sku,barcode\n1,2,3,4,{'S' * 255},{'8' * 255}\n")
    assert (line.sku, line.barcode) == ("S" * 255, "8" * 255)


def parquet(columns: dict[str, pa.Array]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def test_parquet_values_that_are_not_text_or_not_exact_are_named() -> None:
    body = parquet(
        {
            "location_id": pa.array([1, 1, 1], pa.int64()),
            # Written as floats, the ids 2**24 + 1 and 2**53 + 1 are rounded down by one.
            "product_id": pa.array([2.0, 2.0, float(2**24 + 1)], pa.float32()),
            "product_variant_id": pa.array([3.0, float(2**53 + 1), 5.0], pa.float64()),
            "quantity": pa.array([Decimal("4.00"), 4, 4], pa.decimal128(12, 2)),
            "sku": pa.array([b"ABC", None, None], pa.binary()),
            "note": pa.array([None, None, {"a": 1}]),
        }
    )
    found = problems(body, name="f.parquet")
    assert [(p.row, p.column, p.value, p.problem.split(":")[0]) for p in found] == [
        (2, "sku", "b'ABC'", "sku must be text, not bytes"),
        (3, "product_variant_id", "9007199254740992.0", "product_variant_id is not exact"),
        (4, "product_id", "16777216.0", "product_id is not exact"),
        (4, "note", "{'a': 1}", "note must be text, not dict"),
    ]
    assert "2**53" in found[1].problem and "2**24" in found[2].problem


def test_parquet_whole_numbers_its_types_hold_exactly_are_accepted() -> None:
    body = parquet(
        {
            "location_id": pa.array([1, 1], pa.int64()),
            "product_id": pa.array([2**24 - 1, 2], pa.float32()),
            "product_variant_id": pa.array([2**53 - 1, 3], pa.float64()),
            "quantity": pa.array([Decimal("4.00"), Decimal(5)], pa.decimal128(12, 2)),
            "sku": pa.array(["A", None], pa.large_string()),
            "note": pa.array([None, None], pa.null()),
        }
    )
    lines = validate(read_staged("f.parquet", body), max_lines=10).lines
    assert [(line.product_id, line.product_variant_id, line.quantity) for line in lines] == [
        (2**24 - 1, 2**53 - 1, 4),
        (2, 3, 5),
    ]
    assert [line.sku for line in lines] == ["A", None]


def test_csv_ids_above_2_to_the_53_stay_exact() -> None:
    (line,) = check(f"{HEADER}\n1,2,9007199254740993,4\n")
    assert line.product_variant_id == 2**53 + 1


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

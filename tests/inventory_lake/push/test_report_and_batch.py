"""Spreadsheet-safe reports, content-derived batch ids and the note marker."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.push.batch import (
    MarkerRef,
    batch_id_for,
    content_prefix,
    content_sha256,
    find_marker,
    request_note,
)
from include.inventory_lake.push.reading import read_staged
from include.inventory_lake.push.report import rejection_report, safe_cell
from include.inventory_lake.push.validation import Problem, SetLine, validate


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Kiểm kê = ok", "Kiểm kê = ok"),
        (-5, -5),
        (None, ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(
    value: object, expected: object
) -> None:
    assert safe_cell(value) == expected


def test_report_rows_read_back_as_text() -> None:
    report = rejection_report(
        [
            Problem(3, "quantity", "=1+2", "quantity is not a whole number"),
            Problem(None, None, None, "the file has no data rows"),
        ]
    )
    assert report.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig"))))
    assert rows == [
        ["row", "column", "value", "problem"],
        ["3", "quantity", "'=1+2", "quantity is not a whole number"],
        ["", "", "", "the file has no data rows"],
    ]


def lines_of(text: str) -> tuple[SetLine, ...]:
    return validate(read_staged("f.csv", text.encode("utf-8")), max_lines=100).lines


def test_batch_id_follows_content_not_bytes_order_or_format() -> None:
    header = "location_id,product_id,product_variant_id,quantity,sku,note\n"
    a = lines_of(header + "1,2,3,4,A,n\n1,2,5,6,B,\n")
    reordered_with_bom = lines_of("\ufeff" + header + "1,2,5,6,other-sku,\n1,2,3,4,A,n\n")
    changed = lines_of(header + "1,2,3,4,A,n\n1,2,5,7,B,\n")
    table = pa.table(
        {
            "location_id": [1, 1],
            "product_id": [2, 2],
            "product_variant_id": [3, 5],
            "quantity": [4, 6],
            "note": ["n", None],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    parquet = validate(read_staged("f.parquet", buffer.getvalue()), max_lines=10).lines
    assert content_sha256(a) == content_sha256(reordered_with_bom) == content_sha256(parquet)
    assert content_sha256(a) != content_sha256(changed)


def test_forced_batches_are_distinct_per_run_and_share_the_content_prefix() -> None:
    sha = "ab" * 32
    plain = batch_id_for(sha)
    forced = batch_id_for(sha, forced_by_run="manual__2026-01-15")
    assert forced != plain
    assert forced == batch_id_for(sha, forced_by_run="manual__2026-01-15")
    assert forced != batch_id_for(sha, forced_by_run="scheduled__2026-01-15")
    assert content_prefix(forced) == content_prefix(plain) == plain


def test_the_marker_survives_a_user_note_and_is_found_again() -> None:
    note = request_note("Kiểm kê [tháng 1]", "0123456789abcdef0123-f89abcdef", 3, 12)
    assert note == "[il 0123456789abcdef0123-f89abcdef 3/12] Kiểm kê [tháng 1]"
    assert find_marker(note) == MarkerRef("0123456789abcdef0123-f89abcdef", 3, 12)
    assert find_marker("Kiểm kê tháng 1") is None
    spoofed = request_note("copied [inventory-lake set aaaa 1/2]", "bbbb", 3, 4)
    assert find_marker(spoofed) == MarkerRef("bbbb", 3, 4)
    assert find_marker(None) is None

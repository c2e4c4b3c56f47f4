"""The batch marker in an adjustment's note survives Haravan cutting the note short, older
notes with the marker at the end are still read, and no user note can carry a marker."""

from __future__ import annotations

import pytest

from include.inventory_lake.push.batch import MarkerRef, batch_id_for, find_marker, request_note
from include.inventory_lake.push.reading import read_staged
from include.inventory_lake.push.validation import MAX_NOTE_CHARS, validate

FORCED = batch_id_for("0123456789abcdef" * 4, forced_by_run="manual__2026-01-15")
LONGEST_NOTE = ("Kiểm kê cuối tháng, kho Hà Nội [đợt 2] " * 10)[:MAX_NOTE_CHARS]


def test_the_marker_leads_the_note_and_is_short() -> None:
    assert request_note("Kiểm kê", FORCED, 7, 12) == f"[il {FORCED} 7/12] Kiểm kê"
    # The longest marker: a forced batch id (30 characters) of 10,000 requests.
    assert len(request_note(None, FORCED, 9_999, 10_000)) == 46


@pytest.mark.parametrize("numbers", [(1, 1), (7, 12), (9_999, 10_000)])
def test_a_note_cut_anywhere_after_the_marker_still_carries_it(numbers: tuple[int, int]) -> None:
    k, n = numbers
    note = request_note(LONGEST_NOTE, FORCED, k, n)
    bare = request_note(None, FORCED, k, n)
    expected = MarkerRef(FORCED, k, n)
    assert find_marker(bare) == expected
    for length in range(len(bare), len(note) + 1):
        assert find_marker(note[:length]) == expected, length


def test_a_note_cut_by_bytes_still_carries_the_marker() -> None:
    note = request_note(LONGEST_NOTE, FORCED, 3, 4).encode("utf-8")
    for length in range(len(request_note(None, FORCED, 3, 4)), len(note) + 1):
        cut = note[:length].decode("utf-8", errors="ignore")
        assert find_marker(cut) == MarkerRef(FORCED, 3, 4), length


def test_a_note_cut_inside_the_marker_has_none() -> None:
    bare = request_note(None, FORCED, 3, 4)
    assert find_marker(bare[:-1]) is None


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (f"[inventory-lake set {FORCED} 3/12]", MarkerRef(FORCED, 3, 12)),
        (
            "Kiểm kê [tháng 1] [inventory-lake set 0123456789abcdef0123 1/2]",
            MarkerRef("0123456789abcdef0123", 1, 2),
        ),
        ("Kiểm kê [tháng 1] [inventory-lake set 0123456789abcdef0123 1/", None),
        ("Kiểm kê tháng 1", None),
        (None, None),
    ],
)
def test_notes_written_before_the_marker_moved_are_still_read(
    note: str | None, expected: MarkerRef | None
) -> None:
    assert find_marker(note) == expected


def test_only_the_leading_marker_counts() -> None:
    quoting_both = request_note(
        "copied [il aaaaaaaa 1/2] and [inventory-lake set aaaaaaaa 1/2]", "bbbbbbbb", 3, 4
    )
    assert find_marker(quoting_both) == MarkerRef("bbbbbbbb", 3, 4)
    assert find_marker("Kiểm kê [il aaaaaaaa 1/2]") is None


@pytest.mark.parametrize(
    "note",
    [
        "Kiểm kê [il 0123456789abcdef0123 1/2]",
        "[il x",
        "x [inventory-lake set ab 1/2]",
        "[inventory-lake set ab",
    ],
)
def test_a_user_note_that_could_pass_for_a_marker_is_refused(note: str) -> None:
    body = f"location_id,product_id,product_variant_id,quantity,note\n1,2,3,4,{note}\n"
    result = validate(read_staged("f.csv", body.encode("utf-8")), max_lines=10)
    assert result.lines == ()
    assert [(p.row, p.column) for p in result.problems] == [(2, "note")]
    assert "must not contain" in result.problems[0].problem

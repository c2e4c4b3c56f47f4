"""Planning: requests per (location, reason, note) of at most chunk_size lines, and the guard."""

from __future__ import annotations

from include.inventory_lake.push.batch import find_marker
from include.inventory_lake.push.planning import (
    GuardLimits,
    build_plan,
    plan_from_rows,
    plan_rows,
)
from include.inventory_lake.push.summary import approval_body, approval_subject, summarise
from include.inventory_lake.push.validation import SetLine

LOOSE = GuardLimits(
    max_line_delta=10_000, max_relative_change=100.0, relative_min_delta=0, max_lines=10_000
)


def line(row: int, location: int, variant: int, quantity: int, **extra: object) -> SetLine:
    fields: dict[str, object] = {"reason": "shrinkage", "note": None, "sku": None, "barcode": None}
    fields.update(extra)
    return SetLine(row, location, variant // 10, variant, quantity, **fields)  # type: ignore[arg-type]


def test_requests_per_location_reason_and_note_of_at_most_chunk_size_lines() -> None:
    lines = [line(i + 2, 7, 1000 + i, 5) for i in range(250)]
    lines += [line(300 + i, 8, 1000 + i, 5) for i in range(30)]
    lines += [line(400, 8, 2000, 1, reason="damaged"), line(401, 8, 2001, 1, note="count")]
    on_hand = {ln.pair: 5 for ln in lines}
    plan = build_plan("b1", reversed(lines), on_hand, lines_per_request=100, limits=LOOSE)
    shape = [(c.location_id, c.reason, c.user_note, len(c.lines)) for c in plan.requests]
    assert shape == [
        (7, "shrinkage", None, 100),
        (7, "shrinkage", None, 100),
        (7, "shrinkage", None, 50),
        (8, "damaged", None, 1),
        (8, "shrinkage", None, 30),
        (8, "shrinkage", "count", 1),
    ]
    first = plan.requests[0]
    assert [p.line.product_variant_id for p in first.lines] == list(range(1000, 1100))
    body = plan.requests[5].body("b1", len(plan.requests))
    assert body["type"] == "set" and body["location_id"] == 8 and body["reason"] == "shrinkage"
    assert body["note"] == "[il b1 6/6] count"
    ref = find_marker(body["note"])
    assert ref is not None and (ref.batch_id, ref.request, ref.requests) == ("b1", 6, 6)
    assert body["line_items"] == [{"product_id": 200, "product_variant_id": 2001, "quantity": 1}]
    assert not plan.needs_approval


def test_the_guard_names_large_absolute_relative_and_total_changes() -> None:
    limits = GuardLimits(
        max_line_delta=100, max_relative_change=0.5, relative_min_delta=10, max_lines=3
    )
    lines = [
        line(2, 1, 10, 650),  # 50 -> 650: +600 units
        line(3, 1, 11, 40),  # 100 -> 40: -60%, 60 units
        line(4, 1, 12, 8),  # 2 -> 8: +300% but only 6 units
        line(5, 1, 13, 0),  # 0 -> 0
    ]
    on_hand = {(1, 10): 50, (1, 11): 100, (1, 12): 2, (1, 13): 0}
    plan = build_plan("b2", lines, on_hand, lines_per_request=100, limits=limits)
    flags = {p.line.product_variant_id: p.flags for p in plan.lines}
    assert flags == {
        10: ("line_delta", "relative_change"),
        11: ("relative_change",),
        12: (),
        13: (),
    }
    assert plan.needs_approval
    assert plan.guard_reasons == (
        "1 line(s) change by more than 100 units (largest: variant 10 at location 1: "
        "50 → 650 (+600))",
        "2 line(s) change by more than 50% of the current quantity (largest: variant 10 at "
        "location 1: 50 → 650 (+600))",
        "4 lines: files above 3 lines need approval",
    )
    summary = summarise(plan, file_name="big|file.csv", plan_uri="s3://lake/plan.csv")
    assert summary["units_added"] == 606 and summary["units_removed"] == 60
    body = approval_body(summary)
    assert "change by more than 100 units" in body and "s3://lake/plan.csv" in body
    assert "| 2 | 1 | 10 |  | 50 | 650 | +600 |" in body
    assert "` big|file.csv `" in body, "a file name shows as it is, in a code span"
    assert approval_subject(summary).endswith("4 lines, 1 requests")


def test_a_stored_plan_reads_back_identical() -> None:
    lines = [line(i + 2, 7 + i % 2, 1000 + i, i, sku=f"S{i}", note="n") for i in range(12)]
    on_hand = {ln.pair: 3 for ln in lines}
    plan = build_plan("b3", lines, on_hand, lines_per_request=5, limits=LOOSE)
    again = plan_from_rows("b3", plan_rows(plan), plan.guard_reasons)
    assert again == plan

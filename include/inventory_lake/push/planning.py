"""The plan: which lines go in which request, what each changes, and whether a person must
approve it first.

Requests group lines by (location, reason, note), since a request has one of each, and hold at
most `chunk_size` lines. Lines are ordered canonically (by those keys, then variant id), so the
same content always gives the same requests and the same notes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from include.inventory_lake.push.batch import request_note
from include.inventory_lake.push.validation import SetLine

FLAG_LINE_DELTA = "line_delta"
FLAG_RELATIVE = "relative_change"


@dataclass(frozen=True)
class GuardLimits:
    """When a plan needs a person's approval (DAG params guard_*)."""

    max_line_delta: int
    max_relative_change: float
    relative_min_delta: int
    max_lines: int


@dataclass(frozen=True)
class PlannedLine:
    line: SetLine
    request: int
    current: int
    flags: tuple[str, ...]

    @property
    def delta(self) -> int:
        return self.line.quantity - self.current


@dataclass(frozen=True)
class PlannedRequest:
    number: int
    location_id: int
    reason: str
    user_note: str | None
    lines: tuple[PlannedLine, ...]

    def body(self, batch_id: str, requests: int) -> dict[str, Any]:
        """The `inventory` object of POST /com/inventories/adjustorset.json."""
        return {
            "location_id": self.location_id,
            "type": "set",
            "reason": self.reason,
            "note": request_note(self.user_note, batch_id, self.number, requests),
            "line_items": [
                {
                    "product_id": planned.line.product_id,
                    "product_variant_id": planned.line.product_variant_id,
                    "quantity": planned.line.quantity,
                }
                for planned in self.lines
            ],
        }


@dataclass(frozen=True)
class Plan:
    batch_id: str
    requests: tuple[PlannedRequest, ...]
    guard_reasons: tuple[str, ...]

    @property
    def needs_approval(self) -> bool:
        return bool(self.guard_reasons)

    @property
    def lines(self) -> list[PlannedLine]:
        return [planned for request in self.requests for planned in request.lines]

    def request(self, number: int) -> PlannedRequest:
        return self.requests[number - 1]


def _flags(line: SetLine, current: int, limits: GuardLimits) -> tuple[str, ...]:
    delta = abs(line.quantity - current)
    flags: list[str] = []
    if delta > limits.max_line_delta:
        flags.append(FLAG_LINE_DELTA)
    if delta >= limits.relative_min_delta and delta / max(current, 1) > limits.max_relative_change:
        flags.append(FLAG_RELATIVE)
    return tuple(flags)


def _describe(planned: PlannedLine) -> str:
    line = planned.line
    return (
        f"variant {line.product_variant_id} at location {line.location_id}: "
        f"{planned.current} → {line.quantity} ({planned.delta:+d})"
    )


def guard_reasons(lines: Sequence[PlannedLine], limits: GuardLimits) -> tuple[str, ...]:
    reasons: list[str] = []
    by_delta = sorted(lines, key=lambda p: (-abs(p.delta), p.line.row))
    over = [p for p in by_delta if FLAG_LINE_DELTA in p.flags]
    if over:
        reasons.append(
            f"{len(over)} line(s) change by more than {limits.max_line_delta} units "
            f"(largest: {_describe(over[0])})"
        )
    relative = [p for p in by_delta if FLAG_RELATIVE in p.flags]
    if relative:
        reasons.append(
            f"{len(relative)} line(s) change by more than {limits.max_relative_change:.0%} of "
            f"the current quantity (largest: {_describe(relative[0])})"
        )
    if len(lines) > limits.max_lines:
        reasons.append(f"{len(lines)} lines: files above {limits.max_lines} lines need approval")
    return tuple(reasons)


def _request_key(line: SetLine) -> tuple[int, str, str]:
    return (line.location_id, line.reason, line.note or "")


def build_plan(
    batch_id: str,
    lines: Iterable[SetLine],
    on_hand: Mapping[tuple[int, int], int],
    *,
    lines_per_request: int,
    limits: GuardLimits,
) -> Plan:
    if lines_per_request < 1:
        raise ValueError("chunk_size must be >= 1")
    ordered = sorted(lines, key=lambda line: (*_request_key(line), line.product_variant_id))
    requests: list[PlannedRequest] = []
    for (location_id, reason, note), group in groupby(ordered, key=_request_key):
        members = list(group)
        for start in range(0, len(members), lines_per_request):
            number = len(requests) + 1
            planned = tuple(
                PlannedLine(
                    line, number, on_hand[line.pair], _flags(line, on_hand[line.pair], limits)
                )
                for line in members[start : start + lines_per_request]
            )
            requests.append(PlannedRequest(number, location_id, reason, note or None, planned))
    all_lines = [planned for request in requests for planned in request.lines]
    return Plan(batch_id, tuple(requests), guard_reasons(all_lines, limits))


def plan_rows(plan: Plan) -> list[dict[str, Any]]:
    """One dict per line in the PLAN schema's column order."""
    return [
        {
            "batch_id": plan.batch_id,
            "chunk": planned.request,
            "source_row": planned.line.row,
            "location_id": planned.line.location_id,
            "product_id": planned.line.product_id,
            "product_variant_id": planned.line.product_variant_id,
            "sku": planned.line.sku,
            "barcode": planned.line.barcode,
            "reason": planned.line.reason,
            "note": planned.line.note,
            "current_quantity": planned.current,
            "new_quantity": planned.line.quantity,
            "delta": planned.delta,
            "guard_flags": list(planned.flags),
        }
        for planned in plan.lines
    ]


def plan_from_rows(
    batch_id: str, rows: Iterable[Mapping[str, Any]], guard: Sequence[str] = ()
) -> Plan:
    """The inverse of `plan_rows`: the stored plan, exactly as it was approved."""
    by_request: dict[int, list[PlannedLine]] = defaultdict(list)
    for row in rows:
        line = SetLine(
            row=int(row["source_row"]),
            location_id=int(row["location_id"]),
            product_id=int(row["product_id"]),
            product_variant_id=int(row["product_variant_id"]),
            quantity=int(row["new_quantity"]),
            reason=str(row["reason"]),
            note=row["note"],
            sku=row["sku"],
            barcode=row["barcode"],
        )
        request = int(row["chunk"])
        flags = tuple(row["guard_flags"] or ())
        by_request[request].append(PlannedLine(line, request, int(row["current_quantity"]), flags))
    if sorted(by_request) != list(range(1, len(by_request) + 1)):
        raise ValueError(f"stored plan of batch {batch_id} has gaps in its request numbers")
    requests = tuple(
        PlannedRequest(
            number,
            by_request[number][0].line.location_id,
            by_request[number][0].line.reason,
            by_request[number][0].line.note,
            tuple(by_request[number]),
        )
        for number in sorted(by_request)
    )
    return Plan(batch_id, requests, tuple(guard))

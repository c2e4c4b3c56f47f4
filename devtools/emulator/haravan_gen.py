"""Deterministic Haravan inventory adjustments.

Only a compact index is generated up front (id, created_at, location, line-id range per record,
in ``array`` columns); the rest of a record is derived on demand from a random stream seeded by
(seed, position), so 200k adjustments cost a few MB and a fraction of a second.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass

from devtools.emulator import seeding, texts
from devtools.emulator.catalog import Catalog, Location
from devtools.emulator.jsonout import Money
from devtools.emulator.timefmt import (
    TICKS_PER_MS,
    TICKS_PER_SECOND,
    render_dotnet,
    truncate,
)

FIRST_ADJUSTMENT_ID = 1_200_000_000
FIRST_LINE_ID = 1_116_000_000
ADJUST_NUMBER_BASE = 100_000
ID_GAP_MAX = 2_000
LINE_GAP_MAX = 200


def precision_unit(draw: float) -> int:
    """How finely a timestamp is kept; trimming then yields 0-7 fractional digits."""
    if draw < 0.55:
        return TICKS_PER_MS
    if draw < 0.85:
        return 1
    if draw < 0.95:
        return TICKS_PER_SECOND // 10
    return TICKS_PER_SECOND


@dataclass
class HaravanIndex:
    ids: array[int]
    created: array[int]
    locations: array[int]  # index into Catalog.locations
    line_starts: array[int]
    line_counts: array[int]


def generate_index(
    seed: int, count: int, start: int, end: int, location_count: int, max_lines: int
) -> HaravanIndex:
    rng = seeding.stream(seed, seeding.HARAVAN_INDEX)
    draw = rng.random
    span = max(1, end - start)
    offsets = sorted(int(draw() * span) for _ in range(count))
    index = HaravanIndex(array("q"), array("q"), array("H"), array("q"), array("H"))
    next_id = FIRST_ADJUSTMENT_ID
    next_line = FIRST_LINE_ID
    previous = start
    for offset in offsets:
        created = truncate(start + offset, precision_unit(draw()))
        # Truncation may step back behind the previous record; ids must grow with created_at.
        created = max(created, previous)
        previous = created
        next_id += 1 + int(draw() * ID_GAP_MAX)
        next_line += 1 + int(draw() * LINE_GAP_MAX)
        lines = 1 + int(draw() * max_lines)
        index.ids.append(next_id)
        index.created.append(created)
        index.locations.append(int(draw() * location_count))
        index.line_starts.append(next_line)
        index.line_counts.append(lines)
        next_line += lines
    return index


@dataclass(frozen=True)
class Skeleton:
    """The stored part of an adjustment; everything else comes from the record's stream."""

    id: int
    number: int
    created: int
    location: Location
    line_start: int
    line_count: int


def adjust_number(number: int) -> str:
    return f"IA{ADJUST_NUMBER_BASE + number}"


def build_adjustment(
    rng: random.Random, skeleton: Skeleton, catalog: Catalog, cap: int
) -> dict[str, object]:
    """A full record in API form; ``cap`` bounds updated_at (the data's end)."""
    draw = rng.random
    kind_draw = draw()
    kind = None if kind_draw < 0.5 else ("adjust" if kind_draw < 0.85 else "set")
    reason = rng.choice(texts.HARAVAN_REASONS)
    note = None if draw() < 0.45 else rng.choice(texts.HARAVAN_NOTES)
    tags = None if draw() < 0.55 else rng.choice(texts.HARAVAN_TAGS)
    created = skeleton.created
    updated = truncate(created + int(draw() * 1.5 * TICKS_PER_SECOND), precision_unit(draw()))
    updated = max(created, min(updated, cap))
    tran_date = truncate(created - int(draw() * 0.1 * TICKS_PER_SECOND), precision_unit(draw()))

    picks = rng.sample(
        range(len(catalog.variants)), min(skeleton.line_count, len(catalog.variants))
    )
    bulk = reason in texts.BULK_REASONS and draw() < 0.08
    if bulk:
        premium = rng.choice(catalog.premium).index
        if premium in picks:
            picks.remove(premium)
        else:
            picks.pop()
        picks.insert(0, premium)

    outgoing = reason in texts.OUTGOING_REASONS
    lines: list[dict[str, object]] = []
    total_quantity = 0
    total_cost = Money(0)
    for position, variant_index in enumerate(picks):
        variant = catalog.variants[variant_index]
        if bulk and position == 0:
            quantity = rng.randint(40_000, 50_000)
        else:
            quantity = rng.randint(1, 30)
            if outgoing != (draw() < 0.1):
                quantity = -quantity
        cost = Money.from_units(quantity * variant.unit_cost)
        total_quantity += quantity
        total_cost += cost
        lines.append(
            {
                "id": skeleton.line_start + position,
                "product_id": variant.product_id,
                "product_variant_id": variant.haravan_id,
                "quantity": quantity,
                "cost_amount": cost,
                "sku": variant.sku,
                "barcode": variant.barcode,
            }
        )
    return {
        "id": skeleton.id,
        "created_at": render_dotnet(created),
        "updated_at": render_dotnet(updated),
        "adjust_number": adjust_number(skeleton.number),
        "tran_date": render_dotnet(tran_date),
        "location_id": skeleton.location.haravan_id,
        "type": kind,
        "total_quantity": total_quantity,
        "reason": reason,
        "note": note,
        "total_cost": total_cost,
        "tags": tags,
        "line_items": lines,
    }

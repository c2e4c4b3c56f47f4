"""Deterministic Stocky history: adjustments spread over the data window, most of them
performed some hours after creation, the most recent ones (and a few forgotten ones) pending."""

from __future__ import annotations

import random

from devtools.emulator import texts
from devtools.emulator.catalog import Catalog, Location
from devtools.emulator.stocky_model import StockyAdjustment, StockyItem
from devtools.emulator.timefmt import TICKS_PER_MS, TICKS_PER_SECOND, truncate

HOUR = 3_600 * TICKS_PER_SECOND
FIRST_ADJUSTMENT_ID = 101
FIRST_ITEM_ID = 1_001


def new_adjustment(
    rng: random.Random,
    *,
    adjustment_id: int,
    sequential_id: int,
    first_item_id: int,
    created: int,
    catalog: Catalog,
    max_lines: int,
    location: Location | None = None,
) -> StockyAdjustment:
    """A pending adjustment with its items, none performed yet."""
    created = truncate(created, TICKS_PER_MS)
    reason = None if rng.random() < 0.25 else rng.choice(texts.STOCKY_REASONS)
    note = None if rng.random() < 0.4 else rng.choice(texts.STOCKY_NOTES)
    adjustment = StockyAdjustment(
        id=adjustment_id,
        sequential_id=sequential_id,
        location=location or rng.choice(catalog.locations),
        created_at=created,
        updated_at=created,
        adjusted_at=None,
        archived=False,
        note=note,
        reason=reason,
    )
    count = min(1 + int(rng.random() * max_lines), len(catalog.variants))
    for offset, variant_index in enumerate(rng.sample(range(len(catalog.variants)), count)):
        quantity = rng.randint(1, 40) * (-1 if rng.random() < 0.45 else 1)
        adjustment.items.append(
            StockyItem(
                id=first_item_id + offset,
                adjustment_id=adjustment_id,
                location=adjustment.location,
                variant=catalog.variants[variant_index],
                quantity=quantity,
                updated_at=created,
            )
        )
    return adjustment


def generate(
    rng: random.Random, catalog: Catalog, count: int, start: int, end: int, max_lines: int
) -> list[StockyAdjustment]:
    span = max(1, end - start)
    created_times = sorted(start + int(rng.random() * span) for _ in range(count))
    adjustments: list[StockyAdjustment] = []
    adjustment_id = FIRST_ADJUSTMENT_ID
    item_id = FIRST_ITEM_ID
    for sequential_id, created in enumerate(created_times, start=1):
        adjustment = new_adjustment(
            rng,
            adjustment_id=adjustment_id,
            sequential_id=sequential_id,
            first_item_id=item_id,
            created=created,
            catalog=catalog,
            max_lines=max_lines,
        )
        _maybe_performed(rng, adjustment, end)
        adjustments.append(adjustment)
        adjustment_id += 1 + int(rng.random() * 3)
        item_id += len(adjustment.items) + (1 if rng.random() < 0.1 else 0)
    return adjustments


def _maybe_performed(rng: random.Random, adjustment: StockyAdjustment, end: int) -> None:
    adjusted = truncate(adjustment.created_at + int((1 + rng.random() * 11) * HOUR), TICKS_PER_MS)
    forgotten = rng.random() < 0.08
    if adjusted > end or forgotten:
        return
    latest = adjusted
    for item in adjustment.items:
        previous = rng.randint(0, 300)
        item.previous_quantity = previous
        item.new_quantity = previous + item.quantity
        item.adjusted_at = adjusted
        # Some items are touched again later (as in the vendor's example), never past the end.
        late = int(rng.random() * 24 * HOUR) if rng.random() < 0.2 else 0
        item.updated_at = min(end, truncate(adjusted + late, TICKS_PER_MS))
        latest = max(latest, item.updated_at)
    adjustment.adjusted_at = adjusted
    adjustment.updated_at = latest
    adjustment.archived = rng.random() < 0.05

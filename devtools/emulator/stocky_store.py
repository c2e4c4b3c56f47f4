"""In-memory Stocky data: filtered listing, lookup, inserts and performing pending items."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from devtools.emulator import seeding
from devtools.emulator.catalog import Catalog
from devtools.emulator.stocky_gen import (
    FIRST_ADJUSTMENT_ID,
    FIRST_ITEM_ID,
    new_adjustment,
)
from devtools.emulator.stocky_model import (
    ADJUSTED,
    StockyAdjustment,
    StockyItem,
)
from devtools.emulator.timefmt import TICKS_PER_MS, truncate


class _Filterable(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def updated_at(self) -> int: ...
    @property
    def adjusted_at(self) -> int | None: ...


T = TypeVar("T", bound=_Filterable)


@dataclass(frozen=True)
class StockyQuery:
    since_id: int | None = None
    offset: int = 0
    limit: int = 50
    updated_since: int | None = None
    adjusted_since: int | None = None
    status: str | None = None


def select(records: Sequence[T], query: StockyQuery) -> list[T]:
    """Filters first, then since_id (which overrides offset), then limit. ``records`` are in
    ascending id order, so since_id is a binary search."""
    found: list[T] = []
    skip = 0 if query.since_id is not None else query.offset
    start = 0
    if query.since_id is not None:
        start = bisect_right(records, query.since_id, key=lambda record: record.id)
    for position in range(start, len(records)):
        record = records[position]
        if query.updated_since is not None and record.updated_at < query.updated_since:
            continue
        if query.adjusted_since is not None and (
            record.adjusted_at is None or record.adjusted_at < query.adjusted_since
        ):
            continue
        if query.status is not None and (record.adjusted_at is not None) != (
            query.status == ADJUSTED
        ):
            continue
        if skip:
            skip -= 1
            continue
        found.append(record)
        if len(found) >= query.limit:
            break
    return found


class StockyStore:
    def __init__(
        self, seed: int, catalog: Catalog, adjustments: list[StockyAdjustment], max_lines: int
    ) -> None:
        self._seed = seed
        self._catalog = catalog
        self._max_lines = max_lines
        self.adjustments = adjustments
        self.items = [item for adjustment in adjustments for item in adjustment.items]
        self._by_id = {adjustment.id: adjustment for adjustment in adjustments}
        self._insert_rng = seeding.stream(seed, seeding.STOCKY_INSERT)
        # Shopify available quantities, created on first use, consulted when performing.
        self._levels: dict[tuple[int, int], int] = {}

    def get(self, adjustment_id: int) -> StockyAdjustment | None:
        return self._by_id.get(adjustment_id)

    def insert(self, count: int, created: int) -> list[StockyAdjustment]:
        added: list[StockyAdjustment] = []
        rng = self._insert_rng
        for _ in range(count):
            last = self.adjustments[-1] if self.adjustments else None
            adjustment = new_adjustment(
                rng,
                adjustment_id=(last.id if last else FIRST_ADJUSTMENT_ID - 1)
                + 1
                + int(rng.random() * 3),
                sequential_id=(last.sequential_id if last else 0) + 1,
                first_item_id=(self.items[-1].id if self.items else FIRST_ITEM_ID - 1) + 1,
                created=created,
                catalog=self._catalog,
                max_lines=self._max_lines,
            )
            self.adjustments.append(adjustment)
            self.items.extend(adjustment.items)
            self._by_id[adjustment.id] = adjustment
            added.append(adjustment)
        return added

    def move(self, adjustment_id: int, stocky_location_id: int, updated: int) -> StockyAdjustment:
        """Move an adjustment (and its items) to another location, as changed at `updated`;
        raises KeyError for an unknown adjustment or location."""
        adjustment = self._by_id.get(adjustment_id)
        if adjustment is None:
            raise KeyError(f"no Stocky adjustment {adjustment_id}")
        by_stocky_id = {location.stocky_id: location for location in self._catalog.locations}
        location = by_stocky_id.get(stocky_location_id)
        if location is None:
            raise KeyError(f"no location with Stocky id {stocky_location_id}")
        adjustment.location = location
        adjustment.updated_at = truncate(updated, TICKS_PER_MS)
        for item in adjustment.items:
            item.location = location
        return adjustment

    def _level(self, item: StockyItem) -> int:
        key = (item.location.index, item.variant.index)
        if key not in self._levels:
            rng = seeding.stream(self._seed, seeding.STOCKY_LEVEL, key[0] * 1_000_000 + key[1])
            self._levels[key] = rng.randint(0, 200)
        return self._levels[key]

    def perform(
        self,
        now: int,
        adjustment_ids: Collection[int] | None = None,
        item_ids: Collection[int] | None = None,
    ) -> list[StockyItem]:
        """Perform pending items now; with no ids, every pending item."""
        now = truncate(now, TICKS_PER_MS)
        performed: list[StockyItem] = []
        everything = adjustment_ids is None and item_ids is None
        for adjustment in self.adjustments:
            whole = everything or (adjustment_ids is not None and adjustment.id in adjustment_ids)
            touched = False
            for item in adjustment.items:
                if item.adjusted_at is not None:
                    continue
                if not (whole or (item_ids is not None and item.id in item_ids)):
                    continue
                previous = self._level(item)
                item.previous_quantity = previous
                item.new_quantity = previous + item.quantity
                self._levels[(item.location.index, item.variant.index)] = item.new_quantity
                item.adjusted_at = item.updated_at = now
                performed.append(item)
                touched = True
            if touched:
                adjustment.adjusted_at = adjustment.updated_at = now
        return performed

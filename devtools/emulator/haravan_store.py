"""In-memory Haravan adjustments: paging, counting, lookup and appending new records.

Positions are in id order. Generated records (positions below ``generated``) are rebuilt from
their stream on each read; records added later (POSTs, inserts) are kept fully built.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence

from devtools.emulator import seeding
from devtools.emulator.catalog import Catalog, Location
from devtools.emulator.haravan_gen import (
    FIRST_LINE_ID,
    ID_GAP_MAX,
    LINE_GAP_MAX,
    HaravanIndex,
    Skeleton,
    build_adjustment,
)

Record = dict[str, object]


class HaravanStore:
    def __init__(
        self, seed: int, catalog: Catalog, index: HaravanIndex, cap: int, max_lines: int
    ) -> None:
        self._seed = seed
        self._max_lines = max_lines
        self._catalog = catalog
        self._index = index
        self._cap = cap
        self.generated = len(index.ids)
        self._added: list[Record] = []
        self._by_location: dict[int, array[int]] = {
            loc.index: array("l") for loc in catalog.locations
        }
        for position, location in enumerate(index.locations):
            self._by_location[location].append(position)
        self._insert_rng = seeding.stream(seed, seeding.HARAVAN_INSERT)

    def __len__(self) -> int:
        return len(self._index.ids)

    @property
    def last_id(self) -> int:
        return self._index.ids[-1] if self._index.ids else 0

    def record(self, position: int) -> Record:
        if position >= self.generated:
            return self._added[position - self.generated]
        index = self._index
        skeleton = Skeleton(
            id=index.ids[position],
            number=position + 1,
            created=index.created[position],
            location=self._catalog.locations[index.locations[position]],
            line_start=index.line_starts[position],
            line_count=index.line_counts[position],
        )
        rng = seeding.stream(self._seed, seeding.HARAVAN_RECORD, position)
        return build_adjustment(rng, skeleton, self._catalog, self._cap)

    def _positions(self, location_id: int | None) -> Sequence[int]:
        if location_id is None:
            return range(len(self._index.ids))
        location = self._catalog.location_by_id.get(location_id)
        return self._by_location[location.index] if location else ()

    def _first_after(self, positions: Sequence[int], since_id: int) -> int:
        ids = self._index.ids
        return bisect_right(positions, since_id, key=lambda p: ids[p])

    def page(
        self, *, since_id: int | None, location_id: int | None, page: int, limit: int
    ) -> list[Record]:
        """Newest first without since_id; ascending ids after since_id with it."""
        positions = self._positions(location_id)
        skip = (page - 1) * limit
        if since_id is None:
            high = len(positions) - skip
            low = max(0, high - limit)
            chosen = [positions[i] for i in range(high - 1, low - 1, -1)]
        else:
            low = self._first_after(positions, since_id) + skip
            chosen = [positions[i] for i in range(low, min(len(positions), low + limit))]
        return [self.record(p) for p in chosen]

    def count(self, *, since_id: int | None, location_id: int | None) -> int:
        positions = self._positions(location_id)
        if since_id is None:
            return len(positions)
        return len(positions) - self._first_after(positions, since_id)

    def get(self, adjustment_id: int) -> Record | None:
        ids = self._index.ids
        position = bisect_left(ids, adjustment_id)
        if position < len(ids) and ids[position] == adjustment_id:
            return self.record(position)
        return None

    def ascending(self, since_id: int | None = None, limit: int | None = None) -> Iterator[Record]:
        start = 0 if since_id is None else bisect_right(self._index.ids, since_id)
        stop = len(self._index.ids) if limit is None else min(len(self._index.ids), start + limit)
        for position in range(start, stop):
            yield self.record(position)

    def append(
        self,
        location: Location,
        created: int,
        line_count: int,
        build: Callable[[Skeleton], Record],
    ) -> Record:
        """Add a record with an id above all others; ``build`` fills it from its skeleton."""
        index = self._index
        rng = self._insert_rng
        new_id = self.last_id + 1 + int(rng.random() * ID_GAP_MAX)
        if index.line_starts:
            line_start = index.line_starts[-1] + index.line_counts[-1]
        else:
            line_start = FIRST_LINE_ID
        line_start += 1 + int(rng.random() * LINE_GAP_MAX)
        skeleton = Skeleton(new_id, len(index.ids) + 1, created, location, line_start, line_count)
        record = build(skeleton)
        self._by_location[location.index].append(len(index.ids))
        index.ids.append(new_id)
        index.created.append(created)
        index.locations.append(location.index)
        index.line_starts.append(line_start)
        index.line_counts.append(line_count)
        self._added.append(record)
        return record

    def insert_random(self, created: int) -> Record:
        """A generated-looking adjustment (another user's change) dated ``created``."""
        rng = self._insert_rng
        location = rng.choice(self._catalog.locations)
        lines = 1 + int(rng.random() * self._max_lines)
        return self.append(
            location,
            created,
            lines,
            lambda skeleton: build_adjustment(rng, skeleton, self._catalog, created + 15_000_000),
        )

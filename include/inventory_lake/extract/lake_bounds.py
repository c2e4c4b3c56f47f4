"""What the lake knows about where a day starts in Haravan's id space.

Haravan's ids grow with `created_at`, so every committed partition of a shop bounds the search
for another day's first id (`sources.since_id_search`): the nearest earlier committed day's
`max_id` was created before the day (a lower bound; the exact one when every day between is
committed too, which is the usual daily run), the nearest later committed day's `min_id` at or
after it (an upper bound), and a marker's ids and row count tell how dense ids are. In a
backfill, runs start before the previous day is committed; an earlier day a few days back and
a later day already done still put the search within a page or two of the boundary.

Cost: one listing of the shop's dataset prefix and a few marker reads (at most
`MAX_MARKERS_READ`), against the API's bucket of 80 calls leaking 4 per second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from include.inventory_lake.lake.location import MARKER_FILE, day_of_folder
from include.inventory_lake.sources.since_id_search import Bounds, Landmark
from include.inventory_lake.sources.timestamps import parse_api_timestamp

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)
# Markers read per side at most: committed empty days are skipped, a few of them.
MAX_MARKERS_READ = 4

Marker = Mapping[str, Any]
ReadMarker = Callable[[date], Marker | None]


def committed_days(keys: Iterable[str]) -> set[date]:
    """The days whose `_SUCCESS` marker is among `keys` (a listing of a shop's dataset)."""
    days: set[date] = set()
    for key in keys:
        folder, _, name = key.rpartition("/")
        day = day_of_folder(folder.rpartition("/")[2]) if name == MARKER_FILE else None
        if day is not None:
            days.add(day)
    return days


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _timestamp(marker: Marker, field: str) -> datetime | None:
    value = marker.get(field)
    if not isinstance(value, str):
        return None
    try:
        return parse_api_timestamp(value)
    except ValueError:
        return None


def _int(marker: Marker, field: str) -> int | None:
    value = marker.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _density(marker: Marker) -> tuple[float | None, float | None]:
    """(ids per record, ids per second) of a committed day, when its marker tells."""
    low, high, rows = _int(marker, "min_id"), _int(marker, "max_id"), _int(marker, "rows")
    if low is None or high is None or rows is None or rows < 2 or high <= low:
        return None, None
    mean_gap = (high - low) / (rows - 1)
    first, last = _timestamp(marker, "min_id_created_at"), _timestamp(marker, "max_id_created_at")
    span_s = (last - first).total_seconds() if first and last else 0.0
    # Without timestamps (markers written before they were kept): the records spread over
    # the day, so about rows + 1 gaps in a day.
    ids_per_s = (high - low) / span_s if span_s > 0 else mean_gap * (rows + 1) / DAY.total_seconds()
    return mean_gap, ids_per_s


def bounds_for_day(day: date, committed: set[date], read_marker: ReadMarker) -> Bounds | None:
    """Bounds on `day`'s first id from the committed days around it, or None."""
    lower: Landmark | None = None
    upper: Landmark | None = None
    adjacent = True
    density: tuple[float | None, float | None] = (None, None)
    earlier = sorted((d for d in committed if d < day), reverse=True)
    for count, other in enumerate(earlier):
        if count >= MAX_MARKERS_READ:
            break
        adjacent = adjacent and other == day - DAY * (count + 1)
        marker = read_marker(other)
        high = _int(marker, "max_id") if marker else None
        if marker is None or high is None:
            continue  # gone since the listing, or an empty day: look further back
        at = _timestamp(marker, "max_id_created_at") or _midnight(other + DAY) - TICK
        lower, density = Landmark(high, at), _density(marker)
        break
    for count, other in enumerate(sorted(d for d in committed if d > day)):
        if count >= MAX_MARKERS_READ:
            break
        marker = read_marker(other)
        low = _int(marker, "min_id") if marker else None
        if marker is None or low is None:
            continue
        upper = Landmark(low, _timestamp(marker, "min_id_created_at") or _midnight(other))
        if density == (None, None):
            density = _density(marker)
        break
    if lower is None and upper is None:
        return None
    mean_gap, ids_per_s = density
    return Bounds(
        lower=lower,
        adjacent=lower is not None and adjacent,
        upper=upper,
        mean_gap=mean_gap,
        ids_per_s=ids_per_s,
    )

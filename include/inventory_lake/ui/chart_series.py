"""Daily line counts and net quantities per source and location of one shop, from its facts
partitions (`facts/inventory_adjustment_lines/shop=<id>/dt=YYYY-MM-DD/`).

Only complete partitions (with their `_SUCCESS` marker) are read, and only three columns of
them. The busiest series are kept; the rest of a source's locations are summed into one
"other locations" series so the chart stays readable with many locations.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import Partition
from include.inventory_lake.settings import FACTS_LINES_PATH
from include.inventory_lake.ui.parallel_reads import parallel_map
from include.inventory_lake.ui.unreadable import unreadable_reason

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

MAX_SERIES = 8
COLUMNS = ["source", "location_id", "quantity"]
# (source, location id or None for lines without one); location -1 stands for the others.
SeriesKey = tuple[str, int | None]
OTHER_LOCATIONS = -1


@dataclass(frozen=True)
class DailySeries:
    source: str
    location_id: int | None
    lines: tuple[int, ...]
    quantity: tuple[int, ...]

    @property
    def label(self) -> str:
        if self.location_id == OTHER_LOCATIONS:
            where = "other locations"
        elif self.location_id is None:
            where = "no location"
        else:
            where = f"location {self.location_id}"
        return f"{self.source} · {where}"

    @property
    def total_lines(self) -> int:
        return sum(self.lines)


@dataclass(frozen=True)
class ChartData:
    days: tuple[date, ...]
    series: tuple[DailySeries, ...]
    # Days whose facts partition is not complete: no point is drawn for them.
    days_without_facts: tuple[date, ...]
    # The shop the series are of; None when there is no shop to chart.
    shop: str | None = None
    # Days whose facts partition could not be read, and why (they are days without facts too).
    unreadable: tuple[tuple[date, str], ...] = ()


DayTotals = dict[SeriesKey, tuple[int, int]]


def _day_totals(lake: Lake, shop: str, day: date) -> DayTotals | None:
    import pyarrow.parquet as pq

    partition = Partition(lake.root, FACTS_LINES_PATH, shop, day)
    if lake.read_marker(partition) is None:
        return None
    body = lake.read_bytes(partition.data_key)
    if body is None:
        return None
    table = pq.read_table(io.BytesIO(body), columns=COLUMNS)
    grouped = table.group_by(["source", "location_id"]).aggregate(
        [("quantity", "sum"), ([], "count_all")]
    )
    return {
        (row["source"], row["location_id"]): (row["count_all"], row["quantity_sum"] or 0)
        for row in grouped.to_pylist()
    }


def _merge_small(
    totals: dict[SeriesKey, list[list[int]]], keep: int
) -> dict[SeriesKey, list[list[int]]]:
    """The `keep` busiest series, plus per source one series for the rest of its locations
    (a single leftover location keeps its own name: it takes one line either way)."""
    ranked = sorted(totals, key=lambda key: (-sum(totals[key][0]), key[0], key[1] or 0))
    kept = {key: totals[key] for key in ranked[:keep]}
    leftovers: dict[str, list[SeriesKey]] = defaultdict(list)
    for key in ranked[keep:]:
        leftovers[key[0]].append(key)
    for source, keys in leftovers.items():
        if len(keys) == 1:
            kept[keys[0]] = totals[keys[0]]
            continue
        kept[(source, OTHER_LOCATIONS)] = [
            [sum(values) for values in zip(*(totals[key][metric] for key in keys), strict=True)]
            for metric in (0, 1)
        ]
    return kept


def _series_order(item: tuple[SeriesKey, list[list[int]]]) -> tuple[str, bool, int, int]:
    """Per source: named locations, busiest first, then "no location" and "other locations"."""
    (source, location), values = item
    special = location is None or location == OTHER_LOCATIONS
    return source, special, -sum(values[0]), location or 0


def facts_series(
    lake: Lake, shop: str, days: Sequence[date], max_series: int = MAX_SERIES
) -> ChartData:
    """One shop's series over the days (two reads per day: its marker, then its data)."""
    problems: dict[date, str] = {}

    def read(day: date) -> DayTotals | None:
        try:
            return _day_totals(lake, shop, day)
        except Exception as error:  # one partition the chart cannot read leaves a hole, no more
            log.warning(
                "the Inventory lake page could not read the facts of %s", day, exc_info=True
            )
            problems[day] = unreadable_reason(error)
            return None

    per_day = parallel_map(read, days)
    totals: dict[SeriesKey, list[list[int]]] = defaultdict(
        lambda: [[0] * len(days), [0] * len(days)]
    )
    for index, day_totals in enumerate(per_day):
        for key, (lines, quantity) in (day_totals or {}).items():
            totals[key][0][index] = lines
            totals[key][1][index] = quantity
    if len(totals) > max_series:
        totals = _merge_small(dict(totals), max_series - len({key[0] for key in totals}))
    series = tuple(
        DailySeries(source, location, tuple(values[0]), tuple(values[1]))
        for (source, location), values in sorted(totals.items(), key=_series_order)
    )
    missing = tuple(day for day, found in zip(days, per_day, strict=True) if found is None)
    unreadable = tuple((day, problems[day]) for day in days if day in problems)
    return ChartData(tuple(days), series, missing, shop, unreadable)

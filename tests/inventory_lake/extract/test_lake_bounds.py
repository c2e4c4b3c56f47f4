"""The first-id search started from what the lake knows: bounds from committed days' markers,
and the requests a day costs against the emulator (counted in its journal)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from include.inventory_lake.extract.lake_bounds import bounds_for_day, committed_days
from include.inventory_lake.extract.stream import StreamStats
from include.inventory_lake.sources.since_id_search import Bounds
from tests.inventory_lake.sources.emulator_support import (
    clear_journal,
    flatten,
    haravan,
    in_window,
    journal_requests,
    truth,
)
from tests.servers import Emulator

D = date(2026, 1, 10)
PAGE = 50


def marker(min_id: int | None, max_id: int | None, rows: int = 0) -> dict[str, Any]:
    return {"min_id": min_id, "max_id": max_id, "rows": rows}


def test_committed_days_come_from_the_marker_keys_of_one_listing() -> None:
    keys = [
        "raw/x/shop=a/dt=2026-01-08/_SUCCESS",
        "raw/x/shop=a/dt=2026-01-08/part-00000.parquet",
        "raw/x/shop=a/dt=2026-01-09/part-00000.parquet",  # not committed
        "raw/x/shop=a/dt=2026-01-12/_SUCCESS",
        "raw/x/shop=a/dt=2026-13-40/_SUCCESS",
    ]
    assert committed_days(keys) == {date(2026, 1, 8), date(2026, 1, 12)}


def test_the_previous_day_is_an_adjacent_lower_bound_and_a_later_day_an_upper_one() -> None:
    markers = {D - timedelta(days=1): marker(100, 200, 11), D + timedelta(days=2): marker(900, 990)}
    bounds = bounds_for_day(D, set(markers), markers.get)
    assert bounds is not None and bounds.lower is not None and bounds.upper is not None
    assert (bounds.lower.id, bounds.adjacent, bounds.upper.id) == (200, True, 900)
    assert bounds.mean_gap == 10.0 and bounds.ids_per_s is not None


def test_empty_committed_days_are_skipped_and_keep_adjacency_gaps_do_not() -> None:
    empty = marker(None, None)
    markers = {D - timedelta(days=1): empty, D - timedelta(days=2): marker(1, 50, 5)}
    bounds = bounds_for_day(D, set(markers), markers.get)
    assert bounds is not None and bounds.lower is not None
    assert (bounds.lower.id, bounds.adjacent, bounds.upper) == (50, True, None)
    far = {D - timedelta(days=3): marker(1, 50, 5)}
    bounds = bounds_for_day(D, set(far), far.get)
    assert bounds is not None and bounds.lower is not None and not bounds.adjacent
    assert bounds_for_day(D, set(), {}.get) is None


@pytest.fixture()
def busy_history(fresh_emulator: Emulator) -> Iterator[tuple[Emulator, list[dict[str, Any]]]]:
    """30 days of 300 adjustments a day: 7 pages of 50 a day."""
    fresh_emulator.reset(days=30, haravan_per_day=300)
    yield fresh_emulator, truth(fresh_emulator, "haravan/adjustments")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _marker_of(records: list[dict[str, Any]], day: date) -> dict[str, Any]:
    """The marker the extract writes for `day` (ids and their created_at from StreamStats)."""
    stats = StreamStats()
    on_day = in_window(records, "created_at", _midnight(day), _midnight(day + timedelta(days=1)))
    stats.observe_ids(on_day)
    return {"rows": len(on_day), **stats.as_marker()}


def _requests_for_day(
    emulator: Emulator, records: list[dict[str, Any]], day: date, lake: set[date]
) -> tuple[int, int]:
    """(requests to extract `day` with those days in the lake, the day's data pages)."""
    markers = {other: _marker_of(records, other) for other in lake}
    bounds: Bounds | None = bounds_for_day(day, set(markers), markers.get)
    start, end = _midnight(day), _midnight(day + timedelta(days=1))
    clear_journal(emulator)
    with haravan(emulator, page_size=PAGE) as client:
        got = flatten(client.iter_adjustments_created_between(start, end, bounds=bounds))
    expected = in_window(records, "created_at", start, end)
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    return len(journal_requests(emulator)), math.ceil(len(expected) / PAGE) + 1


def test_a_day_after_the_previous_one_costs_only_its_data_pages(
    busy_history: tuple[Emulator, list[dict[str, Any]]],
) -> None:
    emulator, records = busy_history
    requests, data_pages = _requests_for_day(emulator, records, D, {D - timedelta(days=1)})
    assert requests <= data_pages


def test_a_day_before_a_committed_later_day_needs_at_most_two_requests_more(
    busy_history: tuple[Emulator, list[dict[str, Any]]],
) -> None:
    """A backfill's run whose earlier days are not committed yet, but a later day is."""
    emulator, records = busy_history
    costs = []
    for offset in range(6):
        day = D + timedelta(days=offset)
        requests, data_pages = _requests_for_day(emulator, records, day, {day + timedelta(days=1)})
        costs.append(requests - data_pages)
    assert max(costs) <= 2, costs


def test_a_day_between_committed_days_needs_at_most_one_request_more_on_average(
    busy_history: tuple[Emulator, list[dict[str, Any]]],
) -> None:
    """The backfill's usual case: a day a few days back and a later day are committed."""
    emulator, records = busy_history
    costs = []
    for offset in range(8):
        day = D + timedelta(days=offset)
        lake = {day - timedelta(days=3), day + timedelta(days=2)}
        requests, data_pages = _requests_for_day(emulator, records, day, lake)
        costs.append(requests - data_pages)
    assert max(costs) <= 2 and sum(costs) / len(costs) <= 1, costs

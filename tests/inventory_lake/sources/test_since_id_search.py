from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from include.inventory_lake.sources.since_id_search import (
    Bounds,
    HistoryInconsistentError,
    Landmark,
    find_first_since_id,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class History:
    """An id-ordered history answering since_id probes, counting requests."""

    def __init__(self, ids: Sequence[int], times: Sequence[datetime]) -> None:
        self.ids = list(ids)
        self.times = list(times)
        self.requests = 0

    def probe(self, since_id: int, limit: int) -> list[Landmark]:
        self.requests += 1
        first = bisect.bisect_right(self.ids, since_id)
        return [Landmark(self.ids[i], self.times[i]) for i in range(first, first + limit)
                if i < len(self.ids)]  # fmt: skip

    def newest(self) -> Landmark | None:
        self.requests += 1
        return Landmark(self.ids[-1], self.times[-1]) if self.ids else None

    def search(self, start: datetime, hint_id: int | None = None) -> int:
        return find_first_since_id(start, probe=self.probe, newest=self.newest, hint_id=hint_id)

    def assert_correct(self, start: datetime, since_id: int) -> None:
        """Every record created >= start is above since_id, and since_id is the largest such."""
        first = bisect.bisect_left(self.times, start)
        if first == len(self.ids):
            assert since_id >= (self.ids[-1] if self.ids else 0)
        else:
            assert since_id == self.ids[first] - 1


def year_of_history(
    seed: int, per_day: int = 40, max_gap: int = 2000, growth: float = 1.0
) -> History:
    rng = random.Random(seed)
    times: list[datetime] = []
    for day in range(365):
        count = int(per_day * growth ** (day / 365) * rng.uniform(0.5, 1.5))
        times.extend(T0 + timedelta(days=day, seconds=rng.uniform(0, 86400)) for _ in range(count))
    times.sort()
    ids, current = [], 1_200_000_000
    for _ in times:
        current += rng.randint(1, max_gap)
        ids.append(current)
    return History(ids, times)


@pytest.mark.parametrize("seed", range(20))
def test_finds_a_day_in_a_year_with_few_requests(seed: int) -> None:
    history = year_of_history(seed)
    start = T0 + timedelta(days=random.Random(seed).randint(1, 364))
    since_id = history.search(start)
    history.assert_correct(start, since_id)
    assert history.requests <= 12


def test_typical_cost_for_a_year_is_under_ten_requests() -> None:
    costs = []
    for seed in range(20):
        history = year_of_history(seed)
        start = T0 + timedelta(days=random.Random(seed).randint(1, 364), hours=seed % 24)
        history.assert_correct(start, history.search(start))
        costs.append(history.requests)
    assert sum(costs) / len(costs) < 8


@pytest.mark.parametrize("seed", range(10))
def test_converges_on_skewed_histories_within_a_log_bound(seed: int) -> None:
    # Activity grows 100-fold over the year, which defeats plain interpolation.
    history = year_of_history(seed, per_day=4, growth=100.0)
    start = T0 + timedelta(days=30 + 30 * (seed % 10))
    history.assert_correct(start, history.search(start))
    id_range = history.ids[-1] - history.ids[0]
    assert history.requests <= 2 * math.log2(id_range) + 4


def test_a_hint_just_before_start_answers_in_one_request() -> None:
    history = year_of_history(3)
    start = T0 + timedelta(days=200)
    first = bisect.bisect_left(history.times, start)
    since_id = history.search(start, hint_id=history.ids[first - 1])
    history.assert_correct(start, since_id)
    assert history.requests == 1


def test_a_distant_hint_still_finds_the_boundary() -> None:
    history = year_of_history(4)
    start = T0 + timedelta(days=300)
    history.assert_correct(start, history.search(start, hint_id=history.ids[100]))


def test_a_hint_created_after_start_is_refused() -> None:
    history = year_of_history(5)
    start = T0 + timedelta(days=100)
    late = history.ids[bisect.bisect_left(history.times, start) + 5]
    with pytest.raises(HistoryInconsistentError, match=f"hint id {late}"):
        history.search(start, hint_id=late)


def test_edges() -> None:
    empty = History([], [])
    assert empty.search(T0) == 0
    times = [T0 + timedelta(hours=h) for h in range(30)]
    history = History([10 * (i + 1) for i in range(30)], times)
    assert history.search(T0 - timedelta(days=1)) == 9  # everything is after start
    assert history.search(T0 + timedelta(days=5)) == 300  # nothing yet: the newest id
    for hour in range(30):
        start = T0 + timedelta(hours=hour, minutes=30)
        history.assert_correct(start, history.search(start))


def test_equal_timestamps_at_the_boundary() -> None:
    times = [T0] * 20 + [T0 + timedelta(seconds=1)] * 20 + [T0 + timedelta(seconds=2)] * 20
    history = History(list(range(1, 61)), times)
    start = T0 + timedelta(seconds=1)
    assert history.search(start) == 20


def search_with(history: History, start: datetime, bounds: Bounds, limit: int = 50) -> int:
    return find_first_since_id(
        start, probe=history.probe, newest=history.newest, bounds=bounds, limit=limit
    )


def test_bounds_from_both_sides_end_the_search_on_the_page_holding_the_boundary() -> None:
    history = year_of_history(6, per_day=400)
    start = T0 + timedelta(days=120)
    first = bisect.bisect_left(history.times, start)
    lower = Landmark(history.ids[first - 1200], history.times[first - 1200])
    upper = Landmark(history.ids[first + 800], history.times[first + 800])
    since_id = search_with(history, start, Bounds(lower=lower, upper=upper, mean_gap=1000.0))
    history.assert_correct(start, since_id)
    assert history.requests <= 2


def test_a_density_far_too_low_falls_back_to_the_newest_record() -> None:
    history = year_of_history(7, per_day=400)
    start = T0 + timedelta(days=200)
    first = bisect.bisect_left(history.times, start)
    lower = Landmark(history.ids[first - 5000], history.times[first - 5000])
    bounds = Bounds(lower=lower, mean_gap=1000.0, ids_per_s=0.001)
    history.assert_correct(start, search_with(history, start, bounds))
    assert history.requests <= 12


def test_an_adjacent_lower_bound_is_checked_on_the_first_page() -> None:
    history = year_of_history(8)
    start = T0 + timedelta(days=50)
    late = history.ids[bisect.bisect_left(history.times, start) + 3]
    bounds = Bounds(lower=Landmark(late, start - timedelta(seconds=1)), adjacent=True)
    with pytest.raises(HistoryInconsistentError, match=f"hint id {late}"):
        search_with(history, start, bounds)

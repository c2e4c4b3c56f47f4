from __future__ import annotations

import threading
import time

import pytest

from include.inventory_lake.http.pacer import BucketSettings, LeakyBucketPacer, parse_call_limit
from tests.inventory_lake.http.fakes import FakeBucket, FakeClock


def make_pacer(
    clock: FakeClock, size: int = 80, leak_rate_per_s: float = 4.0, reserve: int = 2
) -> LeakyBucketPacer:
    settings = BucketSettings(size=size, leak_rate_per_s=leak_rate_per_s, reserve=reserve)
    return LeakyBucketPacer(settings, clock=clock, sleep=clock.sleep)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("32/80", (32, 80)),
        (" 0 / 40 ", (0, 40)),
        (None, None),
        ("", None),
        ("x/80", None),
        ("5", None),
    ],
)
def test_parse_call_limit(value: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_call_limit(value) == expected


def test_stays_passive_until_the_api_reports_its_bucket() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock, size=5, leak_rate_per_s=1.0)
    for _ in range(50):
        assert pacer.before_call() == 0.0
        pacer.after_call(None)
    assert clock.sleeps == []


def test_waits_just_long_enough_to_stay_under_the_reserve() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock, size=80, leak_rate_per_s=4.0, reserve=2)
    pacer.before_call()
    pacer.after_call("78/80")
    # 78 + 1 exceeds the ceiling of 78 by one call, which leaks in 1 / 4 s.
    assert pacer.before_call() == pytest.approx(0.25)
    assert clock.sleeps == [pytest.approx(0.25)]


def test_level_leaks_between_calls() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock, size=80, leak_rate_per_s=4.0)
    pacer.before_call()
    pacer.after_call("78/80")
    clock.now += 10.0
    assert pacer.level() == pytest.approx(38.0)
    assert pacer.before_call() == 0.0


def test_observed_size_wins_over_configured_size() -> None:
    clock = FakeClock()
    pacer = make_pacer(clock, size=80, leak_rate_per_s=2.0, reserve=2)
    pacer.before_call()
    pacer.after_call("38/40")
    assert pacer.size == 40
    assert pacer.before_call() == pytest.approx(0.5)


def test_long_run_sustains_the_leak_rate_without_overflowing() -> None:
    clock = FakeClock()
    bucket = FakeBucket(clock, size=80, leak_rate_per_s=4.0)
    pacer = make_pacer(clock, size=80, leak_rate_per_s=4.0, reserve=2)
    started = clock()
    calls = 1000
    for _ in range(calls):
        pacer.before_call()
        header = bucket.call()
        clock.now += 0.02  # response latency
        pacer.after_call(header)
    elapsed = clock() - started
    ideal = (calls - 80) / 4.0
    assert bucket.overflows == 0
    assert elapsed >= ideal
    assert ideal / elapsed > 0.98


def test_a_bucket_already_full_from_another_client_is_respected() -> None:
    clock = FakeClock()
    bucket = FakeBucket(clock, size=80, leak_rate_per_s=4.0)
    bucket.level = 79.0
    pacer = make_pacer(clock, size=80, leak_rate_per_s=4.0, reserve=2)
    for _ in range(40):
        pacer.before_call()
        pacer.after_call(bucket.call())
    assert bucket.overflows == 0


def test_concurrent_callers_share_the_bucket_without_overflowing() -> None:
    lock = threading.Lock()
    size, leak = 20, 400.0
    level, level_at, overflows = 0.0, time.monotonic(), 0
    pacer = LeakyBucketPacer(BucketSettings(size=size, leak_rate_per_s=leak, reserve=2))

    def server_call() -> str:
        nonlocal level, level_at, overflows
        with lock:
            now = time.monotonic()
            level = max(0.0, level - (now - level_at) * leak) + 1
            level_at = now
            if level > size:
                overflows += 1
                level -= 1
            return f"{int(level)}/{size}"

    def worker() -> None:
        for _ in range(100):
            pacer.before_call()
            pacer.after_call(server_call())

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert overflows == 0
    assert elapsed >= (400 - size) / leak * 0.95


def simulate_tasks_of_one_shop(
    reserve: int, slots: int = 4, calls: int = 2000
) -> tuple[int, float]:
    """A backfill's extract tasks of one shop, `slots` at a time, each a new process (a new,
    passive pacer: its first call is sent before it knows the bucket) making 9 calls, then
    the slot's next task 0.7 s later; 50 ms per response. Event by event on one clock, the
    server's bucket Haravan's (80, 4/s). Returns the calls refused and the seconds taken."""
    import heapq
    import itertools

    clock = FakeClock(0.0)
    bucket = FakeBucket(clock, size=80, leak_rate_per_s=4.0)
    order = itertools.count()
    events: list[tuple[float, int, int, str, str]] = []
    pacers: dict[int, LeakyBucketPacer] = {}
    left: dict[int, int] = {}

    def new_task(slot: int, at: float) -> None:
        settings = BucketSettings(size=80, leak_rate_per_s=4.0, reserve=reserve)
        pacers[slot] = LeakyBucketPacer(settings, clock=clock, sleep=lambda _: None)
        left[slot] = 9
        heapq.heappush(events, (at, next(order), slot, "decide", ""))

    for slot in range(slots):
        new_task(slot, slot * 0.13)
    sent = 0
    while sent < calls:
        at, _, slot, kind, header = heapq.heappop(events)
        clock.now = at
        if kind == "decide":  # the wait the pacer asks for, then the call goes out
            heapq.heappush(events, (at + pacers[slot].before_call(), next(order), slot, "send", ""))
        elif kind == "send":
            sent += 1
            heapq.heappush(events, (at + 0.05, next(order), slot, "respond", bucket.call()))
        else:
            pacers[slot].after_call(header)
            left[slot] -= 1
            if left[slot]:
                heapq.heappush(events, (at, next(order), slot, "decide", ""))
            else:
                new_task(slot, at + 0.7)
    return bucket.overflows, clock.now


def test_four_tasks_of_a_shop_starting_and_ending_stay_within_its_bucket() -> None:
    """The reserve each Haravan client leaves (BUCKET_RESERVE) covers the calls the shop's
    other 3 tasks sent since its last response and a new task's first, blind call: no call is
    refused, and the bucket is still used at its leak rate (the reserve costs its calls once,
    at the start)."""
    from include.inventory_lake.sources.haravan import BUCKET_RESERVE

    refused, seconds = simulate_tasks_of_one_shop(BUCKET_RESERVE)
    assert refused == 0
    floor = (2000 - 80) / 4.0
    assert floor <= seconds < floor * 1.03

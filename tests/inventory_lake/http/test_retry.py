from __future__ import annotations

import random
from collections.abc import Callable, Iterable

import pytest

from include.inventory_lake.http.errors import (
    ApiAuthError,
    ApiUnavailableError,
    MalformedPageError,
)
from include.inventory_lake.http.retry import (
    FailureKind,
    RetryPolicy,
    TransientFailure,
    call_with_retries,
)
from include.inventory_lake.http.stats import ClientStats
from tests.inventory_lake.http.fakes import FakeClock


def scripted(outcomes: Iterable[BaseException | str]) -> tuple[Callable[[], str], list[int]]:
    """An attempt function that raises or returns the scripted outcomes in turn."""
    remaining = list(outcomes)
    calls = [0]

    def attempt() -> str:
        calls[0] += 1
        outcome = remaining.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return attempt, calls


def run(
    outcomes: Iterable[BaseException | str], policy: RetryPolicy | None = None
) -> tuple[str, list[int], FakeClock, ClientStats]:
    attempt, calls = scripted(outcomes)
    clock = FakeClock()
    stats = ClientStats()
    result = call_with_retries(
        attempt,
        method="GET",
        path="/com/inventories/adjustments.json",
        policy=policy or RetryPolicy(),
        stats=stats,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(1),
    )
    return result, calls, clock, stats


def server_error() -> TransientFailure:
    return TransientFailure(FailureKind.SERVER_ERROR, "HTTP 503")


def throttled(retry_after_s: float | None) -> TransientFailure:
    return TransientFailure(FailureKind.THROTTLED, "HTTP 429", retry_after_s=retry_after_s)


def test_waits_exactly_retry_after_plus_small_jitter() -> None:
    result, calls, clock, stats = run([throttled(2.0), throttled(0.25), "ok"])
    assert result == "ok"
    assert calls == [3]
    assert 2.0 <= clock.sleeps[0] <= 2.1
    assert 0.25 <= clock.sleeps[1] <= 0.35
    assert stats.retries_by_reason == {"throttled": 2}
    assert stats.retry_after_wait_s == pytest.approx(sum(clock.sleeps))


def test_backoff_is_exponential_jittered_and_capped() -> None:
    policy = RetryPolicy(max_attempts=8, backoff_base_s=1.0, backoff_cap_s=10.0)
    _, _, clock, stats = run([server_error()] * 7 + ["ok"], policy)
    ceilings = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert len(clock.sleeps) == 7
    for wait, ceiling in zip(clock.sleeps, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert stats.backoff_wait_s == pytest.approx(sum(clock.sleeps))


def test_gives_up_after_bounded_attempts_with_a_message_that_says_what_failed() -> None:
    policy = RetryPolicy(max_attempts=4, backoff_base_s=1.0, backoff_cap_s=2.0)
    with pytest.raises(ApiUnavailableError) as raised:
        run([server_error()] * 10, policy)
    message = str(raised.value)
    assert raised.value.attempts == 4
    assert "GET /com/inventories/adjustments.json" in message
    assert "after 4 attempts" in message
    assert "HTTP 503" in message
    assert raised.value.elapsed_s > 0


def test_throttling_has_its_own_budget() -> None:
    policy = RetryPolicy(max_attempts=2, max_throttled_attempts=20)
    result, calls, _, stats = run([throttled(0.1)] * 10 + [server_error(), "ok"], policy)
    assert result == "ok"
    assert calls == [12]
    assert stats.retries_by_reason == {"throttled": 10, "server_error": 1}


def test_throttling_without_retry_after_backs_off() -> None:
    policy = RetryPolicy(backoff_base_s=1.0, backoff_cap_s=1.0)
    _, _, clock, _ = run([throttled(None), "ok"], policy)
    assert 0.5 <= clock.sleeps[0] <= 1.0


def test_persistent_throttling_gives_up() -> None:
    policy = RetryPolicy(max_throttled_attempts=3)
    with pytest.raises(ApiUnavailableError, match=r"after 3 attempts.*HTTP 429"):
        run([throttled(0.5)] * 5, policy)


def test_malformed_pages_are_retried_a_few_times_then_reported_as_such() -> None:
    problem = MalformedPageError(
        endpoint="/com/inventories/adjustments.json", since_id=41, problem="no 'adjustments' key"
    )
    failure = TransientFailure(FailureKind.MALFORMED, str(problem), malformed=problem)
    assert run([failure, failure, "ok"])[0] == "ok"
    with pytest.raises(MalformedPageError, match=r"since_id=41.*no 'adjustments' key"):
        run([failure] * 3, RetryPolicy(max_malformed_attempts=3))


def test_non_transient_errors_are_not_retried() -> None:
    refused = ApiAuthError(
        api="Haravan", connection_id="haravan_default", method="GET", path="/x", status=401
    )
    attempt, calls = scripted([refused, "ok"])
    with pytest.raises(ApiAuthError, match="haravan_default"):
        call_with_retries(
            attempt, method="GET", path="/x", policy=RetryPolicy(), stats=ClientStats()
        )
    assert calls == [1]


def test_summary_reports_the_counters() -> None:
    _, _, _, stats = run([throttled(1.0), server_error(), "ok"], RetryPolicy(backoff_base_s=0.5))
    summary = stats.summary()
    assert summary["retries_by_reason"] == {"server_error": 1, "throttled": 1}
    assert summary["retry_after_wait_s"] >= 1.0  # type: ignore[operator]

"""Which failures are retried, how long to wait between attempts, and when to give up.

An attempt reports a retryable outcome by raising `TransientFailure`; anything else it raises
ends the call at once. Each kind of failure draws on its own budget of attempts: 429s get a
larger one (the API asked us to come back later), malformed pages a small one.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from include.inventory_lake.http.errors import ApiUnavailableError, MalformedResponseError
from include.inventory_lake.http.stats import ClientStats

log = logging.getLogger(__name__)

T = TypeVar("T")


class FailureKind(StrEnum):
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    INVALID_BODY = "invalid_body"
    MALFORMED = "malformed"


class TransientFailure(Exception):
    """One failed attempt that may succeed if repeated."""

    def __init__(
        self,
        kind: FailureKind,
        detail: str,
        *,
        retry_after_s: float | None = None,
        malformed: MalformedResponseError | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.retry_after_s = retry_after_s
        self.malformed = malformed


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    max_throttled_attempts: int = 30
    max_malformed_attempts: int = 3
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    retry_after_jitter_s: float = 0.1
    # The longest Retry-After honoured; a longer one fails the call (RetryAfterTooLongError).
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        budgets = (self.max_attempts, self.max_throttled_attempts, self.max_malformed_attempts)
        if min(budgets) < 1 or self.backoff_base_s < 0 or self.backoff_cap_s < 0:
            raise ValueError(f"invalid retry policy: {self}")
        if not math.isfinite(self.max_retry_after_s) or self.max_retry_after_s < 0:
            raise ValueError(f"max_retry_after_s must be a finite number >= 0: {self}")

    def budget(self, kind: FailureKind) -> int:
        if kind is FailureKind.THROTTLED:
            return self.max_throttled_attempts
        if kind is FailureKind.MALFORMED:
            return self.max_malformed_attempts
        return self.max_attempts

    def backoff_s(self, failures: int, rng: random.Random) -> float:
        """Exponential backoff with jitter over its upper half: base, 2*base, 4*base, ... cap."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** (failures - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def wait_s(self, failure: TransientFailure, failures: int, rng: random.Random) -> float:
        if failure.retry_after_s is not None:
            return failure.retry_after_s + rng.uniform(0, self.retry_after_jitter_s)
        return self.backoff_s(failures, rng)


def _budget_group(kind: FailureKind) -> str:
    if kind in (FailureKind.THROTTLED, FailureKind.MALFORMED):
        return kind.value
    return "transient"


class _CallRetries:
    """The retry state of one logical call: failures per budget group, waits, give-up."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        policy: RetryPolicy,
        stats: ClientStats,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self.method = method
        self.path = path
        self.policy = policy
        self.stats = stats
        self.clock = clock
        self.rng = rng
        self.started_at = clock()
        self.failures: Counter[str] = Counter()

    @staticmethod
    def last_failure(state: RetryCallState) -> TransientFailure:
        assert state.outcome is not None
        failure = state.outcome.exception()
        assert isinstance(failure, TransientFailure)
        return failure

    def count_failure(self, state: RetryCallState) -> None:
        self.failures[_budget_group(self.last_failure(state).kind)] += 1

    def wait(self, state: RetryCallState) -> float:
        failure = self.last_failure(state)
        return self.policy.wait_s(failure, self.failures[_budget_group(failure.kind)], self.rng)

    def should_stop(self, state: RetryCallState) -> bool:
        failure = self.last_failure(state)
        return self.failures[_budget_group(failure.kind)] >= self.policy.budget(failure.kind)

    def before_sleep(self, state: RetryCallState) -> None:
        failure = self.last_failure(state)
        wait_s = state.upcoming_sleep
        self.stats.retry_scheduled(
            failure.kind.value, wait_s, honours_retry_after=failure.retry_after_s is not None
        )
        log.info(
            "%s %s: %s; retry %d in %.2f s",
            self.method,
            self.path,
            failure.detail,
            state.attempt_number,
            wait_s,
        )

    def give_up(self, state: RetryCallState) -> None:
        failure = self.last_failure(state)
        if failure.malformed is not None:
            raise failure.malformed
        raise ApiUnavailableError(
            method=self.method,
            path=self.path,
            last_failure=failure.detail,
            attempts=state.attempt_number,
            elapsed_s=self.clock() - self.started_at,
        )


def call_with_retries(
    attempt: Callable[[], T],
    *,
    method: str,
    path: str,
    policy: RetryPolicy,
    stats: ClientStats,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run `attempt` until it succeeds, raises a non-transient error, or a budget runs out."""
    retries = _CallRetries(
        method=method,
        path=path,
        policy=policy,
        stats=stats,
        clock=clock,
        rng=rng or random.Random(),
    )

    def is_transient(state: RetryCallState) -> bool:
        transient = retry_if_exception_type(TransientFailure)(state)
        if transient:
            retries.count_failure(state)
        return transient

    retrying = Retrying(
        retry=is_transient,
        wait=retries.wait,
        stop=retries.should_stop,
        before_sleep=retries.before_sleep,
        retry_error_callback=retries.give_up,
        sleep=sleep,
    )
    return retrying(attempt)

"""Request counters for one client, summarised in the task's final log line."""

from __future__ import annotations

import threading
from collections import Counter


class ClientStats:
    """Thread-safe counters: requests, retries by reason, 429s and seconds spent waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests_sent = 0
        self.throttled_responses = 0
        self.retries_by_reason: Counter[str] = Counter()
        self.pacing_wait_s = 0.0
        self.retry_after_wait_s = 0.0
        self.backoff_wait_s = 0.0

    def request_sent(self) -> None:
        with self._lock:
            self.requests_sent += 1

    def throttled(self) -> None:
        with self._lock:
            self.throttled_responses += 1

    def paced(self, seconds: float) -> None:
        with self._lock:
            self.pacing_wait_s += seconds

    def retry_scheduled(self, reason: str, wait_s: float, *, honours_retry_after: bool) -> None:
        with self._lock:
            self.retries_by_reason[reason] += 1
            if honours_retry_after:
                self.retry_after_wait_s += wait_s
            else:
                self.backoff_wait_s += wait_s

    def summary(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests_sent": self.requests_sent,
                "throttled_responses": self.throttled_responses,
                "retries_by_reason": dict(sorted(self.retries_by_reason.items())),
                "pacing_wait_s": round(self.pacing_wait_s, 3),
                "retry_after_wait_s": round(self.retry_after_wait_s, 3),
                "backoff_wait_s": round(self.backoff_wait_s, 3),
            }

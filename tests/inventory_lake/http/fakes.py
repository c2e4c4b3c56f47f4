"""A fake clock whose sleep advances time, for deterministic pacing and retry tests."""

from __future__ import annotations


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeBucket:
    """The server side of a leaky bucket, as the API keeps it."""

    def __init__(self, clock: FakeClock, size: int, leak_rate_per_s: float) -> None:
        self.clock = clock
        self.size = size
        self.leak_rate_per_s = leak_rate_per_s
        self.level = 0.0
        self.level_at = clock()
        self.overflows = 0

    def call(self) -> str:
        """Count one call; returns the X-Haravan-Api-Call-Limit header value."""
        now = self.clock()
        self.level = max(0.0, self.level - (now - self.level_at) * self.leak_rate_per_s)
        self.level_at = now
        if self.level + 1 > self.size:
            self.overflows += 1
        else:
            self.level += 1
        return f"{round(self.level)}/{self.size}"

"""Leaky-bucket call limiting, one bucket per key (an access token or a Stocky store)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    used: int  # calls in the bucket after this one, rounded up, as the header shows them
    retry_after: float  # seconds until one slot frees; 0 when allowed


class BucketRegistry:
    """Each call adds one unit; units leak at ``rate`` per second. A call that would overflow
    the bucket is refused and adds nothing."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, size: int, rate: float) -> Decision:
        with self._lock:
            now = self._clock()
            level, last = self._buckets.get(key, (0.0, now))
            level = max(0.0, level - (now - last) * rate)
            if level + 1.0 > size + 1e-9:
                self._buckets[key] = (level, now)
                return Decision(False, size, (level + 1.0 - size) / rate)
            level += 1.0
            self._buckets[key] = (level, now)
            return Decision(True, min(size, math.ceil(level - 1e-9)), 0.0)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


def format_retry_after(seconds: float) -> str:
    """Seconds as a short float, e.g. ``0.25`` or ``2.0``."""
    return repr(round(max(seconds, 0.001), 3))

"""Pace calls so that they never overflow the API's leaky bucket.

The API reports its bucket after every call (``X-Haravan-Api-Call-Limit: 32/80``). The pacer
keeps a local model of that bucket: the level leaks at ``leak_rate_per_s`` since the last
observation and rises by one for each call sent. Before a call it sleeps just long enough for
the call to fit under ``size - reserve``; the reserve leaves room for other clients that share
the shop's bucket. Until the API has sent the header once, the pacer stays passive, so an API
without one (Stocky) is driven by 429 and ``Retry-After`` alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

CALL_LIMIT_HEADER = "X-Haravan-Api-Call-Limit"


@dataclass(frozen=True)
class BucketSettings:
    size: int = 80
    leak_rate_per_s: float = 4.0
    reserve: int = 2

    def __post_init__(self) -> None:
        if self.size < 1 or self.leak_rate_per_s <= 0 or self.reserve < 0:
            raise ValueError(f"invalid bucket settings: {self}")


def parse_call_limit(value: str | None) -> tuple[int, int] | None:
    """``"32/80"`` -> ``(32, 80)``; None when absent or unreadable."""
    if not value:
        return None
    used_text, _, size_text = value.partition("/")
    try:
        used, size = int(used_text.strip()), int(size_text.strip())
    except ValueError:
        return None
    if used < 0 or size < 1:
        return None
    return used, size


class LeakyBucketPacer:
    """Thread-safe local model of the API's leaky bucket, corrected by each response."""

    def __init__(
        self,
        settings: BucketSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings or BucketSettings()
        self._size = self._settings.size
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._active = False
        self._level = 0.0
        self._level_at = clock()
        self._in_flight = 0

    @property
    def size(self) -> int:
        return self._size

    def level(self) -> float:
        """The modelled number of calls in the bucket now (reserved calls included)."""
        with self._lock:
            return self._decayed_level(self._clock())

    def before_call(self) -> float:
        """Wait until one more call fits under the bucket's limit; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._in_flight += 1
            if not self._active:
                return 0.0
            level = self._decayed_level(now) + 1
            # The call is counted now and sent after the wait, by when the level has leaked
            # back to the limit; the next caller sees the reservation and waits longer.
            self._level, self._level_at = level, now
            ceiling = max(1, self._size - self._settings.reserve)
            wait_s = max(0.0, (level - ceiling) / self._settings.leak_rate_per_s)
        if wait_s > 0:
            log.info("pacing: waiting %.2f s for room in the API call bucket", wait_s)
            self._sleep(wait_s)
        return wait_s

    def after_call(self, call_limit_header: str | None) -> None:
        """Record the end of a call and the bucket usage its response reported, if any."""
        observed = parse_call_limit(call_limit_header)
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if observed is None:
                return
            used, size = observed
            now = self._clock()
            if size != self._size:
                log.info(
                    "pacing: the API reports a bucket of %d calls (configured %d)", size, self._size
                )
                self._size = size
            if not self._active or self._in_flight == 0:
                level = float(used)
            else:
                # Calls still in flight may not be counted in `used` yet: keep the higher figure.
                level = max(self._decayed_level(now), float(used))
            self._active = True
            self._level, self._level_at = level, now

    def _decayed_level(self, now: float) -> float:
        elapsed = max(0.0, now - self._level_at)
        return max(0.0, self._level - elapsed * self._settings.leak_rate_per_s)

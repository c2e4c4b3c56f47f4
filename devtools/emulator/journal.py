"""A record of the API requests served, for tests to assert on. Never holds credentials:
only method, path, query, status and fault are kept (and POST bodies, which carry none)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

from devtools.emulator.timefmt import now_ticks, render_millis

MAX_REQUESTS = 100_000
MAX_POSTS = 10_000


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: deque[dict[str, Any]] = deque(maxlen=MAX_REQUESTS)
        self._posts: deque[dict[str, Any]] = deque(maxlen=MAX_POSTS)
        self._total = 0
        self._by_status: Counter[str] = Counter()
        self._throttled = 0

    def record(
        self,
        *,
        api: str | None,
        method: str,
        path: str,
        query: dict[str, str],
        status: int | None,
        fault: str | None,
        throttled: bool,
    ) -> None:
        entry = {
            "api": api,
            "method": method,
            "path": path,
            "query": dict(query),
            "status": status,
            "fault": fault,
            "ts": render_millis(now_ticks()),
        }
        with self._lock:
            self._requests.append(entry)
            self._total += 1
            self._by_status["dropped" if status is None else str(status)] += 1
            self._throttled += int(throttled)

    def record_post(self, *, path: str, body: Any, status: int | None, applied: bool) -> None:
        with self._lock:
            self._posts.append({"path": path, "body": body, "status": status, "applied": applied})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": list(self._requests),
                "counts": {
                    "total": self._total,
                    "by_status": dict(self._by_status),
                    "throttled": self._throttled,
                },
                "posts": list(self._posts),
            }

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._posts.clear()
            self._total = 0
            self._by_status.clear()
            self._throttled = 0

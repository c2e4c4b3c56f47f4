"""Timestamps as integer 100 ns ticks since the Unix epoch, and their wire renderings.

Haravan is a .NET service: its timestamps carry up to 7 fractional digits with trailing zeros
trimmed (``20.1Z``, ``20.808Z``, ``20.0791234Z``, or none at all). Ticks keep that precision,
which Python's datetime (microseconds) cannot.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

TICKS_PER_SECOND = 10_000_000
TICKS_PER_MS = 10_000
TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An unencoded '+' in a query string arrives as a space: "...T00:00:00 07:00".
_SPACE_OFFSET = re.compile(r"(T[0-9:.]+) (\d{2}:?\d{2})$")


def now_ticks() -> int:
    return time.time_ns() // 100


def ticks_from_datetime(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return ((value - _EPOCH) // timedelta(microseconds=1)) * 10


def parse_iso_ticks(text: str) -> int:
    """Parse an ISO 8601 date or datetime (naive means UTC); raises ValueError."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("empty timestamp")
    if cleaned[-1] in "zZ":
        cleaned = cleaned[:-1] + "+00:00"
    cleaned = _SPACE_OFFSET.sub(r"\1+\2", cleaned)
    return ticks_from_datetime(datetime.fromisoformat(cleaned))


def _seconds_text(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def render_dotnet(ticks: int) -> str:
    """``2021-05-13T07:29:20.1Z`` style: 0-7 fractional digits, trailing zeros trimmed."""
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    if fraction == 0:
        return _seconds_text(seconds) + "Z"
    return f"{_seconds_text(seconds)}.{fraction:07d}".rstrip("0") + "Z"


def render_millis(ticks: int) -> str:
    """``2021-02-09T19:12:01.000Z`` style, as Stocky (Rails) renders times."""
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    return f"{_seconds_text(seconds)}.{fraction // TICKS_PER_MS:03d}Z"


def truncate(ticks: int, unit: int) -> int:
    return ticks - ticks % unit

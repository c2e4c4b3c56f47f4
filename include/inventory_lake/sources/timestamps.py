"""Parse the APIs' ISO 8601 timestamps and check the window bounds callers pass in."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_api_timestamp(value: object) -> datetime:
    """``2021-05-13T07:29:20.1Z`` (0-7 fractional digits) -> an aware datetime.

    Seven-digit fractions are truncated to microseconds, which keeps comparisons with
    microsecond-precise window bounds exact. A timestamp without an offset is refused: guessing
    its zone could move a record into the wrong day.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 string, got {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return parsed


def require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
    return value


def to_query_timestamp(value: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, e.g. ``2026-01-14T00:00:00Z``, for query parameters."""
    text = require_aware(value, "timestamp").astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"

"""Header values the client can send, and the ``Retry-After`` header it receives.

A credential pasted with a line break makes requests raise ``InvalidHeader`` whose message
quotes the whole header (``Bearer <token>\\n``), a form Airflow's secret masking misses. So the
values are checked before any request, and a problem is described without quoting the value.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)

MAX_LOGGED_HEADER_CHARS = 60
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on
CONTROL_NAMES = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x00": "NUL", "\x7f": "DELETE"}


def header_value_problem(value: str) -> str | None:
    """Why `value` cannot be sent as an HTTP header value, or None when it can.

    Accepted: printable ASCII, with inner spaces and tabs (RFC 9110 field-value, without the
    obsolete non-ASCII bytes, which requests would send as Latin-1). The answer names the
    offending character by its Unicode name, never the value.
    """
    if not value:
        return "is empty"
    if value != value.strip(" \t"):
        return "starts or ends with whitespace"
    for char in value:
        if char == "\t" or " " <= char <= "~":
            continue
        if char in LINE_BREAKS:
            what = "a line break"
        elif unicodedata.category(char).startswith("C"):
            what = "a control character"
        else:
            what = "a non-ASCII character"
        name = CONTROL_NAMES.get(char) or unicodedata.name(char, "")
        code = f"U+{ord(char):04X} {name}".strip()
        return f"contains {what} ({code}), not allowed in an HTTP header"
    return None


def parse_retry_after(
    value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds (``2``, or ``2.0`` as
    Haravan sends it) or an HTTP date (RFC 9110 section 10.2.3), a past date meaning 0.

    None when absent, or when the value is not a finite, non-negative number nor a date
    (``inf``, ``nan``, ``-1``, garbage): the caller then falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_date(text, now)
    if not math.isfinite(seconds) or seconds < 0:
        _refuse(text, "not a finite, non-negative number of seconds")
        return None
    return seconds


def _seconds_until_date(text: str, now: Callable[[], datetime]) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        _refuse(text, "neither a number of seconds nor an HTTP date")
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def _refuse(text: str, why: str) -> None:
    shown = text[:MAX_LOGGED_HEADER_CHARS] + ("..." if len(text) > MAX_LOGGED_HEADER_CHARS else "")
    log.warning("ignoring Retry-After %r (%s): using the normal backoff", shown, why)

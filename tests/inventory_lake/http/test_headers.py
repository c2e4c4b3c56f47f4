from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.inventory_lake.http.headers import header_value_problem, parse_retry_after

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        ("2.0", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("86400", 86400.0),
        ("Thu, 15 Jan 2026 12:00:02 GMT", 2.0),
        ("Thu, 15 Jan 2026 12:00:02 -0000", 2.0),
        ("Thu, 15 Jan 2026 13:00:02 +0100", 2.0),
        ("Thu, 15 Jan 2026 11:00:00 GMT", 0.0),  # past: retry now
    ],
)
def test_retry_after_as_seconds_or_an_http_date(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=lambda: NOW) == seconds


@pytest.mark.parametrize(
    "value", [None, "", "inf", "Infinity", "nan", "-1", "1e400", "soon", "Thu, 99 Foo 2026"]
)
def test_unusable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=lambda: NOW) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Bearer abc-123_~.+/=", None),
        ("API KEY=abc def", None),
        ("", "is empty"),
        (" abc", "starts or ends with whitespace"),
        ("ab\ncd", "contains a line break (U+000A LINE FEED), not allowed in an HTTP header"),
        ("ab\x1bcd", "contains a control character (U+001B)"),
        ("abçd", "contains a non-ASCII character (U+00E7 LATIN SMALL LETTER C WITH CEDILLA)"),
    ],
)
def test_header_value_problem_names_the_character_not_the_value(
    value: str, problem: str | None
) -> None:
    found = header_value_problem(value)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)
        if len(value) > 2:
            assert value not in found

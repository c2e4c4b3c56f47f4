"""The window of days the page shows: `length` UTC days ending at `end`, oldest first; and
the window the page's query asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

DEFAULT_DAYS = 14
MAX_DAYS = 92


@dataclass(frozen=True)
class DayWindow:
    end: date
    length: int = DEFAULT_DAYS

    def __post_init__(self) -> None:
        if not 1 <= self.length <= MAX_DAYS:
            raise ValueError(f"a window is 1 to {MAX_DAYS} days, not {self.length}")

    @property
    def first(self) -> date:
        return self.end - timedelta(days=self.length - 1)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=offset) for offset in range(self.length)]


def default_end(today: date, newest_partition: date | None) -> date:
    """Yesterday (the newest day a daily run can have extracted), or the newest partition when
    the lake holds a later one (demo data, a clock behind the lake's)."""
    yesterday = today - timedelta(days=1)
    if newest_partition is not None and newest_partition > yesterday:
        return newest_partition
    return yesterday


@dataclass(frozen=True)
class WindowQuery:
    """The window the page's form asked for (`end`, `days`), each field that could not be used
    left at its default, and why, by field: a browser shows the page with the error next to
    the field instead of a bare 422."""

    end: date | None = None
    days: int = DEFAULT_DAYS
    errors: dict[str, str] = field(default_factory=dict)


DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_window_query(end: str | None, days: str | None) -> WindowQuery:
    """`end` as YYYY-MM-DD and `days` as 1 to MAX_DAYS; empty means the default (a cleared
    field of the form)."""
    errors: dict[str, str] = {}
    end_day: date | None = None
    if end and end.strip():
        try:
            if not DAY_PATTERN.fullmatch(end.strip()):
                raise ValueError
            end_day = date.fromisoformat(end.strip())
        except ValueError:
            errors["end"] = f"{end!r} is not a day: give it as YYYY-MM-DD, e.g. 2026-01-31"
    length = DEFAULT_DAYS
    if days and days.strip():
        try:
            length = int(days.strip())
        except ValueError:
            errors["days"] = f"{days!r} is not a whole number of days (1 to {MAX_DAYS})"
        else:
            if not 1 <= length <= MAX_DAYS:
                errors["days"] = f"a window is 1 to {MAX_DAYS} days, not {length}"
                length = DEFAULT_DAYS
    return WindowQuery(end_day, length, errors)

"""The window of days the page shows: `length` UTC days ending at `end`, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
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

"""The data interval of a run, checked: the partitions are daily and keyed by UTC date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class DailyInterval:
    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime) -> DailyInterval:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end - start != timedelta(days=1) or start.time() != datetime.min.time():
            raise ValueError(
                f"expected one UTC day as data interval, got {start.isoformat()} → "
                f"{end.isoformat()}; this DAG needs a daily data-interval timetable"
            )
        return cls(start, end)

    @property
    def dt(self) -> date:
        return self.start.date()

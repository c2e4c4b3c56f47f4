"""What every DAG of the project shares: owner, retries, start date, the daily window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable

from include.inventory_lake.settings import OWNER

START_DATE = pendulum.datetime(2025, 1, 1, tz="UTC")


def default_args(**overrides: Any) -> dict[str, Any]:
    return {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        **overrides,
    }


def daily_utc_interval() -> CronDataIntervalTimetable:
    """One run per UTC day, covering that day: [D 00:00, D+1 00:00). Airflow 3's plain cron
    schedule would give zero-length intervals, and an extract of those reads nothing."""
    return CronDataIntervalTimetable("0 0 * * *", timezone="UTC")

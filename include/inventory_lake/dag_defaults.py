"""What every DAG of the project shares: owner, retries, start date, timetables, the day-range
and shops params, the time limit of a task that calls an API and the extracts' freshness deadline.

The DAG policy test (`tests/dags/test_dag_policy.py`) checks every task and DAG against these
values, so a DAG that hard-codes its own fails there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, CronTriggerTimetable, Param

# The type DAG(allowed_run_types=...) takes; the Task SDK exports it from nowhere public.
from airflow.sdk.api.datamodels._generated import DagRunType
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from include.inventory_lake import settings
from include.inventory_lake.alerts import FreshnessNotifier
from include.inventory_lake.settings import OWNER, REPROCESS_PARAM_NAME
from include.inventory_lake.upstream_fixes import dag_test_deadline

START_DATE = pendulum.datetime(2025, 1, 1, tz="UTC")

RETRIES = 3
RETRY_DELAY = timedelta(minutes=1)
# Each retry waits about twice as long as the one before (from RETRY_DELAY): a lake or API
# hiccup gets room to heal without holding a permanent failure for long.
RETRY_EXPONENTIAL_BACKOFF = 2.0

# The execution_timeout of every task that calls an API (both extracts, push's `prepare` and
# `push`): only a hung task should ever reach it, never a slow but healthy one. Budget:
# - pages: a long backfill day (~250,000 records, i.e. ~1,000 pages of 250 plus the id search)
#   at the Haravan bucket's pace (4 calls/s) and ~1 s per response takes under 20 minutes;
#   a push is at most MAX_FILE_BYTES of lines, one request per location and chunk, far fewer;
# - throttling: one call may wait out up to 30 throttled answers (http/retry.py
#   RetryPolicy.max_throttled_attempts) before the client gives up by itself, each wait capped
#   at 120 s (the HTTP client's Retry-After cap, default 120 s), i.e. up to 60 minutes.
# Two hours covers both with margin (and is what push had before it moved here).
API_TASK_TIMEOUT = timedelta(hours=2)


# Tasks of scheduled and manual runs take free pool slots before a backfill's
# (include/inventory_lake/priority.py); by its import path, as Airflow serializes it.
WEIGHT_RULE = "include.inventory_lake.priority.RunsBeforeBackfills"


def default_args(**overrides: Any) -> dict[str, Any]:
    return {
        "owner": OWNER,
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": RETRY_EXPONENTIAL_BACKOFF,
        "weight_rule": WEIGHT_RULE,
        **overrides,
    }


def freshness_deadline() -> DeadlineAlert | None:
    """The extracts' Deadline Alert: a day's partition must land within
    `settings.FRESHNESS_DEADLINE_S` (env INVENTORY_LAKE_FRESHNESS_DEADLINE_S, default 3 hours)
    of its run being queued, else `alerts.FreshnessNotifier` runs in the triggerer.

    Measured from DAGRUN_QUEUED_AT: the scheduler queues a day's run the moment the day (its
    data interval) ends, so for the daily runs this is "N hours after the day ended". A run
    queued later (a backfill, a manual run, a scheduler that was down) gets its N hours from
    when it was queued, instead of an alert at once for an old day. A run that succeeds before
    the deadline drops it; a failed or still running one alerts once the deadline passes.
    """
    if settings.FRESHNESS_DEADLINE_S <= 0:  # turned off
        return None
    # dag.test() / `airflow dags test` of a DAG with a deadline fail on Airflow 3.3.2.
    dag_test_deadline.install()
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=settings.FRESHNESS_DEADLINE_S),
        callback=AsyncCallback(FreshnessNotifier),
        name="partition_freshness",
    )


def daily_utc_interval() -> CronDataIntervalTimetable:
    """One run per UTC day, covering that day: [D 00:00, D+1 00:00). Airflow 3's plain cron
    schedule would give zero-length intervals, and an extract of those reads nothing."""
    return CronDataIntervalTimetable("0 0 * * *", timezone="UTC")


# The runs of a DAG scheduled by its Assets' events: its daily timetable only gives backfills
# and manual runs their day, so time-scheduled runs are not allowed.
ASSET_DRIVEN_RUN_TYPES = (DagRunType.ASSET_TRIGGERED, DagRunType.MANUAL, DagRunType.BACKFILL)


def every_ten_minutes() -> CronTriggerTimetable:
    """A run every 10 minutes on the UTC clock, with no data interval (push picks up files)."""
    return CronTriggerTimetable("*/10 * * * *", timezone="UTC")


# A day given by hand in a trigger form: empty, or YYYY-MM-DD.
DATE_PARAM: dict[str, Any] = {"type": ["null", "string"], "format": "date"}


def day_range_params(verb: str) -> dict[str, Param]:
    """`dt_start` / `dt_end` (inclusive) for a manual run over a range of days; `verb` says
    what the DAG does with each day ("build", "load")."""
    return {
        "dt_start": Param(None, **DATE_PARAM, description=f"First day to {verb} (YYYY-MM-DD)."),
        "dt_end": Param(None, **DATE_PARAM, description=f"Last day to {verb}, inclusive."),
    }


# Which shops a run covers: ids of the `inventory_lake_shops` Variable (shops.select_shops).
SHOPS_PARAM_NAME = "shops"


def shops_param() -> dict[str, Param]:
    """`shops`: which configured shops a run covers (empty: all). In the trigger and backfill
    forms, so a backfill can load one shop's history without touching the others. Nullable:
    the forms mark a param whose type excludes null as required, and empty means all."""
    return {
        SHOPS_PARAM_NAME: Param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            description=(
                "Shop ids to cover (Variable inventory_lake_shops; `default` for a single-shop "
                "deployment). Empty: every configured shop."
            ),
        )
    }


def extract_params() -> dict[str, Param]:
    """The extract DAGs' params: `shops`, and `reprocess` (a backfill skips a shop's day
    whose partitions are committed unless it is true; see extract/backfill_gaps.py)."""
    return {
        **shops_param(),
        REPROCESS_PARAM_NAME: Param(
            False,
            type="boolean",
            description=(
                "Backfills only: also extract again the days whose partitions are already "
                "committed (off: a backfill loads only what the lake lacks). Reaches days that "
                "ran before only with 'Override parameters on existing runs' ticked. "
                "Scheduled and manual runs always extract."
            ),
        ),
    }

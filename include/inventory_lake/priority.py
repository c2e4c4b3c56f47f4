"""Scheduled and manual runs ahead of backfills when a pool's slots are scarce.

Airflow's scheduler hands free pool slots to ready task instances by priority weight first,
then by the run's logical date. A backfill's runs are older than the daily run and, while it
lasts, always have ready tasks: with equal weights one shop's long backfill would hold the
`haravan_api` pool until it ends, and every shop's daily run would wait behind it (and miss its
freshness deadline). Weighing the tasks of every run that is not a backfill higher gives the
daily run the next slot that frees up; the backfill keeps the rest.

Registered by the project's plugin (`plugins/inventory_lake_ui.py`), as Airflow requires for a
custom strategy, and set on every task through `dag_defaults.default_args()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.task.priority_strategy import PriorityWeightStrategy

if TYPE_CHECKING:
    from airflow.models.taskinstance import TaskInstance

# Airflow names every backfill run `backfill__<logical date>` (DagRunType.BACKFILL_JOB); the
# task instance is weighed when it is created, before its run is loaded, so the id decides.
BACKFILL_RUN_ID_PREFIX = "backfill__"
AHEAD_OF_BACKFILLS = 1000


class RunsBeforeBackfills(PriorityWeightStrategy):
    """The task's own `priority_weight`, raised by AHEAD_OF_BACKFILLS outside backfills."""

    def get_weight(self, ti: TaskInstance) -> int:
        base = ti.task.priority_weight if ti.task is not None else 1
        if str(ti.run_id).startswith(BACKFILL_RUN_ID_PREFIX):
            return int(base)
        return int(base) + AHEAD_OF_BACKFILLS

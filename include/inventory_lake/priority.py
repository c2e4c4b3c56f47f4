"""Scheduled and manual runs ahead of backfills when a pool's slots are scarce.

Airflow's scheduler hands free pool slots to ready task instances by priority weight first,
then by the run's logical date. A backfill's runs are older than the daily run and, while it
lasts, always have ready tasks: with equal weights one shop's long backfill would hold the
`haravan_api` pool until it ends, and every shop's daily run would wait behind it (and miss its
freshness deadline). Weighing the tasks of every run that is not a backfill higher gives the
daily run the next slot that frees up; the backfill keeps the rest.

The run's type decides, not its id: a backfill that reprocesses a day which already has a run
(reprocess behaviour *completed* or *failed*) keeps that run's `manual__`/`scheduled__` id and
changes only its type. Airflow 3.3.2 weighs a task instance when it is created (before it is
bound to its run: only the id is known, and a run a backfill creates is `backfill__…`) and when
it is cleared, which for a reprocessed run happens just before its type changes. So the weights
are taken again, by type, when the scheduler starts the run (`RunStartReweigher`).

Registered by the project's plugin (`plugins/inventory_lake_priority.py`), as Airflow requires
for a custom strategy and a listener, and set on every task through `dag_defaults.default_args()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.listeners import hookimpl
from airflow.task.priority_strategy import PriorityWeightStrategy

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy.orm.state import InstanceState

# DagRunType.BACKFILL_JOB, and the prefix of the ids Airflow gives the runs a backfill creates.
BACKFILL_RUN_TYPE = "backfill"
BACKFILL_RUN_ID_PREFIX = "backfill__"
AHEAD_OF_BACKFILLS = 1000


def _run_type(ti: TaskInstance) -> str | None:
    """The type of the instance's run when the instance can tell: the run it is bound to, or
    the run in its session; None for an instance not yet in one (being created)."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import inspect, select
    from sqlalchemy.orm.base import NO_VALUE

    state: InstanceState[TaskInstance] = inspect(ti)
    run = state.attrs.dag_run.loaded_value
    if run is not NO_VALUE and run is not None:
        return str(run.run_type)
    if state.session is None:
        return None
    with state.session.no_autoflush:
        found = state.session.scalar(
            select(DagRun.run_type).where(DagRun.dag_id == ti.dag_id, DagRun.run_id == ti.run_id)
        )
    return None if found is None else str(found)


class RunsBeforeBackfills(PriorityWeightStrategy):
    """The task's own `priority_weight`, raised by AHEAD_OF_BACKFILLS outside backfills."""

    def get_weight(self, ti: TaskInstance) -> int:
        base = ti.task.priority_weight if ti.task is not None else 1
        run_type = _run_type(ti)
        if run_type is None:
            backfill = str(ti.run_id).startswith(BACKFILL_RUN_ID_PREFIX)
        else:
            backfill = run_type == BACKFILL_RUN_TYPE
        return int(base) if backfill else int(base) + AHEAD_OF_BACKFILLS


class RunStartReweigher:
    """A listener: when the scheduler starts a run, its unfinished task instances are weighed
    again with their task's weight rule, now that the run has its final type."""

    @hookimpl
    def on_dag_run_running(self, dag_run: DagRun, msg: str) -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.task.priority_strategy import validate_and_load_priority_weight_strategy
        from airflow.utils.state import State
        from sqlalchemy import or_, select
        from sqlalchemy.orm import object_session

        session, dag = object_session(dag_run), dag_run.dag
        if session is None or dag is None:
            return
        instances = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_run.dag_id,
                TaskInstance.run_id == dag_run.run_id,
                or_(TaskInstance.state.is_(None), TaskInstance.state.in_(State.unfinished)),
            )
        )
        for ti in instances:
            if not dag.has_task(ti.task_id):
                continue
            task = dag.get_task(ti.task_id)
            rule = task.weight_rule
            if not hasattr(rule, "get_weight"):
                rule = validate_and_load_priority_weight_strategy(rule)
            ti.task = task
            ti.priority_weight = rule.get_weight(ti)

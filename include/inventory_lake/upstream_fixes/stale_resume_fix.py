"""A stopgap for an Airflow 3.3.2 scheduler race that fails a task resumed at once, installed
in the scheduler by the plugin `plugins/inventory_lake_stale_resume_fix.py`.

A task that waits (the push's approval, parked in `awaiting_input`; or a deferred one) ends its
worker process, and the executor reports that process's end as `success` for the try. When the
task resumes before the scheduler has processed that report (a person answers within seconds
of the request), the scheduler finds the resumed try `queued` or `running` and takes it for a
task killed externally: it marks it up for retry, and the retry's request (Airflow's HITL
upsert) clears the answer given. Airflow 3.3.2 only excuses the `scheduled` case. Upstream
fixed `queued` after 3.3.2 (apache/airflow#67287, PR #68741); `running` is still open
(apache/airflow#72716, PR #72767).

The fix is upstream's: before the scheduler reads the executor's events, a `success` for the
same try of a task instance that is `queued` or `running` with a `next_method` (so resumed from
a wait) is that stale report, and is dropped. A resumed try reports its own end through the
execution API before its process ends, so its state is then terminal and its own `success`
passes through untouched.

Remove this module and its plugin once the project's Airflow has both fixes; the quick-answer
test (`tests/dags/test_alerts_on_standalone.py`, `make test-approvals`) says whether it does.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)

SCHEDULER_MODULE = "airflow.jobs.scheduler_job_runner"
PATCHED = "_inventory_lake_stale_resume_fix"


@hookimpl
def on_starting(component: Any) -> None:
    """Every Airflow job calls this as it starts; only the scheduler has imported its runner,
    so the other components are left as they are."""
    scheduler = sys.modules.get(SCHEDULER_MODULE)
    if scheduler is not None:
        install(scheduler.SchedulerJobRunner)


def install(runner: Any) -> None:
    """Wrap `runner.process_executor_events` (a classmethod) once."""
    original = runner.process_executor_events.__func__
    if getattr(original, PATCHED, False):
        return

    @functools.wraps(original)
    def process_executor_events(
        cls: Any, executor: Any, job_id: Any, scheduler_dag_bag: Any, session: Any
    ) -> int:
        drop_stale_resume_successes(executor, session)
        result: int = original(
            cls,
            executor=executor,
            job_id=job_id,
            scheduler_dag_bag=scheduler_dag_bag,
            session=session,
        )
        return result

    setattr(process_executor_events, PATCHED, True)
    runner.process_executor_events = classmethod(process_executor_events)
    log.info("installed the stale resume fix (apache/airflow#67287, #72716) in %s", runner)


def drop_stale_resume_successes(executor: Any, session: Any) -> list[Any]:
    """Remove from the executor's event buffer each `success` that reports the end of a wait
    its task instance has already resumed from; returns their keys."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    successes = {
        key.primary: key
        for key, (state, _) in executor.event_buffer.items()
        if isinstance(key, TaskInstanceKey) and state == TaskInstanceState.SUCCESS
    }
    where = TaskInstance.filter_for_tis(successes.values())
    if where is None:  # no success reported
        return []
    resumed = (TaskInstanceState.QUEUED, TaskInstanceState.RUNNING)
    stale = []
    for ti in session.scalars(select(TaskInstance).where(where)):
        key = successes.get(ti.key.primary)
        if (
            key is not None
            and ti.try_number == key.try_number
            and ti.state in resumed
            and ti.next_method is not None
        ):
            executor.event_buffer.pop(key, None)
            stale.append(key)
            log.warning(
                "ignoring the executor's success for %s: it reports the end of the wait the "
                "task instance has since resumed from (it is %s), not the end of the task",
                key,
                ti.state,
            )
    return stale

"""A stopgap for an Airflow 3.3.2 race that strands an approval answered the moment it is
asked, installed in the scheduler by the plugin `plugins/inventory_lake_stale_resume_fix.py`.

The approval task writes its question (the HITL detail), then parks itself in `awaiting_input`
through the execution API. An answer sent between the two (a person or a script answering
within a second of the question) reaches the core API's `update_hitl_detail` while the task is
still `running`. That handler loads the task instance, then takes its row lock with
`session.get(..., with_for_update=...)`: when the park transaction held the lock first, the
lock is granted after the park committed, but SQLAlchemy keeps the attributes it loaded before
(`get` without `populate_existing`), so the handler still sees `running`, stores the answer and
does not resume the task. The park, for its part, had read the question before the answer and
parked. The task then waits in `awaiting_input` with an answer until its response timeout
(a day for the push), and the person who answered sees the request as answered.

The fix is a sweep of what Airflow's own timeout sweep (`check_awaiting_input_timeouts`) would
do at the deadline, done at each of its passes instead (every
`[scheduler] trigger_timeout_check_interval`, 15 s by default): a task instance parked in
`awaiting_input` whose HITL detail has a response is resumed with that response, exactly as the
core API handler would have done, under the same lock order (task instance, then the HITL row;
rows another process holds are left for the next pass).

Remove this module once Airflow's `update_hitl_detail` reads the task instance's state under its
lock (`populate_existing`); the quick-answer test (`tests/dags/test_alerts_on_standalone.py`,
`make test-approvals`) says whether it does.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)

SCHEDULER_MODULE = "airflow.jobs.scheduler_job_runner"
PATCHED = "_inventory_lake_parked_answer_fix"
# At most this many stranded answers resumed per pass (Airflow's own sweep bounds its batch too).
BATCH = 100


@hookimpl
def on_starting(component: Any) -> None:
    """Every Airflow job calls this as it starts; only the scheduler has imported its runner."""
    scheduler = sys.modules.get(SCHEDULER_MODULE)
    if scheduler is not None:
        install(scheduler.SchedulerJobRunner)


def install(runner: Any) -> None:
    """Run `resume_answered_waits` before each of the scheduler's HITL timeout sweeps."""
    original = runner.check_awaiting_input_timeouts
    if getattr(original, PATCHED, False):
        return

    @functools.wraps(original)
    def check_awaiting_input_timeouts(self: Any, *args: Any, **kwargs: Any) -> None:
        from airflow.utils.session import create_session

        with create_session() as session:
            resume_answered_waits(session)
        original(self, *args, **kwargs)

    setattr(check_awaiting_input_timeouts, PATCHED, True)
    runner.check_awaiting_input_timeouts = check_awaiting_input_timeouts
    log.info("installed the parked answer fix in %s", runner)


def resume_answered_waits(session: Any) -> list[str]:
    """Resume each task instance parked in `awaiting_input` although its question has an
    answer; returns their ids. The caller commits."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.sqlalchemy import with_row_locks
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    parked = (
        select(TaskInstance)
        .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
        .where(
            TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
            HITLDetail.responded_at.is_not(None),
        )
        .limit(BATCH)
        .execution_options(populate_existing=True)
    )
    parked = with_row_locks(parked, of=TaskInstance, session=session, skip_locked=True)
    resumed = []
    for ti in session.scalars(parked).all():
        detail = session.scalar(
            select(HITLDetail)
            .where(HITLDetail.ti_id == ti.id)
            .with_for_update(of=HITLDetail)
            .execution_options(populate_existing=True)
        )
        if detail is None or not detail.response_received:
            continue
        handle_event_submit(
            TriggerEvent(detail.as_resume_event_payload()),  # type: ignore[no-untyped-call]
            task_instance=ti,
            session=session,
        )
        resumed.append(str(ti.id))
        log.warning(
            "resumed %s: it was parked awaiting input although %s had answered at %s (an answer "
            "given while the task was parking, which Airflow 3.3.2 leaves unresumed)",
            ti,
            (detail.responded_by or {}).get("id", "someone"),
            detail.responded_at,
        )
    session.flush()
    return resumed

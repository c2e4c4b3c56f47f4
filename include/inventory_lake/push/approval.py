"""The guard's approval step: Airflow's human-in-the-loop `ApprovalOperator`, asked only when
the plan crosses a threshold, showing the plan's summary as the request's subject and body.

Plans within the thresholds, dry runs and resumed batches (approved before) pass through
without asking. A person's answer is written to the ledger; a rejection closes the batch
(audit rows `declined`, file moved to `rejected/` with a report) and the push is skipped.
The push itself checks the ledger again, so marking this task successful by hand cannot send
a plan that needed approval.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator

APPROVAL_TIMEOUT = timedelta(hours=24)


class PlanApprovalOperator(ApprovalOperator):
    def __init__(self, *, prepare_task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Approve a bulk stock overwrite")
        kwargs.setdefault("defaults", ApprovalOperator.REJECT)
        kwargs.setdefault("response_timeout", APPROVAL_TIMEOUT)
        super().__init__(**kwargs)
        self.prepare_task_id = prepare_task_id

    def _prepared(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        prepared: dict[str, Any] = ti.xcom_pull(
            task_ids=self.prepare_task_id, map_indexes=ti.map_index
        )
        return prepared

    def execute(self, context: Any) -> Any:
        from include.inventory_lake.push.tasks import approval_needed, earlier_decision

        prepared = self._prepared(context)
        passed = approval_needed(prepared)
        if passed is not None:
            self.log.info("no approval asked: %s", passed)
            return {"approval": passed, "by": None, "at": None}
        earlier = earlier_decision(prepared, context)
        if earlier is not None:
            self.log.info("answered before: %s", earlier)
            return earlier
        self.subject = prepared["subject"]
        self.body = prepared["body"]
        self.log.info("plan needs approval: %s", "; ".join(prepared["guard_reasons"]))
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from include.inventory_lake.push.tasks import record_decision

        # HITLOperator's own completion validates the answer; ApprovalOperator's would also
        # skip downstream tasks, which does not reach mapped instances: push skips itself.
        answer = HITLOperator.execute_complete(self, context=context, event=event)
        user = answer.get("responded_by_user") or {}
        responded_at = answer.get("responded_at")
        return record_decision(
            self._prepared(context),
            context,
            approved=answer["chosen_options"] == [self.APPROVE],
            by=user.get("name") or user.get("id"),
            at=responded_at.isoformat() if responded_at else "",
        )

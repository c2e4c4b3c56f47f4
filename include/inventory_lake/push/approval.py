"""The guard's approval step: Airflow's human-in-the-loop `ApprovalOperator`, asked only when
the plan crosses a threshold, showing the plan's summary as the request's subject and body.

Plans within the thresholds, dry runs and resumed batches (approved before) pass through
without asking. A person's answer is written to the ledger (who and when); a rejection closes
the batch (audit rows `declined`, file moved to `rejected/` with a report) and the push is
skipped. The push itself checks the ledger again, so marking this task successful by hand
cannot send a plan that needed approval.

Asked once: the ledger records when the run asked. A later try of the task (a retry, a clear)
finds the answer in the ledger, or else waits on the request already made rather than making
it again: Airflow's request call (`upsert_hitl_detail`) clears an answer the request holds, so
an answer given while the first try was being retried would be lost and the person asked again.
Airflow keeps the request (and any answer) across tries, and hands a waiting task the answer
already given at once.

Only the named approvers may answer: when it asks, the task reads the Variable
`inventory_lake_push_approvers` (`settings.PUSH_APPROVERS_VARIABLE`; comma-separated user ids,
each optionally `id:email`) into the request's `assigned_users`, which Airflow's API enforces
(HTTP 403 for anyone else), and `alerts.ApprovalRequestNotifier` tells them what waits. Read in
the task, not at parse time: `assigned_users` is only sent to Airflow when the task asks, so the
list can change without a deploy. Unset or empty: anyone allowed to answer required actions may
answer, and the task log says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk.exceptions import TaskAwaitingInput

if TYPE_CHECKING:
    from airflow.sdk import Context

    from include.inventory_lake.alerts import Approver
    from include.inventory_lake.push.handoffs import Prepared

APPROVAL_TIMEOUT = timedelta(hours=24)


class PlanApprovalOperator(ApprovalOperator):
    """`prepared` is `prepare`'s XComArg (a `handoffs.Prepared` as an XCom), resolved by Airflow
    as a template field, so no task id is pulled by name. Returns a `handoffs.Decision`."""

    template_fields = (*ApprovalOperator.template_fields, "prepared")

    def __init__(self, *, prepared: Any, **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Approve a bulk stock overwrite")
        kwargs.setdefault("defaults", ApprovalOperator.REJECT)
        kwargs.setdefault("response_timeout", APPROVAL_TIMEOUT)
        if "notifiers" not in kwargs:
            from include.inventory_lake.alerts import ApprovalRequestNotifier

            kwargs["notifiers"] = [ApprovalRequestNotifier()]
        super().__init__(**kwargs)
        self.prepared = prepared
        self.approvers: list[Approver] = []

    def _named_approvers(self) -> list[Approver]:
        from airflow.sdk import Variable

        from include.inventory_lake.alerts import parse_approvers
        from include.inventory_lake.settings import PUSH_APPROVERS_VARIABLE

        approvers = parse_approvers(Variable.get(PUSH_APPROVERS_VARIABLE, default=None))
        if not approvers:
            self.log.warning(
                "no approvers named (Variable %s is unset or empty): anyone allowed to answer "
                "required actions may approve this plan",
                PUSH_APPROVERS_VARIABLE,
            )
        return approvers

    def _prepared(self) -> Prepared:
        from include.inventory_lake.push.handoffs import Prepared

        value: Mapping[str, Any] = self.prepared
        return Prepared.from_xcom(value)

    def execute(self, context: Context) -> Any:
        from include.inventory_lake.failures import fail_fast_on
        from include.inventory_lake.push.decisions import (
            asked_before,
            earlier_decision,
            record_asked,
        )
        from include.inventory_lake.push.handoffs import Decision
        from include.inventory_lake.push.tasks import PERMANENT_FAILURES

        prepared = self._prepared()
        run_id = context["run_id"]
        passed = prepared.no_approval_because
        if passed is not None:
            self.log.info("no approval asked: %s", passed)
            return Decision(prepared, passed).as_xcom()
        with fail_fast_on(*PERMANENT_FAILURES):
            earlier = earlier_decision(prepared, run_id)
            asked_at = None if earlier is not None else asked_before(prepared, run_id)
        if earlier is not None:
            self.log.info("answered before: %s by %s", earlier.approval, earlier.by)
            return earlier.as_xcom()
        if asked_at is not None:
            self.log.info(
                "asked at %s: waiting for that request's answer, not asking again", asked_at
            )
            raise TaskAwaitingInput(
                method_name="execute_complete", timeout=self._time_left(asked_at)
            )
        self.subject = prepared.subject
        self.body = prepared.body
        self.approvers = self._named_approvers()
        if self.approvers:
            self.assigned_users = [approver.as_hitl_user() for approver in self.approvers]
            self.log.info("approvers: %s", ", ".join(a.id for a in self.approvers))
        self.log.info("plan needs approval: %s", "; ".join(prepared.guard_reasons))
        try:
            return super().execute(context)
        except TaskAwaitingInput:
            # Airflow holds the request now (and the person was told): a later try waits on it.
            with fail_fast_on(*PERMANENT_FAILURES):
                record_asked(prepared, run_id, of=[a.id for a in self.approvers])
            raise

    def _time_left(self, asked_at: str) -> timedelta:
        """What remains of the answer's time limit, counted from when the person was asked."""
        from datetime import UTC, datetime

        limit = self.response_timeout or APPROVAL_TIMEOUT
        elapsed = datetime.now(UTC) - datetime.fromisoformat(asked_at)
        return max(limit - elapsed, timedelta(0))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from include.inventory_lake.failures import fail_fast_on
        from include.inventory_lake.push.decisions import record_decision
        from include.inventory_lake.push.tasks import PERMANENT_FAILURES

        # HITLOperator's own completion validates the answer; ApprovalOperator's would also
        # skip downstream tasks, which does not reach mapped instances: push skips itself.
        answer = HITLOperator.execute_complete(self, context=context, event=event)
        user = answer.get("responded_by_user") or {}
        responded_at = answer.get("responded_at")
        with fail_fast_on(*PERMANENT_FAILURES):
            decision = record_decision(
                self._prepared(),
                context["run_id"],
                approved=answer["chosen_options"] == [self.APPROVE],
                by=user.get("name") or user.get("id"),
                at=responded_at.isoformat() if responded_at else "",
            )
        return decision.as_xcom()

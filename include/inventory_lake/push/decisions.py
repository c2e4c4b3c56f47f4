"""A person's answer to a plan, kept in the ledger: written once, found again by a retry.

The ledger also says when the run asked, so that a retry of the approval task waits for the
request already made (and answered, perhaps) instead of making a new one, which would clear
the answer. An approval lets `push` send; a rejection closes the batch here (audit rows
`declined`, the file moved to `rejected/` with a report), so nothing after it has anything to do.
"""

from __future__ import annotations

from include.inventory_lake.push.finalize import ClosingBatch
from include.inventory_lake.push.handoffs import Decision, Prepared
from include.inventory_lake.push.layout import connect
from include.inventory_lake.push.ledger import Ledger
from include.inventory_lake.push.plan_store import read_plan
from include.inventory_lake.push.validation import Problem


def earlier_decision(prepared: Prepared, run_id: str) -> Decision | None:
    """The answer this run already recorded: a retried approval task must not ask twice."""
    lake = connect()
    stored = Ledger(lake, prepared.batch_id).read()
    if stored is None or not stored.batch.owned_by(run_id):
        return None
    approval = stored.batch.approval
    if approval is None:
        return None
    if approval.decision == "declined":  # finish closing it: a crash may have cut in
        return record_decision(
            prepared, run_id, approved=False, by=approval.by, at=approval.at or ""
        )
    return Decision(prepared, "approved", approval.by, approval.at)


def asked_before(prepared: Prepared, run_id: str) -> str | None:
    """When this run asked a person about the plan, if it did and no answer is recorded."""
    lake = connect()
    stored = Ledger(lake, prepared.batch_id).read()
    return None if stored is None else stored.batch.asked_unanswered(run_id)


def record_asked(prepared: Prepared, run_id: str, *, of: list[str]) -> None:
    """Write that this run asked `of` (everyone allowed to answer when empty)."""
    lake = connect()
    ledger = Ledger(lake, prepared.batch_id)
    stored = ledger.read_owned(run_id)
    ledger.save(stored, stored.batch.ask(run_id, of=tuple(of)))


def record_decision(
    prepared: Prepared, run_id: str, *, approved: bool, by: str | None, at: str
) -> Decision:
    """Write a person's answer to the ledger; a rejected plan is closed (audit, file moved)."""
    lake = connect()
    ledger = Ledger(lake, prepared.batch_id)
    stored = ledger.read_owned(run_id)
    if approved:
        ledger.save(stored, stored.batch.approve(run_id, by=by, at=at))
        return Decision(prepared, "approved", by, at)
    decision = Decision(prepared, "declined", by, at)
    if stored.status != "declined":  # a retry finishing a decline records it once
        stored = ledger.save(stored, stored.batch.decline(run_id, by=by, at=at))
    batch = stored.batch
    plan = read_plan(lake, batch.batch_id, list(batch.guard_reasons))
    reasons = [Problem(None, None, None, f"guard: {r}") for r in batch.guard_reasons]
    declined = Problem(None, None, None, f"declined by {decision.who} at {at}: nothing was sent")
    ClosingBatch(lake, ledger, stored, plan, run_id).reject_declined([declined, *reasons])
    return decision

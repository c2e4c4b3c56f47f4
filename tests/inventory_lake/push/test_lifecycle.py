"""Every move of a batch, allowed or refused, from every state: the table below is the
contract (written out, not derived from the code), and the batch must follow it exactly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from include.inventory_lake.push.lifecycle import Batch, IllegalTransition, SourceFile
from include.inventory_lake.schemas.push import BatchStatus
from tests.inventory_lake.push.batches import ATTEMPT, RUN, batch_in

OTHER_FILE = SourceFile("staging/set_adjustments/approved/b.csv", "b.csv", "etag-b", "0" * 64)
STATES: tuple[BatchStatus, ...] = (
    "planning", "planned", "rejected", "declined", "sending", "sent", "failed", "done",
    "withdrawn",
)  # fmt: skip

MOVES: dict[str, Callable[[Batch], Batch]] = {
    "take_over": lambda b: b.take_over("run-b", OTHER_FILE, lines_per_request=50),
    "plan": lambda b: b.plan(
        RUN, lines=3, requests=2, lines_per_request=100, needs_approval=False, guard_reasons=()
    ),
    "reject": lambda b: b.reject(RUN, "stock check failed"),
    "ask": lambda b: b.ask(RUN, of=("lan",)),
    "approve": lambda b: b.approve(RUN, by="lan", at="t"),
    "decline": lambda b: b.decline(RUN, by="lan", at="t"),
    "start_sending": lambda b: b.start_sending(RUN, attempt=ATTEMPT, watermark=1),
    "resume_sending": lambda b: b.resume_sending(RUN, attempt="run-a/try-2/y"),
    "claim_chunk": lambda b: b.claim_request(RUN, attempt=ATTEMPT, request=1),
    "all_sent": lambda b: b.all_sent(RUN),
    "refuse": lambda b: b.refuse(RUN, request=1, error="HTTP 409"),
    "finish": lambda b: b.finish(RUN),
    "withdraw": lambda b: b.withdraw(RUN, "a.csv was removed from approved/"),
    "hold": lambda b: b.hold(RUN, "shop hanoi is no longer configured"),
}

# move -> {from state: to state}; every state not listed is refused.
ALLOWED: dict[str, dict[BatchStatus, BatchStatus]] = {
    "take_over": {
        "planning": "planning",
        "planned": "planning",
        "declined": "planning",
        "rejected": "planning",
        "sending": "sending",
        "sent": "sent",
        "failed": "sending",
        "withdrawn": "sending",
    },
    "plan": {"planning": "planned"},
    "reject": {"planning": "rejected"},
    "ask": {"planned": "planned"},
    "approve": {"planned": "planned"},
    "decline": {"planned": "declined"},
    "start_sending": {"planned": "sending"},
    "resume_sending": {"sending": "sending"},
    "claim_chunk": {"sending": "sending"},
    "all_sent": {"sending": "sent"},
    "refuse": {"sending": "failed"},
    "finish": {"sent": "done"},
    "withdraw": {"planned": "withdrawn", "sending": "withdrawn"},
    "hold": {"planned": "planned", "sending": "sending"},
}

CASES = [(move, state) for move in MOVES for state in STATES]


@pytest.mark.parametrize(("move", "state"), CASES, ids=[f"{m}-from-{s}" for m, s in CASES])
def test_every_move_from_every_state(move: str, state: BatchStatus) -> None:
    before = batch_in(state)
    expected = ALLOWED[move].get(state)
    if expected is None:
        with pytest.raises(IllegalTransition, match=f"is {state}"):
            MOVES[move](before)
        return
    after = MOVES[move](before)
    assert after.status == expected
    assert after.events[:-1] == before.events and after.events[-1].status == expected
    assert Batch.from_document(after.to_document()) == after, "the ledger keeps every field"


def test_a_plan_that_needs_approval_is_not_sent_without_it() -> None:
    waiting = batch_in("planning").plan(
        RUN, lines=3, requests=2, lines_per_request=100, needs_approval=True, guard_reasons=("big",)
    )
    assert waiting.waiting_for_approval and not waiting.cleared_to_send
    with pytest.raises(IllegalTransition, match="needs approval"):
        waiting.start_sending(RUN, attempt=ATTEMPT, watermark=1)
    approved = waiting.approve(RUN, by="lan", at="t")
    assert approved.cleared_to_send and not approved.waiting_for_approval
    with pytest.raises(IllegalTransition, match="already approved"):
        approved.decline(RUN, by="minh", at="t")
    with pytest.raises(IllegalTransition, match="already approved"):
        approved.approve(RUN, by="minh", at="t")
    assert approved.start_sending(RUN, attempt=ATTEMPT, watermark=1).status == "sending"


def test_a_run_that_asked_waits_for_that_answer_and_a_new_plan_asks_again() -> None:
    waiting = batch_in("planning").plan(
        RUN, lines=3, requests=2, lines_per_request=100, needs_approval=True, guard_reasons=("big",)
    )
    assert waiting.asked_unanswered(RUN) is None, "not asked yet"
    asked = waiting.ask(RUN, of=("lan", "minh"))
    assert asked.approval_asked_at is not None
    assert asked.asked_unanswered(RUN) == asked.approval_asked_at
    assert asked.events[-1].detail == "approval asked of lan, minh"
    assert asked.asked_unanswered("run-b") is None, "another run asked nothing"
    assert asked.approve(RUN, by="lan", at="t").asked_unanswered(RUN) is None, "answered"
    with pytest.raises(IllegalTransition, match="cannot ask, already approved"):
        asked.approve(RUN, by="lan", at="t").ask(RUN, of=())
    replanned = asked.take_over("run-b", OTHER_FILE, lines_per_request=50)
    assert replanned.approval_asked_at is None, "a new plan is a new question"
    assert Batch.from_document(asked.to_document()) == asked


def test_taking_over_a_plan_drops_its_approval_and_keeps_a_sent_plan() -> None:
    approved = batch_in("planning").plan(
        RUN, lines=3, requests=2, lines_per_request=100, needs_approval=True, guard_reasons=("big",)
    ).approve(RUN, by="lan", at="t")  # fmt: skip
    replanned = approved.take_over("run-b", OTHER_FILE, lines_per_request=50)
    assert replanned.approval is None and replanned.owner_run_id == "run-b"
    assert replanned.source == OTHER_FILE and replanned.lines_per_request == 50
    resumed = batch_in("sending").take_over("run-b", OTHER_FILE, lines_per_request=50)
    assert resumed.lines_per_request == 100 and resumed.sending_attempt is None, (
        "the stored plan stays"
    )


def test_only_the_sending_attempt_claims_requests_and_a_resume_fences_it_off() -> None:
    sending = batch_in("sending")
    claimed = sending.claim_request(RUN, attempt=ATTEMPT, request=2)
    assert claimed.request_claimed == 2
    with pytest.raises(IllegalTransition, match="no request 3"):
        sending.claim_request(RUN, attempt=ATTEMPT, request=3)
    retry = claimed.resume_sending(RUN, attempt="run-a/try-2/y")
    assert retry.request_claimed is None and "request 2 was claimed last" in retry.events[-1].detail
    with pytest.raises(IllegalTransition, match="not run-a/try-1/x"):
        retry.claim_request(RUN, attempt=ATTEMPT, request=2)
    released = claimed.release_claim(RUN, attempt=ATTEMPT, why="HTTP 502")
    assert released.request_claimed is None
    with pytest.raises(IllegalTransition, match="claims nothing"):
        released.release_claim(RUN, attempt=ATTEMPT, why="again")


def test_a_ledger_written_before_the_request_fence_still_reads() -> None:
    document = dict(batch_in("sending").to_document())
    del document["sending_attempt"], document["chunk_claimed"]
    batch = Batch.from_document(document)  # type: ignore[arg-type]
    assert batch.status == "sending" and batch.sending_attempt is None
    assert batch.request_claimed is None


def test_a_file_withdrawn_before_anything_was_sent_is_planned_afresh_when_it_comes_back() -> None:
    approved = batch_in("planning").plan(
        RUN, lines=3, requests=2, lines_per_request=100, needs_approval=True, guard_reasons=("big",)
    ).approve(RUN, by="lan", at="t")  # fmt: skip
    withdrawn = approved.withdraw(RUN, "a.csv was removed from approved/")
    assert withdrawn.is_finished and not withdrawn.may_have_sent
    assert withdrawn.events[-1].detail == "withdrawn: a.csv was removed from approved/"
    again = withdrawn.take_over("run-b", OTHER_FILE, lines_per_request=50)
    assert again.status == "planning" and again.approval is None, "a new plan, a new approval"
    resumed = batch_in("withdrawn").take_over("run-b", OTHER_FILE, lines_per_request=50)
    assert resumed.status == "sending" and resumed.lines_per_request == 100, (
        "sent once: the plan stays"
    )

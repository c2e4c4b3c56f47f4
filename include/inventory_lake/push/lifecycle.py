"""A batch's life, as one typed value: the only way its status changes.

```
         claim           plan          start_sending         all_sent        finish
(none) ───────► planning ──────► planned ─────────────► sending ───────► sent ───────► done
                   │ reject         │ ask, approve: stay    │ ▲ claim_request, release_claim,
                   ▼                │ planned               │ │ resume_sending: stays sending
                rejected            │ decline               │ refuse
                                    ▼                       ▼
                                 declined                 failed

         withdraw                                   hold
planned, sending ───► withdrawn       planned, sending ───► stays (this run sends nothing)
```

Every transition is a method that returns the next version and raises `IllegalTransition` from
any other state. Before a run sends a batch's first request, and again when an attempt resumes
one, the file and the shop are checked (`push/preflight.py`): `withdraw` ends a batch whose
file is no longer the one planned (deleted, moved to another folder or replaced in
`approved/`), and `hold` records why this run sends nothing when the file's shop is no longer
configured as it was planned (the batch stays as it was, for a later run).

`take_over` hands a batch whose owner run has ended to a new run: before anything may have been
sent (planning, planned, declined, rejected, or withdrawn before sending) it starts again at
planning; once something may have been sent (sending, sent, failed, or withdrawn while sending)
it keeps the stored plan and resumes; a done batch is never taken over. Each version carries
the event that made it; the ledger saves versions with conditional writes, so two writers can
never both move one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from include.inventory_lake.schemas.push import LEDGER_FORMAT, BatchDocument, BatchStatus
from include.inventory_lake.shops import DEFAULT_SHOP_ID

ApprovalDecision = Literal["approved", "declined"]

# Once a request may have been sent, the stored plan is the only plan: it is never remade.
PLAN_LOCKED: frozenset[BatchStatus] = frozenset({"sending", "sent", "failed", "done"})
# A new run may take these over from a run that has ended, and make a fresh plan.
REPLANNABLE: frozenset[BatchStatus] = frozenset({"planning", "planned", "declined", "rejected"})
FINISHED: frozenset[BatchStatus] = frozenset(
    {"done", "declined", "rejected", "failed", "withdrawn"}
)
# The states a push attempt sends from: where the checks before sending may withdraw or hold.
ABOUT_TO_SEND: frozenset[BatchStatus] = frozenset({"planned", "sending"})


class IllegalTransition(RuntimeError):
    """The batch is not in a state from which this move is allowed."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SourceFile:
    """The staging file a batch was read from."""

    key: str
    name: str
    etag: str
    sha256: str


@dataclass(frozen=True)
class Approval:
    decision: ApprovalDecision
    by: str | None
    at: str | None


@dataclass(frozen=True)
class Event:
    at: str
    run_id: str
    status: BatchStatus
    detail: str


@dataclass(frozen=True)
class Batch:
    batch_id: str
    content_sha256: str
    forced: bool
    source: SourceFile
    owner_run_id: str
    status: BatchStatus
    created_at: str
    updated_at: str
    lines: int
    requests: int
    lines_per_request: int
    needs_approval: bool
    guard_reasons: tuple[str, ...]
    approval: Approval | None
    watermark_adjustment_id: int | None
    # The attempt (run and try) that sends, and the request it claimed last: a zombie attempt
    # whose conditional write of its next claim fails can never send again.
    sending_attempt: str | None
    request_claimed: int | None
    events: tuple[Event, ...]
    # The shop it is sent to, for good: a batch id belongs to one shop (push/batch.py).
    shop: str = DEFAULT_SHOP_ID
    # When the owner run asked a person (Airflow holds that request until it is answered).
    approval_asked_at: str | None = None

    # questions the tasks and the UI ask

    @property
    def waiting_for_approval(self) -> bool:
        return self.status == "planned" and self.needs_approval and self.approval is None

    @property
    def is_done(self) -> bool:
        return self.status == "done"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def plan_locked(self) -> bool:
        return self.status in PLAN_LOCKED

    @property
    def cleared_to_send(self) -> bool:
        """Planned, and approved when the guard asked for it."""
        if self.status != "planned":
            return False
        if not self.needs_approval:
            return self.approval is None or self.approval.decision == "approved"
        return self.approval is not None and self.approval.decision == "approved"

    @property
    def may_have_sent(self) -> bool:
        """A watermark is recorded only just before the first request is sent."""
        return self.watermark_adjustment_id is not None

    @property
    def last_event(self) -> Event | None:
        return self.events[-1] if self.events else None

    def owned_by(self, run_id: str) -> bool:
        return self.owner_run_id == run_id

    def asked_unanswered(self, run_id: str) -> str | None:
        """When `run_id` asked a person, if it did and no answer is recorded yet."""
        if self.status != "planned" or self.approval is not None or not self.owned_by(run_id):
            return None
        return self.approval_asked_at

    # transitions

    @classmethod
    def claim(
        cls,
        *,
        batch_id: str,
        content_sha256: str,
        forced: bool,
        source: SourceFile,
        run_id: str,
        lines: int,
        lines_per_request: int,
        shop: str = DEFAULT_SHOP_ID,
    ) -> Batch:
        stamp = now_iso()
        return cls(
            batch_id=batch_id,
            content_sha256=content_sha256,
            forced=forced,
            source=source,
            owner_run_id=run_id,
            status="planning",
            created_at=stamp,
            updated_at=stamp,
            lines=lines,
            requests=0,
            lines_per_request=lines_per_request,
            needs_approval=False,
            guard_reasons=(),
            approval=None,
            watermark_adjustment_id=None,
            sending_attempt=None,
            request_claimed=None,
            events=(Event(stamp, run_id, "planning", f"claimed for {source.key}"),),
            shop=shop,
        )

    def take_over(self, run_id: str, source: SourceFile, *, lines_per_request: int) -> Batch:
        """A new run takes the batch from an owner run that has ended."""
        self._require("take over", {*REPLANNABLE, "sending", "sent", "failed", "withdrawn"})
        detail = f"taken over from run {self.owner_run_id} ({self.status})"
        if self.status in REPLANNABLE or (self.status == "withdrawn" and not self.may_have_sent):
            return self._move(
                "planning", run_id, detail, owner_run_id=run_id, source=source,
                lines_per_request=lines_per_request, approval=None, approval_asked_at=None,
            )  # fmt: skip
        resumed: BatchStatus = "sent" if self.status == "sent" else "sending"
        return self._move(
            resumed, run_id, detail, owner_run_id=run_id, source=source, sending_attempt=None
        )

    def plan(
        self,
        run_id: str,
        *,
        lines: int,
        requests: int,
        lines_per_request: int,
        needs_approval: bool,
        guard_reasons: tuple[str, ...],
    ) -> Batch:
        self._require("plan", {"planning"})
        detail = f"planned {requests} requests" + (" (needs approval)" if needs_approval else "")
        return self._move(
            "planned", run_id, detail, lines=lines, requests=requests,
            lines_per_request=lines_per_request,
            needs_approval=needs_approval, guard_reasons=guard_reasons, approval=None,
            approval_asked_at=None,
        )  # fmt: skip

    def reject(self, run_id: str, reason: str) -> Batch:
        """Nothing was sent and nothing will be: the file is refused (e.g. stock check)."""
        self._require("reject", {"planning"})
        return self._move("rejected", run_id, reason)

    def ask(self, run_id: str, *, of: tuple[str, ...]) -> Batch:
        """A person was asked (Airflow holds the request): a retry waits for that request's
        answer rather than asking again, which would clear an answer given meanwhile."""
        self._require("ask for approval", {"planned"})
        if self.approval is not None:
            raise IllegalTransition(
                f"batch {self.batch_id}: cannot ask, already {self.approval.decision}"
            )
        who = ", ".join(of) if of else "anyone allowed to answer"
        return self._move(
            "planned", run_id, f"approval asked of {who}", approval_asked_at=now_iso()
        )

    def approve(self, run_id: str, *, by: str | None, at: str | None) -> Batch:
        self._require("approve", {"planned"})
        if self.approval is not None:
            raise IllegalTransition(
                f"batch {self.batch_id}: cannot approve, already {self.approval.decision}"
            )
        approval = Approval("approved", by, at)
        return self._move("planned", run_id, f"approved by {by or 'nobody'}", approval=approval)

    def decline(self, run_id: str, *, by: str | None, at: str | None) -> Batch:
        self._require("decline", {"planned"})
        if self.approval is not None and self.approval.decision == "approved":
            raise IllegalTransition(f"batch {self.batch_id}: cannot decline, already approved")
        who = by or "nobody (no answer in time)"
        return self._move(
            "declined", run_id, f"declined by {who}", approval=Approval("declined", by, at)
        )

    def start_sending(self, run_id: str, *, attempt: str, watermark: int) -> Batch:
        self._require("start sending", {"planned"})
        if not self.cleared_to_send:
            raise IllegalTransition(
                f"batch {self.batch_id} needs approval and none is recorded: refusing to send"
            )
        return self._move(
            "sending", run_id, f"sending {self.requests} requests", sending_attempt=attempt,
            watermark_adjustment_id=watermark, request_claimed=None,
        )  # fmt: skip

    def resume_sending(self, run_id: str, *, attempt: str) -> Batch:
        """Another attempt (a retry, a new owner) sends from here on: the one before is fenced
        off, since its next conditional write fails."""
        self._require("resume sending", {"sending"})
        claimed = (
            f" (request {self.request_claimed} was claimed last)" if self.request_claimed else ""
        )
        return self._move(
            "sending", run_id, f"attempt {attempt} resumes{claimed}",
            sending_attempt=attempt, request_claimed=None,
        )  # fmt: skip

    def claim_request(self, run_id: str, *, attempt: str, request: int) -> Batch:
        """Written (conditionally) before request number `request` is sent."""
        self._require("claim a request", {"sending"})
        if self.sending_attempt != attempt:
            raise IllegalTransition(
                f"batch {self.batch_id} is sent by attempt {self.sending_attempt}, not {attempt}"
            )
        if not 1 <= request <= self.requests:
            raise IllegalTransition(f"batch {self.batch_id} has no request {request}")
        return self._move(
            "sending", run_id, f"sending request {request}/{self.requests}", request_claimed=request
        )

    def release_claim(self, run_id: str, *, attempt: str, why: str) -> Batch:
        """The claiming attempt knows its request is not in flight any more (it got an answer,
        if an unclear one): the next attempt may send it again once a lookup misses it."""
        self._require("release a request", {"sending"})
        if self.sending_attempt != attempt or self.request_claimed is None:
            raise IllegalTransition(f"batch {self.batch_id}: attempt {attempt} claims nothing")
        return self._move(
            "sending",
            run_id,
            f"request {self.request_claimed} released: {why}",
            request_claimed=None,
        )

    def all_sent(self, run_id: str) -> Batch:
        self._require("mark sent", {"sending"})
        return self._move("sent", run_id, "every request applied", request_claimed=None)

    def refuse(self, run_id: str, *, request: int, error: str) -> Batch:
        """Haravan refused a request for good: the batch ends failed, later ones unsent."""
        self._require("record a refusal", {"sending"})
        return self._move(
            "failed", run_id, f"request {request} refused: {error}", request_claimed=None
        )

    def withdraw(self, run_id: str, reason: str) -> Batch:
        """The file is not the one planned any more (gone, moved, replaced): send nothing more.
        Requests applied before stay applied (the audit says which)."""
        self._require("withdraw", ABOUT_TO_SEND)
        return self._move("withdrawn", run_id, f"withdrawn: {reason}", sending_attempt=None)

    def hold(self, run_id: str, reason: str) -> Batch:
        """This run sends nothing (e.g. the shop's configuration changed); the state stays, so
        the next run that sees the file takes the batch over once this one has ended."""
        self._require("hold", ABOUT_TO_SEND)
        return self._move(
            self.status, run_id, f"held, nothing sent: {reason}", sending_attempt=None
        )

    def finish(self, run_id: str) -> Batch:
        self._require("finish", {"sent"})
        return self._move("done", run_id, "audited, file moved to processed/")

    def _require(self, move: str, allowed: set[BatchStatus] | frozenset[BatchStatus]) -> None:
        if self.status not in allowed:
            raise IllegalTransition(f"batch {self.batch_id} is {self.status}: cannot {move}")

    def _move(self, status: BatchStatus, run_id: str, detail: str, **changes: Any) -> Batch:
        stamp = now_iso()
        event = Event(stamp, run_id, status, detail)
        return dataclasses.replace(
            self, status=status, updated_at=stamp, events=(*self.events, event), **changes
        )

    # the ledger's JSON document

    def to_document(self) -> BatchDocument:
        approval = self.approval
        return BatchDocument(
            format=LEDGER_FORMAT,
            batch_id=self.batch_id,
            content_sha256=self.content_sha256,
            forced=self.forced,
            shop=self.shop,
            source_key=self.source.key,
            source_name=self.source.name,
            source_etag=self.source.etag,
            source_sha256=self.source.sha256,
            owner_run_id=self.owner_run_id,
            status=self.status,
            created_at=self.created_at,
            updated_at=self.updated_at,
            lines=self.lines,
            # Stored names (schemas.push): chunks, chunk_size, chunk_claimed are requests,
            # lines_per_request, request_claimed.
            chunks=self.requests,
            chunk_size=self.lines_per_request,
            needs_approval=self.needs_approval,
            guard_reasons=list(self.guard_reasons),
            approval=None
            if approval is None
            else {"decision": approval.decision, "by": approval.by, "at": approval.at},
            approval_asked_at=self.approval_asked_at,
            watermark_adjustment_id=self.watermark_adjustment_id,
            sending_attempt=self.sending_attempt,
            chunk_claimed=self.request_claimed,
            events=[
                {"at": e.at, "run_id": e.run_id, "status": e.status, "detail": e.detail}
                for e in self.events
            ],
        )

    @classmethod
    def from_document(cls, doc: BatchDocument) -> Batch:
        if doc.get("format") != LEDGER_FORMAT:
            raise ValueError(f"ledger of batch {doc.get('batch_id')} has unknown format")
        if doc["status"] not in get_args(BatchStatus):
            raise ValueError(f"ledger of batch {doc['batch_id']} has unknown status")
        raw_approval = doc.get("approval")
        approval = None
        if raw_approval:
            decision: ApprovalDecision
            if raw_approval.get("decision") == "approved":
                decision = "approved"
            elif raw_approval.get("decision") == "declined":
                decision = "declined"
            else:
                raise ValueError(f"ledger of batch {doc['batch_id']} has unknown decision")
            approval = Approval(decision, raw_approval.get("by"), raw_approval.get("at"))
        return cls(
            batch_id=doc["batch_id"],
            content_sha256=doc["content_sha256"],
            forced=doc["forced"],
            source=SourceFile(
                doc["source_key"], doc["source_name"], doc["source_etag"], doc["source_sha256"]
            ),
            owner_run_id=doc["owner_run_id"],
            status=doc["status"],
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            lines=doc["lines"],
            requests=doc["chunks"],  # stored names: see to_document
            lines_per_request=doc["chunk_size"],
            needs_approval=doc["needs_approval"],
            guard_reasons=tuple(doc["guard_reasons"]),
            approval=approval,
            approval_asked_at=doc.get("approval_asked_at"),
            watermark_adjustment_id=doc.get("watermark_adjustment_id"),
            # Written since the per-request fence; absent from ledgers written before it.
            sending_attempt=doc.get("sending_attempt"),
            request_claimed=doc.get("chunk_claimed"),
            events=tuple(
                Event(e["at"], e["run_id"], e["status"], e["detail"]) for e in doc["events"]
            ),
            shop=doc.get("shop", DEFAULT_SHOP_ID),
        )

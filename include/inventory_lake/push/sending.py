"""Send a plan's requests one by one, recording each outcome in the ledger before the next.

Before anything is sent the batch records a watermark: the newest adjustment id at that time.
Every adjustment the batch creates has a higher id and carries its marker in the note, so
"did request k land?" is answered by reading the adjustments after the watermark. That lookup
runs when a retry resumes a batch (a crash or kill may have cut in after a request was sent
and before its outcome was written) and right after a request whose outcome is ambiguous
(timeout, dropped connection, 5xx): a request is only ever sent again once the lookup has
shown it did not land. If an ambiguous request is not found at once, the task fails and its
retry looks again after the retry delay, rather than resending while the first may be in flight.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from include.inventory_lake.http.errors import (
    AmbiguousWriteError,
    ApiError,
    ApiNotFoundError,
    ApiRequestError,
    ApiValidationError,
)
from include.inventory_lake.push.batch import find_marker
from include.inventory_lake.push.ledger import Ledger, StoredBatch
from include.inventory_lake.push.lifecycle import now_iso
from include.inventory_lake.push.planning import Plan, PlannedRequest
from include.inventory_lake.schemas.push import LEDGER_FORMAT, RequestDocument

log = logging.getLogger(__name__)


class AdjustmentApi(Protocol):
    def create_adjustment(self, inventory: Mapping[str, Any]) -> dict[str, Any]: ...

    def recent_adjustments(self, since_id: int) -> Iterator[dict[str, Any]]: ...

    def newest_adjustment(self) -> dict[str, Any] | None: ...


# Answers that say the request itself is wrong (400, 404, 409, 422, ...): sending it again
# cannot help. The request is recorded as refused and the batch ends failed with its report.
PERMANENT_REFUSALS = (ApiValidationError, ApiRequestError, ApiNotFoundError)


class RequestOutcomeUnknown(RuntimeError):
    """A request may have landed and the lookup did not find it (yet): retry the task later."""


@dataclass
class SendReport:
    requests_sent: int = 0
    applied_now: int = 0
    found_by_lookup: int = 0
    applied_before: int = 0
    refused: RequestDocument | None = None
    adjustment_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_sent": self.requests_sent,
            "applied_now": self.applied_now,
            "found_by_lookup": self.found_by_lookup,
            "applied_before": self.applied_before,
            # Key names the push's XCom and logs have always carried (see schemas.push).
            "refused_chunk": self.refused["chunk"] if self.refused else None,
        }


def applied_outcome(
    batch_id: str,
    request: int,
    record: Mapping[str, Any],
    *,
    run_id: str,
    found_by: Literal["response", "lookup"],
) -> RequestDocument:
    changes = [
        [int(item["product_variant_id"]), int(item["quantity"])]
        for item in record.get("line_items") or []
    ]
    return RequestDocument(
        format=LEDGER_FORMAT,
        batch_id=batch_id,
        chunk=request,
        status="applied",
        run_id=run_id,
        at=now_iso(),
        found_by=found_by,
        adjustment_id=int(record["id"]),
        adjust_number=record.get("adjust_number"),
        changes=changes,
        error=None,
    )


def refused_outcome(batch_id: str, request: int, error: str, *, run_id: str) -> RequestDocument:
    return RequestDocument(
        format=LEDGER_FORMAT,
        batch_id=batch_id,
        chunk=request,
        status="refused",
        run_id=run_id,
        at=now_iso(),
        found_by=None,
        adjustment_id=None,
        adjust_number=None,
        changes=[],
        error=error,
    )


def find_batch_adjustments(
    api: AdjustmentApi, batch_id: str, since_id: int
) -> dict[int, list[dict[str, Any]]]:
    """The batch's adjustments after `since_id`, by request number (from the note's marker)."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    scanned = 0
    for record in api.recent_adjustments(since_id):
        scanned += 1
        ref = find_marker(record.get("note"))
        if ref is not None and ref.batch_id == batch_id:
            found[ref.request].append(record)
    log.info(
        "lookup after adjustment %d: %d adjustments read, %d of batch %s",
        since_id,
        scanned,
        sum(len(records) for records in found.values()),
        batch_id,
    )
    return found


class RequestSender:
    """Sends one attempt's requests. Before each request the attempt claims it in the batch
    document with a conditional write: once another attempt (a retry while this one lives on
    as a zombie, or a new owner) has written the batch, this attempt's next claim fails with
    `LedgerConflict` and it sends nothing more."""

    def __init__(
        self,
        api: AdjustmentApi,
        ledger: Ledger,
        stored: StoredBatch,
        plan: Plan,
        *,
        run_id: str,
        attempt: str,
    ) -> None:
        watermark = stored.batch.watermark_adjustment_id
        if watermark is None:
            raise ValueError(f"batch {ledger.batch_id} is {stored.status} without a watermark")
        self._api = api
        self._ledger = ledger
        self._plan = plan
        self._run_id = run_id
        self._attempt = attempt
        self._watermark = watermark
        self._last_applied_id = watermark
        self.stored = stored

    @property
    def _batch_id(self) -> str:
        return self._plan.batch_id

    def _record_found(self, request: int, records: list[dict[str, Any]]) -> RequestDocument:
        records = sorted(records, key=lambda r: int(r["id"]))
        doc = applied_outcome(
            self._batch_id, request, records[0], run_id=self._run_id, found_by="lookup"
        )
        if len(records) > 1:
            doc["duplicates"] = [int(r["id"]) for r in records[1:]]
            log.error(
                "batch %s request %d was applied %d times (adjustments %s): investigate",
                self._batch_id,
                request,
                len(records),
                [r["id"] for r in records],
            )
        self._ledger.write_request_outcome(doc)
        return doc

    def send(
        self,
        outcomes: Mapping[int, RequestDocument],
        *,
        resuming: bool,
        claimed_elsewhere: int | None = None,
    ) -> SendReport:
        """Send every request without an applied outcome; stop at the first refused one.

        `claimed_elsewhere`: the request an earlier attempt claimed last. If it has no outcome
        and the lookup does not find it, that attempt may still be sending it (a zombie): this
        attempt stops without sending, and the next one (after the retry delay) looks again.
        """
        report = SendReport()
        done = {n for n, doc in outcomes.items() if doc["status"] == "applied"}
        report.applied_before = len(done)
        for n in done:
            self._last_applied_id = max(self._last_applied_id, outcomes[n]["adjustment_id"] or 0)
        pending = [request for request in self._plan.requests if request.number not in done]
        if pending and resuming:
            found = find_batch_adjustments(self._api, self._batch_id, self._watermark)
            for request in list(pending):
                if request.number in found:
                    doc = self._record_found(request.number, found[request.number])
                    self._last_applied_id = max(self._last_applied_id, doc["adjustment_id"] or 0)
                    report.found_by_lookup += 1
                    pending.remove(request)
            if any(request.number == claimed_elsewhere for request in pending):
                raise RequestOutcomeUnknown(
                    f"batch {self._batch_id} request {claimed_elsewhere} was claimed by an earlier "
                    "attempt, has no outcome and is not among the adjustments yet: that attempt "
                    "may still be sending it. It can send nothing more; the next try looks again"
                )
        for request in pending:
            refused = self._send_one(request, report)
            if refused is not None:
                report.refused = refused
                break
        return report

    def _claim(self, request: PlannedRequest) -> None:
        batch = self.stored.batch.claim_request(
            self._run_id, attempt=self._attempt, request=request.number
        )
        self.stored = self._ledger.save(self.stored, batch)

    def _send_one(self, request: PlannedRequest, report: SendReport) -> RequestDocument | None:
        total = len(self._plan.requests)
        body = request.body(self._batch_id, total)
        self._claim(request)
        report.requests_sent += 1
        try:
            record = self._api.create_adjustment(body)
        except PERMANENT_REFUSALS as error:
            doc = refused_outcome(
                self._batch_id, request.number, _refusal_text(error), run_id=self._run_id
            )
            self._ledger.write_request_outcome(doc)
            log.error(
                "batch %s request %d/%d refused: %s", self._batch_id, request.number, total, error
            )
            return doc
        except AmbiguousWriteError as error:
            log.warning(
                "batch %s request %d/%d: outcome unknown (%s); looking it up",
                self._batch_id,
                request.number,
                total,
                error,
            )
            found = find_batch_adjustments(self._api, self._batch_id, self._last_applied_id)
            if request.number not in found:
                released = self.stored.batch.release_claim(
                    self._run_id, attempt=self._attempt, why=f"unclear answer: {error}"
                )
                self.stored = self._ledger.save(self.stored, released)
                raise RequestOutcomeUnknown(
                    f"batch {self._batch_id} chunk {request.number}/{total} may or may not have "
                    f"been applied and is not among the adjustments yet; the task's retry looks "
                    f"it up again before sending anything"
                ) from error
            doc = self._record_found(request.number, found[request.number])
            report.found_by_lookup += 1
        else:
            doc = applied_outcome(
                self._batch_id, request.number, record, run_id=self._run_id, found_by="response"
            )
            self._ledger.write_request_outcome(doc)
            report.applied_now += 1
        self._last_applied_id = max(self._last_applied_id, doc["adjustment_id"] or 0)
        report.adjustment_ids.append(doc["adjustment_id"] or 0)
        log.info(
            "batch %s request %d/%d applied: adjustment %s (%s), %d lines at location %d",
            self._batch_id,
            request.number,
            total,
            doc["adjustment_id"],
            doc["adjust_number"],
            len(request.lines),
            request.location_id,
        )
        return None


def _refusal_text(error: ApiError) -> str:
    if isinstance(error, ApiValidationError):
        return f"Haravan refused it: {error.errors!r}"
    return f"Haravan refused it: {error}"


def send_batch(
    api: AdjustmentApi,
    ledger: Ledger,
    stored: StoredBatch,
    plan: Plan,
    *,
    run_id: str,
    attempt: str,
) -> tuple[StoredBatch, SendReport]:
    """Send a batch cleared to send, or resume one that was sending: the ledger says which.
    Returns the batch as stored at the end: sent, or failed when Haravan refused a request."""
    batch = stored.batch
    resuming = batch.status == "sending"
    claimed_elsewhere = batch.request_claimed if resuming else None
    if resuming:
        stored = ledger.save(stored, batch.resume_sending(run_id, attempt=attempt))
    else:
        newest = api.newest_adjustment()
        watermark = int(newest["id"]) if newest else 0
        started = batch.start_sending(run_id, attempt=attempt, watermark=watermark)
        stored = ledger.save(stored, started)
    sender = RequestSender(api, ledger, stored, plan, run_id=run_id, attempt=attempt)
    outcomes = ledger.request_outcomes() if resuming else {}
    report = sender.send(outcomes, resuming=resuming, claimed_elsewhere=claimed_elsewhere)
    stored = sender.stored
    if report.refused is not None:
        refused = report.refused
        next_version = stored.batch.refuse(
            run_id, request=refused["chunk"], error=refused["error"] or "refused"
        )
    else:
        next_version = stored.batch.all_sent(run_id)
    return ledger.save(stored, next_version), report

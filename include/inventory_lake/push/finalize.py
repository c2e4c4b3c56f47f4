"""A file's last step: its report and its move out of `approved/`, and for a planned batch the
audit rows and the ledger's final status.

A batch that is done must end with its file in `processed/`: when that move fails (the file
was deleted, moved or replaced after it was read) `ClosingBatch.finish_done` raises
`SourceNotMoved`
after the audit is written, and the ledger keeps the batch `sent`, so nothing is lost or sent
again. A withdrawn batch has no file to move: it gets its audit rows and a report only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from include.inventory_lake.push.audit import Unsent, audit_rows, write_audit
from include.inventory_lake.push.layout import PushLake, archive_folder
from include.inventory_lake.push.ledger import Ledger, StoredBatch
from include.inventory_lake.push.lifecycle import Batch, SourceFile
from include.inventory_lake.push.planning import Plan
from include.inventory_lake.push.report import rejection_report
from include.inventory_lake.push.validation import Problem
from include.inventory_lake.schemas.push import RequestDocument

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

REPORT_TYPE = "text/csv; charset=utf-8"


class SourceNotMoved(RuntimeError):
    """The file a finished batch was read from could not be moved out of `approved/`."""


def _gone_or_replaced(lake: PushLake, source: SourceFile) -> str:
    now = lake.etag(source.key)
    if now is None:
        return "it is gone (deleted, or moved to another folder)"
    return f"it was replaced since it was read (ETag {source.etag}, now {now})"


def write_report(lake: PushLake, source: SourceFile, problems: Sequence[Problem], sub: str) -> str:
    """`rejected/<sub>/<id>_<name>.report.csv`, one row per problem; the report's key."""
    report = rejection_report(problems)
    key = lake.layout.report_key(source.name, source.sha256, sub)
    lake.put_bytes(key, report, REPORT_TYPE, rows=len(problems), size=len(report))
    return key


def reject_file(
    lake: PushLake,
    source: SourceFile,
    problems: Sequence[Problem],
    *,
    dry_run: bool,
    sub: str = "",
) -> str:
    """Write the report, then (unless a dry run) move the file beside it; the report's URI.
    `sub` is the sub-folder of rejected/ (or dry_run/) it goes to: "" or `shop=<id>`."""
    if dry_run:
        report = rejection_report(problems)
        key = lake.layout.dry_run_report_key(source.name, source.sha256, sub)
        lake.put_bytes(key, report, REPORT_TYPE, rows=len(problems), size=len(report))
        return lake.uri(key)
    key = write_report(lake, source, problems, sub)
    rejected = lake.layout.rejected_key(source.name, source.sha256, sub)
    if not lake.move(source.key, rejected, source.etag):
        # the report stays; a replacement is a new file for the next run
        log.warning(
            "%s was not moved to rejected/: %s", source.key, _gone_or_replaced(lake, source)
        )
    log.warning("%s rejected with %d problem(s): %s", source.key, len(problems), lake.uri(key))
    return lake.uri(key)


def rejection_message(
    source: SourceFile, problems: Sequence[Problem], report_uri: str, *, dry_run: bool
) -> str:
    """What the task says when it refuses a file: how many problems, the first, the report."""
    verb = "would be rejected (dry run)" if dry_run else "rejected, nothing sent"
    first = problems[0]
    where = f"row {first.row}: " if first.row else ""
    return (
        f"{source.name} {verb}: {len(problems)} problem(s), e.g. {where}{first.problem}; "
        f"{report_uri}"
    )


def _applied(outcomes: dict[int, RequestDocument]) -> list[int]:
    return sorted(n for n, doc in outcomes.items() if doc["status"] == "applied")


def _applied_list(outcomes: dict[int, RequestDocument]) -> str:
    return ", ".join(
        f"{n} ({outcomes[n]['adjust_number'] or outcomes[n]['adjustment_id']})"
        for n in _applied(outcomes)
    )


def refused_problems(plan: Plan, outcomes: dict[int, RequestDocument]) -> list[Problem]:
    total = len(plan.requests)
    refused = sorted(n for n, doc in outcomes.items() if doc["status"] == "refused")
    problems: list[Problem] = []
    for number in refused:
        request = plan.request(number)
        error = outcomes[number]["error"] or "refused"
        problems += [
            Problem(
                planned.line.row,
                None,
                None,
                f"request {number}/{total} (location {request.location_id}): {error}",
            )
            for planned in request.lines
        ]
    numbers = _applied_list(outcomes)
    problems.append(
        Problem(
            None,
            None,
            None,
            f"requests applied and kept: {numbers or 'none'}; requests after "
            f"{refused[0] if refused else '?'} were not sent. Fix the cause and move this file "
            "back to approved/: applied requests are recognised and not sent again",
        )
    )
    return problems


def withdrawn_problems(
    batch: Batch, plan: Plan, outcomes: dict[int, RequestDocument]
) -> list[Problem]:
    """The report of a withdrawn batch: why, what was applied before (if anything), what next."""
    why = next((e.detail for e in reversed(batch.events) if e.status == "withdrawn"), "withdrawn")
    applied = _applied(outcomes)
    if applied:
        unsent = len(plan.requests) - len(applied)
        what = (
            f"requests applied before and kept: {_applied_list(outcomes)}; the other {unsent} "
            "were not sent. To send the rest, upload the same file to approved/ again: applied "
            "requests are recognised and not sent again"
        )
    else:
        what = (
            "nothing was sent. To send it after all, upload the file to approved/ again: it is "
            "checked, planned and (if the guard asks) approved afresh"
        )
    return [Problem(None, None, None, f"{why}; {what}")]


@dataclass(frozen=True)
class ClosingBatch:
    """A batch at its last step, which audits every line and then, by how the batch ended,
    moves or reports its file."""

    lake: PushLake
    ledger: Ledger
    stored: StoredBatch
    plan: Plan
    run_id: str

    def _audit(self, unsent: Unsent) -> dict[int, RequestDocument]:
        """Write the audit rows of every line of the batch; the requests' outcomes."""
        outcomes = self.ledger.request_outcomes()
        batch = self.stored.batch
        rows = audit_rows(
            batch, self.plan, outcomes, run_id=self.run_id, recorded_at=datetime.now(UTC),
            unsent=unsent,
        )  # fmt: skip
        write_audit(self.lake, batch, rows)
        return outcomes

    def _reject(self, problems: Sequence[Problem]) -> None:
        sub = archive_folder(self.stored.batch.shop)
        source = self.stored.batch.source
        reject_file(self.lake, source, problems, dry_run=False, sub=sub)

    def finish_done(self) -> StoredBatch:
        """Every request was applied: audit, move the file to processed/, record it done."""
        self._audit("not_sent")
        batch, lake = self.stored.batch, self.lake
        source = batch.source
        destination = lake.layout.processed_key(
            source.name, source.sha256, archive_folder(batch.shop)
        )
        if not lake.move(source.key, destination, source.etag):
            raise SourceNotMoved(
                f"batch {batch.batch_id}: every request was applied and the audit is "
                f"written, but {source.key} could not be moved to processed/: "
                f"{_gone_or_replaced(lake, source)}. The ledger keeps the batch sent; to "
                "finish it, upload the same content to approved/ again: the next run records "
                "it and sends nothing"
            )
        return self.ledger.save(self.stored, batch.finish(self.run_id))

    def reject_declined(self, problems: Sequence[Problem]) -> None:
        """A person declined it: audit its lines as declined, move the file to rejected/ with
        a report of `problems`."""
        self._audit("declined")
        self._reject(problems)

    def reject_refused(self) -> None:
        """Haravan refused a request: audit, move the file to rejected/ with a report of the
        refused request and of what was applied before it."""
        outcomes = self._audit("not_sent")
        self._reject(refused_problems(self.plan, outcomes))

    def report_withdrawn(self) -> None:
        """Withdrawn (its file is gone or replaced): audit, write its report to rejected/;
        there is no file to move."""
        outcomes = self._audit("withdrawn")
        batch = self.stored.batch
        problems = withdrawn_problems(batch, self.plan, outcomes)
        key = write_report(self.lake, batch.source, problems, archive_folder(batch.shop))
        log.warning("batch %s withdrawn: %s", batch.batch_id, self.lake.layout.uri(key))

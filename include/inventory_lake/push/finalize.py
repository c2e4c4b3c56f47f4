"""A file's last step: its report and its move out of `approved/`, and for a planned batch the
audit rows and the ledger's final status."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from include.inventory_lake.lake.store import LakeStore
from include.inventory_lake.lineage.recorder import wrote_s3
from include.inventory_lake.push.audit import audit_rows, write_audit
from include.inventory_lake.push.layout import PushLayout, archive_folder
from include.inventory_lake.push.ledger import Ledger, StoredBatch
from include.inventory_lake.push.lifecycle import SourceFile
from include.inventory_lake.push.planning import Plan
from include.inventory_lake.push.report import rejection_report
from include.inventory_lake.push.validation import Problem
from include.inventory_lake.schemas.push import ChunkDocument

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

REPORT_TYPE = "text/csv; charset=utf-8"


def reject_file(
    s3: S3Client,
    layout: PushLayout,
    source: SourceFile,
    problems: Sequence[Problem],
    *,
    dry_run: bool,
    sub: str = "",
) -> str:
    """Write the report, then (unless a dry run) move the file beside it; the report's URI.
    `sub` is the sub-folder of rejected/ (or dry_run/) it goes to: "" or `shop=<id>`."""
    store = LakeStore(s3, layout.root.bucket)
    report = rejection_report(problems)
    if dry_run:
        key = layout.dry_run_report_key(source.name, source.sha256, sub)
        store.put_bytes(key, report, REPORT_TYPE)
        wrote_s3(layout.uri(key), rows=len(problems), size=len(report))
        return layout.uri(key)
    key = layout.report_key(source.name, source.sha256, sub)
    store.put_bytes(key, report, REPORT_TYPE)
    wrote_s3(layout.uri(key), rows=len(problems), size=len(report))
    rejected = layout.rejected_key(source.name, source.sha256, sub)
    store.move(source.key, rejected, source.etag)
    wrote_s3(layout.uri(rejected))
    log.warning("%s rejected with %d problem(s): %s", source.key, len(problems), layout.uri(key))
    return layout.uri(key)


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


def refused_problems(plan: Plan, outcomes: dict[int, ChunkDocument]) -> list[Problem]:
    total = len(plan.chunks)
    applied = sorted(n for n, doc in outcomes.items() if doc["status"] == "applied")
    refused = sorted(n for n, doc in outcomes.items() if doc["status"] == "refused")
    problems: list[Problem] = []
    for number in refused:
        chunk = plan.chunk(number)
        error = outcomes[number]["error"] or "refused"
        problems += [
            Problem(
                planned.line.row,
                None,
                None,
                f"request {number}/{total} (location {chunk.location_id}): {error}",
            )
            for planned in chunk.lines
        ]
    numbers = ", ".join(
        f"{n} ({outcomes[n]['adjust_number'] or outcomes[n]['adjustment_id']})" for n in applied
    )
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


def finalize_batch(
    s3: S3Client,
    layout: PushLayout,
    ledger: Ledger,
    stored: StoredBatch,
    plan: Plan,
    *,
    run_id: str,
    kind: Literal["done", "declined", "failed"],
    problems: Sequence[Problem] = (),
) -> StoredBatch:
    """Audit every line, then move the file (processed/ when done, else rejected/ + report)."""
    outcomes = ledger.chunk_outcomes()
    rows = audit_rows(
        stored.batch,
        plan,
        outcomes,
        run_id=run_id,
        recorded_at=datetime.now(UTC),
        declined=kind == "declined",
    )
    write_audit(s3, layout, stored.batch, rows)
    source = stored.batch.source
    sub = archive_folder(stored.batch.shop)
    if kind == "done":
        destination = layout.processed_key(source.name, source.sha256, sub)
        LakeStore(s3, layout.root.bucket).move(source.key, destination, source.etag)
        wrote_s3(layout.uri(destination))
        return ledger.save(stored, stored.batch.finish(run_id))
    if kind == "failed":
        problems = [*problems, *refused_problems(plan, outcomes)]
    reject_file(s3, layout, source, problems, dry_run=False, sub=sub)
    return stored

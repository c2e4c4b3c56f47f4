"""Where the set-adjustment pushes stand, read from their staging folders and ledger.

Pending files wait in `approved/`; `processed/` and `rejected/` hold what was handled (a
rejected file with its report). Each batch in the ledger shows its plan (current → new stock,
per location and the largest changes), its requests (chunks) with the adjustment numbers
Haravan created, and what failed. Dry runs show the summary of the plan they wrote, or the
report of why the file would be rejected. Paths come from the push package's `PushLayout`.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.layout import (
    APPROVED,
    DRY_RUN,
    PROCESSED,
    REJECTED,
    REPORT_SUFFIX,
    PushLayout,
)
from include.inventory_lake.push.plan_store import read_plan
from include.inventory_lake.schemas.push import BatchDocument, ChunkDocument
from include.inventory_lake.settings import SET_ADJUSTMENTS_STAGING_PATH
from include.inventory_lake.ui.s3_reads import (
    StoredObject,
    list_objects,
    parallel_map,
    read_bytes,
    read_json,
)

BATCH_FILE = "batch.json"
SUMMARY_FILE = "summary.json"
PLAN_FILE = "plan.parquet"
FILE_LIMIT = 50
BATCH_LIMIT = 10
REPORT_ROWS = 100
PLAN_LINES = 20
SHA_PREFIX_LENGTH = 12
FAILED_STATUSES = frozenset({"failed", "rejected", "declined"})


@dataclass(frozen=True)
class StagedFile:
    key: str
    stored_name: str
    size: int | None
    modified: datetime | None

    @property
    def name(self) -> str:
        """The name it was uploaded with (archived files carry `<sha12>_` in front)."""
        head, underscore, rest = self.stored_name.partition("_")
        if underscore and len(head) == SHA_PREFIX_LENGTH and _is_hex(head):
            return rest
        return self.stored_name


@dataclass(frozen=True)
class ReportRow:
    row: str
    column: str
    value: str
    problem: str


@dataclass(frozen=True)
class RejectedFile:
    file: StagedFile
    report_key: str | None
    report: tuple[ReportRow, ...]
    report_rows: int

    @property
    def key(self) -> str:
        return self.file.key


@dataclass(frozen=True)
class ChunkOutcome:
    chunk: int
    status: str
    adjustment_id: int | None
    adjust_number: str | None
    error: str | None
    at: str
    found_by: str | None


@dataclass(frozen=True)
class LocationTotals:
    location_id: int
    lines: int
    current: int
    new: int

    @property
    def delta(self) -> int:
        return self.new - self.current


@dataclass(frozen=True)
class PlanLine:
    chunk: int
    location_id: int
    product_variant_id: int
    sku: str | None
    current: int
    new: int
    flags: tuple[str, ...]

    @property
    def delta(self) -> int:
        return self.new - self.current


@dataclass(frozen=True)
class PlanView:
    lines: int
    locations: tuple[LocationTotals, ...]
    largest: tuple[PlanLine, ...]


@dataclass(frozen=True)
class BatchView:
    doc: BatchDocument
    outcomes: tuple[ChunkOutcome, ...]
    plan: PlanView | None

    @property
    def batch_id(self) -> str:
        return self.doc["batch_id"]

    @property
    def status(self) -> str:
        return self.doc["status"]

    @property
    def waiting_for_approval(self) -> bool:
        return self.status == "planned" and self.doc["needs_approval"] and not self.doc["approval"]

    @property
    def adjust_numbers(self) -> list[str]:
        return [o.adjust_number for o in self.outcomes if o.adjust_number]

    @property
    def last_event(self) -> str | None:
        events = self.doc["events"]
        return f"{events[-1]['status']}: {events[-1]['detail']}" if events else None

    @property
    def failures(self) -> list[str]:
        total = self.doc["chunks"]
        found = [
            f"request {o.chunk}/{total} refused: {o.error or 'no reason given'}"
            for o in self.outcomes
            if o.status != "applied"
        ]
        if self.status in FAILED_STATUSES:
            events = self.doc["events"]
            detail = events[-1]["detail"] if events else "no detail recorded"
            found.append(f"batch {self.status}: {detail}")
            unsent = total - len(self.outcomes)
            if unsent > 0:
                found.append(f"{unsent} of {total} requests not sent")
        return found


@dataclass(frozen=True)
class DryRunView:
    """A dry run's plan summary (`push.summary.summarise`, plus `pushed_before_as`)."""

    batch_id: str
    summary: dict[str, Any]
    modified: datetime | None


@dataclass(frozen=True)
class PushOverview:
    staging_uri: str
    pending: tuple[StagedFile, ...]
    processed: tuple[StagedFile, ...]
    rejected: tuple[RejectedFile, ...]
    batches: tuple[BatchView, ...]
    dry_runs: tuple[DryRunView, ...]
    dry_run_rejections: tuple[RejectedFile, ...]
    counts: dict[str, int]


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdef" for char in text)


def _newest_first(objects: list[StoredObject]) -> list[StoredObject]:
    return sorted(objects, key=lambda obj: (obj.modified, obj.key), reverse=True)


def _staged(obj: StoredObject) -> StagedFile:
    return StagedFile(obj.key, obj.key.rsplit("/", 1)[-1], obj.size, obj.modified)


def _folder(s3: Any, layout: PushLayout, folder: str) -> list[StoredObject]:
    """Files directly in a staging folder (not in its sub-folders: those are never pushed)."""
    prefix = layout.root.key(SET_ADJUSTMENTS_STAGING_PATH, folder) + "/"
    return [
        obj
        for obj in list_objects(s3, layout.root.bucket, prefix)
        if "/" not in obj.key[len(prefix) :]
    ]


def parse_report(body: bytes, limit: int = REPORT_ROWS) -> tuple[tuple[ReportRow, ...], int]:
    """The first `limit` rows of a rejection report, and how many it has."""
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    rows: list[ReportRow] = []
    total = 0
    for record in reader:
        total += 1
        if len(rows) < limit:
            rows.append(
                ReportRow(
                    *(record.get(column) or "" for column in ("row", "column", "value", "problem"))
                )
            )
    return tuple(rows), total


def _rejected(s3: Any, layout: PushLayout, limit: int) -> tuple[list[RejectedFile], int]:
    objects = _folder(s3, layout, REJECTED)
    reports = {obj.key: obj for obj in objects if obj.key.endswith(REPORT_SUFFIX)}
    files = {obj.key: obj for obj in objects if not obj.key.endswith(REPORT_SUFFIX)}
    # A report whose file is gone still says why something was refused: keep it.
    for report_key in reports:
        files.setdefault(report_key[: -len(REPORT_SUFFIX)], reports[report_key])
    newest = _newest_first(list(files.values()))[:limit]
    report_keys = set(reports)
    return parallel_map(lambda obj: _with_report(s3, layout, obj, report_keys), newest), len(files)


def _with_report(s3: Any, layout: PushLayout, obj: StoredObject, reports: set[str]) -> RejectedFile:
    """A refused file (or its report alone, when the file is gone) with the report's rows."""
    file_key = obj.key.removesuffix(REPORT_SUFFIX)
    report_key = file_key + REPORT_SUFFIX
    staged = (
        _staged(obj)
        if file_key == obj.key
        else StagedFile(file_key, file_key.rsplit("/", 1)[-1], None, obj.modified)
    )
    body = read_bytes(s3, layout.root.bucket, report_key) if report_key in reports else None
    if body is None:
        return RejectedFile(staged, None, (), 0)
    rows, total = parse_report(body)
    return RejectedFile(staged, report_key, rows, total)


def _dry_runs(
    s3: Any, layout: PushLayout, limit: int
) -> tuple[list[DryRunView], list[RejectedFile], int, int]:
    """The newest dry-run plans and dry-run rejection reports, and how many of each exist."""
    bucket = layout.root.bucket
    prefix = layout.root.key(SET_ADJUSTMENTS_STAGING_PATH, DRY_RUN) + "/"
    objects = list(list_objects(s3, bucket, prefix))
    summaries = _newest_first([obj for obj in objects if obj.key.endswith("/" + SUMMARY_FILE)])
    reports = _newest_first(
        [
            obj
            for obj in objects
            if obj.key.endswith(REPORT_SUFFIX) and "/" not in obj.key[len(prefix) :]
        ]
    )
    shown = summaries[:limit]
    docs = parallel_map(lambda obj: read_json(s3, bucket, obj.key), shown)
    views = [
        DryRunView(obj.key.split("/")[-2], cast(dict[str, Any], doc), obj.modified)
        for obj, doc in zip(shown, docs, strict=True)
        if doc is not None
    ]
    report_keys = {obj.key for obj in reports}
    rejections = parallel_map(
        lambda obj: _with_report(s3, layout, obj, report_keys), reports[:limit]
    )
    return views, rejections, len(summaries), len(reports)


def plan_view(s3: Any, layout: PushLayout, batch_id: str, lines: int = PLAN_LINES) -> PlanView:
    plan = read_plan(s3, layout, batch_id)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for planned in plan.lines:
        entry = totals[planned.line.location_id]
        entry[0] += 1
        entry[1] += planned.current
        entry[2] += planned.line.quantity
    largest = sorted(plan.lines, key=lambda p: (-abs(p.delta), p.chunk, p.line.row))[:lines]
    return PlanView(
        lines=len(plan.lines),
        locations=tuple(
            LocationTotals(location, *values) for location, values in sorted(totals.items())
        ),
        largest=tuple(
            PlanLine(
                p.chunk,
                p.line.location_id,
                p.line.product_variant_id,
                p.line.sku,
                p.current,
                p.line.quantity,
                p.flags,
            )
            for p in largest
        ),
    )


def _outcome(doc: ChunkDocument) -> ChunkOutcome:
    return ChunkOutcome(
        chunk=doc["chunk"],
        status=doc["status"],
        adjustment_id=doc.get("adjustment_id"),
        adjust_number=doc.get("adjust_number"),
        error=doc.get("error"),
        at=doc["at"],
        found_by=doc.get("found_by"),
    )


def _batches(s3: Any, layout: PushLayout, limit: int) -> tuple[list[BatchView], int]:
    bucket, ledger = layout.root.bucket, layout.ledger_prefix()
    keys_by_batch: dict[str, list[StoredObject]] = defaultdict(list)
    for obj in list_objects(s3, bucket, ledger):
        keys_by_batch[obj.key[len(ledger) :].split("/", 1)[0]].append(obj)
    documents = {
        batch_id: obj
        for batch_id, objects in keys_by_batch.items()
        for obj in objects
        if obj.key == layout.batch_key(batch_id)
    }
    newest = [obj.key.split("/")[-2] for obj in _newest_first(list(documents.values()))][:limit]
    docs = parallel_map(lambda batch_id: read_json(s3, bucket, layout.batch_key(batch_id)), newest)
    chunk_keys = [
        (batch_id, obj.key)
        for batch_id in newest
        for obj in keys_by_batch[batch_id]
        if obj.key.startswith(layout.chunks_prefix(batch_id))
    ]
    chunk_docs = parallel_map(lambda item: read_json(s3, bucket, item[1]), chunk_keys)
    outcomes: dict[str, list[ChunkOutcome]] = defaultdict(list)
    for (batch_id, _), chunk_doc in zip(chunk_keys, chunk_docs, strict=True):
        if chunk_doc is not None:
            outcomes[batch_id].append(_outcome(cast(ChunkDocument, chunk_doc)))
    with_plan = {
        batch_id
        for batch_id in newest
        if any(
            obj.key == layout.plan_key(batch_id, dry_run=False, ext="parquet")
            for obj in keys_by_batch[batch_id]
        )
    }
    plans = parallel_map(
        lambda batch_id: plan_view(s3, layout, batch_id) if batch_id in with_plan else None,
        newest,
    )
    views = [
        BatchView(
            cast(BatchDocument, doc),
            tuple(sorted(outcomes[batch_id], key=lambda o: o.chunk)),
            plan,
        )
        for batch_id, doc, plan in zip(newest, docs, plans, strict=True)
        if doc is not None
    ]
    return views, len(documents)


def push_overview(
    s3: Any, root: LakeRoot, *, file_limit: int = FILE_LIMIT, batch_limit: int = BATCH_LIMIT
) -> PushOverview:
    layout = PushLayout(root)
    pending = _newest_first(_folder(s3, layout, APPROVED))
    processed = _newest_first(_folder(s3, layout, PROCESSED))
    rejected, rejected_total = _rejected(s3, layout, file_limit)
    batches, batches_total = _batches(s3, layout, batch_limit)
    dry_runs, dry_run_rejections, dry_runs_total, dry_run_rejections_total = _dry_runs(
        s3, layout, batch_limit
    )
    return PushOverview(
        staging_uri=root.uri(SET_ADJUSTMENTS_STAGING_PATH) + "/",
        pending=tuple(_staged(obj) for obj in pending[:file_limit]),
        processed=tuple(_staged(obj) for obj in processed[:file_limit]),
        rejected=tuple(rejected),
        batches=tuple(batches),
        dry_runs=tuple(dry_runs),
        dry_run_rejections=tuple(dry_run_rejections),
        counts={
            "pending": len(pending),
            "processed": len(processed),
            "rejected": rejected_total,
            "batches": batches_total,
            "dry_runs": dry_runs_total,
            "dry_run_rejections": dry_run_rejections_total,
        },
    )

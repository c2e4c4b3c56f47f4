"""Where the set-adjustment pushes stand, read from their staging folders and ledger.

Pending files wait in `approved/`; `processed/` and `rejected/` hold what was handled (a
rejected file with its report), each directly in the folder or in a shop's `shop=<id>/`
sub-folder (whose shop the page names). Each batch in the ledger shows its shop and its plan
(current → new stock, per location and the largest changes), its requests (chunks) with the
adjustment numbers Haravan created, and what failed. Dry runs show the summary of the plan they
wrote, or the report of why the file would be rejected. Paths come from the push package's
`PushLayout`.

One object that cannot be read (not UTF-8, not JSON, not the expected document, deleted after
its folder was listed) never stops the page: its entry says "could not be read: <reason>"
and everything else is shown.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from include.inventory_lake.lake.store import StoredObject
from include.inventory_lake.push.layout import (
    APPROVED,
    DRY_RUN,
    LEDGER,
    PROCESSED,
    REJECTED,
    REPORT_SUFFIX,
    PushLake,
    PushLayout,
    file_name,
    uploaded_name,
)
from include.inventory_lake.push.ledger import Ledger
from include.inventory_lake.push.lifecycle import Batch
from include.inventory_lake.push.plan_store import read_plan
from include.inventory_lake.push.report import REPORT_COLUMNS
from include.inventory_lake.push.summary import largest_changes, totals_by_location
from include.inventory_lake.schemas.documents import Fields, checked
from include.inventory_lake.schemas.push import RequestDocument
from include.inventory_lake.ui.parallel_reads import parallel_map
from include.inventory_lake.ui.unreadable import GONE, NotUsable, unreadable_reason

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)
T = TypeVar("T")

FILE_LIMIT = 50
BATCH_LIMIT = 10
REPORT_ROWS = 100
PLAN_LINES = 20
# What the page shows of each document, with the JSON types it formats them as; a document
# without one of them is shown as unreadable (summary fields may be missing: they have defaults).
SUMMARY_FIELDS: Fields = {
    "lines": int, "requests": int, "locations": int, "changed_lines": int, "units_added": int,
    "units_removed": int, "guard_reasons": list, "largest_changes": list,
}  # fmt: skip
CHANGE_FIELDS: Fields = {
    "row": object, "location_id": object, "product_variant_id": object, "sku": object,
    "current": int, "new": int, "delta": int,
}  # fmt: skip


@dataclass(frozen=True)
class Unreadable:
    key: str
    reason: str

    @property
    def name(self) -> str:
        return file_name(self.key)

    @property
    def note(self) -> str:
        return f"could not be read: {self.reason}"


@dataclass(frozen=True)
class ListedStagingFile:
    key: str
    stored_name: str
    size: int | None
    modified: datetime | None
    # The shop whose `shop=<id>/` sub-folder holds it; None directly in the folder.
    shop: str | None = None

    @property
    def name(self) -> str:
        """The name it was uploaded with (archived files carry `<sha12>_` in front)."""
        return uploaded_name(self.stored_name)


@dataclass(frozen=True)
class ReportRow:
    row: str
    column: str
    value: str
    problem: str


@dataclass(frozen=True)
class RejectedFile:
    """A refused file and the first rows of its report; when the report could not be read,
    its one row says so (and `report_rows` is 0)."""

    file: ListedStagingFile
    report_key: str | None
    report: tuple[ReportRow, ...]
    report_rows: int

    @property
    def key(self) -> str:
        return self.file.key


@dataclass(frozen=True)
class RequestOutcome:
    request: int
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
    request: int
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
    """A batch as the ledger holds it (the push's own `Batch`), with what the page adds."""

    batch: Batch
    outcomes: tuple[RequestOutcome, ...]
    plan: PlanView | None
    unreadable: tuple[Unreadable, ...] = ()  # its request outcomes or plan

    @property
    def batch_id(self) -> str:
        return self.batch.batch_id

    @property
    def status(self) -> str:
        return self.batch.status

    @property
    def waiting_for_approval(self) -> bool:
        return self.batch.waiting_for_approval

    @property
    def adjust_numbers(self) -> list[str]:
        return [o.adjust_number for o in self.outcomes if o.adjust_number]

    @property
    def last_event(self) -> str | None:
        event = self.batch.last_event
        return f"{event.status}: {event.detail}" if event else None

    @property
    def failures(self) -> list[str]:
        total = self.batch.requests
        found = [
            f"request {o.request}/{total} refused: {o.error or 'no reason given'}"
            for o in self.outcomes
            if o.status != "applied"
        ]
        if self.batch.is_finished and not self.batch.is_done:
            event = self.batch.last_event
            found.append(f"batch {self.status}: {event.detail if event else 'no detail recorded'}")
            unsent = total - len(self.outcomes)
            if unsent > 0:
                found.append(f"{unsent} of {total} requests not sent")
        return found + [f"{u.name} {u.note}" for u in self.unreadable]


@dataclass(frozen=True)
class DryRunView:
    """A dry run's plan summary (`push.summary.summarise`, plus `pushed_before_as`)."""

    batch_id: str
    summary: dict[str, Any]
    modified: datetime | None


@dataclass(frozen=True)
class PushOverview:
    staging_uri: str
    pending: tuple[ListedStagingFile, ...]
    processed: tuple[ListedStagingFile, ...]
    rejected: tuple[RejectedFile, ...]
    batches: tuple[BatchView, ...]
    dry_runs: tuple[DryRunView, ...]
    dry_run_rejections: tuple[RejectedFile, ...]
    counts: dict[str, int]
    # Batch documents and dry-run summaries that could not be read (so not in `batches` or
    # `dry_runs`).
    unreadable: tuple[Unreadable, ...] = ()


def _newest_first(objects: list[StoredObject]) -> list[StoredObject]:
    return sorted(objects, key=lambda obj: (obj.modified, obj.key), reverse=True)


def _shop_in(layout: PushLayout, key: str) -> str | None:
    """The shop whose `shop=<id>/` sub-folder of a staging folder holds `key`, if any."""
    for folder in (APPROVED, PROCESSED, REJECTED, DRY_RUN):
        found = layout.shop_file_in(folder, key)
        if found is not None:
            return found[0]
    return None


def _staged(layout: PushLayout, obj: StoredObject) -> ListedStagingFile:
    shop = _shop_in(layout, obj.key)
    return ListedStagingFile(obj.key, file_name(obj.key), obj.size, obj.modified, shop)


def _folder(store: PushLake, layout: PushLayout, folder: str) -> list[StoredObject]:
    """Files directly in a staging folder or in one of its `shop=<id>/` sub-folders (not in
    other sub-folders: those are never pushed)."""
    return [
        obj
        for obj in store.list_objects(layout.folder_prefix(folder))
        if layout.shop_file_in(folder, obj.key) is not None
    ]


def _attempt(key: str, read: Callable[[], T]) -> T | Unreadable:
    """`read()`, or why the object at `key` could not be read."""
    try:
        return read()
    except Exception as error:  # whatever one object holds, the rest of the page is shown
        log.warning("the Inventory lake page could not read %s", key, exc_info=True)
        return Unreadable(key, unreadable_reason(error))


def _body(store: PushLake, key: str) -> bytes:
    body = store.read_bytes(key)
    if body is None:
        raise NotUsable(GONE)
    return body


def _json(store: PushLake, key: str) -> Any:
    return json.loads(_body(store, key))


def parse_report(body: bytes, limit: int = REPORT_ROWS) -> tuple[tuple[ReportRow, ...], int]:
    """The first `limit` rows of a rejection report, and how many it has."""
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    if not set(REPORT_COLUMNS) <= set(reader.fieldnames or ()):
        raise NotUsable(f"not a rejection report (no {', '.join(REPORT_COLUMNS)} header)")
    rows: list[ReportRow] = []
    total = 0
    for record in reader:
        total += 1
        if len(rows) < limit:
            rows.append(ReportRow(*(record.get(column) or "" for column in REPORT_COLUMNS)))
    return tuple(rows), total


@dataclass(frozen=True)
class _Refusal:
    """A refused file's key, with what is listed of it: the file (None when only its report is
    left) and its report (None when it has none)."""

    file_key: str
    file: StoredObject | None
    report: StoredObject | None

    @property
    def listed(self) -> StoredObject:
        listed = self.file or self.report
        assert listed is not None, "a refusal is listed by its file, its report or both"
        return listed


def _refusals(objects: Iterable[StoredObject]) -> list[_Refusal]:
    """The files in `rejected/` and their reports, though an upload may itself be called
    `*.report.csv`. Every refused file gets its report before it is moved here, so a key with a
    `.report.csv` beside it is a file; a key ending in `.report.csv` without one is the report
    of the key without that ending, shown on its own when that file is gone."""
    by_key = {obj.key: obj for obj in objects}
    reports = {
        key: obj
        for key, obj in by_key.items()
        if key.endswith(REPORT_SUFFIX) and key + REPORT_SUFFIX not in by_key
    }
    files = [
        _Refusal(key, obj, reports.get(key + REPORT_SUFFIX))
        for key, obj in by_key.items()
        if key not in reports
    ]
    alone = [
        _Refusal(file_key, None, obj)
        for key, obj in reports.items()
        if (file_key := key.removesuffix(REPORT_SUFFIX)) not in by_key
    ]
    return files + alone


def _newest_refusals(refusals: list[_Refusal]) -> list[_Refusal]:
    return sorted(refusals, key=lambda r: (r.listed.modified, r.listed.key), reverse=True)


def _rejected_file(store: PushLake, layout: PushLayout, refusal: _Refusal) -> RejectedFile:
    """A refused file (or its report alone, when the file is gone) with the report's rows."""
    staged = (
        _staged(layout, refusal.file)
        if refusal.file
        else ListedStagingFile(
            refusal.file_key,
            file_name(refusal.file_key),
            None,
            refusal.listed.modified,
            _shop_in(layout, refusal.file_key),
        )
    )
    if refusal.report is None:
        return RejectedFile(staged, None, (), 0)
    key = refusal.report.key
    read = _attempt(key, lambda: parse_report(_body(store, key)))
    if isinstance(read, Unreadable):
        return RejectedFile(staged, key, (ReportRow("", "", "", f"the report {read.note}"),), 0)
    return RejectedFile(staged, key, *read)


def _rejected(store: PushLake, layout: PushLayout, limit: int) -> tuple[list[RejectedFile], int]:
    refusals = _refusals(_folder(store, layout, REJECTED))
    shown = _newest_refusals(refusals)[:limit]
    return parallel_map(lambda r: _rejected_file(store, layout, r), shown), len(refusals)


def _dry_run_summary(store: PushLake, batch_id: str, obj: StoredObject) -> DryRunView | Unreadable:
    def read() -> DryRunView:
        summary = checked(_json(store, obj.key), SUMMARY_FIELDS, "it", all_needed=False)
        for change in summary.get("largest_changes", []):
            checked(change, CHANGE_FIELDS, "a largest change")
        return DryRunView(batch_id, summary, obj.modified)

    return _attempt(obj.key, read)


def _dry_run_plans(
    store: PushLake, layout: PushLayout, objects: list[StoredObject], limit: int
) -> tuple[list[DryRunView], list[Unreadable], int]:
    """The newest dry-run plans, those whose summary could not be read, and how many exist."""
    summaries = [
        (batch_id, obj)
        for obj in objects
        if (batch_id := layout.batch_id_in(DRY_RUN, obj.key))
        and obj.key == layout.dry_run_summary_key(batch_id)
    ]
    summaries.sort(key=lambda s: (s[1].modified, s[1].key), reverse=True)
    reads = parallel_map(lambda s: _dry_run_summary(store, *s), summaries[:limit])
    return (
        [read for read in reads if isinstance(read, DryRunView)],
        [read for read in reads if isinstance(read, Unreadable)],
        len(summaries),
    )


def _dry_run_rejections(
    store: PushLake, layout: PushLayout, objects: list[StoredObject], limit: int
) -> tuple[list[RejectedFile], int]:
    """The newest dry-run rejection reports, and how many exist. Nothing but reports is written
    directly in `dry_run/` (the file a report is about stays in `approved/`)."""
    refusals = [
        _Refusal(obj.key.removesuffix(REPORT_SUFFIX), None, obj)
        for obj in objects
        if obj.key.endswith(REPORT_SUFFIX) and layout.shop_file_in(DRY_RUN, obj.key) is not None
    ]
    shown = _newest_refusals(refusals)[:limit]
    return parallel_map(lambda r: _rejected_file(store, layout, r), shown), len(refusals)


def plan_view(lake: PushLake, batch_id: str, lines: int = PLAN_LINES) -> PlanView:
    """The stored plan as `push.summary` sums it up: totals per location, largest changes."""
    plan = read_plan(lake, batch_id)
    largest = largest_changes(plan, lines)
    return PlanView(
        lines=len(plan.lines),
        locations=tuple(
            LocationTotals(location, t["lines"], t["current"], t["new"])
            for location, t in totals_by_location(plan).items()
        ),
        largest=tuple(
            PlanLine(
                p.request,
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


def _outcome(doc: RequestDocument) -> RequestOutcome:
    return RequestOutcome(
        request=doc["chunk"],
        status=doc["status"],
        adjustment_id=doc.get("adjustment_id"),
        adjust_number=doc.get("adjust_number"),
        error=doc.get("error"),
        at=doc["at"],
        found_by=doc.get("found_by"),
    )


def _batch_document(store: PushLake, batch_id: str) -> Batch | Unreadable:
    def read() -> Batch:
        stored = Ledger(store, batch_id).read()
        if stored is None:
            raise NotUsable(GONE)
        return stored.batch

    return _attempt(store.layout.batch_key(batch_id), read)


def _request_outcome(store: PushLake, batch_id: str, key: str) -> RequestOutcome | Unreadable:
    def read() -> RequestOutcome:
        doc = Ledger(store, batch_id).request_outcome(key)
        if doc is None:
            raise NotUsable(GONE)
        return _outcome(doc)

    return _attempt(key, read)


def _plan(store: PushLake, batch_id: str, listed: set[str]) -> PlanView | Unreadable | None:
    key = store.layout.plan_key(batch_id, dry_run=False, ext="parquet")
    return _attempt(key, lambda: plan_view(store, batch_id)) if key in listed else None


def _batch_view(
    batch: Batch, reads: list[RequestOutcome | Unreadable], plan: PlanView | Unreadable | None
) -> BatchView:
    outcomes = sorted((r for r in reads if isinstance(r, RequestOutcome)), key=lambda o: o.request)
    unreadable = [r for r in [*reads, plan] if isinstance(r, Unreadable)]
    shown_plan = plan if isinstance(plan, PlanView) else None
    return BatchView(batch, tuple(outcomes), shown_plan, tuple(unreadable))


def _batches(
    store: PushLake, layout: PushLayout, limit: int
) -> tuple[list[BatchView], list[Unreadable], int]:
    """The newest batches, those whose document could not be read, and how many there are."""
    keys_by_batch: dict[str, set[str]] = defaultdict(set)
    documents: list[tuple[str, StoredObject]] = []
    for obj in store.list_objects(layout.ledger_prefix()):
        batch_id = layout.batch_id_in(LEDGER, obj.key)
        if batch_id is None:
            continue
        keys_by_batch[batch_id].add(obj.key)
        if obj.key == layout.batch_key(batch_id):
            documents.append((batch_id, obj))
    by_age = sorted(documents, key=lambda d: (d[1].modified, d[1].key), reverse=True)
    newest = [batch_id for batch_id, _ in by_age[:limit]]
    docs = parallel_map(lambda batch_id: _batch_document(store, batch_id), newest)
    readable = [(b, doc) for b, doc in zip(newest, docs, strict=True) if isinstance(doc, Batch)]
    request_keys = [
        (batch_id, key)
        for batch_id, _ in readable
        for key in sorted(keys_by_batch[batch_id])
        if key.startswith(layout.requests_prefix(batch_id))
    ]
    request_reads = parallel_map(lambda item: _request_outcome(store, *item), request_keys)
    reads_by_batch: dict[str, list[RequestOutcome | Unreadable]] = defaultdict(list)
    for (batch_id, _), read in zip(request_keys, request_reads, strict=True):
        reads_by_batch[batch_id].append(read)
    plans = parallel_map(lambda item: _plan(store, item[0], keys_by_batch[item[0]]), readable)
    views = [
        _batch_view(doc, reads_by_batch[batch_id], plan)
        for (batch_id, doc), plan in zip(readable, plans, strict=True)
    ]
    return views, [doc for doc in docs if isinstance(doc, Unreadable)], len(documents)


def push_overview(
    store: PushLake, *, file_limit: int = FILE_LIMIT, batch_limit: int = BATCH_LIMIT
) -> PushOverview:
    layout = store.layout
    pending = _newest_first(_folder(store, layout, APPROVED))
    processed = _newest_first(_folder(store, layout, PROCESSED))
    rejected, rejected_total = _rejected(store, layout, file_limit)
    batches, unreadable_batches, batches_total = _batches(store, layout, batch_limit)
    dry_run_objects = list(store.list_objects(layout.folder_prefix(DRY_RUN)))
    dry_runs, unreadable_dry_runs, dry_runs_total = _dry_run_plans(
        store, layout, dry_run_objects, batch_limit
    )
    dry_run_rejections, dry_run_rejections_total = _dry_run_rejections(
        store, layout, dry_run_objects, batch_limit
    )
    return PushOverview(
        staging_uri=layout.uri(layout.staging_prefix),
        pending=tuple(_staged(layout, obj) for obj in pending[:file_limit]),
        processed=tuple(_staged(layout, obj) for obj in processed[:file_limit]),
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
        unreadable=(*unreadable_batches, *unreadable_dry_runs),
    )

"""Lake content for the UI tests, written with the pipeline's own writers: partitions with
markers (PartitionWriter) under a shop's folder (`shop=default` unless a test names another),
facts rows in the facts schema, and push batches, plans, chunk outcomes, audits, rejection
reports and dry runs through the push package."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.partition_writer import CommittedPartition, PartitionWriter
from include.inventory_lake.lake.store import LakeStore
from include.inventory_lake.push.audit import audit_rows, write_audit
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.ledger import Ledger
from include.inventory_lake.push.lifecycle import Batch, SourceFile, now_iso
from include.inventory_lake.push.plan_store import write_plan
from include.inventory_lake.push.planning import GuardLimits, Plan, build_plan
from include.inventory_lake.push.report import rejection_report
from include.inventory_lake.push.sending import applied_outcome, refused_outcome
from include.inventory_lake.push.summary import summarise
from include.inventory_lake.push.validation import Problem, SetLine
from include.inventory_lake.schemas.facts import LINES
from include.inventory_lake.schemas.push import RequestDocument
from include.inventory_lake.shops import DEFAULT_SHOP_ID

IDS = pa.schema([pa.field("id", pa.int64(), nullable=False)])
LIMITS = GuardLimits(
    max_line_delta=500, max_relative_change=0.5, relative_min_delta=10, max_lines=5000
)


def write_partition(
    s3: Any,
    root: LakeRoot,
    dataset: str,
    day: date,
    rows: int,
    run_id: str,
    shop: str = DEFAULT_SHOP_ID,
) -> CommittedPartition:
    partition = Partition(root, dataset, shop, day)
    with PartitionWriter(Lake(s3, root), partition, IDS, run_id) as writer:
        if rows:
            writer.write(pa.RecordBatch.from_pylist([{"id": i} for i in range(rows)], schema=IDS))
        return writer.commit()


def fact_line(source: str, location_id: int | None, quantity: int, line_id: int) -> dict[str, Any]:
    return {
        "source": source,
        "line_key": f"{source}:{line_id}",
        "line_id": line_id,
        "location_id": location_id,
        "quantity": quantity,
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
        "adjustment_missing": False,
    }


def write_facts(
    s3: Any,
    root: LakeRoot,
    day: date,
    lines: Sequence[dict[str, Any]],
    run_id: str = "facts-run",
    shop: str = DEFAULT_SHOP_ID,
) -> CommittedPartition:
    """A shop's facts partition; every line gets the shop in its `shop` column."""
    from include.inventory_lake.settings import FACTS_LINES_PATH

    partition = Partition(root, FACTS_LINES_PATH, shop, day)
    rows = [{"shop": shop, **line} for line in lines]
    with PartitionWriter(Lake(s3, partition.root), partition, LINES, run_id) as writer:
        if rows:
            writer.write(pa.RecordBatch.from_pylist(rows, schema=LINES))
        return writer.commit()


def set_line(row: int, location_id: int, variant_id: int, quantity: int, sku: str) -> SetLine:
    return SetLine(
        row=row,
        location_id=location_id,
        product_id=variant_id // 10,
        product_variant_id=variant_id,
        quantity=quantity,
        reason="shrinkage",
        note=None,
        sku=sku,
        barcode=None,
    )


def push_batch(
    s3: Any,
    root: LakeRoot,
    batch_id: str,
    lines: Sequence[SetLine],
    on_hand: Mapping[tuple[int, int], int],
    *,
    refused: Mapping[int, str] = {},
    lines_per_request: int = 2,
    status: str = "done",
    run_id: str = "manual__push",
) -> Plan:
    """A batch as the push leaves it: claimed, planned (approved when the guard asks), requests
    answered (until the first refused one: then it failed), audited. `status="planned"` stops
    before anything is sent."""
    layout = PushLayout(root)
    ledger = Ledger(PushLake(s3, layout.root), batch_id)
    name = f"{batch_id}.csv"
    source = SourceFile(
        layout.approved_prefix + name, name, "etag", hashlib.sha256(batch_id.encode()).hexdigest()
    )
    batch = Batch.claim(
        batch_id=batch_id, content_sha256="c" * 64, forced=False, source=source, run_id=run_id,
        lines=len(lines), lines_per_request=lines_per_request,
    )  # fmt: skip
    stored = ledger.create(batch)
    plan = build_plan(batch_id, lines, on_hand, lines_per_request=lines_per_request, limits=LIMITS)
    write_plan(PushLake(s3, layout.root), plan, dry_run=False)
    batch = batch.plan(
        run_id, lines=len(lines), requests=len(plan.requests), lines_per_request=lines_per_request,
        needs_approval=plan.needs_approval, guard_reasons=plan.guard_reasons,
    )  # fmt: skip
    stored = ledger.save(stored, batch)
    if status == "planned":
        return plan
    if batch.needs_approval:
        batch = batch.approve(run_id, by="tester", at=now_iso())
    batch = batch.start_sending(run_id, attempt=f"{run_id}/try-1", watermark=0)
    outcomes: dict[int, RequestDocument] = {}
    for request in plan.requests:
        if request.number in refused:
            error = refused[request.number]
            outcomes[request.number] = refused_outcome(
                batch_id, request.number, error, run_id=run_id
            )
            ledger.write_request_outcome(outcomes[request.number])
            batch = batch.refuse(run_id, request=request.number, error=error)
            break
        record = {
            "id": 5000 + request.number,
            "adjust_number": f"IA{900000 + request.number}",
            "line_items": [
                {"product_variant_id": p.line.product_variant_id, "quantity": p.delta}
                for p in request.lines
            ],
        }
        outcomes[request.number] = applied_outcome(
            batch_id, request.number, record, run_id=run_id, found_by="response"
        )
        ledger.write_request_outcome(outcomes[request.number])
    else:
        batch = batch.all_sent(run_id).finish(run_id)
    assert batch.status == status, f"batch {batch_id} ended {batch.status}, not {status}"
    ledger.save(stored, batch)
    rows = audit_rows(batch, plan, outcomes, run_id=run_id, recorded_at=datetime.now(UTC))
    write_audit(PushLake(s3, layout.root), batch, rows)
    return plan


def reject_file(
    s3: Any, root: LakeRoot, name: str, body: bytes, problems: Sequence[Problem]
) -> tuple[str, str]:
    """A refused file and its report, where the push puts them; (file key, report key)."""
    layout = PushLayout(root)
    sha = hashlib.sha256(body).hexdigest()
    file_key, report_key = layout.rejected_key(name, sha), layout.report_key(name, sha)
    LakeStore(s3, root.bucket).put_bytes(file_key, body, "text/csv")
    LakeStore(s3, root.bucket).put_bytes(report_key, rejection_report(problems), "text/csv")
    return file_key, report_key


def dry_run(
    s3: Any,
    root: LakeRoot,
    batch_id: str,
    file_name: str,
    lines: Sequence[SetLine],
    on_hand: Mapping[tuple[int, int], int],
    *,
    pushed_before_as: str | None = None,
) -> Plan:
    """What a dry run leaves: its plan and the plan's summary under `dry_run/<batch_id>/`."""
    layout = PushLayout(root)
    plan = build_plan(batch_id, lines, on_hand, lines_per_request=2, limits=LIMITS)
    _, csv_key = write_plan(PushLake(s3, layout.root), plan, dry_run=True)
    summary = summarise(plan, file_name=file_name, plan_uri=layout.uri(csv_key))
    summary["pushed_before_as"] = pushed_before_as
    body = json.dumps(summary, indent=1).encode()
    LakeStore(s3, root.bucket).put_bytes(
        layout.dry_run_summary_key(batch_id), body, "application/json"
    )
    return plan

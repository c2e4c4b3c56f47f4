"""The audit: one row per line of a batch with what happened to it, as Parquet in the lake.

Each batch writes one file, `audit/set_adjustments/dt=<day the batch was claimed>/
part-<batch_id>.parquet`, in a single PUT: a retry rewrites the same key, so a batch is never
audited twice, and readers see the whole file or none of it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from include.inventory_lake.lineage.recorder import schema_fields
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.push.lifecycle import Batch
from include.inventory_lake.push.planning import Plan
from include.inventory_lake.schemas.push import AUDIT, RequestDocument

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

# What a line no request carried is: not sent after a refusal, or the batch was declined or
# withdrawn before its request went out.
Unsent = Literal["not_sent", "declined", "withdrawn"]


def audit_rows(
    batch: Batch,
    plan: Plan,
    outcomes: Mapping[int, RequestDocument],
    *,
    run_id: str,
    recorded_at: datetime,
    unsent: Unsent = "not_sent",
) -> list[dict[str, Any]]:
    approval = batch.approval
    answered_by = approval.by if approval else None
    answered_at = datetime.fromisoformat(approval.at) if approval and approval.at else None
    rows: list[dict[str, Any]] = []
    for planned in plan.lines:
        line = planned.line
        outcome = outcomes.get(planned.request)
        changes = {pair[0]: pair[1] for pair in outcome["changes"]} if outcome else {}
        status: str = unsent
        error, previous = None, None
        adjustment_id, adjust_number = None, None
        if outcome is not None and outcome["status"] == "applied":
            status = "applied"
            adjustment_id, adjust_number = outcome["adjustment_id"], outcome["adjust_number"]
            change = changes.get(line.product_variant_id)
            if change is None:
                error = "the line is missing from the created adjustment's line items"
            else:
                previous = line.quantity - change
        elif outcome is not None:
            status, error = "refused", outcome["error"]
        rows.append(
            {
                "batch_id": plan.batch_id,
                "shop": batch.shop,
                "file_name": batch.source.name,
                "source_key": batch.source.key,
                "run_id": run_id,
                "chunk": planned.request,
                "location_id": line.location_id,
                "product_id": line.product_id,
                "product_variant_id": line.product_variant_id,
                "sku": line.sku,
                "barcode": line.barcode,
                "reason": line.reason,
                "requested_quantity": line.quantity,
                "planned_previous_quantity": planned.current,
                "previous_quantity": previous,
                "adjustment_id": adjustment_id,
                "adjust_number": adjust_number,
                "status": status,
                "error": error,
                "recorded_at": recorded_at,
                "answered_by": answered_by,
                "answered_at": answered_at,
            }
        )
    return rows


def audit_day(batch: Batch) -> date:
    return datetime.fromisoformat(batch.created_at).date()


def write_audit(lake: PushLake, batch: Batch, rows: list[dict[str, Any]]) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=AUDIT)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    key = lake.layout.audit_key(audit_day(batch), batch.batch_id)
    size = buffer.getbuffer().nbytes
    lake.put_bytes(key, buffer.getvalue(), fields=schema_fields(AUDIT), rows=len(rows), size=size)
    log.info("audit: %d rows to %s", len(rows), lake.uri(key))
    return key

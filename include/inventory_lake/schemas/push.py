"""Bulk set-adjustments: the plan (one row per line to send), the audit (one row per line,
with its outcome) and the ledger documents that make the push exactly once."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

import pyarrow as pa

from include.inventory_lake.schemas.types import ID, QUANTITY, TIMESTAMP

# A "chunk" in a stored name is one Haravan request, and the code calls it a request: the
# `chunk` column of the plan and the audit, the ledger's `chunks/<n>.json` and its `chunk`,
# `chunks`, `chunk_size` and `chunk_claimed` fields keep their names, so that every plan, audit
# and ledger already in a lake reads as before (`push.lifecycle.Batch` maps the batch fields).
PLAN = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("chunk", pa.int32(), nullable=False),
        pa.field("source_row", pa.int32(), nullable=False),
        pa.field("location_id", ID, nullable=False),
        pa.field("product_id", ID, nullable=False),
        pa.field("product_variant_id", ID, nullable=False),
        pa.field("sku", pa.string()),
        pa.field("barcode", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("note", pa.string()),
        pa.field("current_quantity", QUANTITY, nullable=False),
        pa.field("new_quantity", QUANTITY, nullable=False),
        pa.field("delta", QUANTITY, nullable=False),
        pa.field("guard_flags", pa.list_(pa.string()), nullable=False),
    ]
)

AUDIT_STATUSES = ("applied", "refused", "not_sent", "declined", "withdrawn")

AUDIT = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        # The shop the batch was sent to (`default` for a single-shop deployment); audit files
        # written before shops have no such column: they are the `default` shop's.
        pa.field("shop", pa.string(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("source_key", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("chunk", pa.int32(), nullable=False),
        pa.field("location_id", ID, nullable=False),
        pa.field("product_id", ID, nullable=False),
        pa.field("product_variant_id", ID, nullable=False),
        pa.field("sku", pa.string()),
        pa.field("barcode", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("requested_quantity", QUANTITY, nullable=False),
        # On-hand quantity read when the plan was made (what the approver saw) ...
        pa.field("planned_previous_quantity", QUANTITY, nullable=False),
        # ... and the one the adjustment actually replaced: requested minus the applied change.
        pa.field("previous_quantity", QUANTITY),
        pa.field("adjustment_id", ID),
        pa.field("adjust_number", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("recorded_at", TIMESTAMP, nullable=False),
        # Who answered the approval request and when (null when the plan needed none, or
        # nobody answered in time); absent from audit files written before they were kept.
        pa.field("answered_by", pa.string()),
        pa.field("answered_at", TIMESTAMP),
    ]
)

# The ledger is JSON in the lake: ledger/<batch_id>/batch.json and chunks/<n>.json.
LEDGER_FORMAT = 1

BatchStatus = Literal[
    "planning", "planned", "sending", "sent", "done", "declined", "rejected", "failed", "withdrawn"
]
RequestStatus = Literal["applied", "refused"]


class LedgerEvent(TypedDict):
    at: str
    run_id: str
    status: BatchStatus
    detail: str


class BatchDocument(TypedDict):
    """`batch.json`: who owns the batch, where it stands, and what was planned. Read and
    written only through `push.lifecycle.Batch`."""

    format: int
    batch_id: str
    content_sha256: str
    forced: bool
    # The shop the batch is sent to; absent from ledgers written before shops (`default`).
    shop: NotRequired[str]
    source_key: str
    source_name: str
    source_etag: str
    source_sha256: str
    owner_run_id: str
    status: BatchStatus
    created_at: str
    updated_at: str
    lines: int
    chunks: int
    chunk_size: int
    needs_approval: bool
    guard_reasons: list[str]
    approval: dict[str, str | None] | None
    # When the owner run asked a person (absent from ledgers written before it was kept).
    approval_asked_at: NotRequired[str | None]
    watermark_adjustment_id: int | None
    # Since the per-request fence (absent from older ledgers): the attempt that sends, and the
    # request it claimed last.
    sending_attempt: NotRequired[str | None]
    chunk_claimed: NotRequired[int | None]
    events: list[LedgerEvent]


class RequestDocument(TypedDict):
    """`chunks/<n>.json`: one request's outcome, written before the next request is sent."""

    format: int
    batch_id: str
    chunk: int
    status: RequestStatus
    run_id: str
    at: str
    found_by: Literal["response", "lookup"] | None
    adjustment_id: int | None
    adjust_number: str | None
    # [product_variant_id, applied change] for every line of the created adjustment.
    changes: list[list[int]]
    error: str | None
    duplicates: NotRequired[list[int]]

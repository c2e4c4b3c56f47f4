"""Who handles a batch: claim it in the ledger, or learn that someone else does.

A run claims a batch by creating its `batch.json` (conditional: only if none exists). A batch
whose owner run is still queued or running is left alone (e.g. one waiting for approval).
A batch whose owner run has ended is taken over: before anything was sent it is planned afresh;
once something may have been sent it resumes with the stored plan (no new plan, no new
approval), looking up what landed before sending the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from include.inventory_lake.push.ledger import (
    REPLANNABLE,
    Ledger,
    LedgerConflict,
    StoredBatch,
    new_batch_document,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFile:
    key: str
    name: str
    etag: str
    sha256: str


@dataclass(frozen=True)
class Claim:
    outcome: Literal["claimed", "busy", "duplicate"]
    stored: StoredBatch | None
    detail: str


def claim_batch(
    ledger: Ledger,
    source: SourceFile,
    *,
    content_sha256: str,
    forced: bool,
    lines: int,
    chunk_size: int,
    run_id: str,
    run_is_active: Callable[[str], bool],
) -> Claim:
    stored = ledger.read()
    if stored is None:
        doc = new_batch_document(
            batch_id=ledger.batch_id,
            content_sha256=content_sha256,
            forced=forced,
            source_key=source.key,
            source_name=source.name,
            source_etag=source.etag,
            source_sha256=source.sha256,
            owner_run_id=run_id,
            status="planning",
            lines=lines,
            chunks=0,
            chunk_size=chunk_size,
            needs_approval=False,
            guard_reasons=[],
        )
        try:
            return Claim(
                "claimed",
                ledger.create(doc, run_id=run_id, detail=f"claimed for {source.key}"),
                "new",
            )
        except LedgerConflict:
            stored = ledger.read()
            if stored is None:
                raise
    doc = stored.doc
    owner, status = doc["owner_run_id"], doc["status"]
    if owner == run_id and doc["source_key"] == source.key:
        return Claim("claimed", stored, f"already ours ({status})")
    if status == "done":
        return Claim("duplicate", stored, f"batch {ledger.batch_id} was pushed already")
    if owner == run_id:
        return Claim("duplicate", stored, f"{doc['source_key']} in this run has the same content")
    if run_is_active(owner):
        return Claim("busy", stored, f"run {owner} handles batch {ledger.batch_id} ({status})")
    changes: dict[str, object] = {
        "owner_run_id": run_id,
        "source_key": source.key,
        "source_name": source.name,
        "source_etag": source.etag,
        "source_sha256": source.sha256,
    }
    if status in REPLANNABLE:
        changes.update(status="planning", approval=None, chunk_size=chunk_size)
    elif status == "failed":
        changes["status"] = "sending"
    taken = ledger.replace(
        stored, run_id=run_id, detail=f"taken over from run {owner} ({status})", **changes
    )
    log.warning("batch %s taken over from ended run %s (was %s)", ledger.batch_id, owner, status)
    return Claim("claimed", taken, f"taken over from {owner} ({status})")

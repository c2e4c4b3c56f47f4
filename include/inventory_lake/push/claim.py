"""Who handles a batch: claim it in the ledger, or learn that someone else does.

A run claims a batch by creating its `batch.json` (conditional: only if none exists). A batch
whose owner run is still queued or running is left alone (e.g. one waiting for approval), and
so is one whose owner's state cannot be read: only a run known to have ended (or to be deleted)
is ever taken over. Before anything was sent the new owner plans afresh; once something may
have been sent it resumes with the stored plan (no new plan, no new approval), looking up what
landed before sending the rest. Losing a race for a batch (another run claimed or took it over
between our read and our write) means it is busy, not that anything failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from include.inventory_lake.push.batch import content_prefix
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.push.ledger import (
    Ledger,
    LedgerConflict,
    StoredBatch,
    batch_ids_for_content,
)
from include.inventory_lake.push.lifecycle import Batch, SourceFile
from include.inventory_lake.push.validation import Problem
from include.inventory_lake.shops import DEFAULT_SHOP_ID

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

__all__ = [
    "Claim",
    "SourceFile",
    "claim_batch",
    "duplicate_problem",
    "pushed_already",
    "pushed_before",
]


def pushed_already(batch: Batch) -> str:
    """Why a file whose content a done batch already sent is not sent again."""
    return (
        f"this content was pushed already as batch {batch.batch_id} from "
        f"{batch.source.name} (finished {batch.updated_at})"
    )


def pushed_before(lake: PushLake, batch_id: str) -> Batch | None:
    """A finished batch (plain or forced) that sent the same content, if any."""
    for other in batch_ids_for_content(lake, content_prefix(batch_id)):
        stored = Ledger(lake, other).read()
        if stored is not None and stored.batch.is_done:
            return stored.batch
    return None


def duplicate_problem(why: str) -> Problem:
    """The report line of a file refused because its content is, or was, pushed."""
    return Problem(
        None,
        None,
        None,
        f"{why}; nothing was sent from this file. To push it again on purpose, put the file "
        "back in approved/ and trigger the DAG with force=true",
    )


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
    lines_per_request: int,
    run_id: str,
    run_is_active: Callable[[str], bool],
    shop: str = DEFAULT_SHOP_ID,
) -> Claim:
    stored = ledger.read()
    if stored is None:
        new = Batch.claim(
            batch_id=ledger.batch_id, content_sha256=content_sha256, forced=forced,
            source=source, run_id=run_id, lines=lines, lines_per_request=lines_per_request,
            shop=shop,
        )  # fmt: skip
        try:
            return Claim("claimed", ledger.create(new), "new")
        except LedgerConflict:
            stored = ledger.read()
            if stored is None:
                raise
    batch = stored.batch
    if batch.owned_by(run_id) and batch.source.key == source.key:
        return Claim("claimed", stored, f"already ours ({batch.status})")
    if batch.is_done:
        return Claim("duplicate", stored, pushed_already(batch))
    if batch.owned_by(run_id):
        return Claim(
            "duplicate",
            stored,
            f"this content is the same as {batch.source.name} in this run (batch "
            f"{batch.batch_id}, {batch.status}); only that file is pushed",
        )
    owner = batch.owner_run_id
    if run_is_active(owner):
        return Claim("busy", stored, f"run {owner} handles batch {batch.batch_id} ({batch.status})")
    try:
        taken = ledger.save(
            stored, batch.take_over(run_id, source, lines_per_request=lines_per_request)
        )
    except LedgerConflict:
        now = ledger.read()
        holder = now.batch.owner_run_id if now else "another run"
        return Claim("busy", now, f"run {holder} took batch {batch.batch_id} over first")
    log.warning("batch %s taken over from ended run %s (%s)", batch.batch_id, owner, batch.status)
    return Claim("claimed", taken, f"taken over from {owner} ({batch.status})")

"""The push ledger: JSON documents in the lake that make each batch's push exactly once.

`ledger/<batch_id>/batch.json` says who owns the batch (the Airflow run) and where it stands;
every write to it is conditional on the version last read (S3 `If-Match` / `If-None-Match`),
so two runs can never both believe they own a batch: the loser gets `LedgerConflict` and stops.
`ledger/<batch_id>/chunks/<n>.json` holds one request's outcome; it is written before the next
request is sent, so after any crash the ledger knows every request that certainly landed, and
at most one more may have: the one a lookup by note settles.

This module is the one reader of the ledger (the push and the UI page): a document without the
fields the readers use is refused with `DocumentInvalid` saying which. Reading the ledger is
reading state, not an input of the task (`lake.lake`); each write is an output.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from include.inventory_lake.lake.store import WriteConflict
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.push.lifecycle import Batch
from include.inventory_lake.schemas.documents import Fields, checked
from include.inventory_lake.schemas.push import BatchDocument, BatchStatus, RequestDocument

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

BATCH_FIELDS: Fields = {
    "batch_id": str, "status": str, "source_name": str, "source_key": str, "lines": int,
    "chunks": int, "created_at": str, "updated_at": str, "owner_run_id": str,
    "needs_approval": bool, "guard_reasons": list, "approval": (dict, type(None)), "events": list,
}  # fmt: skip
EVENT_FIELDS: Fields = {"status": str, "detail": str}
REQUEST_FIELDS: Fields = {"chunk": int, "status": str, "at": str}


def parse_batch(body: bytes) -> Batch:
    """A stored `batch.json`; DocumentInvalid when it lacks a field its readers use."""
    doc = checked(json.loads(body), BATCH_FIELDS, "it")
    for event in doc["events"]:
        checked(event, EVENT_FIELDS, "an event")
    return Batch.from_document(cast(BatchDocument, doc))


def parse_request_outcome(body: bytes) -> RequestDocument:
    """A stored `chunks/<n>.json`; DocumentInvalid when it lacks a field its readers use."""
    return cast(RequestDocument, checked(json.loads(body), REQUEST_FIELDS, "it"))


class LedgerConflict(RuntimeError):
    """Someone else wrote the batch document since we read it: we no longer own the batch."""


class NotOwned(LedgerConflict):
    """The batch has no ledger, or another run owns it now: this run must not touch it."""


@dataclass(frozen=True)
class StoredBatch:
    """A version of the batch as stored, with the ETag the next conditional write names."""

    batch: Batch
    etag: str

    @property
    def status(self) -> BatchStatus:
        return self.batch.status


class Ledger:
    """Reads and conditionally writes one batch's ledger documents."""

    def __init__(self, lake: PushLake, batch_id: str) -> None:
        self._lake = lake
        self._layout = lake.layout
        self.batch_id = batch_id

    # batch.json

    def read(self) -> StoredBatch | None:
        stored = self._lake.read_state(self._layout.batch_key(self.batch_id))
        if stored is None:
            return None
        return StoredBatch(parse_batch(stored.body), stored.etag)

    def read_owned(self, run_id: str) -> StoredBatch:
        """The batch as stored, if `run_id` still owns it; NotOwned otherwise."""
        stored = self.read()
        if stored is None:
            raise NotOwned(f"batch {self.batch_id} has no ledger: prepare did not claim it")
        if not stored.batch.owned_by(run_id):
            raise NotOwned(f"batch {self.batch_id} is owned by run {stored.batch.owner_run_id} now")
        return stored

    def create(self, batch: Batch) -> StoredBatch:
        """Claim the batch: fails with LedgerConflict if any document exists already."""
        return self._put(batch, if_none_match=True)

    def save(self, stored: StoredBatch, batch: Batch) -> StoredBatch:
        """Write the next version of the batch we read; LedgerConflict if it changed since."""
        if batch.batch_id != self.batch_id:
            raise ValueError(f"batch {batch.batch_id} saved in the ledger of {self.batch_id}")
        return self._put(batch, if_match=stored.etag)

    def _put(
        self, batch: Batch, *, if_match: str | None = None, if_none_match: bool = False
    ) -> StoredBatch:
        event = batch.last_event
        detail = event.detail if event else ""
        try:
            etag = self._lake.put_json(
                self._layout.batch_key(self.batch_id),
                batch.to_document(),
                indent=1,
                if_match=if_match,
                if_none_match=if_none_match,
            )
        except WriteConflict as error:
            raise LedgerConflict(
                f"the ledger of batch {self.batch_id} was changed by someone else "
                f"(wanted: {batch.status}, {detail}); this attempt stops handling it"
            ) from error
        log.info("ledger %s: %s (%s)", self.batch_id, batch.status, detail)
        return StoredBatch(batch, etag)

    # chunks/<n>.json

    def write_request_outcome(self, doc: RequestDocument) -> None:
        self._lake.put_json(self._layout.request_key(self.batch_id, doc["chunk"]), doc)

    def request_outcome(self, key: str) -> RequestDocument | None:
        """The request outcome stored at `key` (one of `request_keys`), None when it is gone."""
        stored = self._lake.read_state(key)
        return None if stored is None else parse_request_outcome(stored.body)

    def request_keys(self) -> list[str]:
        return self._lake.list_keys(self._layout.requests_prefix(self.batch_id))

    def request_outcomes(self) -> dict[int, RequestDocument]:
        outcomes: dict[int, RequestDocument] = {}
        for key in self.request_keys():
            doc = self.request_outcome(key)
            if doc is not None:  # deleted between the listing and the read
                outcomes[doc["chunk"]] = doc
        return outcomes


def batch_ids_for_content(lake: PushLake, content_prefix: str) -> list[str]:
    """Every batch (the plain one and forced ones) pushed from the same content."""
    ledger = lake.layout.ledger_prefix()
    names = lake.child_prefixes(ledger + content_prefix)
    return sorted({content_prefix + name for name in names})

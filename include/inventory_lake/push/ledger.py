"""The push ledger: JSON documents in the lake that make each batch's push exactly once.

`ledger/<batch_id>/batch.json` says who owns the batch (the Airflow run) and where it stands;
every write to it is conditional on the version last read (S3 `If-Match` / `If-None-Match`),
so two runs can never both believe they own a batch: the loser gets `LedgerConflict` and stops.
`ledger/<batch_id>/chunks/<n>.json` holds one request's outcome; it is written before the next
request is sent, so after any crash the ledger knows every request that certainly landed, and
at most one more may have: the one a lookup by note settles.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, cast

from include.inventory_lake.push.layout import PushLayout
from include.inventory_lake.push.lifecycle import Batch
from include.inventory_lake.schemas.push import BatchDocument, BatchStatus, ChunkDocument

log = logging.getLogger(__name__)

CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


class LedgerConflict(RuntimeError):
    """Someone else wrote the batch document since we read it: we no longer own the batch."""


class NotOwned(LedgerConflict):
    """The batch has no ledger, or another run owns it now: this run must not touch it."""


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    return str(code) or str(status)


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

    def __init__(self, s3: Any, layout: PushLayout, batch_id: str) -> None:
        self._s3 = s3
        self._layout = layout
        self._bucket = layout.root.bucket
        self.batch_id = batch_id

    # batch.json

    def read(self) -> StoredBatch | None:
        try:
            response = self._s3.get_object(
                Bucket=self._bucket, Key=self._layout.batch_key(self.batch_id)
            )
        except self._s3.exceptions.NoSuchKey:
            return None
        doc = cast(BatchDocument, json.loads(response["Body"].read()))
        return StoredBatch(Batch.from_document(doc), response["ETag"])

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
        return self._put(batch, condition={"IfNoneMatch": "*"})

    def save(self, stored: StoredBatch, batch: Batch) -> StoredBatch:
        """Write the next version of the batch we read; LedgerConflict if it changed since."""
        if batch.batch_id != self.batch_id:
            raise ValueError(f"batch {batch.batch_id} saved in the ledger of {self.batch_id}")
        return self._put(batch, condition={"IfMatch": stored.etag})

    def _put(self, batch: Batch, *, condition: dict[str, str]) -> StoredBatch:
        event = batch.last_event
        detail = event.detail if event else ""
        try:
            response = self._s3.put_object(
                Bucket=self._bucket,
                Key=self._layout.batch_key(self.batch_id),
                Body=json.dumps(batch.to_document(), indent=1).encode(),
                ContentType="application/json",
                **condition,
            )
        except self._s3.exceptions.ClientError as error:
            if _error_code(error) in CONFLICT_CODES:
                raise LedgerConflict(
                    f"the ledger of batch {self.batch_id} was changed by someone else "
                    f"(wanted: {batch.status}, {detail}); this attempt stops handling it"
                ) from error
            raise
        log.info("ledger %s: %s (%s)", self.batch_id, batch.status, detail)
        return StoredBatch(batch, response["ETag"])

    # chunks/<n>.json

    def write_chunk(self, doc: ChunkDocument) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self._layout.chunk_key(self.batch_id, doc["chunk"]),
            Body=json.dumps(doc).encode(),
            ContentType="application/json",
        )

    def chunk_outcomes(self) -> dict[int, ChunkDocument]:
        outcomes: dict[int, ChunkDocument] = {}
        paginator = self._s3.get_paginator("list_objects_v2")
        prefix = self._layout.chunks_prefix(self.batch_id)
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = self._s3.get_object(Bucket=self._bucket, Key=obj["Key"])["Body"].read()
                doc = cast(ChunkDocument, json.loads(body))
                outcomes[doc["chunk"]] = doc
        return outcomes


def batch_ids_for_content(s3: Any, layout: PushLayout, content_prefix: str) -> list[str]:
    """Every batch (the plain one and forced ones) pushed from the same content."""
    prefix = layout.ledger_prefix() + content_prefix
    paginator = s3.get_paginator("list_objects_v2")
    ids: set[str] = set()
    for page in paginator.paginate(Bucket=layout.root.bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            ids.add(common["Prefix"][len(layout.ledger_prefix()) :].rstrip("/"))
    return sorted(ids)


def read_object(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body

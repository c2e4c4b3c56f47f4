"""Stream API pages through typed conversion into a partition writer, page by page."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.schemas.convert import to_typed_batch

log = logging.getLogger(__name__)


@dataclass
class StreamStats:
    pages: int = 0
    rows: int = 0
    min_id: int | None = None
    max_id: int | None = None
    # created_at of the records with min_id and max_id, when the records have one (Haravan's
    # ids grow with it: the next extract of a nearby day starts its first-id search here).
    min_id_created_at: str | None = None
    max_id_created_at: str | None = None
    unknown_fields: Counter[str] = field(default_factory=Counter)

    def as_marker(self) -> dict[str, Any]:
        marker: dict[str, Any] = {
            "min_id": self.min_id,
            "max_id": self.max_id,
            "unknown_fields": dict(self.unknown_fields),
        }
        if self.min_id_created_at is not None:
            marker["min_id_created_at"] = self.min_id_created_at
        if self.max_id_created_at is not None:
            marker["max_id_created_at"] = self.max_id_created_at
        return marker

    def observe_ids(self, page: Sequence[Mapping[str, Any]]) -> None:
        for record in page:
            record_id = record["id"]
            created_at = record.get("created_at")
            if self.min_id is None or record_id < self.min_id:
                self.min_id = record_id
                self.min_id_created_at = created_at if isinstance(created_at, str) else None
            if self.max_id is None or record_id > self.max_id:
                self.max_id = record_id
                self.max_id_created_at = created_at if isinstance(created_at, str) else None


def stream_pages(
    pages: Iterable[Sequence[Mapping[str, Any]]],
    writer: PartitionWriter,
    schema: pa.Schema,
    what: str,
) -> StreamStats:
    stats = StreamStats()
    for page in pages:
        typed = to_typed_batch(page, schema, what)
        writer.write(typed.batch)
        stats.pages += 1
        stats.rows += typed.batch.num_rows
        stats.unknown_fields.update(typed.unknown_fields)
        stats.observe_ids(page)
        if stats.pages % 20 == 0:
            log.info("%s: %d pages, %d rows so far", what, stats.pages, stats.rows)
    if stats.unknown_fields:
        log.warning(
            "%s: the API sent fields this schema does not know (kept in _extra_json): %s",
            what,
            dict(stats.unknown_fields),
        )
    return stats

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
    unknown_fields: Counter[str] = field(default_factory=Counter)

    def as_marker(self) -> dict[str, Any]:
        return {
            "min_id": self.min_id,
            "max_id": self.max_id,
            "unknown_fields": dict(self.unknown_fields),
        }


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
        ids = [record["id"] for record in page]
        if ids:
            stats.min_id = min(ids) if stats.min_id is None else min(stats.min_id, *ids)
            stats.max_id = max(ids) if stats.max_id is None else max(stats.max_id, *ids)
        if stats.pages % 20 == 0:
            log.info("%s: %d pages, %d rows so far", what, stats.pages, stats.rows)
    if stats.unknown_fields:
        log.warning(
            "%s: the API sent fields this schema does not know (kept in _extra_json): %s",
            what,
            dict(stats.unknown_fields),
        )
    return stats

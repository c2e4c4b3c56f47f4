"""The current state of every Stocky adjustment in the lake, whichever raw day it landed in:
`<lake>/index/stocky_adjustments/shop=<shop>/current.parquet` (one Parquet file per shop, one row
per adjustment id).

Stocky partitions adjustments and items by their own `updated_at`, so an item often lands a
day before (or after) its adjustment. The facts build looks an item's adjustment up in the same
day's raw partition first, then here. Two kinds of rows:

- *known* (`raw_dt` set): the facts lookup columns of the adjustment's newest version (newest
  `updated_at`, ties to the later write) and the raw day that version came from;
- *awaited* (`raw_dt` null, only `id` and `awaited_by`): raw items referenced the adjustment
  while the lake did not hold it; `awaited_by` lists those items' raw days, whose facts were
  therefore built without it.

Each Stocky extract merges its day into the index after committing its raw partitions: a
read, a merge and a conditional write (If-Match the ETag read, If-None-Match when there is no
index yet). A write that loses the race re-reads and merges again, so concurrent extracts never
lose each other's entries. An awaited adjustment that becomes known releases its `awaited_by`
days: the extract names them in its asset events (`facts_rebuild_dts`) and the facts DAG
rebuilds them.

Without an index (a lake written before it existed) the first extract builds it from every
committed raw Stocky day and names every day whose items reference an adjustment that is in
the lake but not in that day's raw adjustments: those facts were built by the same-day rule.
"""

from __future__ import annotations

import io
import logging
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from include.inventory_lake.facts.dedupe import latest_per_key
from include.inventory_lake.facts.flatten import stocky_adjustment_lookup
from include.inventory_lake.lake.location import ShopLake, day_of_folder
from include.inventory_lake.lake.partition_reader import fetch_partition
from include.inventory_lake.lake.store import LakeStore, WriteConflict
from include.inventory_lake.schemas import stocky
from include.inventory_lake.schemas.types import ID, TIMESTAMP
from include.inventory_lake.settings import (
    STOCKY_ADJUSTMENT_INDEX_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

INDEX_FILE = "current.parquet"
MAX_ATTEMPTS = 8

LOOKUP = pa.schema(
    [
        pa.field("id", ID, nullable=False),
        pa.field("sequential_id", ID),
        pa.field("created_at", TIMESTAMP),
        pa.field("note", pa.string()),
        pa.field("archived", pa.bool_()),
        pa.field("location_id", ID),
        pa.field("location_shopify_id", ID),
        pa.field("reason", pa.string()),
        pa.field("updated_at", TIMESTAMP),
    ]
)
"""The facts lookup's columns (`flatten.stocky_adjustment_lookup`), as the index keeps them."""

SCHEMA = pa.schema(
    [
        *LOOKUP,
        pa.field("raw_dt", pa.date32()),
        pa.field("awaited_by", pa.list_(pa.field("item", pa.date32()))),
    ]
)


class IndexSchemaMismatch(ValueError):
    """The index file was written by another version of the pipeline."""


class IndexContention(RuntimeError):
    """Every attempt to write the index lost its race to another writer."""


def index_key(lake: ShopLake) -> str:
    """The index object's key: the one place that builds the index's path (one per shop)."""
    return lake.key(STOCKY_ADJUSTMENT_INDEX_PATH, INDEX_FILE)


def index_uri(lake: ShopLake) -> str:
    return f"s3://{lake.root.bucket}/{index_key(lake)}"


@dataclass(frozen=True)
class StoredIndex:
    table: pa.Table
    etag: str | None
    """None: there is no index yet."""

    def known(self) -> pa.Table:
        """The adjustments the lake holds, as a facts lookup table (columns of `LOOKUP`)."""
        return known_rows(self.table).select(LOOKUP.names)


def known_rows(index: pa.Table) -> pa.Table:
    return index.filter(pc.is_valid(index.column("raw_dt")))


def read_index(store: LakeStore, lake: ShopLake) -> StoredIndex:
    """The index and its ETag; an empty index (ETag None) when there is none yet."""
    stored = store.read_versioned(index_key(lake))
    if stored is None:
        return StoredIndex(SCHEMA.empty_table(), None)
    table = pq.read_table(io.BytesIO(stored.body))
    if not table.schema.equals(SCHEMA, check_metadata=False):
        raise IndexSchemaMismatch(
            f"{index_uri(lake)} has columns {table.schema.names} with other types than "
            f"{SCHEMA.names}; it was written by another version of the pipeline"
        )
    return StoredIndex(table.cast(SCHEMA), stored.etag)


def day_entries(adjustments: pa.Table, dt: date) -> pa.Table:
    """A raw Stocky adjustments partition as known index rows (newest version per id)."""
    lookup = stocky_adjustment_lookup(adjustments).select(LOOKUP.names).cast(LOOKUP)
    rows = lookup.num_rows
    return pa.Table.from_arrays(
        [
            *lookup.columns,
            pa.repeat(pa.scalar(dt, pa.date32()), rows),
            pa.nulls(rows, SCHEMA.field("awaited_by").type),
        ],
        schema=SCHEMA,
    )


@dataclass(frozen=True)
class Merged:
    table: pa.Table
    rebuild: list[date] = field(default_factory=list)
    """Days (other than the merged one) whose facts lack an adjustment that is now known."""


def merge_day(index: pa.Table, entries: pa.Table, referenced: pa.Array, dt: date) -> Merged:
    """Merge one raw day into the index: its adjustments (`day_entries`) and the adjustment ids
    its items reference. Pure: the same inputs give the same index."""
    combined = pa.concat_tables([known_rows(index), entries])
    keep = latest_per_key(
        combined.column("id").combine_chunks(), combined.column("updated_at").combine_chunks()
    )
    known = combined.filter(keep)
    known_ids = known.column("id").combine_chunks()

    # Awaited rows are few (adjustments the lake has not seen yet): plain Python is enough.
    awaited_rows = index.filter(pc.is_null(index.column("raw_dt")))
    awaited: dict[int, set[date]] = {
        adjustment_id: set(days or [])
        for adjustment_id, days in zip(
            awaited_rows.column("id").to_pylist(),
            awaited_rows.column("awaited_by").to_pylist(),
            strict=True,
        )
    }
    refs = pc.unique(pc.drop_null(referenced))
    for adjustment_id in refs.filter(pc.invert(pc.is_in(refs, value_set=known_ids))).to_pylist():
        awaited.setdefault(adjustment_id, set()).add(dt)
    waiting = pa.array(list(awaited), ID)
    rebuild: set[date] = set()
    for adjustment_id in waiting.filter(pc.is_in(waiting, value_set=known_ids)).to_pylist():
        rebuild |= awaited.pop(adjustment_id)
    rebuild.discard(dt)

    ids = sorted(awaited)
    still_awaited = pa.Table.from_pydict(
        {
            **{name: pa.nulls(len(ids), SCHEMA.field(name).type) for name in SCHEMA.names},
            "id": pa.array(ids, ID),
            "awaited_by": pa.array(
                [sorted(awaited[i]) for i in ids], SCHEMA.field("awaited_by").type
            ),
        },
        schema=SCHEMA,
    )
    table = pa.concat_tables([known, still_awaited]).sort_by("id").combine_chunks()
    return Merged(table, sorted(rebuild))


def _committed_days(store: LakeStore, lake: ShopLake) -> list[date]:
    names = store.child_prefixes(lake.dataset_prefix(STOCKY_ADJUSTMENTS_PATH))
    return sorted(day for day in map(day_of_folder, names) if day is not None)


def _read_raw_day(s3: S3Client, lake: ShopLake, dt: date) -> tuple[pa.Table, pa.Array] | None:
    """A committed raw day's adjustments and its items' adjustment ids, or None when either
    partition has no marker (its extract has not completed; it will merge itself)."""
    store = LakeStore(s3, lake.root.bucket)
    partitions = (
        lake.partition(STOCKY_ADJUSTMENTS_PATH, dt),
        lake.partition(STOCKY_ITEMS_PATH, dt),
    )
    markers = [store.read_marker(partition) for partition in partitions]
    if any(marker is None for marker in markers):
        return None
    with tempfile.TemporaryDirectory(prefix="stocky-index-") as tmp:
        adjustments, items = (
            fetch_partition(s3, partition, marker or {}, schema, Path(tmp))
            for partition, marker, schema in zip(
                partitions,
                markers,
                (stocky.STOCK_ADJUSTMENTS, stocky.STOCK_ADJUSTMENT_ITEMS),
                strict=True,
            )
        )
        referenced = items.open().read(columns=["stock_adjustment_id"]).column(0)
        return adjustments.open().read(), referenced.combine_chunks()


def bootstrap(
    s3: S3Client, lake: ShopLake, dt: date, entries: pa.Table, referenced: pa.Array
) -> Merged:
    """The index from every committed raw Stocky day (the day `dt` from the given rows), and
    the days whose facts the same-day rule left without an adjustment that the lake holds."""
    index = SCHEMA.empty_table()
    same_day_misses: list[tuple[date, pa.Array]] = []
    for day in sorted({*_committed_days(LakeStore(s3, lake.root.bucket), lake), dt}):
        if day == dt:
            day_rows, day_refs = entries, referenced
        else:
            raw = _read_raw_day(s3, lake, day)
            if raw is None:
                continue
            day_rows, day_refs = day_entries(raw[0], day), raw[1]
        index = merge_day(index, day_rows, day_refs, day).table
        refs = pc.unique(pc.drop_null(day_refs))
        day_ids = day_rows.column("id").combine_chunks()
        same_day_misses.append((day, refs.filter(pc.invert(pc.is_in(refs, value_set=day_ids)))))
    known_ids = known_rows(index).column("id").combine_chunks()
    rebuild = [
        day
        for day, misses in same_day_misses
        if day != dt and pc.any(pc.is_in(misses, value_set=known_ids)).as_py()
    ]
    log.info("built the Stocky adjustment index from %d raw day(s)", len(same_day_misses))
    return Merged(index, rebuild)


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


@dataclass(frozen=True)
class IndexUpdate:
    uri: str
    known: int
    awaited: int
    rebuild: list[date]
    attempts: int


def update_index(
    s3: S3Client,
    lake: ShopLake,
    dt: date,
    adjustments: pa.Table,
    referenced: pa.Array,
    *,
    attempts: int = MAX_ATTEMPTS,
    after_read: Callable[[], None] | None = None,
) -> IndexUpdate:
    """Merge raw day `dt` (its adjustments, its items' adjustment ids) into the index with a
    conditional write, re-reading and merging again whenever another writer got there first.
    `after_read` is called between the read and the write (tests use it to force a race)."""
    store = LakeStore(s3, lake.root.bucket)
    key = index_key(lake)
    entries = day_entries(adjustments, dt)
    for attempt in range(1, attempts + 1):
        current = read_index(store, lake)
        if current.etag is None:
            merged = bootstrap(s3, lake, dt, entries, referenced)
        else:
            merged = merge_day(current.table, entries, referenced, dt)
        if after_read is not None:
            after_read()
        body = _parquet_bytes(merged.table)
        try:
            store.put_bytes(key, body, if_match=current.etag, if_none_match=current.etag is None)
        except WriteConflict:
            log.info(
                "the index changed while merging dt=%s (attempt %d): merging again", dt, attempt
            )
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # de-synchronise the writers
            continue
        awaited = pc.sum(pc.is_null(merged.table.column("raw_dt"))).as_py() or 0
        update = IndexUpdate(
            uri=index_uri(lake),
            known=merged.table.num_rows - awaited,
            awaited=awaited,
            rebuild=merged.rebuild,
            attempts=attempt,
        )
        log.info("merged dt=%s into %s: %s", dt, update.uri, update)
        return update
    raise IndexContention(
        f"{index_uri(lake)}: {attempts} attempts to merge dt={dt} all lost to other writers"
    )

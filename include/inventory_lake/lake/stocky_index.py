"""The current state of every Stocky adjustment in the lake, whichever raw day it landed in:
`<lake>/index/stocky_adjustments/shop=<shop>/current.parquet` (one Parquet file per shop, one row
per adjustment id).

Stocky partitions adjustments and items by their own `updated_at`, so an item often lands a
day before (or after) its adjustment, and an adjustment that changes later (moved to another
location, another reason) lands again on the day of that change. The facts build takes each
item's adjustment at its newest version in the lake: the newer of the same day's raw partition
and this index. Each row holds:

- the facts lookup columns of the adjustment's newest version (newest `updated_at`, ties to
  the later write) and `raw_dt`, the raw day that version came from; an *awaited* adjustment
  (raw items reference it, the lake does not hold it) has only `id`, `item_dts` and
  `rebuild_dts`, and `raw_dt` null;
- `item_dts`: the raw days whose items reference the adjustment, so whose facts used it (or,
  while it is awaited, lack it);
- `rebuild_dts`: the days whose facts are stale for this version (the adjustment arrived after
  them, or changed a column the facts take from it) and have not been rebuilt since.

Each Stocky extract merges its day into the index after committing its raw partitions: a
read, a merge and a conditional write (If-Match the ETag read, If-None-Match when there is no
index yet). A write that loses the race re-reads and merges again, so concurrent extracts never
lose each other's entries. When an awaited adjustment becomes known, or a known one's facts
columns change, its `item_dts` (but the merged day) join its `rebuild_dts`. Every extract names
all of its shop's `rebuild_dts` in its asset events (`facts_rebuild_dts`), and a day leaves
`rebuild_dts` only when the facts build of that day clears it (`clear_rebuilt`), after
committing facts made with that version. A crash between the index write and the events being
recorded therefore loses nothing: the retry (or the shop's next extract) names the days again.

Without an index (a lake written before it existed), or with an index an earlier version of the
pipeline wrote (no `item_dts`), the extract builds it from every committed raw Stocky day; every
day whose items reference an adjustment whose newest version is from another day is to be
rebuilt: its facts were built from the same day's version, or without one.
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

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from include.inventory_lake.lake.dedupe import latest_per_key
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import ShopLake, day_of_folder
from include.inventory_lake.lake.partition_reader import fetch_partition
from include.inventory_lake.lake.stocky_lookup import stocky_adjustment_lookup
from include.inventory_lake.lake.store import WriteConflict
from include.inventory_lake.schemas import stocky
from include.inventory_lake.schemas.types import ID, TIMESTAMP
from include.inventory_lake.settings import (
    STOCKY_ADJUSTMENT_INDEX_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)

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
"""The facts lookup's columns (`stocky_lookup.stocky_adjustment_lookup`), as the index
keeps them."""

FACTS_COLUMNS = tuple(name for name in LOOKUP.names if name not in ("id", "updated_at"))
"""The columns the facts take from an adjustment: a change to any of them makes the facts of
the days that used the adjustment stale."""

DAYS = pa.list_(pa.field("item", pa.date32()))

SCHEMA = pa.schema(
    [
        *LOOKUP,
        pa.field("raw_dt", pa.date32()),
        pa.field("item_dts", DAYS),
        pa.field("rebuild_dts", DAYS),
    ]
)

EARLIER_SCHEMA = pa.schema([*LOOKUP, pa.field("raw_dt", pa.date32()), pa.field("awaited_by", DAYS)])
"""The index an earlier version wrote (it did not know which days used an adjustment): read for
its lookup, rebuilt from the raw days by the next extract."""


class IndexSchemaMismatch(ValueError):
    """The index file was written by another version of the pipeline."""


class IndexContention(RuntimeError):
    """Every attempt to write the index lost its race to another writer."""


def index_key(shop_lake: ShopLake) -> str:
    """The index object's key: the one place that builds the index's path (one per shop)."""
    return shop_lake.key(STOCKY_ADJUSTMENT_INDEX_PATH, INDEX_FILE)


def index_uri(shop_lake: ShopLake) -> str:
    return f"s3://{shop_lake.root.bucket}/{index_key(shop_lake)}"


@dataclass(frozen=True)
class StoredIndex:
    table: pa.Table
    etag: str | None
    """None: there is no index yet."""
    earlier: bool = False
    """Written by an earlier version (`EARLIER_SCHEMA`): its day lists are empty here."""

    def known(self) -> pa.Table:
        """The adjustments the lake holds, as a facts lookup table (columns of `LOOKUP`)."""
        return known_rows(self.table).select(LOOKUP.names)


def known_rows(index: pa.Table) -> pa.Table:
    return index.filter(pc.is_valid(index.column("raw_dt")))


def _empty_days(rows: int) -> pa.Array:
    return pa.array([[]] * rows, DAYS)


def read_index(lake: Lake, shop_lake: ShopLake) -> StoredIndex:
    """The index and its ETag; an empty index (ETag None) when there is none yet."""
    stored = lake.read_state(index_key(shop_lake))
    if stored is None:
        return StoredIndex(SCHEMA.empty_table(), None)
    table = pq.read_table(io.BytesIO(stored.body))
    if table.schema.equals(SCHEMA, check_metadata=False):
        return StoredIndex(table.cast(SCHEMA), stored.etag)
    if table.schema.equals(EARLIER_SCHEMA, check_metadata=False):
        rows = table.num_rows
        earlier = table.drop_columns(["awaited_by"]).append_column(
            SCHEMA.field("item_dts"), _empty_days(rows)
        )
        earlier = earlier.append_column(SCHEMA.field("rebuild_dts"), _empty_days(rows))
        return StoredIndex(earlier.cast(SCHEMA), stored.etag, earlier=True)
    raise IndexSchemaMismatch(
        f"{index_uri(shop_lake)} has columns {table.schema.names} with other types than "
        f"{SCHEMA.names}; it was written by another version of the pipeline"
    )


def day_entries(adjustments: pa.Table, dt: date) -> pa.Table:
    """A raw Stocky adjustments partition as known index rows (newest version per id)."""
    lookup = stocky_adjustment_lookup(adjustments).select(LOOKUP.names).cast(LOOKUP)
    rows = lookup.num_rows
    return pa.Table.from_arrays(
        [
            *lookup.columns,
            pa.repeat(pa.scalar(dt, pa.date32()), rows),
            _empty_days(rows),
            _empty_days(rows),
        ],
        schema=SCHEMA,
    )


def pending_days(index: pa.Table) -> list[date]:
    """Every day some row of the index asks to rebuild."""
    days = pc.unique(pc.list_flatten(index.column("rebuild_dts")))
    return sorted(day for day in days.to_pylist() if day is not None)


@dataclass(frozen=True)
class Merged:
    table: pa.Table
    rebuild: list[date] = field(default_factory=list)
    """Days (other than the merged one) whose facts are stale: every day of `rebuild_dts`."""


@dataclass
class _Days:
    """One adjustment's day lists while merging (few rows change, so plain Python)."""

    items: set[date]
    rebuild: set[date]


def _facts_values(rows: pa.Table) -> dict[int, tuple[object, ...]]:
    columns = [rows.column(name).to_pylist() for name in ("id", *FACTS_COLUMNS)]
    return {values[0]: tuple(values[1:]) for values in zip(*columns, strict=True)}


def _day_lists(index: pa.Table, ids: pa.Array) -> dict[int, _Days]:
    rows = index.filter(pc.is_in(index.column("id"), value_set=ids))
    return {
        adjustment_id: _Days(set(items or []), set(rebuild or []))
        for adjustment_id, items, rebuild in zip(
            rows.column("id").to_pylist(),
            rows.column("item_dts").to_pylist(),
            rows.column("rebuild_dts").to_pylist(),
            strict=True,
        )
    }


def merge_day(index: pa.Table, entries: pa.Table, referenced: pa.Array, dt: date) -> Merged:
    """Merge one raw day into the index: its adjustments (`day_entries`) and the adjustment ids
    its items reference. Pure: the same inputs give the same index."""
    old_known = known_rows(index)
    combined = pa.concat_tables([old_known, entries])
    keep = latest_per_key(
        combined.column("id").combine_chunks(), combined.column("updated_at").combine_chunks()
    )
    known = combined.filter(keep)
    refs = pc.unique(pc.drop_null(referenced))
    entry_ids = entries.column("id").combine_chunks()
    awaited_ids = index.filter(pc.is_null(index.column("raw_dt"))).column("id").combine_chunks()

    # Only the rows this day touches change their day lists: its adjustments, the adjustments
    # its items reference, and awaited adjustments that arrive.
    touched = pc.unique(pa.concat_arrays([entry_ids, refs.cast(ID)]))
    days = _day_lists(index, touched)
    for adjustment_id in touched.to_pylist():
        days.setdefault(adjustment_id, _Days(set(), set()))
    before = _facts_values(old_known.filter(pc.is_in(old_known.column("id"), value_set=entry_ids)))
    after = _facts_values(known.filter(pc.is_in(known.column("id"), value_set=entry_ids)))
    awaited = set(awaited_ids.to_pylist())
    for adjustment_id, values in after.items():
        arrived = adjustment_id in awaited
        changed = adjustment_id in before and before[adjustment_id] != values
        if arrived or changed:
            days[adjustment_id].rebuild |= days[adjustment_id].items - {dt}
    for adjustment_id in refs.to_pylist():
        days[adjustment_id].items.add(dt)

    untouched = index.filter(pc.invert(pc.is_in(index.column("id"), value_set=touched)))
    touched_known = known.filter(pc.is_in(known.column("id"), value_set=touched))
    still_awaited = sorted(set(days) - set(touched_known.column("id").to_pylist()))
    table = pa.concat_tables(
        [
            known_rows(untouched),
            _with_days(touched_known, days),
            _awaited_rows(still_awaited, days),
            untouched.filter(pc.is_null(untouched.column("raw_dt"))),
        ]
    )
    table = table.sort_by("id").combine_chunks()
    return Merged(table, [day for day in pending_days(table) if day != dt])


def _with_days(rows: pa.Table, days: dict[int, _Days]) -> pa.Table:
    ids = rows.column("id").to_pylist()
    return (
        rows.select([*LOOKUP.names, "raw_dt"])
        .append_column(
            SCHEMA.field("item_dts"), pa.array([sorted(days[i].items) for i in ids], DAYS)
        )
        .append_column(
            SCHEMA.field("rebuild_dts"), pa.array([sorted(days[i].rebuild) for i in ids], DAYS)
        )
    )


def _awaited_rows(ids: list[int], days: dict[int, _Days]) -> pa.Table:
    return pa.Table.from_pydict(
        {
            **{name: pa.nulls(len(ids), SCHEMA.field(name).type) for name in SCHEMA.names},
            "id": pa.array(ids, ID),
            "item_dts": pa.array([sorted(days[i].items) for i in ids], DAYS),
            "rebuild_dts": pa.array([sorted(days[i].rebuild) for i in ids], DAYS),
        },
        schema=SCHEMA,
    )


def _committed_days(lake: Lake, shop_lake: ShopLake) -> list[date]:
    names = lake.child_prefixes(shop_lake.dataset_prefix(STOCKY_ADJUSTMENTS_PATH))
    return sorted(day for day in map(day_of_folder, names) if day is not None)


def _read_raw_day(lake: Lake, shop_lake: ShopLake, dt: date) -> tuple[pa.Table, pa.Array] | None:
    """A committed raw day's adjustments and its items' adjustment ids, or None when either
    partition has no marker (its extract has not completed; it will merge itself)."""
    partitions = (
        shop_lake.partition(STOCKY_ADJUSTMENTS_PATH, dt),
        shop_lake.partition(STOCKY_ITEMS_PATH, dt),
    )
    markers = [lake.read_marker(partition) for partition in partitions]
    if any(marker is None for marker in markers):
        return None
    with tempfile.TemporaryDirectory(prefix="stocky-index-") as tmp:
        adjustments, items = (
            fetch_partition(lake, partition, marker or {}, schema, Path(tmp))
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
    lake: Lake, shop_lake: ShopLake, dt: date, entries: pa.Table, referenced: pa.Array
) -> Merged:
    """The index from every committed raw Stocky day (the day `dt` from the given rows). Facts
    built without this index took an item's adjustment from the same day, if at all: every day
    whose items reference an adjustment whose newest version is from another day is stale."""
    index = SCHEMA.empty_table()
    days = 0
    for day in sorted({*_committed_days(lake, shop_lake), dt}):
        if day == dt:
            day_rows, day_refs = entries, referenced
        else:
            raw = _read_raw_day(lake, shop_lake, day)
            if raw is None:
                continue
            day_rows, day_refs = day_entries(raw[0], day), raw[1]
        index = merge_day(index, day_rows, day_refs, day).table
        days += 1
    ids = index.column("id").to_pylist()
    raw_dts = index.column("raw_dt").to_pylist()
    rebuild = [
        sorted(set(items or []) - {raw_dt, dt}) if raw_dt is not None else []
        for items, raw_dt in zip(index.column("item_dts").to_pylist(), raw_dts, strict=True)
    ]
    index = index.set_column(
        SCHEMA.get_field_index("rebuild_dts"), SCHEMA.field("rebuild_dts"), pa.array(rebuild, DAYS)
    )
    log.info("built the Stocky adjustment index from %d raw day(s), %d ids", days, len(ids))
    return Merged(index, [day for day in pending_days(index) if day != dt])


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
    lake: Lake,
    shop_lake: ShopLake,
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
    entries = day_entries(adjustments, dt)
    for attempt in range(1, attempts + 1):
        current = read_index(lake, shop_lake)
        if current.etag is None or current.earlier:
            merged = bootstrap(lake, shop_lake, dt, entries, referenced)
        else:
            merged = merge_day(current.table, entries, referenced, dt)
        if after_read is not None:
            after_read()
        if not _write(lake, shop_lake, merged.table, current, f"merging dt={dt}", attempt):
            continue
        awaited = pc.sum(pc.is_null(merged.table.column("raw_dt"))).as_py() or 0
        update = IndexUpdate(
            uri=index_uri(shop_lake),
            known=merged.table.num_rows - awaited,
            awaited=awaited,
            rebuild=merged.rebuild,
            attempts=attempt,
        )
        log.info("merged dt=%s into %s: %s", dt, update.uri, update)
        return update
    raise IndexContention(
        f"{index_uri(shop_lake)}: {attempts} attempts to merge dt={dt} all lost to other writers"
    )


def _write(
    lake: Lake, shop_lake: ShopLake, table: pa.Table, over: StoredIndex, what: str, attempt: int
) -> bool:
    """Write the index over the version read; False when another writer got there first."""
    try:
        lake.put_bytes(
            index_key(shop_lake),
            _parquet_bytes(table),
            if_match=over.etag,
            if_none_match=not over.etag,
        )
    except WriteConflict:
        log.info("the index changed while %s (attempt %d): again", what, attempt)
        time.sleep(random.uniform(0, 0.05 * 2**attempt))  # de-synchronise the writers
        return False
    return True


def _versions(index: pa.Table) -> dict[int, tuple[object, ...]]:
    rows = known_rows(index)
    columns = [rows.column(name).to_pylist() for name in ("id", *LOOKUP.names[1:], "raw_dt")]
    return {values[0]: tuple(values[1:]) for values in zip(*columns, strict=True)}


def clear_rebuilt(
    lake: Lake, shop_lake: ShopLake, dt: date, used: StoredIndex, *, attempts: int = MAX_ATTEMPTS
) -> list[int]:
    """After day `dt`'s facts were committed from index version `used`: `dt` leaves the
    `rebuild_dts` of every adjustment still at the version the build used (a row that changed
    since asks for the day again, and keeps it). Returns the adjustment ids cleared; writes
    only when there is something to clear. Contention leaves the requests in place (the next
    extract names the day again): it is logged, not raised."""
    if used.etag is None or used.earlier:
        return []
    seen = _versions(used.table)
    for attempt in range(1, attempts + 1):
        current = read_index(lake, shop_lake)
        if current.etag is None or current.earlier:
            return []
        table = current.table
        ids = table.column("id").to_pylist()
        rebuild = table.column("rebuild_dts").to_pylist()
        now = _versions(table)
        cleared = [
            adjustment_id
            for adjustment_id, days in zip(ids, rebuild, strict=True)
            if dt in (days or [])
            and adjustment_id in seen
            and now.get(adjustment_id) == seen[adjustment_id]
        ]
        if not cleared:
            return []
        done = set(cleared)
        remaining = [
            [day for day in days or [] if day != dt] if adjustment_id in done else days
            for adjustment_id, days in zip(ids, rebuild, strict=True)
        ]
        table = table.set_column(
            SCHEMA.get_field_index("rebuild_dts"),
            SCHEMA.field("rebuild_dts"),
            pa.array(remaining, DAYS),
        )
        if _write(lake, shop_lake, table, current, f"clearing the rebuilt dt={dt}", attempt):
            log.info(
                "dt=%s rebuilt: cleared from %d adjustment(s) of %s",
                dt,
                len(cleared),
                index_uri(shop_lake),
            )
            return cleared
    log.warning(
        "%s: %d attempts to clear the rebuilt dt=%s all lost to other writers; the next extract "
        "asks for its rebuild again",
        index_uri(shop_lake),
        attempts,
        dt,
    )
    return []

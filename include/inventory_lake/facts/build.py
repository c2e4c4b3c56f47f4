"""Build one shop's facts partition (`facts/inventory_adjustment_lines/shop=…/dt=…/`) from
that shop's raw partitions of the day, of both sources (Haravan only for a shop without Stocky).

1. All three raw partitions must carry their `_SUCCESS` marker: a missing one fails the build
   naming it (a missing marker means "not run", never "no data"), and nothing is written.
2. Each raw file is downloaded and checked against its marker (sha256, rows) and schema.
3. Key pass: only the line ids and versions are read, to find which row wins each `line_key`
   (newest `updated_at`); lines without an id fail the build here.
4. Write pass: the raw files are streamed in batches, flattened, filtered to the winners,
   checked and written; memory is bounded by a batch plus the key columns, not the partition.
5. The checks gate the commit: a failure aborts the writer and the old partition stays.
6. The committed file (local, the same bytes as the partition's data file) and the data
   file's URI are handed to `on_commit`: the facts task makes it the day's data file in the
   Iceberg table (include/inventory_lake/iceberg/facts_commit.py), so its rows are encoded
   once (and, where the table's storage reaches the lake, uploaded once).
7. After the commit, the day leaves the index's rebuild requests (`rebuild_dts`) of the
   adjustments it was built with (`lake.stocky_index.clear_rebuilt`).

Stocky items take their adjustment at its newest version in the lake: the newer of the same
day's raw partition and the lake's index of Stocky adjustments (`lake.stocky_index`, any raw
day), so a day's facts carry an adjustment's latest location and reason however late it
changed; `adjustment_missing` is true only for an adjustment the lake does not hold at all.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.facts import flatten
from include.inventory_lake.facts.quality import (
    CheckFailure,
    DataQualityError,
    LineChecks,
    NullLineIds,
)
from include.inventory_lake.lake.dedupe import latest_per_key
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import Partition, ShopLake
from include.inventory_lake.lake.partition_reader import (
    FetchedPartition,
    fetch_partition,
    read_markers,
)
from include.inventory_lake.lake.partition_writer import CommittedPartition, PartitionWriter
from include.inventory_lake.lake.stocky_index import clear_rebuilt, index_uri, read_index
from include.inventory_lake.lake.stocky_lookup import stocky_adjustment_lookup
from include.inventory_lake.schemas import facts, haravan, stocky
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)

log = logging.getLogger(__name__)

HARAVAN_BATCH_ADJUSTMENTS = 16_384
STOCKY_BATCH_ITEMS = 131_072
CHECKS = (
    "raw_marker",
    "raw_schema",
    "line_key_not_null",
    "required_not_null",
    "line_key_unique",
    "row_count",
)


@dataclass
class LinePlan:
    """Which raw lines of one source survive deduplication."""

    keep: pa.BooleanArray
    null_ids: CheckFailure | None = None

    @property
    def lines(self) -> int:
        return len(self.keep)

    @property
    def superseded(self) -> int:
        return len(self.keep) - (pc.sum(self.keep).as_py() or 0)


NO_LINES = LinePlan(keep=pa.array([], type=pa.bool_()))
"""The Stocky plan of a shop without Stocky: no lines."""


@dataclass
class BuildReport:
    dt: date
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rows(self, source: str) -> int:
        return int(self.sources[source]["rows"])


RAW_SCHEMAS = (haravan.ADJUSTMENTS, stocky.STOCK_ADJUSTMENTS, stocky.STOCK_ADJUSTMENT_ITEMS)


def raw_partitions(shop_lake: ShopLake, dt: date, *, with_stocky: bool = True) -> list[Partition]:
    """Haravan adjustments, then (for a shop with Stocky) Stocky adjustments and Stocky items:
    the shop's inputs of day `dt`."""
    paths = (HARAVAN_ADJUSTMENTS_PATH, STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH)
    return [shop_lake.partition(path, dt) for path in paths[: 3 if with_stocky else 1]]


def build_facts_partition(
    lake: Lake,
    shop_lake: ShopLake,
    dt: date,
    run_id: str,
    *,
    with_stocky: bool = True,
    on_commit: Callable[[Path, str], None] | None = None,
) -> tuple[CommittedPartition, BuildReport]:
    inputs = raw_partitions(shop_lake, dt, with_stocky=with_stocky)
    markers = read_markers(lake, inputs)
    with tempfile.TemporaryDirectory(prefix="facts-") as tmp:
        fetched = [
            fetch_partition(lake, partition, marker, schema, Path(tmp))
            for partition, marker, schema in zip(inputs, markers, RAW_SCHEMAS, strict=False)
        ]
        haravan_raw, stocky_raws = fetched[0], fetched[1:]
        haravan_plan = plan_haravan(haravan_raw)
        stocky_plan = plan_stocky(stocky_raws[1]) if stocky_raws else NO_LINES
        null_ids = [plan.null_ids for plan in (haravan_plan, stocky_plan) if plan.null_ids]
        if null_ids:
            raise DataQualityError(dt, null_ids)
        index = read_index(lake, shop_lake)
        # A shop without Stocky: no items, so the lookup is never consulted.
        same_day = stocky_adjustment_lookup(
            stocky_raws[0].open().read() if stocky_raws else stocky.STOCK_ADJUSTMENTS.empty_table()
        )
        lookup, from_index_ids = stocky_lookup(same_day, index.known())

        report = BuildReport(dt)
        checks = LineChecks()
        target = shop_lake.partition(FACTS_LINES_PATH, dt)
        with PartitionWriter(lake, target, facts.LINES, run_id) as writer:
            for batch in _winners(
                _haravan_batches(haravan_raw),
                lambda adjustments: flatten.haravan_lines(adjustments, shop_lake.shop),
                haravan_plan.keep,
            ):
                if checks.observe(facts.HARAVAN, batch):
                    writer.write(batch)
            adjustment_missing = adjustment_from_index = 0
            for batch in _winners(
                _stocky_item_batches(stocky_raws[1]) if stocky_raws else iter(()),
                lambda items: flatten.stocky_lines(items, lookup, shop_lake.shop),
                stocky_plan.keep,
            ):
                adjustment_missing += pc.sum(batch.column("adjustment_missing")).as_py() or 0
                from_index = pc.is_in(batch.column("adjustment_id"), value_set=from_index_ids)
                adjustment_from_index += pc.sum(from_index).as_py() or 0
                if checks.observe(facts.STOCKY, batch):
                    writer.write(batch)

            expected = {
                facts.HARAVAN: haravan_plan.lines - haravan_plan.superseded,
                facts.STOCKY: stocky_plan.lines - stocky_plan.superseded,
            }
            failures = checks.failures(expected)
            if failures:
                raise DataQualityError(dt, failures)
            report.sources = {
                facts.HARAVAN: {
                    "raw": [_raw_details(haravan_raw)],
                    "lines": haravan_plan.lines,
                    "superseded_duplicates": haravan_plan.superseded,
                    "rows": checks.rows[facts.HARAVAN],
                },
                facts.STOCKY: {
                    "raw": [_raw_details(raw) for raw in reversed(stocky_raws)],
                    "lines": stocky_plan.lines,
                    "superseded_duplicates": stocky_plan.superseded,
                    "rows": checks.rows[facts.STOCKY],
                    "adjustment_missing": adjustment_missing,
                    "adjustment_from_index": adjustment_from_index,
                    "adjustment_index": {
                        "uri": index_uri(shop_lake),
                        "etag": index.etag,
                        "known": index.known().num_rows,
                    },
                },
            }
            committed = writer.commit({"sources": report.sources, "checks_passed": list(CHECKS)})
            if on_commit is not None:
                on_commit(writer.committed_file(), lake.uri(target.data_key))
    if stocky_raws:
        clear_rebuilt(lake, shop_lake, dt, index)
    log.info("facts shop=%s dt=%s: %s", shop_lake.shop, dt, report.sources)
    return committed, report


def stocky_lookup(same_day: pa.Table, indexed: pa.Table) -> tuple[pa.Table, pa.Array]:
    """Every adjustment at its newest version, from the day's raw adjustments or the lake's
    index (a tie goes to the day's); and the ids whose version the index supplied."""
    combined = pa.concat_tables([indexed, same_day.cast(indexed.schema)])
    keep = latest_per_key(
        combined.column("id").combine_chunks(), combined.column("updated_at").combine_chunks()
    )
    lookup = combined.filter(keep)
    from_index = keep.slice(0, indexed.num_rows)
    return lookup, indexed.filter(from_index).column("id").combine_chunks()


def plan_haravan(raw: FetchedPartition) -> LinePlan:
    ids, versions, null_ids = [], [], NullLineIds(facts.HARAVAN)
    for batch in raw.open().iter_batches(
        batch_size=HARAVAN_BATCH_ADJUSTMENTS,
        columns=["id", "created_at", "updated_at", "line_items.list.element.id"],
    ):
        line_ids = flatten.haravan_line_ids(batch)
        parents = pc.list_parent_indices(batch.column("line_items"))
        null_ids.observe(line_ids, batch.column("id").take(parents))
        ids.append(line_ids)
        versions.append(flatten.haravan_line_versions(batch))
    return _plan(ids, versions, null_ids)


def plan_stocky(raw: FetchedPartition) -> LinePlan:
    ids, versions, null_ids = [], [], NullLineIds(facts.STOCKY)
    for batch in raw.open().iter_batches(
        batch_size=STOCKY_BATCH_ITEMS, columns=["id", "updated_at", "stock_adjustment_id"]
    ):
        null_ids.observe(batch.column("id"), batch.column("stock_adjustment_id"))
        ids.append(batch.column("id"))
        versions.append(batch.column("updated_at"))
    return _plan(ids, versions, null_ids)


def _plan(ids: list[pa.Array], versions: list[pa.Array], null_ids: NullLineIds) -> LinePlan:
    line_ids = _concat(ids, facts.LINES.field("line_id").type)
    return LinePlan(
        keep=latest_per_key(line_ids, _concat(versions, facts.LINES.field("updated_at").type)),
        null_ids=null_ids.failure(),
    )


def _concat(chunks: list[pa.Array], type_: pa.DataType) -> pa.Array:
    return pa.concat_arrays(chunks) if chunks else pa.array([], type=type_)


def _haravan_batches(raw: FetchedPartition) -> Iterator[pa.RecordBatch]:
    yield from raw.open().iter_batches(batch_size=HARAVAN_BATCH_ADJUSTMENTS)


def _stocky_item_batches(raw: FetchedPartition) -> Iterator[pa.RecordBatch]:
    yield from raw.open().iter_batches(batch_size=STOCKY_BATCH_ITEMS)


def _winners(
    raw_batches: Iterator[pa.RecordBatch],
    to_lines: Callable[[pa.RecordBatch], pa.RecordBatch],
    keep: pa.BooleanArray,
) -> Iterator[pa.RecordBatch]:
    """Flatten each raw batch and drop the lines that lost their key to a newer version."""
    offset = 0
    for raw_batch in raw_batches:
        lines = to_lines(raw_batch)
        kept = keep.slice(offset, lines.num_rows)
        offset += lines.num_rows
        yield lines if kept.false_count == 0 else lines.filter(kept)
    if offset != len(keep):
        raise RuntimeError(f"read {offset} lines on the write pass, {len(keep)} on the key pass")


def _raw_details(raw: FetchedPartition) -> dict[str, Any]:
    return {
        "uri": raw.partition.uri,
        "rows": raw.rows,
        "sha256": raw.marker.get("sha256"),
        "run_id": raw.marker.get("run_id"),
        "committed_at": raw.marker.get("committed_at"),
    }

"""Synthetic raw partitions of any size, built column at a time with Arrow (not through the
API): half Haravan lines nested 10 per adjustment, half Stocky items joined to their adjustment,
0.1% repeated line ids, 10% of Stocky items whose adjustment is absent. Used by the facts
benchmark and by the fault tests that need a build long enough to be killed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.facts.build import raw_partitions
from include.inventory_lake.lake.dedupe import row_numbers
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import ShopLake
from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.schemas import haravan, stocky
from include.inventory_lake.schemas.types import MONEY, TIMESTAMP

LINES_PER_ADJUSTMENT = 10
CHUNK_ADJUSTMENTS = 50_000
NOTES = ["hàng hư hỏng do nhà sản xuất", "kiểm kê cuối tháng", "Điều chỉnh tồn kho", None]
REASONS = ["damaged", "shrinkage", "returned", "productionofgoods"]


def _mod(values: pa.Array, divisor: int) -> pa.Array:
    return pc.modulo(values, divisor)


def _text(prefix: str, values: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(values, pa.string()), "")


def _pick(options: Sequence[str | None], values: pa.Array) -> pa.Array:
    return pa.array(options, pa.string()).take(_mod(values, len(options)))


def _timestamps(micros: pa.Array, day: date) -> pa.Array:
    return pc.cast(pc.add(micros, _day_start_us(day)), TIMESTAMP)


def _day_start_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000


def _repeat_every_thousandth(ids: pa.Array, positions: pa.Array) -> pa.Array:
    """Every 1000th id repeats the previous one: duplicated line keys to deduplicate."""
    return pc.subtract(ids, pc.cast(pc.equal(_mod(positions, 1000), 999), pa.int64()))


def haravan_chunk(first: int, count: int, day: date) -> pa.RecordBatch:
    adjustments = pc.add(row_numbers(count), first)
    lines = pc.add(row_numbers(count * LINES_PER_ADJUSTMENT), first * LINES_PER_ADJUSTMENT)
    variants = _mod(lines, 5_000)
    quantity = pc.subtract(_mod(lines, 61), 30)
    cost = pc.cast(pc.cast(pc.multiply(quantity, 1_234_500), pa.int32()), MONEY)
    items = pa.StructArray.from_arrays(
        [
            _repeat_every_thousandth(pc.add(lines, 1_100_000_000), lines),
            pc.add(pc.divide(variants, 3), 1_031_000_000),
            pc.add(variants, 1_068_000_000),
            quantity,
            cost,
            pc.if_else(pc.equal(_mod(lines, 7), 0), None, _text("SKU-", variants)),
            _text("893", pc.add(variants, 1_000_000)),
        ],
        fields=list(haravan.LINE_ITEM),
    )
    offsets = pc.cast(pc.multiply(row_numbers(count + 1), LINES_PER_ADJUSTMENT), pa.int32())
    created = _timestamps(pc.multiply(_mod(adjustments, 86_000), 1_000_000), day)
    columns = {
        "id": pc.add(adjustments, 1_200_000_000),
        "created_at": created,
        "updated_at": _timestamps(pc.multiply(_mod(adjustments, 86_000), 1_000_500), day),
        "adjust_number": _text("IA", pc.add(adjustments, 100_000)),
        "tran_date": created,
        "location_id": pc.add(_mod(adjustments, 20), 963_400),
        "type": _pick(["adjust", "set", None], adjustments),
        "total_quantity": pa.nulls(count, pa.int64()),
        "reason": _pick(REASONS, adjustments),
        "note": _pick(NOTES, adjustments),
        "total_cost": pa.nulls(count, MONEY),
        "tags": _pick(["Hư hỏng", None, "kiểm kê"], adjustments),
        "line_items": pa.ListArray.from_arrays(offsets, items),
        "_extra_json": pa.nulls(count, pa.string()),
    }
    return pa.RecordBatch.from_pydict(columns, schema=haravan.ADJUSTMENTS)


def stocky_adjustments(count: int, day: date) -> pa.RecordBatch:
    """Every 10th adjustment is left out: its items land in another day's partition."""
    adjustments = pc.filter(row_numbers(count), pc.not_equal(_mod(row_numbers(count), 10), 9))
    rows = len(adjustments)
    at = _timestamps(pc.multiply(_mod(adjustments, 86_000), 1_000_000), day)
    columns = {
        "id": pc.add(adjustments, 101),
        "sequential_id": pc.add(adjustments, 1),
        "adjusted_at": at,
        "created_at": at,
        "updated_at": at,
        "archived": pc.equal(_mod(adjustments, 20), 0),
        "note": _pick(NOTES, adjustments),
        "stock_adjustment_reason": pa.StructArray.from_arrays(
            [_mod(adjustments, 5), _pick(["Hư hỏng", "Stolen", "Damaged"], adjustments)],
            names=["id", "reason"],
        ),
        "location": pa.StructArray.from_arrays(
            [_mod(adjustments, 8), pc.add(_mod(adjustments, 8), 6_512_347_900_000)],
            names=["id", "shopify_id"],
        ),
        "_extra_json": pa.nulls(rows, pa.string()),
    }
    return pa.RecordBatch.from_pydict(columns, schema=stocky.STOCK_ADJUSTMENTS)


def stocky_items(first: int, count: int, day: date) -> pa.RecordBatch:
    items = pc.add(row_numbers(count), first)
    variants = _mod(items, 4_000)
    quantity = pc.subtract(_mod(items, 41), 20)
    previous = _mod(items, 300)
    updated = pc.multiply(_mod(pc.divide(items, LINES_PER_ADJUSTMENT), 86_000), 1_000_000)
    columns = {
        "id": _repeat_every_thousandth(pc.add(items, 1_001), items),
        "quantity": quantity,
        "updated_at": _timestamps(pc.add(updated, _mod(items, 1000)), day),
        "status": _pick(["adjusted", "adjusted", "not adjusted"], items),
        "previous_quantity": previous,
        "new_quantity": pc.add(previous, quantity),
        "stock_adjustment_id": pc.add(pc.divide(items, LINES_PER_ADJUSTMENT), 101),
        "adjusted_at": _timestamps(updated, day),
        "variant": pa.StructArray.from_arrays(
            [
                variants,
                pc.add(variants, 35_671_800_000_000),
                _pick(["Default Title", "Áo thun cổ tròn / Đỏ", "Size M"], variants),
                _text("SKU-", variants),
                pc.if_else(pc.equal(_mod(items, 5), 0), None, _text("893", variants)),
            ],
            fields=list(stocky.VARIANT),
        ),
        "_extra_json": pa.nulls(count, pa.string()),
    }
    return pa.RecordBatch.from_pydict(columns, schema=stocky.STOCK_ADJUSTMENT_ITEMS)


def write_generated_day(
    s3: Any, lake: ShopLake, day: date, lines: int, run_id: str = "generated"
) -> None:
    """Commit day `day`'s three raw partitions, `lines` lines in all, as the extracts do."""
    haravan_raw, stocky_adjustments_raw, stocky_items_raw = raw_partitions(lake, day)
    adjustments = lines // 2 // LINES_PER_ADJUSTMENT
    with PartitionWriter(
        Lake(s3, haravan_raw.root), haravan_raw, haravan.ADJUSTMENTS, run_id
    ) as writer:
        for first in range(0, adjustments, CHUNK_ADJUSTMENTS):
            writer.write(haravan_chunk(first, min(CHUNK_ADJUSTMENTS, adjustments - first), day))
        writer.commit()
    items = lines - adjustments * LINES_PER_ADJUSTMENT
    with PartitionWriter(
        Lake(s3, stocky_adjustments_raw.root),
        stocky_adjustments_raw,
        stocky.STOCK_ADJUSTMENTS,
        run_id,
    ) as writer:
        writer.write(stocky_adjustments(items // LINES_PER_ADJUSTMENT + 1, day))
        writer.commit()
    chunk = CHUNK_ADJUSTMENTS * LINES_PER_ADJUSTMENT
    with PartitionWriter(
        Lake(s3, stocky_items_raw.root), stocky_items_raw, stocky.STOCK_ADJUSTMENT_ITEMS, run_id
    ) as writer:
        for first in range(0, items, chunk):
            writer.write(stocky_items(first, min(chunk, items - first), day))
        writer.commit()

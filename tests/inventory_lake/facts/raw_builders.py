"""Small hand-built raw records (typed as the extract writes them) and raw partitions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from include.inventory_lake.facts.build import raw_partitions
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import ShopLake
from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.schemas import haravan, stocky


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def haravan_line(line_id: int | None, quantity: int, cost: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": line_id,
        "product_id": 1031046355,
        "product_variant_id": 1068095306,
        "quantity": quantity,
        "cost_amount": Decimal(cost),
        "sku": "IPOD123",
        "barcode": "123_pink",
        **fields,
    }


def haravan_adjustment(
    adjustment_id: int, created: datetime, lines: list[dict[str, Any]] | None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": adjustment_id,
        "created_at": created,
        "updated_at": created,
        "adjust_number": f"IA{100000 + adjustment_id % 1000}",
        "tran_date": created,
        "location_id": 963414,
        "type": "adjust",
        "total_quantity": sum(line["quantity"] for line in lines or [] if line),
        "reason": "damaged",
        "note": "hàng hư hỏng do nhà sản xuất",
        "total_cost": Decimal("0.00"),
        "tags": "Hư hỏng",
        "line_items": lines,
        **fields,
    }


def stocky_adjustment(
    adjustment_id: int, updated: datetime, *, reason: str | None = "Damaged", **fields: Any
) -> dict[str, Any]:
    return {
        "id": adjustment_id,
        "sequential_id": adjustment_id - 100,
        "adjusted_at": updated,
        "created_at": updated,
        "updated_at": updated,
        "archived": False,
        "note": "kiểm kê cuối ngày",
        "stock_adjustment_reason": None if reason is None else {"id": 7, "reason": reason},
        "location": {"id": 11, "shopify_id": 61234567890},
        **fields,
    }


def stocky_item(
    item_id: int, adjustment_id: int | None, quantity: int, updated: datetime, **fields: Any
) -> dict[str, Any]:
    return {
        "id": item_id,
        "quantity": quantity,
        "updated_at": updated,
        "status": "adjusted",
        "previous_quantity": 3,
        "new_quantity": 3 + quantity,
        "stock_adjustment_id": adjustment_id,
        "adjusted_at": updated,
        "variant": {
            "id": 278,
            "shopify_id": 35671873093654,
            "title": "Áo thun cổ tròn",
            "sku": "RisorgimentosBavarians01",
            "barcode": None,
        },
        **fields,
    }


def batch(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(list(rows), schema=schema)


def write_raw_day(
    s3: Any,
    shop_lake: ShopLake,
    day: date,
    haravan_rows: Sequence[dict[str, Any]] = (),
    stocky_adjustment_rows: Sequence[dict[str, Any]] = (),
    stocky_item_rows: Sequence[dict[str, Any]] = (),
    *,
    only: Sequence[str] | None = None,
) -> None:
    """Commit the day's three raw partitions as the extracts do (`only`: dataset paths)."""
    inputs = zip(
        raw_partitions(shop_lake, day),
        (haravan.ADJUSTMENTS, stocky.STOCK_ADJUSTMENTS, stocky.STOCK_ADJUSTMENT_ITEMS),
        (haravan_rows, stocky_adjustment_rows, stocky_item_rows),
        strict=True,
    )
    for partition, schema, rows in inputs:
        if only is not None and partition.dataset not in only:
            continue
        with PartitionWriter(Lake(s3, partition.root), partition, schema, "test-run") as writer:
            writer.write(batch(rows, schema))
            writer.commit()

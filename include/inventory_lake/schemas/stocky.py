"""Raw Stocky stock adjustments and stock adjustment items, as received."""

from __future__ import annotations

import pyarrow as pa

from include.inventory_lake.schemas.types import EXTRA_JSON_COLUMN, ID, QUANTITY, TIMESTAMP

STOCK_ADJUSTMENTS = pa.schema(
    [
        pa.field("id", ID, nullable=False),
        pa.field("sequential_id", ID),
        pa.field("adjusted_at", TIMESTAMP),
        pa.field("created_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP, nullable=False),
        pa.field("archived", pa.bool_()),
        pa.field("note", pa.string()),
        pa.field(
            "stock_adjustment_reason",
            pa.struct([pa.field("id", ID), pa.field("reason", pa.string())]),
        ),
        pa.field("location", pa.struct([pa.field("id", ID), pa.field("shopify_id", ID)])),
        pa.field(EXTRA_JSON_COLUMN, pa.string()),
    ]
)

VARIANT = pa.struct(
    [
        pa.field("id", ID),
        pa.field("shopify_id", ID),
        pa.field("title", pa.string()),
        pa.field("sku", pa.string()),
        pa.field("barcode", pa.string()),
    ]
)

STOCK_ADJUSTMENT_ITEMS = pa.schema(
    [
        pa.field("id", ID, nullable=False),
        pa.field("quantity", QUANTITY),
        pa.field("updated_at", TIMESTAMP, nullable=False),
        pa.field("status", pa.string()),
        pa.field("previous_quantity", QUANTITY),
        pa.field("new_quantity", QUANTITY),
        pa.field("stock_adjustment_id", ID),
        pa.field("adjusted_at", TIMESTAMP),
        pa.field("variant", VARIANT),
        pa.field(EXTRA_JSON_COLUMN, pa.string()),
    ]
)

"""Raw Haravan inventory adjustments: one row per adjustment, line items nested as received."""

from __future__ import annotations

import pyarrow as pa

from include.inventory_lake.schemas.types import EXTRA_JSON_COLUMN, ID, MONEY, QUANTITY, TIMESTAMP

LINE_ITEM = pa.struct(
    [
        pa.field("id", ID),
        pa.field("product_id", ID),
        pa.field("product_variant_id", ID),
        pa.field("quantity", QUANTITY),
        pa.field("cost_amount", MONEY),
        pa.field("sku", pa.string()),
        pa.field("barcode", pa.string()),
    ]
)

ADJUSTMENTS = pa.schema(
    [
        pa.field("id", ID, nullable=False),
        pa.field("created_at", TIMESTAMP, nullable=False),
        pa.field("updated_at", TIMESTAMP),
        pa.field("adjust_number", pa.string()),
        pa.field("tran_date", TIMESTAMP),
        pa.field("location_id", ID),
        pa.field("type", pa.string()),
        pa.field("total_quantity", QUANTITY),
        pa.field("reason", pa.string()),
        pa.field("note", pa.string()),
        pa.field("total_cost", MONEY),
        pa.field("tags", pa.string()),
        pa.field("line_items", pa.list_(LINE_ITEM)),
        pa.field(EXTRA_JSON_COLUMN, pa.string()),
    ]
)

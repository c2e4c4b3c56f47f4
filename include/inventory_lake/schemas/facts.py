"""Facts: one flat row per inventory adjustment line from both sources.

This schema is the warehouse contract (docs/warehouse-contract.md): changing a column's name,
type, nullability or meaning is a contract change, recorded in that document. Each field
carries its meaning as Parquet field metadata (`description`), so a reader of the files sees it.
"""

from __future__ import annotations

import pyarrow as pa

from include.inventory_lake.schemas.types import ID, MONEY, QUANTITY, TIMESTAMP

CONTRACT_VERSION = "3.2"

HARAVAN = "haravan"
STOCKY = "stocky"
SOURCES = (HARAVAN, STOCKY)


def _field(name: str, type_: pa.DataType, description: str, *, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


LINES = pa.schema(
    [
        _field(
            "shop",
            pa.string(),
            "The shop the line belongs to: its id in the deployment's shops configuration "
            "(`default` for a single-shop deployment); also the `shop=` folder of the "
            "partition. Merge on (`shop`, `line_key`).",
            nullable=False,
        ),
        _field("source", pa.string(), "`haravan` or `stocky`.", nullable=False),
        _field(
            "line_key",
            pa.string(),
            "Unique, deterministic key: `<source>:<line_id>`, e.g. `haravan:1116232509`. "
            "Merge on it.",
            nullable=False,
        ),
        _field(
            "line_id",
            ID,
            "The source's line id: Haravan `line_items[].id`, Stocky stock adjustment item `id`.",
            nullable=False,
        ),
        _field(
            "adjustment_id",
            ID,
            "The adjustment the line belongs to: Haravan adjustment `id`, Stocky "
            "`stock_adjustment_id`.",
        ),
        _field(
            "adjustment_number",
            pa.string(),
            "Human-facing number: Haravan `adjust_number` (e.g. `IA100016`), Stocky "
            "`sequential_id` as text.",
        ),
        _field(
            "location_id",
            ID,
            "Haravan `location_id`; Stocky location `id` (from the item's adjustment).",
        ),
        _field(
            "location_shopify_id",
            ID,
            "Stocky only: the Shopify location id (from the item's adjustment). Null for Haravan.",
        ),
        _field("product_id", ID, "Haravan `product_id`. Null for Stocky (not in its API)."),
        _field("variant_id", ID, "Haravan `product_variant_id`; Stocky variant `id`."),
        _field(
            "variant_shopify_id",
            ID,
            "Stocky only: the Shopify variant id. Null for Haravan.",
        ),
        _field("sku", pa.string(), "SKU as the source sent it (may be null or empty)."),
        _field("barcode", pa.string(), "Barcode as the source sent it (may be null or empty)."),
        _field("variant_title", pa.string(), "Stocky variant `title`. Null for Haravan."),
        _field(
            "quantity",
            QUANTITY,
            "Signed change of stock: negative removes units, positive adds them.",
        ),
        _field(
            "cost_amount",
            MONEY,
            "Haravan line `cost_amount` (signed, in the shop currency, exact). Null for Stocky.",
        ),
        _field(
            "adjustment_type",
            pa.string(),
            "Haravan `type` (`adjust`, `set` or null). Null for Stocky.",
        ),
        _field(
            "reason",
            pa.string(),
            "Haravan `reason`; Stocky `stock_adjustment_reason.reason` (from the adjustment).",
        ),
        _field(
            "status",
            pa.string(),
            "Stocky item `status` (`adjusted` / `not adjusted`). Null for Haravan.",
        ),
        _field(
            "previous_quantity",
            QUANTITY,
            "Stocky: available quantity before the adjustment was performed (null until then). "
            "Null for Haravan.",
        ),
        _field(
            "new_quantity",
            QUANTITY,
            "Stocky: available quantity after the adjustment was performed (null until then). "
            "Null for Haravan.",
        ),
        _field(
            "adjusted_at",
            TIMESTAMP,
            "When the adjustment took effect: Haravan `tran_date`, Stocky item `adjusted_at` "
            "(null until performed).",
        ),
        _field(
            "created_at",
            TIMESTAMP,
            "When the adjustment was created: Haravan adjustment `created_at`, Stocky "
            "adjustment `created_at` (null when `adjustment_missing`).",
        ),
        _field(
            "updated_at",
            TIMESTAMP,
            "Version of the line: Haravan adjustment `updated_at` (its `created_at` if the API "
            "sent none), Stocky item `updated_at`. The newest wins a merge.",
            nullable=False,
        ),
        _field(
            "note", pa.string(), "The adjustment's free-text note (Vietnamese text kept as is)."
        ),
        _field("tags", pa.string(), "Haravan `tags`, as sent. Null for Stocky."),
        _field(
            "archived",
            pa.bool_(),
            "Stocky adjustment `archived` (null when `adjustment_missing`). Null for Haravan.",
        ),
        _field(
            "adjustment_missing",
            pa.bool_(),
            "Stocky only: true when the item's adjustment is not in the lake at all (neither "
            "in the same day's raw adjustments partition nor in the lake's index of Stocky "
            "adjustments, which holds the adjustments of every raw day), so location, reason, "
            "note, created_at, adjustment_number and archived are null. Always false for "
            "Haravan.",
            nullable=False,
        ),
    ],
    metadata={
        "contract": "docs/warehouse-contract.md",
        "contract_version": CONTRACT_VERSION,
    },
)

REQUIRED = tuple(field.name for field in LINES if not field.nullable)

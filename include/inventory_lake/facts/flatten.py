"""Raw batches → facts batches (schema `facts.LINES`), column at a time with Arrow compute.

Haravan: `line_items` is exploded (`list_flatten`) and the adjustment's columns are repeated for
each line by `take` with the lines' parent indices. Stocky: items are matched to their
adjustment by `index_in` on `stock_adjustment_id` and the adjustment's columns taken by that
index (the lookup, `lake.stocky_lookup`); an item whose adjustment is not in the lookup (the
day's adjustments, then the lake's index of Stocky adjustments) gets nulls there and
`adjustment_missing = true`.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.facts.keys import line_keys
from include.inventory_lake.schemas import facts


def _facts_batch(columns: dict[str, pa.Array], rows: int) -> pa.RecordBatch:
    """Columns by name; every facts column not given is all-null for this source."""
    arrays = [
        columns[field.name] if field.name in columns else pa.nulls(rows, field.type)
        for field in facts.LINES
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=facts.LINES)


def _constant(value: object, rows: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), rows)


def haravan_line_ids(adjustments: pa.RecordBatch) -> pa.Array:
    return pc.struct_field(pc.list_flatten(adjustments.column("line_items")), "id")


def haravan_line_versions(adjustments: pa.RecordBatch) -> pa.Array:
    """Each line's version: its adjustment's `updated_at`, else `created_at`."""
    line_items = adjustments.column("line_items")
    versions = pc.coalesce(adjustments.column("updated_at"), adjustments.column("created_at"))
    return versions.take(pc.list_parent_indices(line_items))


def haravan_lines(adjustments: pa.RecordBatch, shop: str) -> pa.RecordBatch:
    """One facts row per Haravan line item of `shop`, in the order received."""
    line_items = adjustments.column("line_items")
    items = pc.list_flatten(line_items)
    parents = pc.list_parent_indices(line_items)
    rows = len(items)

    def item(name: str) -> pa.Array:
        return pc.struct_field(items, name)

    def adjustment(name: str) -> pa.Array:
        return adjustments.column(name).take(parents)

    line_ids = item("id")
    return _facts_batch(
        {
            "shop": _constant(shop, rows, pa.string()),
            "source": _constant(facts.HARAVAN, rows, pa.string()),
            "line_key": line_keys(facts.HARAVAN, line_ids),
            "line_id": line_ids,
            "adjustment_id": adjustment("id"),
            "adjustment_number": adjustment("adjust_number"),
            "location_id": adjustment("location_id"),
            "product_id": item("product_id"),
            "variant_id": item("product_variant_id"),
            "sku": item("sku"),
            "barcode": item("barcode"),
            "quantity": item("quantity"),
            "cost_amount": item("cost_amount"),
            "adjustment_type": adjustment("type"),
            "reason": adjustment("reason"),
            "adjusted_at": adjustment("tran_date"),
            "created_at": adjustment("created_at"),
            "updated_at": pc.coalesce(adjustment("updated_at"), adjustment("created_at")),
            "note": adjustment("note"),
            "tags": adjustment("tags"),
            "adjustment_missing": _constant(False, rows, pa.bool_()),
        },
        rows,
    )


def stocky_lines(items: pa.RecordBatch, lookup: pa.Table, shop: str) -> pa.RecordBatch:
    """One facts row per Stocky item of `shop`, with location and reason from its
    adjustment."""
    rows = items.num_rows
    match = pc.index_in(items.column("stock_adjustment_id"), value_set=lookup.column("id"))
    matched = lookup.take(match)
    variant = items.column("variant")

    def adjustment(name: str) -> pa.Array:
        return matched.column(name).combine_chunks()

    line_ids = items.column("id")
    return _facts_batch(
        {
            "shop": _constant(shop, rows, pa.string()),
            "source": _constant(facts.STOCKY, rows, pa.string()),
            "line_key": line_keys(facts.STOCKY, line_ids),
            "line_id": line_ids,
            "adjustment_id": items.column("stock_adjustment_id"),
            "adjustment_number": pc.cast(adjustment("sequential_id"), pa.string()),
            "location_id": adjustment("location_id"),
            "location_shopify_id": adjustment("location_shopify_id"),
            "variant_id": pc.struct_field(variant, "id"),
            "variant_shopify_id": pc.struct_field(variant, "shopify_id"),
            "sku": pc.struct_field(variant, "sku"),
            "barcode": pc.struct_field(variant, "barcode"),
            "variant_title": pc.struct_field(variant, "title"),
            "quantity": items.column("quantity"),
            "reason": adjustment("reason"),
            "status": items.column("status"),
            "previous_quantity": items.column("previous_quantity"),
            "new_quantity": items.column("new_quantity"),
            "adjusted_at": items.column("adjusted_at"),
            "created_at": adjustment("created_at"),
            "updated_at": items.column("updated_at"),
            "note": adjustment("note"),
            "archived": adjustment("archived"),
            "adjustment_missing": pc.is_null(match),
        },
        rows,
    )

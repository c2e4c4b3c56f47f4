"""A Stocky adjustments table as the flat lookup the facts match items against: one row per
adjustment id, its newest version, location and reason taken out of their structs. The facts
build makes it of a raw day, and the lake's index of Stocky adjustments keeps it
(`stocky_index.LOOKUP`).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from include.inventory_lake.lake.dedupe import latest_per_key


def stocky_adjustment_lookup(adjustments: pa.Table) -> pa.Table:
    """The day's Stocky adjustments, one row per id (newest `updated_at`), flat columns."""
    ids = adjustments.column("id").combine_chunks()
    keep = latest_per_key(ids, adjustments.column("updated_at").combine_chunks())
    latest = adjustments.filter(keep)
    location = latest.column("location").combine_chunks()
    reason = latest.column("stock_adjustment_reason").combine_chunks()
    return pa.table(
        {
            "id": latest.column("id"),
            "sequential_id": latest.column("sequential_id"),
            "created_at": latest.column("created_at"),
            "note": latest.column("note"),
            "archived": latest.column("archived"),
            "location_id": pc.struct_field(location, "id"),
            "location_shopify_id": pc.struct_field(location, "shopify_id"),
            "reason": pc.struct_field(reason, "reason"),
            "updated_at": latest.column("updated_at"),
        }
    )

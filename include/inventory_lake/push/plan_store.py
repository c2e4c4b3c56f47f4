"""Store a plan in the lake (typed Parquet for the push, CSV for people) and load it back."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from include.inventory_lake.lineage.recorder import schema_fields
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.push.planning import Plan, plan_from_rows, plan_rows
from include.inventory_lake.push.report import csv_bytes
from include.inventory_lake.schemas.push import PLAN

if TYPE_CHECKING:
    pass

CSV_COLUMNS = (
    "chunk",
    "source_row",
    "location_id",
    "product_id",
    "product_variant_id",
    "sku",
    "barcode",
    "reason",
    "note",
    "current_quantity",
    "new_quantity",
    "delta",
    "guard_flags",
)


def write_plan(lake: PushLake, plan: Plan, *, dry_run: bool) -> tuple[str, str]:
    """(Parquet key, CSV key), each written in one PUT."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = plan_rows(plan)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=PLAN), buffer, compression="zstd")
    parquet_key = lake.layout.plan_key(plan.batch_id, dry_run=dry_run, ext="parquet")
    csv_key = lake.layout.plan_key(plan.batch_id, dry_run=dry_run, ext="csv")
    lake.put_bytes(
        parquet_key,
        buffer.getvalue(),
        "application/vnd.apache.parquet",
        fields=schema_fields(PLAN),
        rows=len(rows),
        size=buffer.getbuffer().nbytes,
    )
    table_rows = (
        [
            *(row[column] for column in CSV_COLUMNS[:-1]),
            " ".join(row["guard_flags"]),
        ]
        for row in rows
    )
    lake.put_bytes(csv_key, csv_bytes(CSV_COLUMNS, table_rows), "text/csv; charset=utf-8")
    return parquet_key, csv_key


def read_plan(lake: PushLake, batch_id: str, guard: Sequence[str] = ()) -> Plan:
    import pyarrow.parquet as pq

    key = lake.layout.plan_key(batch_id, dry_run=False, ext="parquet")
    body = lake.read_required(key)
    table = pq.read_table(io.BytesIO(body), schema=PLAN)
    return plan_from_rows(batch_id, table.to_pylist(), guard)

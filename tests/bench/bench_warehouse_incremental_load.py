"""`warehouse_incremental_load`: the example warehouse load reads only what changed in the
facts table. A table of 2 shops x 10 days x 2,000 lines (a pyiceberg SQL catalog in SQLite,
its files on a local S3 server), loaded once in full; then 2 partitions are replaced (one line
changed, one removed in each) and the load runs again, then once more with nothing new.

Figures: rows read by the incremental load / rows in the changed partitions (target 1.0),
data files read with nothing new (target 0), and the wall time of each load.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import pyarrow as pa

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import load_catalog
from include.inventory_lake.iceberg.replace import replace_partition
from include.inventory_lake.schemas import facts
from include.inventory_lake.warehouse.duckdb_merge import connect
from include.inventory_lake.warehouse.load import load_table
from tests.bench import harness

BUCKET = "bench-iceberg"
SHOPS = ("hanoi", "saigon")
DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(10)]
LINES_PER_PARTITION = 2_000
CHANGED = [("hanoi", DAYS[3]), ("saigon", DAYS[7])]


def lines(shop: str, day: date, hour: int = 8, drop: int | None = None) -> pa.Table:
    base = DAYS.index(day) * LINES_PER_PARTITION
    return pa.Table.from_pylist(
        [
            {
                "shop": shop,
                "source": "haravan",
                "line_key": f"haravan:{base + i}",
                "line_id": base + i,
                "quantity": i % 7 - 3,
                "cost_amount": Decimal(f"{i % 100}.25"),
                "updated_at": datetime(
                    day.year, day.month, day.day, hour if i == 0 else 8, tzinfo=UTC
                ),
                "adjustment_missing": False,
            }
            for i in range(LINES_PER_PARTITION)
            if i != drop
        ],
        schema=facts.LINES,
    )


def main() -> None:
    with harness.s3_server() as s3, tempfile.TemporaryDirectory(prefix="bench-wh-") as tmp:
        client = boto3.client(
            "s3",
            endpoint_url=s3.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        client.create_bucket(Bucket=BUCKET)
        catalog = load_catalog(
            "bench",
            {
                "type": "sql",
                "uri": f"sqlite:///{Path(tmp) / 'catalog.db'}",
                "warehouse": f"s3://{BUCKET}/iceberg",
                "s3.endpoint": s3.url,
                "s3.region": "us-east-1",
                "s3.access-key-id": "bench",
                "s3.secret-access-key": "bench",
            },
        )
        table = facts_table.ensure_table(catalog)
        for shop in SHOPS:
            for day in DAYS:
                replace_partition(table, shop, day, lines(shop, day))
        with connect(Path(tmp) / "warehouse.duckdb") as db:
            started = time.perf_counter()
            full = load_table(db, table)
            full_s = time.perf_counter() - started
            for shop, day in CHANGED:
                replace_partition(table, shop, day, lines(shop, day, hour=20, drop=1))
            started = time.perf_counter()
            incremental = load_table(db, table)
            incremental_s = time.perf_counter() - started
            started = time.perf_counter()
            unchanged = load_table(db, table)
            unchanged_s = time.perf_counter() - started
    changed_rows = sum(p.rows for p in incremental.partitions)
    harness.emit(
        "warehouse_incremental_load",
        f"{len(SHOPS)} shops x {len(DAYS)} days x {LINES_PER_PARTITION} lines; "
        f"{len(CHANGED)} partitions replaced (a line changed and a line removed in each)",
        full_load_rows_read=full.rows_read,
        full_load_data_files_read=full.data_files_read,
        full_load_s=round(full_s, 3),
        changed_partitions=len(incremental.partitions),
        rows_in_changed_partitions=changed_rows,
        incremental_rows_read=incremental.rows_read,
        incremental_data_files_read=incremental.data_files_read,
        rows_read_per_changed_row=round(incremental.rows_read / changed_rows, 3),
        incremental_lookup_rows_read=incremental.lookup_rows_read,
        incremental_lookup_data_files_read=incremental.lookup_data_files_read,
        incremental_updated=incremental.updated,
        incremental_deleted=incremental.deleted,
        incremental_load_s=round(incremental_s, 3),
        nothing_new_rows_read=unchanged.rows_read,
        nothing_new_data_files_read=unchanged.data_files_read,
        nothing_new_load_s=round(unchanged_s, 3),
        target_rows_read_per_changed_row=1.0,
        target_nothing_new_data_files_read=0,
    )


if __name__ == "__main__":
    main()

"""Read what the pipeline wrote to the lake, as a warehouse load would."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.servers import S3Server

DEFAULT_SHOP = "default"


def partition_prefix(dataset: str, day: date, shop: str = DEFAULT_SHOP) -> str:
    return f"{dataset}/shop={shop}/dt={day.isoformat()}/"


def read_partition(s3: S3Server, dataset: str, day: date, shop: str = DEFAULT_SHOP) -> pa.Table:
    key = partition_prefix(dataset, day, shop) + "part-00000.parquet"
    body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


def read_marker(s3: S3Server, dataset: str, day: date, shop: str = DEFAULT_SHOP) -> dict[str, Any]:
    key = partition_prefix(dataset, day, shop) + "_SUCCESS"
    body = s3.client().get_object(Bucket=s3.bucket, Key=key)
    marker: dict[str, Any] = json.loads(body["Body"].read())
    return marker


def assert_table_holds_the_partition(
    s3: S3Server, shop: str, day: date, *, empty: bool = False, table: Any = None
) -> None:
    """The Iceberg table's shop|day, read with pyiceberg, has the Parquet partition's numbers:
    rows, sums of quantity and cost, distinct line keys (and the same keys). The partition has
    rows unless `empty`. `table`: the facts table as loaded (default: loaded here)."""
    from include.inventory_lake.iceberg import facts_table
    from include.inventory_lake.iceberg.catalog import open_catalog
    from include.inventory_lake.iceberg.replace import partition_filter
    from include.inventory_lake.settings import FACTS_LINES_PATH

    parquet = read_partition(s3, FACTS_LINES_PATH, day, shop)
    table = table if table is not None else facts_table.ensure_table(open_catalog())
    iceberg = table.scan(row_filter=partition_filter(shop, day)).to_arrow()
    assert (parquet.num_rows == 0) is empty, (shop, day, parquet.num_rows)
    for rows in (parquet, iceberg):
        assert pc.count_distinct(rows.column("line_key")).as_py() == rows.num_rows
    assert iceberg.num_rows == parquet.num_rows
    for column in ("quantity", "cost_amount"):
        assert pc.sum(iceberg.column(column)).as_py() == pc.sum(parquet.column(column)).as_py()
    assert set(iceberg.column("line_key").to_pylist()) == set(
        parquet.column("line_key").to_pylist()
    )
    assert set(iceberg.column("dt").to_pylist()) == (set() if empty else {day})

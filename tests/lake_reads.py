"""Read what the pipeline wrote to the lake, as a warehouse load would."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pyarrow as pa
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

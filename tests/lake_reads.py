"""Read what the pipeline wrote to the lake, as a warehouse load would."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.servers import S3Server


def partition_prefix(dataset: str, day: date) -> str:
    return f"{dataset}/dt={day.isoformat()}/"


def read_partition(s3: S3Server, dataset: str, day: date) -> pa.Table:
    body = (
        s3.client()
        .get_object(Bucket=s3.bucket, Key=partition_prefix(dataset, day) + "part-00000.parquet")[
            "Body"
        ]
        .read()
    )
    return pq.read_table(io.BytesIO(body))


def read_marker(s3: S3Server, dataset: str, day: date) -> dict[str, Any]:
    body = s3.client().get_object(Bucket=s3.bucket, Key=partition_prefix(dataset, day) + "_SUCCESS")
    marker: dict[str, Any] = json.loads(body["Body"].read())
    return marker

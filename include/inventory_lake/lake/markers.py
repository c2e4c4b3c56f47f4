"""Read a partition's `_SUCCESS` marker: its presence means "complete", its body the facts."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from include.inventory_lake.lake.location import Partition


def read_marker(s3_client: Any, partition: Partition) -> dict[str, Any] | None:
    """The marker's JSON, or None when the partition is not (or not yet) complete."""
    try:
        response = s3_client.get_object(Bucket=partition.root.bucket, Key=partition.marker_key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise
    marker: dict[str, Any] = json.loads(response["Body"].read())
    return marker

"""Move a staging file out of `approved/` once its fate is known, with its report beside it.

S3 has no rename: the file is copied only if it is still the version that was read (ETag), and
the original is deleted only if it still is; a file replaced under the same name meanwhile is
left in `approved/` for the next run. Moving again after a crash is harmless.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def put_bytes(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def _etag(s3: Any, bucket: str, key: str) -> str | None:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return str(head["ETag"]).strip('"')


def move(s3: Any, bucket: str, source: str, destination: str, etag: str) -> bool:
    """Move `source` (version `etag`) to `destination`; True when it is there afterwards."""
    current = _etag(s3, bucket, source)
    if current is None:
        moved = _etag(s3, bucket, destination) is not None
        log.info("%s is gone already%s", source, " (moved before)" if moved else "")
        return moved
    if current != etag.strip('"'):
        log.warning("%s changed since it was read: left in place for the next run", source)
        return False
    s3.copy_object(
        Bucket=bucket,
        Key=destination,
        CopySource={"Bucket": bucket, "Key": source},
        CopySourceIfMatch=etag,
    )
    if _etag(s3, bucket, source) == etag.strip('"'):
        s3.delete_object(Bucket=bucket, Key=source)
    log.info("moved s3://%s/%s to %s", bucket, source, destination)
    return True

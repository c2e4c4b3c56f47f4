"""Small read-only S3 helpers for the page: listings, whole objects, JSON, and reads in
parallel (a page makes dozens of small GETs; one at a time they add up on a real S3)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

READ_THREADS = 8


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime


def list_objects(
    s3: Any, bucket: str, prefix: str, *, start_after: str = ""
) -> Iterator[StoredObject]:
    """Every object under `prefix` (after `start_after`), in key order."""
    paginator = s3.get_paginator("list_objects_v2")
    options = {"StartAfter": start_after} if start_after else {}
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, **options):
        for obj in page.get("Contents", []):
            yield StoredObject(obj["Key"], int(obj["Size"]), obj["LastModified"])


def child_prefixes(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The names of the "folders" directly under `prefix`, in key order."""
    paginator = s3.get_paginator("list_objects_v2")
    names: list[str] = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            names.append(common["Prefix"][len(prefix) :].rstrip("/"))
    return names


def read_bytes(s3: Any, bucket: str, key: str) -> bytes | None:
    """The object's body, or None when it does not exist (any other error is raised)."""
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def read_json(s3: Any, bucket: str, key: str) -> Any:
    body = read_bytes(s3, bucket, key)
    return None if body is None else json.loads(body)


def parallel_map(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`[function(item) for item in items]`, READ_THREADS at a time (boto3 clients are
    thread-safe); the first error is raised."""
    todo = list(items)
    if len(todo) <= 1:
        return [function(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(todo))) as pool:
        return list(pool.map(function, todo))

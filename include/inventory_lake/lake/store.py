"""The one gateway to the lake's S3 bucket: every read, write, listing and move goes through it.

`LakeStore` wraps a boto3 S3 client (typed with boto3's published stubs) and one bucket. A
missing object is `None` (never an exception); a conditional write that loses its race raises
`WriteConflict`; a move is a copy conditional on the ETag that was read, then a delete only if
the source is still that version. Markers and partition files are read here too, so "what a
partition's `_SUCCESS` says" has one definition.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from include.inventory_lake.lake.location import Partition

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
T = TypeVar("T")

MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
MULTIPART_BYTES = 64 * 1024 * 1024
DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1,000 keys


class WriteConflict(RuntimeError):
    """A conditional write lost: the object changed (or appeared) since it was read."""

    def __init__(self, bucket: str, key: str, condition: str) -> None:
        self.bucket, self.key, self.condition = bucket, key, condition
        super().__init__(
            f"s3://{bucket}/{key} was written by someone else ({condition} no longer holds)"
        )


class MissingObject(LookupError):
    """An object that must exist does not."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime
    etag: str = ""


@dataclass(frozen=True)
class Versioned:
    """An object's body with the ETag that a conditional write names."""

    body: bytes
    etag: str


def error_code(error: Exception) -> str:
    """The S3 error code of a botocore ClientError (or its HTTP status), else ""."""
    response: Any = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    return str(code) or str(status)


def is_missing(error: Exception) -> bool:
    return error_code(error) in MISSING_CODES


def _none_if_missing(call: Callable[[], T]) -> T | None:
    """`call()`, or None when S3 says the object does not exist (other errors are raised)."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def transfer_config() -> Any:
    """Multipart settings for large partition files (boto3 is imported only when needed)."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES)


class LakeStore:
    """Typed access to one bucket through one S3 client."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    # reads

    def read_versioned(self, key: str) -> Versioned | None:
        """The object's body and ETag, or None when it does not exist."""

        def read() -> Versioned:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return Versioned(response["Body"].read(), response["ETag"])

        return _none_if_missing(read)

    def read_bytes(self, key: str) -> bytes | None:
        """The object's body, or None when it does not exist (any other error is raised)."""
        stored = self.read_versioned(key)
        return None if stored is None else stored.body

    def read_required(self, key: str) -> bytes:
        """The object's body; MissingObject when it does not exist."""
        body = self.read_bytes(key)
        if body is None:
            raise MissingObject(f"s3://{self.bucket}/{key} does not exist")
        return body

    def read_json(self, key: str) -> Any:
        """The object parsed as JSON, or None when it does not exist."""
        body = self.read_bytes(key)
        return None if body is None else json.loads(body)

    def etag(self, key: str) -> str | None:
        """The object's ETag without quotes, or None when it does not exist."""
        return _none_if_missing(
            lambda: str(self.client.head_object(Bucket=self.bucket, Key=key)["ETag"]).strip('"')
        )

    def read_marker(self, partition: Partition) -> dict[str, Any] | None:
        """The partition's `_SUCCESS` marker, or None when it is not (or not yet) complete."""
        marker: dict[str, Any] | None = self.read_json(partition.marker_key)
        return marker

    # writes

    def put_bytes(
        self,
        key: str,
        body: bytes,
        content_type: str = "application/octet-stream",
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Write the object; returns its new ETag. With `if_match` (an ETag) the write happens
        only over that version, with `if_none_match` only if no object exists; otherwise
        `WriteConflict` is raised."""
        from botocore.exceptions import ClientError

        if if_match is not None and if_none_match:
            raise ValueError("a write is conditional on If-Match or If-None-Match, not both")
        put = self.client.put_object
        try:
            if if_match is not None:
                response = put(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    IfMatch=if_match,
                )
            elif if_none_match:
                response = put(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    IfNoneMatch="*",
                )
            else:
                response = put(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as error:
            conditional = if_match is not None or if_none_match
            if conditional and error_code(error) in CONFLICT_CODES:
                described = f"If-Match {if_match}" if if_match is not None else "If-None-Match *"
                raise WriteConflict(self.bucket, key, described) from error
            raise
        return response["ETag"]

    def put_json(
        self,
        key: str,
        document: Any,
        *,
        indent: int | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        body = json.dumps(document, indent=indent).encode()
        return self.put_bytes(
            key, body, "application/json", if_match=if_match, if_none_match=if_none_match
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_many(self, keys: list[str]) -> None:
        """Delete `keys`, up to S3's 1,000 per request; an object S3 refuses to delete raises
        (the keys before it in its request may be gone already: deleting again is harmless)."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = answer.get("Errors", [])
            if errors:
                raise RuntimeError(
                    f"S3 refused to delete {len(errors)} of {len(batch)} object(s) in "
                    f"s3://{self.bucket}, e.g. {errors[0].get('Key')}: {errors[0].get('Code')}"
                )

    def upload_file(self, path: Path, key: str) -> None:
        self.client.upload_file(str(path), self.bucket, key, Config=transfer_config())

    def download_file(self, key: str, path: Path) -> None:
        self.client.download_file(self.bucket, key, str(path), Config=transfer_config())

    def copy(self, source: str, destination: str, *, source_etag: str | None = None) -> None:
        """Copy `source` to `destination` inside the bucket, byte for byte, without the data
        leaving S3 (a multipart copy above MULTIPART_BYTES, past the 5 GB single-copy limit).
        With `source_etag` the copy reads only that version of the source, else
        `WriteConflict` is raised (the source was replaced meanwhile)."""
        from botocore.exceptions import ClientError

        quoted = None if source_etag is None else '"' + source_etag.strip('"') + '"'
        extra = {"CopySourceIfMatch": quoted} if quoted is not None else {}
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": source},
                self.bucket,
                destination,
                ExtraArgs=extra,
                Config=transfer_config(),
            )
        except ClientError as error:
            if source_etag is not None and error_code(error) in CONFLICT_CODES:
                raise WriteConflict(self.bucket, source, f"If-Match {source_etag}") from error
            raise

    def move(self, source: str, destination: str, etag: str) -> bool:
        """Move `source` (version `etag`) to `destination`; True when it is there afterwards.

        The copy names the ETag (a source replaced meanwhile is left for the next run) and the
        source is deleted only if it is still that version; moving again after a crash is
        harmless."""
        current = self.etag(source)
        if current is None:
            moved = self.etag(destination) is not None
            log.info("%s is gone already%s", source, " (moved before)" if moved else "")
            return moved
        if current != etag.strip('"'):
            log.warning("%s changed since it was read: left in place for the next run", source)
            return False
        self.client.copy_object(
            Bucket=self.bucket,
            Key=destination,
            CopySource={"Bucket": self.bucket, "Key": source},
            CopySourceIfMatch=etag,
        )
        if self.etag(source) == etag.strip('"'):
            self.delete(source)
        log.info("moved s3://%s/%s to %s", self.bucket, source, destination)
        return True

    # listings

    def list_objects(self, prefix: str, *, start_after: str = "") -> Iterator[StoredObject]:
        """Every object under `prefix` (after `start_after`), in key order, all pages."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = (
            paginator.paginate(Bucket=self.bucket, Prefix=prefix, StartAfter=start_after)
            if start_after
            else paginator.paginate(Bucket=self.bucket, Prefix=prefix)
        )
        for page in pages:
            for obj in page.get("Contents", []):
                yield _stored(obj)

    def list_keys(self, prefix: str) -> list[str]:
        return [obj.key for obj in self.list_objects(prefix)]

    def list_folder(self, prefix: str) -> tuple[list[StoredObject], list[str]]:
        """The objects directly under `prefix` and the prefixes of its sub-folders (each
        ending with `/`), in key order, all pages."""
        paginator = self.client.get_paginator("list_objects_v2")
        objects: list[StoredObject] = []
        folders: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            objects += [_stored(obj) for obj in page.get("Contents", [])]
            folders += [common["Prefix"] for common in page.get("CommonPrefixes", [])]
        return objects, folders

    def child_prefixes(self, prefix: str) -> list[str]:
        """The names of the "folders" directly under `prefix`, in key order, all pages."""
        return [folder[len(prefix) :].rstrip("/") for folder in self.list_folder(prefix)[1]]


def _stored(listed: Any) -> StoredObject:
    """An entry of a `list_objects_v2` page."""
    return StoredObject(
        listed["Key"],
        int(listed["Size"]),
        listed["LastModified"],
        str(listed.get("ETag", "")).strip('"'),
    )

"""The bound lake: one bucket's S3 client and the lake root, the one object every module
reads, writes and lists the lake through, and which records what it read and wrote as the
running task's OpenLineage inputs and outputs (`lineage.recorder`), so no caller has to.

Keys are built by `lake.location` (partitions, shop and day folders); `LakeStore` is the S3
layer underneath (missing objects, conditional writes, moves).

What lineage sees:
- a dataset is named by `dataset_key(key)` (`location.dataset_key`, a subclass may refine it):
  a partition's files are their partition folder, any other key is its own dataset;
- every write (`put_*`, `upload`, `copy` and `move` to their destination) is an output;
  `fields`, `rows` and `size` are given by the caller when it knows them;
- every read of content (`read_*`, `download`) is an input, with the bytes read;
- reading state is not an input: `read_marker` (whether a partition is committed), `etag`,
  `read_state` (a document read to decide what to do: the push ledger, the Stocky index before
  its conditional rewrite), and listings. Deleting is not a write of a dataset, nor is
  writing state (`put_state`: a document that coordinates tasks, such as a commit request).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.inventory_lake.lake.location import LakeRoot, Partition, ShopLake, dataset_key
from include.inventory_lake.lake.store import LakeStore, MissingObject, StoredObject, Versioned
from include.inventory_lake.lineage.recorder import read_s3, wrote_s3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Fields = list[tuple[str, str]]


class Lake:
    """The lake under one root, reached through one S3 client."""

    def __init__(self, client: S3Client, root: LakeRoot, *, records_lineage: bool = True) -> None:
        self.root = root
        self._store = LakeStore(client, root.bucket)
        self._records_lineage = records_lineage

    @property
    def bucket(self) -> str:
        return self.root.bucket

    # addresses

    def key(self, *parts: str) -> str:
        return self.root.key(*parts)

    def uri(self, key: str) -> str:
        """`s3://<bucket>/<key>` of a key (already under the root)."""
        return f"s3://{self.root.bucket}/{key}"

    def shop(self, shop: str) -> ShopLake:
        return ShopLake(self.root, shop)

    def partition(self, dataset: str, shop: str, dt: date) -> Partition:
        return Partition(self.root, dataset, shop, dt)

    def dataset_key(self, key: str) -> str:
        """The lineage dataset `key` belongs to (see the module's docstring)."""
        return dataset_key(key)

    def dataset_uri(self, key: str) -> str:
        return self.uri(self.dataset_key(key))

    # lineage

    def _read(self, key: str, *, fields: Fields | None, rows: int | None, size: int) -> None:
        if self._records_lineage:
            read_s3(self.dataset_uri(key), fields=fields, rows=rows, size=size)

    def _wrote(
        self, key: str, *, fields: Fields | None, rows: int | None, size: int | None
    ) -> None:
        if self._records_lineage:
            wrote_s3(self.dataset_uri(key), fields=fields, rows=rows, size=size)

    # reads of content: inputs

    def read_versioned(
        self, key: str, *, fields: Fields | None = None, rows: int | None = None
    ) -> Versioned | None:
        """The object's body and ETag, or None when it does not exist."""
        stored = self._store.read_versioned(key)
        if stored is not None:
            self._read(key, fields=fields, rows=rows, size=len(stored.body))
        return stored

    def read_bytes(
        self, key: str, *, fields: Fields | None = None, rows: int | None = None
    ) -> bytes | None:
        """The object's body, or None when it does not exist (any other error is raised)."""
        stored = self.read_versioned(key, fields=fields, rows=rows)
        return None if stored is None else stored.body

    def read_required(
        self, key: str, *, fields: Fields | None = None, rows: int | None = None
    ) -> bytes:
        """The object's body; MissingObject when it does not exist."""
        body = self.read_bytes(key, fields=fields, rows=rows)
        if body is None:
            raise MissingObject(f"s3://{self.bucket}/{key} does not exist")
        return body

    def read_json(self, key: str) -> Any:
        """The object parsed as JSON, or None when it does not exist."""
        stored = self.read_versioned(key)
        return None if stored is None else json.loads(stored.body)

    def download(
        self, key: str, path: Path, *, fields: Fields | None = None, rows: int | None = None
    ) -> None:
        self._store.download_file(key, path)
        self._read(key, fields=fields, rows=rows, size=path.stat().st_size)

    # reads of state: not inputs

    def read_state(self, key: str) -> Versioned | None:
        """A document read to decide what to do (a ledger, an index before its conditional
        rewrite), with its ETag; None when it does not exist."""
        return self._store.read_versioned(key)

    def read_marker(self, partition: Partition) -> dict[str, Any] | None:
        """The partition's `_SUCCESS` marker, or None when it is not (or not yet) complete."""
        return self._store.read_marker(partition)

    def etag(self, key: str) -> str | None:
        """The object's ETag without quotes, or None when it does not exist."""
        return self._store.etag(key)

    # writes: outputs

    def put_bytes(
        self,
        key: str,
        body: bytes,
        content_type: str = "application/octet-stream",
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        fields: Fields | None = None,
        rows: int | None = None,
        size: int | None = None,
    ) -> str:
        """Write the object (conditionally, as `LakeStore.put_bytes`); returns its new ETag."""
        etag = self._store.put_bytes(
            key, body, content_type, if_match=if_match, if_none_match=if_none_match
        )
        self._wrote(key, fields=fields, rows=rows, size=size)
        return etag

    def put_json(
        self,
        key: str,
        document: Any,
        *,
        indent: int | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        etag = self._store.put_json(
            key, document, indent=indent, if_match=if_match, if_none_match=if_none_match
        )
        self._wrote(key, fields=None, rows=None, size=None)
        return etag

    def put_state(
        self, key: str, document: Any, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Write a document that coordinates tasks (conditionally, as `put_json`); not an
        output of the task: its ETag."""
        return self._store.put_json(key, document, if_match=if_match, if_none_match=if_none_match)

    def upload(
        self,
        path: Path,
        key: str,
        *,
        fields: Fields | None = None,
        rows: int | None = None,
        size: int | None = None,
    ) -> None:
        self._store.upload_file(path, key)
        self._wrote(key, fields=fields, rows=rows, size=size)

    def copy(self, source: str, destination: str, *, source_etag: str | None = None) -> None:
        """Copy inside the bucket without the data leaving S3 (`LakeStore.copy`)."""
        self._store.copy(source, destination, source_etag=source_etag)
        self._wrote(destination, fields=None, rows=None, size=None)

    def move(self, source: str, destination: str, etag: str) -> bool:
        """Move `source` (version `etag`) to `destination` (`LakeStore.move`); True when it is
        there afterwards."""
        moved = self._store.move(source, destination, etag)
        if moved:
            self._wrote(destination, fields=None, rows=None, size=None)
        return moved

    def delete(self, key: str) -> None:
        self._store.delete(key)

    def delete_many(self, keys: list[str]) -> None:
        self._store.delete_many(keys)

    # listings

    def list_objects(self, prefix: str, *, start_after: str = "") -> Iterator[StoredObject]:
        """Every object under `prefix` (after `start_after`), in key order, all pages."""
        return self._store.list_objects(prefix, start_after=start_after)

    def list_keys(self, prefix: str) -> list[str]:
        return self._store.list_keys(prefix)

    def list_folder(self, prefix: str) -> tuple[list[StoredObject], list[str]]:
        """The objects directly under `prefix` and its sub-folders' prefixes (ending `/`)."""
        return self._store.list_folder(prefix)

    def child_prefixes(self, prefix: str) -> list[str]:
        """The names of the "folders" directly under `prefix`, in key order, all pages."""
        return self._store.child_prefixes(prefix)

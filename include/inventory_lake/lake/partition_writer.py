"""Write one partition so that readers never see half of it.

Rows stream into a local Parquet file in row groups (memory is bounded by one row group, not by
the partition). On commit the partition's single data file is replaced by one S3 PUT (a
multipart upload becomes visible only when it completes), then a `_SUCCESS` marker is written
with the row count. The marker is removed first, so "marker present" always describes the file
beside it. A crash at any point leaves either the old partition or the new one, never a mix;
an aborted write changes nothing.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from include.inventory_lake.checksums import file_sha256
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import Partition
from include.inventory_lake.lineage.recorder import schema_fields

log = logging.getLogger(__name__)

ROW_GROUP_ROWS = 100_000


@dataclass(frozen=True)
class CommittedPartition:
    uri: str
    rows: int
    bytes: int
    marker: dict[str, Any]


class PartitionWriter:
    def __init__(
        self,
        lake: Lake,
        partition: Partition,
        schema: pa.Schema,
        run_id: str,
        row_group_rows: int = ROW_GROUP_ROWS,
    ) -> None:
        self._lake = lake
        self._partition = partition
        self._schema = schema
        self._run_id = run_id
        self._row_group_rows = row_group_rows
        self._tmp = tempfile.TemporaryDirectory(prefix="partition-")
        self._path = Path(self._tmp.name) / "data.parquet"
        self._writer = pq.ParquetWriter(self._path, schema, compression="zstd")
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.rows = 0

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=self._row_group_rows)
            self._pending, self._pending_rows = [], 0

    def commit(self, details: dict[str, Any] | None = None) -> CommittedPartition:
        """Publish the partition: replace the data file in one PUT, then write the marker."""
        self._flush()
        self._writer.close()
        size = self._path.stat().st_size
        digest = file_sha256(self._path)
        partition = self._partition
        lake = self._lake
        lake.delete(partition.marker_key)
        lake.upload(
            self._path,
            partition.data_key,
            fields=schema_fields(self._schema),
            rows=self.rows,
            size=size,
        )
        marker = {
            "dataset": partition.dataset,
            "dt": partition.dt.isoformat(),
            "rows": self.rows,
            "file": partition.data_key.rsplit("/", 1)[-1],
            "bytes": size,
            "sha256": digest,
            "run_id": self._run_id,
            "committed_at": datetime.now(UTC).isoformat(),
            **(details or {}),
        }
        lake.put_json(partition.marker_key, marker, indent=2)
        log.info("committed %s: %d rows, %d bytes", partition.uri, self.rows, size)
        return CommittedPartition(partition.uri, self.rows, size, marker)

    def committed_file(self) -> Path:
        """The local file just committed (after `commit`, before `close`): the same bytes as
        the partition's data file."""
        if self._writer.is_open:
            raise RuntimeError("committed_file() needs a committed partition")
        return Path(self._path)

    def read_committed(self, columns: list[str] | None = None) -> pa.Table:
        """The rows just committed, read back from the local file (after `commit`, before
        `close`), so a caller can derive more from them without downloading the partition."""
        if self._writer.is_open:
            raise RuntimeError("read_committed() needs a committed partition")
        return pq.read_table(self._path, columns=columns)

    def close(self) -> None:
        """Drop the local file; after a commit this is cleanup, before one it is an abort."""
        if self._writer.is_open:
            self._writer.close()
        self._tmp.cleanup()

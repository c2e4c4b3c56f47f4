"""Fetch one committed lake partition (of any dataset: raw extracts, facts) to a local file,
checked against its `_SUCCESS` marker.

A partition without its marker has not been written (or is being rewritten): that is never
read as "no data", because an empty day has a marker too. The downloaded file must have the
marker's sha256 and row count (else the partition was replaced while we read it: retry) and the
schema the dataset declares (else it was written by another version of the pipeline: fail).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from include.inventory_lake.checksums import file_sha256
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import Partition
from include.inventory_lake.lineage.recorder import schema_fields


class PartitionNotReady(RuntimeError):
    """One or more partitions have no `_SUCCESS` marker: their writer has not completed."""

    def __init__(self, partitions: list[Partition]) -> None:
        self.partitions = partitions
        listed = ", ".join(p.uri for p in partitions)
        super().__init__(
            f"{len(partitions)} partition(s) have no _SUCCESS marker, so their writer has not "
            f"completed for this day: {listed}. Run (or wait for) the DAG that writes them, "
            "then re-run this one; nothing was written."
        )


class PartitionChanged(RuntimeError):
    """The data file does not match its marker: it was replaced while being read."""


class PartitionSchemaMismatch(ValueError):
    """The data file's columns or types differ from the dataset's declared schema."""


@dataclass(frozen=True)
class FetchedPartition:
    partition: Partition
    path: Path
    marker: dict[str, Any]

    @property
    def rows(self) -> int:
        return int(self.marker["rows"])

    def open(self) -> pq.ParquetFile:
        return pq.ParquetFile(self.path)


def read_markers(lake: Lake, partitions: list[Partition]) -> list[dict[str, Any]]:
    """Every partition's marker; raises PartitionNotReady naming all that lack one."""
    markers = [lake.read_marker(p) for p in partitions]
    missing = [p for p, marker in zip(partitions, markers, strict=True) if marker is None]
    if missing:
        raise PartitionNotReady(missing)
    return [marker for marker in markers if marker is not None]


def fetch_partition(
    lake: Lake,
    partition: Partition,
    marker: dict[str, Any],
    schema: pa.Schema,
    directory: Path,
) -> FetchedPartition:
    """Download the data file the marker describes and check it is that file (the lake
    records the read with the row count the marker says, which the check holds it to)."""
    path = directory / (partition.dataset.replace("/", "__") + ".parquet")
    rows = marker.get("rows")
    try:
        lake.download(
            partition.data_key,
            path,
            fields=schema_fields(schema),
            rows=rows if isinstance(rows, int) else None,
        )
    except ClientError as error:
        raise PartitionChanged(
            f"{partition.uri}: marker present but data file unreadable ({error}); "
            "the partition is probably being rewritten, retry"
        ) from error
    digest = file_sha256(path)
    if digest != marker.get("sha256"):
        raise PartitionChanged(
            f"{partition.uri}: data file sha256 {digest[:12]}… differs from its marker's "
            f"{str(marker.get('sha256'))[:12]}…; the partition was replaced while being read, retry"
        )
    file_schema = pq.read_schema(path)
    if not file_schema.equals(schema, check_metadata=False):
        raise PartitionSchemaMismatch(
            f"{partition.uri}: columns/types differ from the declared schema of "
            f"{partition.dataset}: {_schema_difference(file_schema, schema)}"
        )
    file_rows = pq.read_metadata(path).num_rows
    if file_rows != rows:
        raise PartitionChanged(
            f"{partition.uri}: data file has {file_rows} rows, its marker says {marker.get('rows')}"
        )
    return FetchedPartition(partition, path, marker)


def _schema_difference(actual: pa.Schema, expected: pa.Schema) -> str:
    actual_fields = {field.name: field for field in actual}
    expected_fields = {field.name: field for field in expected}
    parts = []
    if missing := sorted(expected_fields.keys() - actual_fields.keys()):
        parts.append(f"missing {missing}")
    if extra := sorted(actual_fields.keys() - expected_fields.keys()):
        parts.append(f"unexpected {extra}")
    for name in expected_fields.keys() & actual_fields.keys():
        have, want = actual_fields[name], expected_fields[name]
        if not have.equals(want, check_metadata=False):
            parts.append(
                f"{name}: {have.type}{'' if have.nullable else ' not null'} instead of "
                f"{want.type}{'' if want.nullable else ' not null'}"
            )
    return "; ".join(parts) or "field order differs"

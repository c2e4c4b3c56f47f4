"""Partitions on the S3 server: atomic replacement, markers, empty days, aborted writes."""

from __future__ import annotations

import io
import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.lake.partition_writer import PartitionWriter
from tests.servers import S3Server

SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])


@pytest.fixture()
def partition(s3_server: S3Server) -> Partition:
    s3_server.empty_bucket()
    return Partition(
        LakeRoot(s3_server.bucket, "lake"), "raw/test/things", "default", date(2026, 1, 2)
    )


def read(s3: S3Server, key: str) -> pa.Table:
    body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


def batch(ids: range) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([{"id": i, "name": f"n{i}"} for i in ids], schema=SCHEMA)


def test_commit_writes_one_file_and_a_marker_with_row_count(
    s3_server: S3Server, partition: Partition
) -> None:
    with PartitionWriter(
        Lake(s3_server.client(), partition.root), partition, SCHEMA, "run-1", row_group_rows=40
    ) as w:
        for start in range(0, 100, 10):
            w.write(batch(range(start, start + 10)))
        w.commit({"interval_start": "2026-01-02T00:00:00+00:00"})
    assert sorted(s3_server.keys("lake/")) == [
        "lake/raw/test/things/shop=default/dt=2026-01-02/_SUCCESS",
        "lake/raw/test/things/shop=default/dt=2026-01-02/part-00000.parquet",
    ]
    table = read(s3_server, partition.data_key)
    assert table.column("id").to_pylist() == list(range(100))
    metadata = pq.ParquetFile(
        io.BytesIO(
            s3_server.client()
            .get_object(Bucket=s3_server.bucket, Key=partition.data_key)["Body"]
            .read()
        )
    ).metadata
    assert metadata.num_row_groups == 3, "row groups are sized by rows, not by pages written"
    marker = json.loads(
        s3_server.client()
        .get_object(Bucket=s3_server.bucket, Key=partition.marker_key)["Body"]
        .read()
    )
    assert marker["rows"] == 100 and marker["run_id"] == "run-1" and marker["dt"] == "2026-01-02"


def test_rerun_replaces_the_partition_instead_of_adding_to_it(
    s3_server: S3Server, partition: Partition
) -> None:
    for run, ids in (("run-1", range(50)), ("run-2", range(10, 20))):
        with PartitionWriter(
            Lake(s3_server.client(), partition.root), partition, SCHEMA, run
        ) as writer:
            writer.write(batch(ids))
            writer.commit()
    assert read(s3_server, partition.data_key).column("id").to_pylist() == list(range(10, 20))
    assert len(s3_server.keys(partition.prefix)) == 2


def test_empty_interval_gets_full_schema_and_marker(
    s3_server: S3Server, partition: Partition
) -> None:
    with PartitionWriter(
        Lake(s3_server.client(), partition.root), partition, SCHEMA, "run-1"
    ) as writer:
        writer.commit()
    table = read(s3_server, partition.data_key)
    assert table.num_rows == 0 and table.schema.equals(SCHEMA)
    marker = s3_server.client().get_object(Bucket=s3_server.bucket, Key=partition.marker_key)
    assert json.loads(marker["Body"].read())["rows"] == 0


def test_a_failure_before_commit_leaves_the_previous_partition_untouched(
    s3_server: S3Server, partition: Partition
) -> None:
    with PartitionWriter(
        Lake(s3_server.client(), partition.root), partition, SCHEMA, "run-1"
    ) as writer:
        writer.write(batch(range(5)))
        writer.commit()
    with (
        pytest.raises(RuntimeError, match="page 3 was malformed"),
        PartitionWriter(
            Lake(s3_server.client(), partition.root), partition, SCHEMA, "run-2"
        ) as writer,
    ):
        writer.write(batch(range(100, 200)))
        raise RuntimeError("page 3 was malformed")
    assert read(s3_server, partition.data_key).column("id").to_pylist() == list(range(5))
    marker = s3_server.client().get_object(Bucket=s3_server.bucket, Key=partition.marker_key)
    assert json.loads(marker["Body"].read())["run_id"] == "run-1"

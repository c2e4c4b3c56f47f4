"""Catalog properties from an `iceberg` connection: the provider's REST conventions, a SQL
catalog from the connection's fields, Glue through `extra`, and S3 file IO from `aws_default`
(one request per small file written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import FILE_IO_IMPL, catalog_properties, open_catalog
from include.inventory_lake.iceberg.group_commit import commit_partition_file
from tests.inventory_lake.iceberg.test_facts_table import DAY, lines
from tests.servers import S3Server


def connection(**fields: Any) -> Any:
    from airflow.sdk import Connection

    extra = fields.pop("extra", {})
    return Connection(
        conn_id="iceberg_default", conn_type="iceberg", extra=json.dumps(extra), **fields
    )


def test_rest_keeps_the_providers_conventions_and_gets_the_lakes_s3(
    airflow_connections: Any, s3_server: S3Server
) -> None:
    properties = catalog_properties(
        connection(
            host="https://catalog.example.com/api/catalog/",
            login="client-id",
            password="client-secret",
            extra={"warehouse": "prod"},
        )
    )
    assert properties == {
        "type": "rest",
        "py-io-impl": FILE_IO_IMPL,
        "uri": "https://catalog.example.com/api/catalog",
        "credential": "client-id:client-secret",
        "warehouse": "prod",
        "s3.endpoint": s3_server.url,
        "s3.region": s3_server.region,
        "s3.access-key-id": s3_server.access_key,
        "s3.secret-access-key": s3_server.secret_key,
    }


def test_sql_takes_its_database_from_the_connection_fields(airflow_connections: Any) -> None:
    properties = catalog_properties(
        connection(
            host="db.internal",
            port=5432,
            login="iceberg",
            password="p@ss/word",
            schema="catalog",
            extra={"type": "sql", "warehouse": "s3://lake/iceberg", "aws_conn_id": None},
        )
    )
    assert properties == {
        "type": "sql",
        "py-io-impl": FILE_IO_IMPL,
        "warehouse": "s3://lake/iceberg",
        "uri": "postgresql+psycopg2://iceberg:p%40ss%2Fword@db.internal:5432/catalog",
    }


def test_glue_and_an_explicit_s3_setting_win_over_the_aws_connection(
    airflow_connections: Any, s3_server: S3Server
) -> None:
    properties = catalog_properties(
        connection(extra={"type": "glue", "glue.region": "eu-west-1", "s3.region": "eu-west-1"})
    )
    assert properties["type"] == "glue" and "uri" not in properties
    assert properties["s3.region"] == "eu-west-1"
    assert properties["s3.access-key-id"] == s3_server.access_key


def test_a_connection_may_name_its_own_file_io(airflow_connections: Any) -> None:
    own = "pyiceberg.io.fsspec.FsspecFileIO"
    properties = catalog_properties(connection(extra={"type": "glue", "py-io-impl": own}))
    assert properties["py-io-impl"] == own


def test_a_commit_writes_each_small_table_file_in_one_request(
    airflow_connections: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    """The data file, manifest, manifest list and metadata file of a facts commit are each one
    PutObject (a multipart upload's ETag ends in `-<parts>`: three requests per file)."""
    s3_server.empty_bucket()
    table = facts_table.ensure_table(open_catalog())
    path = tmp_path / "hanoi.parquet"
    pq.write_table(lines("hanoi", range(5)), path)
    keys_before = set(s3_server.keys("iceberg/"))

    commit_partition_file(s3_server.lake(), table, "hanoi", DAY, path)

    written = sorted(set(s3_server.keys("iceberg/")) - keys_before)
    assert {key.rsplit(".", 1)[-1] for key in written} == {"parquet", "avro", "json"}
    etags = {
        key: s3_server.client().head_object(Bucket=s3_server.bucket, Key=key)["ETag"]
        for key in written
    }
    assert [key for key, etag in etags.items() if "-" in etag] == []
    s3_server.empty_bucket()

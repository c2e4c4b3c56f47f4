"""Catalog properties from an `iceberg` connection: the provider's REST conventions, a SQL
catalog from the connection's fields, Glue through `extra`, and S3 file IO from `aws_default`."""

from __future__ import annotations

import json
from typing import Any

from include.inventory_lake.iceberg.catalog import FILE_IO_IMPL, catalog_properties
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

"""`make run`'s Iceberg catalog: the `iceberg_default` connection it gives Airflow when `.env`
names none, on the stack's PostgreSQL (here the session's server), as the tests use it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.devstack.iceberg import CONNECTION_VARIABLE, forget_local_tables, local_catalog_env
from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from tests.conftest import METADATA_DB
from tests.servers import S3Server

LAKE = {"AIRFLOW_VAR_INVENTORY_LAKE_URI": "s3://inventory-lake"}


def test_make_run_gives_airflow_the_catalog_the_tests_use(airflow_connections: Any) -> None:
    env = local_catalog_env(LAKE, METADATA_DB.url("postgresql+psycopg2"))
    connection = json.loads(env[CONNECTION_VARIABLE])
    assert connection == json.loads(airflow_connections[CONNECTION_VARIABLE])
    assert connection["schema"] == "iceberg_catalog"
    assert connection["extra"] == {"type": "sql", "warehouse": "s3://inventory-lake/iceberg"}


def test_a_catalog_named_in_env_is_left_alone() -> None:
    rest = json.dumps({"conn_type": "iceberg", "host": "https://catalog.example.com"})
    assert local_catalog_env({**LAKE, CONNECTION_VARIABLE: rest}, "sqlite:///x.db") == {}


def test_after_the_local_s3_restarts_empty_the_next_facts_build_creates_the_table_again(
    airflow_connections: Any, s3_server: S3Server
) -> None:
    """`make stop` then `make run`: moto starts with an empty bucket, the catalog's database
    (in `.local/postgres`) still names the table whose metadata file was in it."""
    s3_server.empty_bucket()
    try:
        facts_table.ensure_table(open_catalog())
        client, stored = s3_server.client(), s3_server.keys()
        for key in stored:  # what a new moto process holds: nothing
            client.delete_object(Bucket=s3_server.bucket, Key=key)
        with pytest.raises(FileNotFoundError):
            facts_table.ensure_table(open_catalog())

        metadata_db = METADATA_DB.url("postgresql+psycopg2")
        assert forget_local_tables(LAKE, metadata_db) == 1
        table = facts_table.ensure_table(open_catalog())
        assert table.current_snapshot() is None
        assert forget_local_tables({**LAKE, CONNECTION_VARIABLE: "{}"}, metadata_db) == 0
        assert open_catalog().table_exists(facts_table.IDENTIFIER)  # .env named the catalog
    finally:
        s3_server.empty_bucket()

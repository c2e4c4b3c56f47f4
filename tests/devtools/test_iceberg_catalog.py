"""`make run`'s Iceberg catalog: the `iceberg_default` connection it gives Airflow when `.env`
names none, on the stack's PostgreSQL (here the session's server), as the tests use it."""

from __future__ import annotations

import json
from typing import Any

from devtools.devstack.iceberg import CONNECTION_VARIABLE, local_catalog_env
from tests.conftest import METADATA_DB

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

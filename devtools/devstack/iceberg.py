"""The local Iceberg catalog: a pyiceberg SQL catalog in its own database of the stack's
PostgreSQL, its warehouse under the lake (`<inventory_lake_uri>/iceberg`), reached through the
`iceberg_default` connection (include/inventory_lake/iceberg/catalog.py). `make run` and the
tests create it the same way."""

from __future__ import annotations

from typing import Any

from devtools.devstack.postgres import PostgresLogin, create_database

CATALOG_DATABASE = "iceberg_catalog"
WAREHOUSE_FOLDER = "iceberg"


def warehouse_uri(lake_uri: str) -> str:
    return f"{lake_uri.rstrip('/')}/{WAREHOUSE_FOLDER}"


def catalog_connection(login: PostgresLogin, lake_uri: str) -> dict[str, Any]:
    """The `iceberg_default` connection (Airflow's JSON form) of a SQL catalog on the database
    `login` names; the file IO uses `aws_default`, so no S3 key is repeated here."""
    return {
        "conn_type": "iceberg",
        "host": login.host,
        "port": login.port,
        "login": login.role,
        "password": login.password,
        "schema": login.database,
        "extra": {"type": "sql", "warehouse": warehouse_uri(lake_uri)},
    }


def create_catalog_database(server: PostgresLogin) -> PostgresLogin:
    """The catalog's database on `server`, created unless it exists (pyiceberg creates its
    tables on first use)."""
    return create_database(server, CATALOG_DATABASE)

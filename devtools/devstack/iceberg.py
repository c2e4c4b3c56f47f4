"""The local Iceberg catalog: a pyiceberg SQL catalog in its own database of the stack's
PostgreSQL, its warehouse under the lake (`<inventory_lake_uri>/iceberg`), reached through the
`iceberg_default` connection (include/inventory_lake/iceberg/catalog.py). `make run` and the
tests create it the same way."""

from __future__ import annotations

import json
from typing import Any

from devtools.devstack.postgres import PostgresLogin, create_database

CATALOG_DATABASE = "iceberg_catalog"
CONNECTION_VARIABLE = "AIRFLOW_CONN_ICEBERG_DEFAULT"
LAKE_URI_VARIABLE = "AIRFLOW_VAR_INVENTORY_LAKE_URI"
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


def local_catalog_env(env: dict[str, str], metadata_db: str) -> dict[str, str]:
    """`iceberg_default` for `make run`, unless `.env` defines it: a SQL catalog in its own
    database on the metadata DB's PostgreSQL server (created here), its warehouse under the
    lake. Empty for a metadata DB that is not PostgreSQL: then `.env` must name a catalog."""
    if CONNECTION_VARIABLE in env:
        return {}
    from sqlalchemy.engine import make_url

    url = make_url(metadata_db)
    if url.get_backend_name() != "postgresql" or not url.host:
        print(f"{CONNECTION_VARIABLE} is not set and the metadata DB is not PostgreSQL: set it")
        return {}
    server = PostgresLogin(
        host=url.host,
        port=url.port or 5432,
        password=url.password or "",
        database=url.database or "postgres",
        role=url.username or "postgres",
    )
    login = create_catalog_database(server)
    return {CONNECTION_VARIABLE: json.dumps(catalog_connection(login, env[LAKE_URI_VARIABLE]))}

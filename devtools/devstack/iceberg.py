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


def local_catalog_server(env: dict[str, str], metadata_db: str) -> PostgresLogin | None:
    """The PostgreSQL server of `make run`'s catalog (the metadata DB's), or None: `.env`
    names a catalog, or the metadata DB is not PostgreSQL."""
    if CONNECTION_VARIABLE in env:
        return None
    from sqlalchemy.engine import make_url

    url = make_url(metadata_db)
    if url.get_backend_name() != "postgresql" or not url.host:
        return None
    return PostgresLogin(
        host=url.host,
        port=url.port or 5432,
        password=url.password or "",
        database=url.database or "postgres",
        role=url.username or "postgres",
    )


def local_catalog_env(env: dict[str, str], metadata_db: str) -> dict[str, str]:
    """`iceberg_default` for `make run`, unless `.env` defines it: a SQL catalog in its own
    database on the metadata DB's PostgreSQL server (created here), its warehouse under the
    lake. Empty for a metadata DB that is not PostgreSQL: then `.env` must name a catalog."""
    server = local_catalog_server(env, metadata_db)
    if server is None:
        if CONNECTION_VARIABLE not in env:
            print(f"{CONNECTION_VARIABLE} is not set and the metadata DB is not PostgreSQL: set it")
        return {}
    login = create_catalog_database(server)
    return {CONNECTION_VARIABLE: json.dumps(catalog_connection(login, env[LAKE_URI_VARIABLE]))}


def forget_local_tables(env: dict[str, str], metadata_db: str) -> int:
    """After the local S3 started empty (moto keeps the lake in memory, so every `make run`
    after a `make stop` starts with none), the tables of `make run`'s catalog name metadata
    files that are gone, and loading one fails (the facts build's `ensure_table` first):
    forget them, so the next facts build creates the table again. Returns how many tables
    were forgotten; a catalog `.env` names is left alone."""
    server = local_catalog_server(env, metadata_db)
    if server is None:
        return 0
    return empty_catalog(create_catalog_database(server))


def empty_catalog(login: PostgresLogin) -> int:
    """Delete every row of a pyiceberg SQL catalog's tables (its namespaces and tables);
    returns how many tables it named."""
    import psycopg2

    connection = psycopg2.connect(
        host=login.host,
        port=login.port,
        user=login.role,
        password=login.password,
        dbname=login.database,
        connect_timeout=2,
    )
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename IN ('iceberg_tables', 'iceberg_namespace_properties')"
            )
            forgotten = 0
            for (table,) in cursor.fetchall():
                cursor.execute(f'DELETE FROM "{table}"')
                if table == "iceberg_tables":
                    forgotten = cursor.rowcount
            return forgotten
    finally:
        connection.close()

"""Open the Iceberg catalog that holds the facts table, from the `iceberg_default` connection.

The connection is the Iceberg provider's (`apache-airflow-providers-apache-iceberg`, connection
type `iceberg`, with its form in the UI) and keeps the provider's conventions: every key of
`extra` is a pyiceberg catalog property (`type`: `rest` when absent, `sql`, `glue`, `hive`, ...;
`warehouse`; ...); for REST, `host` is the catalog URI and `login` / `password` the OAuth2
client credentials. `LakeIcebergHook` subclasses the provider's hook, so its catalog methods
(list tables, schema, snapshots, test connection) work on this catalog too.

It replaces the hook's `catalog` for two reasons the provider has no setting for:

- `type: sql`: the catalog database is given by the connection's own fields (host, port, login,
  password, schema = the database), so its password is a connection password like any other,
  not part of a URL in `extra` (the provider would take `host` as the whole URI and the login
  as OAuth2 credentials). `extra.uri` still works for a catalog given as one URL; `extra.driver`
  picks the SQLAlchemy driver (default `postgresql+psycopg2`).
- File IO: the table's data and metadata files are read and written through the lake's AWS
  connection (`aws_default`: its endpoint, region and credentials as the Amazon provider
  resolves them, role assumption included), so no key is kept twice. An `s3.*` key in `extra`
  wins over it, a REST catalog that vends credentials overrides both per table, and
  `extra.aws_conn_id` names another AWS connection (null: none, pyarrow's default chain).
  The file IO is pyiceberg's pyarrow one with S3 files opened lazily (`file_io`: one request
  per small file instead of three), unless `extra.py-io-impl` names another.

Called inside tasks (and local tooling), never at DAG-file top level.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.apache.iceberg.hooks.iceberg import IcebergHook

from include.inventory_lake.settings import AWS_CONN_ID, ICEBERG_CONN_ID

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

# pyiceberg's catalog property naming the FileIO class (pyiceberg.io.PY_IO_IMPL; not imported
# here: the DAG files import this module at parse time).
PY_IO_IMPL = "py-io-impl"
FILE_IO_IMPL = "include.inventory_lake.iceberg.file_io.DelayedOpenFileIO"
SQL = "sql"
REST = "rest"
DEFAULT_SQL_DRIVER = "postgresql+psycopg2"
# Extra keys read here, not passed to pyiceberg.
_OWN_EXTRA_KEYS = ("aws_conn_id", "driver")
# Two processes opening a new SQL catalog at once both create its tables; one of them fails
# on the other's table and succeeds once it sees them.
_OPEN_ATTEMPTS = 3


class LakeIcebergHook(IcebergHook):
    """The provider's Iceberg hook, with the catalog built by `catalog_properties`."""

    @cached_property
    def catalog(self) -> Catalog:
        return load_catalog(self.conn_id, catalog_properties(self.get_connection(self.conn_id)))


def open_catalog(conn_id: str = ICEBERG_CONN_ID) -> Catalog:
    """The pyiceberg catalog of connection `conn_id` (see the module doc)."""
    return LakeIcebergHook(conn_id).catalog


def catalog_type(properties: dict[str, str]) -> str:
    return properties.get("type", REST)


def catalog_properties(connection: Any) -> dict[str, str]:
    """pyiceberg catalog properties from an Airflow connection of type `iceberg`."""
    extra: dict[str, Any] = dict(connection.extra_dejson or {})
    aws_conn_id = extra.get("aws_conn_id", AWS_CONN_ID)
    properties = {
        key: str(value)
        for key, value in extra.items()
        if key not in _OWN_EXTRA_KEYS and value is not None
    }
    properties.setdefault("type", REST)
    properties.setdefault(PY_IO_IMPL, FILE_IO_IMPL)
    if catalog_type(properties) == SQL:
        if connection.host:
            properties["uri"] = sql_uri(connection, str(extra.get("driver") or DEFAULT_SQL_DRIVER))
    else:
        if connection.host:
            properties["uri"] = connection.host.rstrip("/")
        if catalog_type(properties) == REST and connection.login and connection.password:
            properties["credential"] = f"{connection.login}:{connection.password}"
    if aws_conn_id:
        properties = {**s3_file_io_properties(str(aws_conn_id)), **properties}
    return properties


def sql_uri(
    connection: Any, driver: str = DEFAULT_SQL_DRIVER, *, hide_password: bool = False
) -> str:
    """The SQLAlchemy URL of a SQL catalog's database, from the connection's fields."""
    from sqlalchemy.engine import URL

    url = URL.create(
        driver,
        username=connection.login or None,
        password=connection.password or None,
        host=connection.host,
        port=connection.port or None,
        database=connection.schema or None,
    )
    return url.render_as_string(hide_password=hide_password)


def s3_file_io_properties(aws_conn_id: str) -> dict[str, str]:
    """pyiceberg's S3 file IO settings from an Airflow AWS connection."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="s3")
    properties: dict[str, str] = {}
    endpoint = hook.conn_config.get_service_endpoint_url("s3")
    if endpoint:
        properties["s3.endpoint"] = endpoint
    if hook.conn_region_name:
        properties["s3.region"] = hook.conn_region_name
    credentials = hook.get_credentials()
    if credentials.access_key and credentials.secret_key:
        properties["s3.access-key-id"] = credentials.access_key
        properties["s3.secret-access-key"] = credentials.secret_key
    if credentials.token:
        properties["s3.session-token"] = credentials.token
    return properties


def load_catalog(name: str, properties: dict[str, str]) -> Catalog:
    from pyiceberg.catalog import load_catalog as pyiceberg_load_catalog
    from sqlalchemy.exc import SQLAlchemyError

    for attempt in range(1, _OPEN_ATTEMPTS + 1):
        try:
            return pyiceberg_load_catalog(name, **properties)
        except SQLAlchemyError:
            if catalog_type(properties) != SQL or attempt == _OPEN_ATTEMPTS:
                raise
    raise AssertionError("unreachable")

"""Build API clients from Airflow connections. Called inside tasks only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from include.inventory_lake.settings import HARAVAN_CONN_ID, STOCKY_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from include.inventory_lake.sources.haravan import HaravanClient
    from include.inventory_lake.sources.stocky import StockyClient


def base_url(conn: Connection) -> str:
    """The connection's host as a base URL; a host without a scheme means https."""
    host = (conn.host or "").rstrip("/")
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host (the API's base URL)")
    if "://" in host:
        return host
    scheme = conn.schema or "https"
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{host}{port}"


def _get(conn_id: str) -> Connection:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def haravan_client(conn_id: str = HARAVAN_CONN_ID) -> HaravanClient:
    from include.inventory_lake.sources.haravan import HaravanClient

    conn = _get(conn_id)
    if not conn.password:
        raise ValueError(f"connection {conn_id!r} has no password (the Haravan access token)")
    extra = conn.extra_dejson
    return HaravanClient(
        base_url=base_url(conn),
        token=conn.password,
        connection_id=conn_id,
        **{key: extra[key] for key in ("page_size", "bucket_size", "leak_rate") if key in extra},
    )


def stocky_client(conn_id: str = STOCKY_CONN_ID) -> StockyClient:
    from include.inventory_lake.sources.stocky import StockyClient

    conn = _get(conn_id)
    if not conn.login or not conn.password:
        raise ValueError(f"connection {conn_id!r} needs login (store name) and password (API key)")
    extra = conn.extra_dejson
    return StockyClient(
        base_url=base_url(conn),
        store_name=conn.login,
        api_key=conn.password,
        connection_id=conn_id,
        **{key: extra[key] for key in ("page_size",) if key in extra},
    )

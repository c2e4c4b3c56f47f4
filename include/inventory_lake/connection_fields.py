"""An Airflow connection's fields as the API clients' arguments: the base URL, a secret or name
sent in a header, the retry policy from the extra. Used by the hooks (`hooks.py`)."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from include.inventory_lake.http.errors import ConnectionConfigError
from include.inventory_lake.http.headers import header_value_problem
from include.inventory_lake.http.retry import RetryPolicy
from include.inventory_lake.http.urls import has_user_info, without_user_info

if TYPE_CHECKING:
    from airflow.sdk import Connection


log = logging.getLogger(__name__)


def base_url(conn: Connection) -> str:
    """The connection's host as a base URL; a host without a scheme means https. User info in
    the host (`https://user:secret@…`) is dropped, with a warning: it would leave the process
    in URLs (lineage, errors) and as a Basic authorization that replaces the API's own."""
    host = (conn.host or "").rstrip("/")
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host (the API's base URL)")
    if "://" in host:
        url = host
    else:
        scheme = conn.schema or "https"
        port = f":{conn.port}" if conn.port else ""
        url = f"{scheme}://{host}{port}"
    if has_user_info(url):
        log.warning(
            "connection %r: the user info in its host is ignored (the API's credentials belong "
            "in the connection's login and password fields)",
            conn.conn_id,
        )
        return without_user_info(url)
    return url


def header_field(conn_id: str, field: str, value: str | None) -> str:
    """A connection field sent in a header (token, key, store name), stripped of surrounding
    whitespace (a pasted trailing line break). Anything left that a header cannot carry is a
    configuration error naming the connection and the field, never quoting the value."""
    text = (value or "").strip()
    problem = header_value_problem(text)
    if problem is not None:
        raise ConnectionConfigError(connection_id=conn_id, field=field, problem=problem)
    return text


def retry_policy(conn_id: str, extra: dict[str, Any]) -> RetryPolicy | None:
    """The connection's retry settings from its extra (``max_retry_after_s``), if any."""
    if "max_retry_after_s" not in extra:
        return None
    value = extra["max_retry_after_s"]
    valid = isinstance(value, int | float) and not isinstance(value, bool)
    if not valid or not math.isfinite(value) or value < 0:
        raise ConnectionConfigError(
            connection_id=conn_id,
            field="extra max_retry_after_s",
            problem=f"must be a finite number of seconds >= 0, not {value!r}",
        )
    return RetryPolicy(max_retry_after_s=float(value))

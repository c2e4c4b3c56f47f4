"""The page's web app, mounted into Airflow's API server by the plugin in `plugins/`.

Every request needs Airflow's login, exactly as Airflow's own API does: the user comes from
Airflow's `get_user` dependency (the UI's `_token` cookie or an `Authorization: Bearer` JWT,
validated by the configured auth manager), and the auth manager must allow that user to read
the custom view "Inventory lake". Without a login, a browser is sent to Airflow's login page and
back here afterwards; other clients get 401. An invalid or expired token gets 401 or 403.

The lake is read with the DAGs' own connection code (`aws_default`, `inventory_lake_uri`) and
the shops with the tasks' own `configured_shops()` (Variable `inventory_lake_shops`) and the
facts table's latest commits through `iceberg_default` (`table_snapshots`) on each request;
nothing from a connection is ever put in the page. This module is imported only by the API
server, on the page's first request (see `lazy_asgi`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from include.inventory_lake.ui.window import MAX_DAYS, parse_window_query

log = logging.getLogger(__name__)

RESOURCE_NAME = "Inventory lake"


def allowed_user(user: Annotated[BaseUser, Depends(get_user)]) -> BaseUser:
    """The logged-in user, if the auth manager lets them read this view; else 403."""
    if not get_auth_manager().is_authorized_custom_view(
        method="GET", resource_name=RESOURCE_NAME, user=user
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return user


async def login_first(request: Request, error: Exception) -> Response:
    """A browser without a login goes to Airflow's login page, then comes back here."""
    assert isinstance(error, StarletteHTTPException)
    wants_page = "text/html" in request.headers.get("accept", "")
    if error.status_code == status.HTTP_401_UNAUTHORIZED and wants_page:
        login = get_auth_manager().get_url_login(next_url=str(request.url))
        return RedirectResponse(login, status_code=status.HTTP_303_SEE_OTHER)
    return await http_exception_handler(request, error)


def page(
    user: Annotated[BaseUser, Depends(allowed_user)],
    end: Annotated[str | None, Query(description="Last day of the window (UTC).")] = None,
    days: Annotated[str | None, Query(description=f"Days in the window, 1 to {MAX_DAYS}.")] = None,
    shop: Annotated[
        str | None, Query(max_length=100, description="The shop the chart shows.")
    ] = None,
) -> HTMLResponse:
    # The form's fields arrive as text and are parsed here, not by FastAPI: a value the page
    # cannot use (a date field lets a browser send a five-digit year) gets the page with the
    # error next to its field, not a JSON 422.
    query = parse_window_query(end, days)
    html, code = render_lake_page(query.end, query.days, shop, query.errors)
    return HTMLResponse(html, status_code=code, headers={"Cache-Control": "no-store"})


def create_app() -> FastAPI:
    app = FastAPI(title=RESOURCE_NAME, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(StarletteHTTPException, login_first)
    app.add_api_route("/", page, methods=["GET"], response_class=HTMLResponse)
    return app


def render_lake_page(
    end: date | None,
    days: int,
    shop: str | None = None,
    query_errors: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """The page and its HTTP status; when the lake cannot be read, a page saying so (503, the
    details in the API server's log). A shops configuration that cannot be used does not stop
    the page: it shows the shops found in the lake and says why (see `shop_config`). With
    `query_errors` (a query field the page could not use), the page shows each next to its
    field, with status 400."""
    from include.inventory_lake.lake.connection import lake_root, s3_client
    from include.inventory_lake.push.layout import PushLake
    from include.inventory_lake.ui.page import error_page, gather, render
    from include.inventory_lake.ui.shop_config import read_shop_config
    from include.inventory_lake.ui.table_snapshots import read_table_snapshots

    try:
        data = gather(
            PushLake(s3_client(), lake_root(), records_lineage=False),
            end=end,
            days=days,
            shop_config=read_shop_config(),
            shop=shop,
            table_snapshots=read_table_snapshots(),
        )
    except Exception as error:
        # The error text may hold an endpoint or a key from a connection: log it, show its type.
        log.exception("the Inventory lake page could not read the lake")
        return error_page(type(error).__name__), status.HTTP_503_SERVICE_UNAVAILABLE
    code = status.HTTP_400_BAD_REQUEST if query_errors else status.HTTP_200_OK
    return render(data, query_errors), code

"""The read-only Stocky v2 routes under /api/v2/."""

from __future__ import annotations

import re

from devtools.emulator.http_types import Request, Response, json_response
from devtools.emulator.params import ParamError, int_param, time_param
from devtools.emulator.ratelimit import format_retry_after
from devtools.emulator.state import EmulatorState
from devtools.emulator.stocky_model import ADJUSTED, NOT_ADJUSTED
from devtools.emulator.stocky_store import StockyQuery, select

ADJUSTMENTS_PATH = "/api/v2/stock_adjustments.json"
ITEMS_PATH = "/api/v2/stock_adjustment_items.json"
SHOW_PATH = re.compile(r"^/api/v2/stock_adjustments/(\d+)\.json$")
DEFAULT_LIMIT = 50


def handle(state: EmulatorState, request: Request) -> Response:
    credentials = state.credentials
    if (
        request.header("Store-Name") != credentials.stocky_store
        or request.header("Authorization") != f"API KEY={credentials.stocky_key}"
    ):
        return json_response(401, {"error": "Unauthorized"})
    limits = state.limits
    if limits.stocky_limited:
        decision = state.stocky_buckets.take(
            credentials.stocky_store, limits.stocky_bucket_size, limits.stocky_leak_rate
        )
        if not decision.allowed:
            response = json_response(
                429,
                {"error": "Too Many Requests"},
                {"Retry-After": format_retry_after(decision.retry_after)},
            )
            response.throttled = True
            return response
    try:
        return _route(state, request)
    except ParamError as error:
        return json_response(422, {"error": str(error)})


def _route(state: EmulatorState, request: Request) -> Response:
    if request.method != "GET":
        return json_response(404, {"error": "Not Found"})
    if request.path == ADJUSTMENTS_PATH:
        query = _query(state, request, with_status=False)
        with state.lock:
            views = [a.api_view() for a in select(state.data.stocky.adjustments, query)]
        return _page({"stock_adjustments": views})
    if request.path == ITEMS_PATH:
        query = _query(state, request, with_status=True)
        with state.lock:
            views = [i.api_view() for i in select(state.data.stocky.items, query)]
        return _page({"stock_adjustment_items": views})
    if match := SHOW_PATH.match(request.path):
        with state.lock:
            adjustment = state.data.stocky.get(int(match.group(1)))
            view = None if adjustment is None else adjustment.api_view()
        if view is None:
            return json_response(404, {"error": "Not Found"})
        return json_response(200, {"stock_adjustment": view})
    return json_response(404, {"error": "Not Found"})


def _page(payload: dict[str, object]) -> Response:
    response = json_response(200, payload)
    response.list_page = True
    return response


def _query(state: EmulatorState, request: Request, *, with_status: bool) -> StockyQuery:
    params = request.query
    limit = int_param(params, "limit", DEFAULT_LIMIT, minimum=1) or DEFAULT_LIMIT
    status = params.get("status") if with_status else None
    return StockyQuery(
        since_id=int_param(params, "since_id", minimum=0),
        offset=int_param(params, "offset", 0, minimum=0) or 0,
        limit=min(limit, state.limits.stocky_max_limit),
        updated_since=time_param(params, "updated_since"),
        adjusted_since=time_param(params, "adjusted_since"),
        # Only "adjusted" is documented; "not adjusted" is honoured too, anything else ignored.
        status=status if status in (ADJUSTED, NOT_ADJUSTED) else None,
    )

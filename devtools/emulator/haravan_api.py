"""The Haravan Omni routes under /com/: auth, the leaky bucket, then the endpoint."""

from __future__ import annotations

import re

from devtools.emulator import haravan_create
from devtools.emulator.http_types import Request, Response, json_response
from devtools.emulator.params import (
    ParamError,
    id_list_param,
    int_param,
    time_param,
)
from devtools.emulator.ratelimit import format_retry_after
from devtools.emulator.state import EmulatorState
from devtools.emulator.timefmt import now_ticks

CALL_LIMIT_HEADER = "X-Haravan-Api-Call-Limit"
UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
NOT_FOUND = {"errors": "Not Found"}
LIST_PATH = "/com/inventories/adjustments.json"
COUNT_PATH = "/com/inventories/adjustments/count.json"
CREATE_PATH = "/com/inventories/adjustorset.json"
LOCATIONS_PATH = "/com/inventory_locations.json"
SHOW_PATH = re.compile(r"^/com/inventories/adjustments/(\d+)\.json$")
DEFAULT_LIMIT = 50
MAX_ID_FILTER = 50


def _param_error(error: ParamError) -> Response:
    return json_response(422, {"errors": {"base": [str(error)]}})


def handle(state: EmulatorState, request: Request) -> Response:
    size = state.limits.bucket_size
    token = state.credentials.haravan_token
    if request.header("Authorization") != f"Bearer {token}":
        return json_response(401, UNAUTHORIZED, {CALL_LIMIT_HEADER: f"0/{size}"})
    decision = state.haravan_buckets.take(token, size, state.limits.leak_rate)
    if not decision.allowed:
        response = json_response(
            429,
            {
                "errors": f"Exceeded {size} calls per second for api client. "
                "Reduce request rates to resume uninterrupted service."
            },
            {"Retry-After": format_retry_after(decision.retry_after)},
        )
        response.throttled = True
    else:
        try:
            response = _route(state, request)
        except ParamError as error:
            response = _param_error(error)
    response.headers[CALL_LIMIT_HEADER] = f"{decision.used}/{size}"
    return response


def _route(state: EmulatorState, request: Request) -> Response:
    path, method = request.path, request.method
    if method == "GET" and path == LIST_PATH:
        return _list(state, request)
    if method == "GET" and path == COUNT_PATH:
        return _count(state, request)
    if method == "GET" and (match := SHOW_PATH.match(path)):
        with state.lock:
            record = state.data.haravan.get(int(match.group(1)))
        if record is None:
            return json_response(404, NOT_FOUND)
        return json_response(200, {"adjustment": record})
    if method == "POST" and path == CREATE_PATH:
        return _create(state, request)
    if method == "GET" and path == LOCATIONS_PATH:
        return _inventory_locations(state, request)
    return json_response(404, NOT_FOUND)


def _filters(request: Request) -> tuple[int | None, int | None]:
    return (
        int_param(request.query, "since_id", minimum=0),
        int_param(request.query, "location_id"),
    )


def _list(state: EmulatorState, request: Request) -> Response:
    since_id, location_id = _filters(request)
    limit = int_param(request.query, "limit", DEFAULT_LIMIT, minimum=1) or DEFAULT_LIMIT
    page = int_param(request.query, "page", 1, minimum=1) or 1
    with state.lock:
        limit = min(limit, state.limits.max_limit)
        records = state.data.haravan.page(
            since_id=since_id, location_id=location_id, page=page, limit=limit
        )
    response = json_response(200, {"adjustments": records})
    response.list_page = True
    return response


def _count(state: EmulatorState, request: Request) -> Response:
    since_id, location_id = _filters(request)
    with state.lock:
        count = state.data.haravan.count(since_id=since_id, location_id=location_id)
    return json_response(200, {"count": count})


def _create(state: EmulatorState, request: Request) -> Response:
    try:
        payload = haravan_create.parse_body(request.body)
        with state.lock:
            create = haravan_create.validate(payload, state.data.catalog)
            record = haravan_create.apply(create, state.data.stock, state.data.haravan, now_ticks())
    except haravan_create.CreateError as error:
        return json_response(error.status, error.body)
    response = json_response(200, {"adjustment": record})
    response.applied = True
    return response


def _inventory_locations(state: EmulatorState, request: Request) -> Response:
    query = request.query
    location_ids = id_list_param(query, "location_ids", MAX_ID_FILTER)
    variant_ids = id_list_param(query, "variant_ids", MAX_ID_FILTER)
    since_id = int_param(query, "since_id", minimum=0)
    updated_at_min = time_param(query, "updated_at_min")
    limit = int_param(query, "limit", 250, minimum=1) or 250
    with state.lock:
        rows = state.data.stock.query(
            location_ids=location_ids,
            variant_ids=variant_ids,
            since_id=since_id,
            updated_at_min=updated_at_min,
            limit=min(limit, state.limits.max_limit),
        )
        views = [row.api_view() for row in rows]
    return json_response(200, {"inventory_locations": views})

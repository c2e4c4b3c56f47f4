"""One request's way through the emulator: faults, the API handler, the journal and the
insert-during-paging hook. Returns what the transport should do; no sockets here."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from devtools.emulator import admin_api, haravan_api, stocky_api
from devtools.emulator.http_types import (
    Request,
    Response,
    html_200,
    html_502,
    json_response,
)
from devtools.emulator.jsonout import dumps_bytes
from devtools.emulator.state import EmulatorState


@dataclass(frozen=True)
class Delivery:
    response: Response | None  # None: close the connection without answering
    truncate: bool = False  # send full headers but only half the body, then close
    api: str | None = None
    fault: str | None = None


def api_of(path: str) -> str | None:
    if path.startswith("/com/"):
        return "haravan"
    if path.startswith("/api/v2/"):
        return "stocky"
    return None


def is_admin(path: str) -> bool:
    return path == admin_api.PREFIX or path.startswith(admin_api.PREFIX + "/")


def process(state: EmulatorState, request: Request) -> Delivery:
    if is_admin(request.path):
        return Delivery(admin_api.handle(state, request))
    api = api_of(request.path)
    action = state.faults.decide(api, request.method, request.path)
    if action is not None and action.delay_ms > 0:
        time.sleep(action.delay_ms / 1000)
    kind = action.kind if action is not None else None

    served: Response | None = None
    response: Response | None
    if kind == "drop":
        response = None
    elif kind == "html502":
        response = html_502()
    elif kind == "html200":
        response = html_200()
    elif kind == "status":
        assert action is not None
        response = _status_response(state, api, action.status, action.retry_after)
    else:
        served = response = _serve(state, api, request)
        if kind == "malformed":
            assert action is not None
            response = _malformed(served, action.shape)
        elif kind == "apply_then_502":
            response = html_502()
        elif kind == "apply_then_drop":
            response = None

    fault = kind or ("latency" if action is not None and action.delay_ms > 0 else None)
    status = None if response is None else response.status
    state.journal.record(
        api=api,
        method=request.method,
        path=request.path,
        query=request.query,
        status=status,
        fault=fault,
        throttled=served is not None and served.throttled,
    )
    if request.method == "POST":
        state.journal.record_post(
            path=request.path,
            body=_parsed_body(request.body),
            status=status,
            applied=served is not None and served.applied,
        )
    if api is not None and served is not None and served.list_page:
        _insert_if_due(state, api)
    return Delivery(response, truncate=kind == "truncate", api=api, fault=fault)


def _serve(state: EmulatorState, api: str | None, request: Request) -> Response:
    if api == "haravan":
        return haravan_api.handle(state, request)
    if api == "stocky":
        return stocky_api.handle(state, request)
    return json_response(404, {"error": "Not Found"})


def _status_response(
    state: EmulatorState, api: str | None, status: int, retry_after: str | None = None
) -> Response:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    key = "errors" if api == "haravan" else "error"
    response = json_response(status, {key: phrase})
    if status == 429:
        response.headers["Retry-After"] = "1.0"
        if api == "haravan":
            size = state.limits.bucket_size
            response.headers[haravan_api.CALL_LIMIT_HEADER] = f"{size}/{size}"
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def _strip_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_strip_ids(item) for item in value]
    return value


def _malformed(served: Response, shape: str) -> Response:
    """200 with valid JSON of the wrong shape, derived from what would have been sent."""
    try:
        payload = json.loads(served.body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and len(payload) == 1:
        key, value = next(iter(payload.items()))
        if shape == "missing_id":
            wrong: Any = {key: _strip_ids(value)}
        else:
            wrong = {key: {"unexpected": True} if isinstance(value, list) else ["unexpected"]}
    else:
        wrong = {"unexpected": True}
    return Response(200, dumps_bytes(wrong), headers=dict(served.headers))


def _parsed_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


def _insert_if_due(state: EmulatorState, api: str) -> None:
    plan = state.faults.on_list_page(api)
    if plan is not None:
        state.insert(api, plan.count, plan.created_at)

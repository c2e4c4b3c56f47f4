"""Test-control endpoints under /_admin/ (no auth, loopback clients only, never faulted).

GET  /_admin/health                                 {"ok": true}
GET  /_admin/info                                   knobs, data end, record counts, limits
GET  /_admin/journal                                requests, counts, posts
POST /_admin/journal/reset                          clear the journal
GET  /_admin/truth/haravan/adjustments              [adjustment...] ascending id (since_id, limit)
GET  /_admin/truth/stocky/stock_adjustments         [stock_adjustment...] (since_id, limit)
GET  /_admin/truth/stocky/stock_adjustment_items    [item...] (since_id, limit)
GET  /_admin/stock                                  [stock row...] with unit_cost, sku, barcode
GET  /_admin/catalog                                locations and variants with ids in both APIs
POST /_admin/reset                                  {data knobs and/or limits}: regenerate
GET|POST /_admin/config                             read / change limits live
GET|POST /_admin/faults                             read / replace the fault config
POST /_admin/stocky/perform                         {"ids": [adjustment ids], "item_ids": [...]}
POST /_admin/stocky/move                            {"id", "location_id" (Stocky), "updated_at"}
POST /_admin/insert                                 {"api", "count", "created_at"}
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from devtools.emulator.faults import parse_config
from devtools.emulator.http_types import Request, Response, json_response
from devtools.emulator.params import ParamError, int_param
from devtools.emulator.state import EmulatorState
from devtools.emulator.stocky_store import StockyQuery, select
from devtools.emulator.timefmt import now_ticks, parse_iso_ticks, render_dotnet

PREFIX = "/_admin"


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def handle(state: EmulatorState, request: Request) -> Response:
    if not is_loopback(request.client_host):
        return json_response(403, {"error": "admin API is for loopback clients only"})
    route = (request.method, request.path[len(PREFIX) :].rstrip("/"))
    handler = _ROUTES.get(route)
    if handler is None:
        return json_response(404, {"error": "Not Found"})
    try:
        return json_response(200, handler(state, request))
    except (AdminError, ParamError, ValueError) as error:
        status = error.status if isinstance(error, AdminError) else 400
        return json_response(status, {"error": str(error)})


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise AdminError(400, "body must be JSON") from exc
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise AdminError(400, "body must be a JSON object")
    return payload


def _health(state: EmulatorState, request: Request) -> Any:
    return {"ok": True}


def _info(state: EmulatorState, request: Request) -> Any:
    with state.lock:
        data = state.data
        knobs = data.knobs
        return {
            "knobs": {
                "seed": knobs.seed,
                "days": knobs.days,
                "end": render_dotnet(data.end),
                "haravan_per_day": knobs.haravan_per_day,
                "stocky_per_day": knobs.stocky_per_day,
                "max_lines": knobs.max_lines,
                "locations": knobs.locations,
                "variants": knobs.variants,
            },
            "counts": {
                "haravan_adjustments": len(data.haravan),
                "stocky_adjustments": len(data.stocky.adjustments),
                "stocky_items": len(data.stocky.items),
                "stock_rows": len(data.stock.rows),
            },
            "limits": state.limits.as_dict(),
        }


def _journal(state: EmulatorState, request: Request) -> Any:
    return state.journal.snapshot()


def _journal_reset(state: EmulatorState, request: Request) -> Any:
    state.journal.reset()
    return {"ok": True}


def _window(request: Request) -> tuple[int | None, int | None]:
    return (
        int_param(request.query, "since_id", minimum=0),
        int_param(request.query, "limit", minimum=0),
    )


def _truth_haravan(state: EmulatorState, request: Request) -> Any:
    since_id, limit = _window(request)
    with state.lock:
        return list(state.data.haravan.ascending(since_id, limit))


def _stocky_window(request: Request) -> StockyQuery:
    since_id, limit = _window(request)
    return StockyQuery(since_id=since_id, limit=limit if limit is not None else 1 << 62)


def _truth_stocky_adjustments(state: EmulatorState, request: Request) -> Any:
    query = _stocky_window(request)
    with state.lock:
        return [a.api_view() for a in select(state.data.stocky.adjustments, query)]


def _truth_stocky_items(state: EmulatorState, request: Request) -> Any:
    query = _stocky_window(request)
    with state.lock:
        return [i.api_view() for i in select(state.data.stocky.items, query)]


def _stock(state: EmulatorState, request: Request) -> Any:
    with state.lock:
        return [row.admin_view() for row in state.data.stock.rows]


def _catalog(state: EmulatorState, request: Request) -> Any:
    with state.lock:
        return state.data.catalog.admin_view()


def _reset(state: EmulatorState, request: Request) -> Any:
    state.reset(_body(request))
    return _info(state, request)


def _config_get(state: EmulatorState, request: Request) -> Any:
    with state.lock:
        return state.limits.as_dict()


def _config_post(state: EmulatorState, request: Request) -> Any:
    return state.set_limits(_body(request)).as_dict()


def _faults_get(state: EmulatorState, request: Request) -> Any:
    return state.faults.describe()


def _faults_post(state: EmulatorState, request: Request) -> Any:
    state.faults.configure(parse_config(_body(request)))
    return state.faults.describe()


def _id_list(body: dict[str, Any], name: str) -> list[int] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or any(
        isinstance(v, bool) or not isinstance(v, int) for v in value
    ):
        raise AdminError(400, f"{name} must be a list of integers")
    return value


def _perform(state: EmulatorState, request: Request) -> Any:
    body = _body(request)
    adjustment_ids = _id_list(body, "ids")
    item_ids = _id_list(body, "item_ids")
    with state.lock:
        performed = state.data.stocky.perform(
            now_ticks(),
            None if adjustment_ids is None else set(adjustment_ids),
            None if item_ids is None else set(item_ids),
        )
    return {
        "performed": len(performed),
        "item_ids": [item.id for item in performed],
        "adjustment_ids": sorted({item.adjustment_id for item in performed}),
    }


def _int_field(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdminError(400, f"{name} must be an integer")
    return value


def _move(state: EmulatorState, request: Request) -> Any:
    """Move one adjustment to another location, changed at `updated_at` (ISO; it may be in
    the past, so the change lands on a chosen day of the data)."""
    body = _body(request)
    adjustment_id, location_id = _int_field(body, "id"), _int_field(body, "location_id")
    updated_text = body.get("updated_at")
    if not isinstance(updated_text, str):
        raise AdminError(400, "updated_at must be an ISO timestamp")
    with state.lock:
        try:
            moved = state.data.stocky.move(
                adjustment_id, location_id, parse_iso_ticks(updated_text)
            )
        except KeyError as error:
            raise AdminError(404, str(error.args[0])) from None
        return moved.api_view()


def _insert(state: EmulatorState, request: Request) -> Any:
    body = _body(request)
    api = body.get("api")
    if api not in ("haravan", "stocky"):
        raise AdminError(400, 'api must be "haravan" or "stocky"')
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise AdminError(400, "count must be a non-negative integer")
    created_text = body.get("created_at")
    if created_text is not None and not isinstance(created_text, str):
        raise AdminError(400, "created_at must be an ISO timestamp or null")
    created = None if created_text is None else parse_iso_ticks(created_text)
    return {"api": api, "ids": state.insert(api, count, created)}


_ROUTES = {
    ("GET", "/health"): _health,
    ("GET", "/info"): _info,
    ("GET", "/journal"): _journal,
    ("POST", "/journal/reset"): _journal_reset,
    ("GET", "/truth/haravan/adjustments"): _truth_haravan,
    ("GET", "/truth/stocky/stock_adjustments"): _truth_stocky_adjustments,
    ("GET", "/truth/stocky/stock_adjustment_items"): _truth_stocky_items,
    ("GET", "/stock"): _stock,
    ("GET", "/catalog"): _catalog,
    ("POST", "/reset"): _reset,
    ("GET", "/config"): _config_get,
    ("POST", "/config"): _config_post,
    ("GET", "/faults"): _faults_get,
    ("POST", "/faults"): _faults_post,
    ("POST", "/stocky/perform"): _perform,
    ("POST", "/stocky/move"): _move,
    ("POST", "/insert"): _insert,
}

"""POST /com/inventories/adjustorset.json: validate the body, then apply it atomically.

Error bodies (all documented Haravan shapes):

* 400 ``{"errors": "Bad Request: the request body is not valid JSON"}``
* 422 ``{"errors": "Location not found"}`` / ``{"errors": "Product variant <id> not found"}``
* 422 ``{"errors": {"base": ["<field problem>"]}}`` for every other invalid field
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from devtools.emulator import texts
from devtools.emulator.catalog import Catalog, Location, Variant
from devtools.emulator.haravan_gen import Skeleton, adjust_number
from devtools.emulator.haravan_store import HaravanStore, Record
from devtools.emulator.jsonout import Money
from devtools.emulator.stock import StockTable
from devtools.emulator.timefmt import render_dotnet

MAX_LINE_ITEMS = 100
TYPES = ("adjust", "set")


class CreateError(Exception):
    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def _base(message: str) -> CreateError:
    return CreateError(422, {"errors": {"base": [message]}})


@dataclass(frozen=True)
class LineRequest:
    variant: Variant
    quantity: int


@dataclass(frozen=True)
class CreateRequest:
    location: Location
    kind: str
    reason: str
    note: str | None
    lines: tuple[LineRequest, ...]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_body(raw: bytes) -> object:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CreateError(
            400, {"errors": "Bad Request: the request body is not valid JSON"}
        ) from exc


def validate(payload: object, catalog: Catalog) -> CreateRequest:
    inventory = payload.get("inventory") if isinstance(payload, dict) else None
    if not isinstance(inventory, dict):
        raise _base("inventory is required")

    location_id = inventory.get("location_id")
    if not _is_int(location_id):
        raise _base("location_id is required and must be an integer")
    location = catalog.location_by_id.get(location_id)  # type: ignore[arg-type]
    if location is None:
        raise CreateError(422, {"errors": "Location not found"})

    kind = inventory.get("type") or "adjust"
    if kind not in TYPES:
        raise _base(f"type is invalid, valid values are: {', '.join(TYPES)}")
    reason = inventory.get("reason") or "newproduct"
    if reason not in texts.HARAVAN_REASONS:
        raise _base(f"reason is invalid, valid values are: {', '.join(texts.HARAVAN_REASONS)}")
    note = inventory.get("note")
    if note is not None and not isinstance(note, str):
        raise _base("note must be a string")

    items = inventory.get("line_items")
    if not isinstance(items, list) or not items:
        raise _base("line_items can't be blank")
    if len(items) > MAX_LINE_ITEMS:
        raise _base(f"line_items can contain at most {MAX_LINE_ITEMS} items")
    lines = tuple(_validate_line(i, item, kind, catalog) for i, item in enumerate(items))
    return CreateRequest(location, str(kind), str(reason), note, lines)


def _validate_line(position: int, item: object, kind: str, catalog: Catalog) -> LineRequest:
    where = f"line_items[{position}]"
    if not isinstance(item, dict):
        raise _base(f"{where} must be an object")
    variant_id = item.get("product_variant_id")
    if not _is_int(variant_id):
        raise _base(f"{where}.product_variant_id is required and must be an integer")
    variant = catalog.variant_by_id.get(variant_id)  # type: ignore[arg-type]
    if variant is None:
        raise CreateError(422, {"errors": f"Product variant {variant_id} not found"})
    product_id = item.get("product_id")
    if not _is_int(product_id):
        raise _base(f"{where}.product_id is required and must be an integer")
    if product_id != variant.product_id:
        raise _base(f"{where}.product_id {product_id} does not match variant {variant_id}")
    quantity = item.get("quantity")
    if not _is_int(quantity):
        raise _base(f"{where}.quantity must be an integer")
    assert isinstance(quantity, int)
    if kind == "set" and quantity < 0:
        raise _base(f"{where}.quantity must not be negative when type is set")
    return LineRequest(variant, quantity)


def apply(request: CreateRequest, stock: StockTable, store: HaravanStore, now: int) -> Record:
    """Change the stock and record the adjustment. Validation is done, so nothing can fail."""
    changes: list[tuple[Variant, int]] = []
    for line in request.lines:
        row = stock.get(request.location.haravan_id, line.variant.haravan_id)
        if row is None:  # every (location, variant) has a row; kept for safety
            continue
        change = line.quantity - row.qty_onhand if request.kind == "set" else line.quantity
        row.qty_onhand += change
        row.updated_at = now
        changes.append((line.variant, change))

    def build(skeleton: Skeleton) -> Record:
        timestamp = render_dotnet(skeleton.created)
        items: list[dict[str, object]] = []
        total_cost = Money(0)
        for position, (variant, change) in enumerate(changes):
            cost = Money.from_units(change * variant.unit_cost)
            total_cost += cost
            items.append(
                {
                    "id": skeleton.line_start + position,
                    "product_id": variant.product_id,
                    "product_variant_id": variant.haravan_id,
                    "quantity": change,
                    "cost_amount": cost,
                    "sku": variant.sku,
                    "barcode": variant.barcode,
                }
            )
        return {
            "id": skeleton.id,
            "created_at": timestamp,
            "updated_at": timestamp,
            "adjust_number": adjust_number(skeleton.number),
            "tran_date": timestamp,
            "location_id": request.location.haravan_id,
            "type": request.kind,
            "total_quantity": sum(change for _, change in changes),
            "reason": request.reason,
            "note": request.note,
            "total_cost": total_cost,
            "tags": None,
            "line_items": items,
        }

    return store.append(request.location, now, len(changes), build)

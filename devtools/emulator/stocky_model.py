"""Stocky stock adjustments and their items, and how the API renders them."""

from __future__ import annotations

from dataclasses import dataclass, field

from devtools.emulator.catalog import Location, Variant
from devtools.emulator.timefmt import render_millis

ADJUSTED = "adjusted"
NOT_ADJUSTED = "not adjusted"


def _time(ticks: int | None) -> str | None:
    return None if ticks is None else render_millis(ticks)


@dataclass(slots=True)
class StockyItem:
    id: int
    adjustment_id: int
    location: Location
    variant: Variant
    quantity: int
    updated_at: int
    adjusted_at: int | None = None
    previous_quantity: int | None = None
    new_quantity: int | None = None

    @property
    def status(self) -> str:
        return ADJUSTED if self.adjusted_at is not None else NOT_ADJUSTED

    def api_view(self) -> dict[str, object]:
        variant = self.variant
        return {
            "id": self.id,
            "quantity": self.quantity,
            "updated_at": render_millis(self.updated_at),
            "status": self.status,
            "previous_quantity": self.previous_quantity,
            "new_quantity": self.new_quantity,
            "stock_adjustment_id": self.adjustment_id,
            "adjusted_at": _time(self.adjusted_at),
            "variant": {
                "id": variant.stocky_id,
                "shopify_id": variant.shopify_id,
                "title": variant.title,
                # Stocky renders a missing SKU as "", a missing barcode as null.
                "sku": variant.sku or "",
                "barcode": variant.barcode,
            },
        }


@dataclass(slots=True)
class StockyAdjustment:
    id: int
    sequential_id: int
    location: Location
    created_at: int
    updated_at: int
    adjusted_at: int | None
    archived: bool
    note: str | None
    reason: tuple[int, str] | None
    items: list[StockyItem] = field(default_factory=list)

    def api_view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "sequential_id": self.sequential_id,
            "adjusted_at": _time(self.adjusted_at),
            "created_at": render_millis(self.created_at),
            "updated_at": render_millis(self.updated_at),
            "archived": self.archived,
            "note": self.note,
            "stock_adjustment_reason": (
                None if self.reason is None else {"id": self.reason[0], "reason": self.reason[1]}
            ),
            "location": {"id": self.location.stocky_id, "shopify_id": self.location.shopify_id},
        }

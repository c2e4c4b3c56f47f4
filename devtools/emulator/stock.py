"""The Haravan stock table: one row per (location, variant), as /inventory_locations serves it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from devtools.emulator import seeding
from devtools.emulator.catalog import Catalog, Location, Variant
from devtools.emulator.timefmt import TICKS_PER_DAY, render_dotnet, truncate


@dataclass(slots=True)
class StockRow:
    id: int
    location: Location
    variant: Variant
    qty_onhand: int
    qty_commited: int
    qty_incoming: int
    updated_at: int

    @property
    def qty_available(self) -> int:
        return self.qty_onhand - self.qty_commited

    def api_view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "loc_id": self.location.haravan_id,
            "product_id": self.variant.product_id,
            "variant_id": self.variant.haravan_id,
            "qty_onhand": self.qty_onhand,
            "qty_commited": self.qty_commited,
            "qty_incoming": self.qty_incoming,
            "qty_available": self.qty_available,
            "updated_at": render_dotnet(self.updated_at),
        }

    def admin_view(self) -> dict[str, object]:
        view = self.api_view()
        view.update(
            location_id=self.location.haravan_id,
            unit_cost=self.variant.unit_cost,
            sku=self.variant.sku,
            barcode=self.variant.barcode,
        )
        return view


class StockTable:
    def __init__(self, rows: list[StockRow]) -> None:
        self.rows = rows
        self._by_key = {(r.location.haravan_id, r.variant.haravan_id): r for r in rows}

    def get(self, location_id: int, variant_id: int) -> StockRow | None:
        return self._by_key.get((location_id, variant_id))

    def query(
        self,
        *,
        location_ids: Collection[int] | None,
        variant_ids: Collection[int] | None,
        since_id: int | None,
        updated_at_min: int | None,
        limit: int,
    ) -> list[StockRow]:
        found: list[StockRow] = []
        for row in self.rows:
            if since_id is not None and row.id <= since_id:
                continue
            if location_ids is not None and row.location.haravan_id not in location_ids:
                continue
            if variant_ids is not None and row.variant.haravan_id not in variant_ids:
                continue
            if updated_at_min is not None and row.updated_at < updated_at_min:
                continue
            found.append(row)
            if len(found) >= limit:
                break
        return found


def build_stock(seed: int, catalog: Catalog, end_ticks: int, days: int) -> StockTable:
    rng = seeding.stream(seed, seeding.STOCK)
    rows: list[StockRow] = []
    row_id = 1_400_000_000
    span = max(1, days) * TICKS_PER_DAY
    for location in catalog.locations:
        for variant in catalog.variants:
            onhand = rng.randint(0, 500)
            rows.append(
                StockRow(
                    id=row_id,
                    location=location,
                    variant=variant,
                    qty_onhand=onhand,
                    qty_commited=rng.randint(0, min(onhand, 20)),
                    qty_incoming=rng.choice((0, 0, 0, rng.randint(1, 50))),
                    updated_at=truncate(end_ticks - int(rng.random() * span), 10_000),
                )
            )
            row_id += rng.randint(1, 7)
    return StockTable(rows)

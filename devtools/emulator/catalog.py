"""Locations and product variants shared by both APIs, with their ids in each system.

One catalog serves Haravan and Stocky so that a pipeline can match them by SKU or barcode:
each location and variant has a Haravan id and a Stocky id plus a Shopify id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devtools.emulator import seeding, texts


@dataclass(frozen=True, slots=True)
class Location:
    index: int
    haravan_id: int
    name: str
    stocky_id: int
    shopify_id: int


@dataclass(frozen=True, slots=True)
class Variant:
    index: int
    haravan_id: int
    product_id: int
    product_title: str
    title: str
    sku: str | None
    barcode: str | None
    unit_cost: int  # whole VND
    premium: bool  # expensive enough that bulk lines reach 12-digit totals
    stocky_id: int
    shopify_id: int


@dataclass(frozen=True)
class Catalog:
    locations: tuple[Location, ...]
    variants: tuple[Variant, ...]
    premium: tuple[Variant, ...]
    location_by_id: dict[int, Location] = field(repr=False)
    variant_by_id: dict[int, Variant] = field(repr=False)

    def admin_view(self) -> dict[str, object]:
        return {
            "locations": [
                {
                    "haravan_id": loc.haravan_id,
                    "name": loc.name,
                    "stocky_id": loc.stocky_id,
                    "shopify_id": loc.shopify_id,
                }
                for loc in self.locations
            ],
            "variants": [
                {
                    "haravan_id": var.haravan_id,
                    "product_id": var.product_id,
                    "product_title": var.product_title,
                    "title": var.title,
                    "sku": var.sku,
                    "barcode": var.barcode,
                    "unit_cost": var.unit_cost,
                    "stocky_id": var.stocky_id,
                    "shopify_id": var.shopify_id,
                }
                for var in self.variants
            ],
        }


def build_catalog(seed: int, location_count: int, variant_count: int) -> Catalog:
    rng = seeding.stream(seed, seeding.CATALOG)
    locations: list[Location] = []
    haravan_loc = 963_414
    shopify_loc = 6_512_345_678_901
    for index in range(location_count):
        name = texts.LOCATION_NAMES[index % len(texts.LOCATION_NAMES)]
        if index >= len(texts.LOCATION_NAMES):
            name = f"{name} {index // len(texts.LOCATION_NAMES) + 1}"
        locations.append(Location(index, haravan_loc, name, index + 1, shopify_loc))
        haravan_loc += rng.randint(1_000, 60_000)
        shopify_loc += rng.randint(10_000, 9_000_000)

    variants: list[Variant] = []
    variant_id = 1_068_095_306
    product_id = 1_031_046_355
    stocky_id = 16
    shopify_id = 35_671_796_252_694
    remaining_in_product = 0
    product_title = ""
    single = True
    for index in range(variant_count):
        if remaining_in_product == 0:
            remaining_in_product = rng.randint(1, 4)
            product_id += rng.randint(1, 5_000)
            product_title = f"{rng.choice(texts.PRODUCT_NAMES)} {product_id % 1000:03d}"
            single = remaining_in_product == 1
        remaining_in_product -= 1
        title = "Default Title"
        if not single:
            title = f"{rng.choice(texts.COLORS)} / {rng.choice(texts.SIZES)}"
        premium = index % 10 == 0
        unit_cost = rng.randint(2_500, 3_000) * 1_000 if premium else rng.randint(5, 900) * 1_000
        sku = None if rng.random() < 0.15 else f"SKU{product_id % 100_000:05d}-{index:04d}"
        barcode = None if rng.random() < 0.3 else f"893{rng.randrange(10**9, 10**10)}"
        variants.append(
            Variant(
                index=index,
                haravan_id=variant_id,
                product_id=product_id,
                product_title=product_title,
                title=title,
                sku=sku,
                barcode=barcode,
                unit_cost=unit_cost,
                premium=premium,
                stocky_id=stocky_id,
                shopify_id=shopify_id,
            )
        )
        variant_id += rng.randint(1, 3_000)
        stocky_id += rng.randint(1, 4)
        shopify_id += rng.randint(1, 80_000)

    return Catalog(
        locations=tuple(locations),
        variants=tuple(variants),
        premium=tuple(v for v in variants if v.premium),
        location_by_id={loc.haravan_id: loc for loc in locations},
        variant_by_id={var.haravan_id: var for var in variants},
    )

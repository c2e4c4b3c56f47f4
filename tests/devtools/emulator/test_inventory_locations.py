"""GET /com/inventory_locations.json."""

from __future__ import annotations

from typing import Any

from tests.devtools.emulator.helpers import LOCATIONS, EmulatorClient

FIELDS = {
    "id",
    "loc_id",
    "product_id",
    "variant_id",
    "qty_onhand",
    "qty_commited",
    "qty_incoming",
    "qty_available",
    "updated_at",
}


def _rows(emu: EmulatorClient, **params: Any) -> list[dict[str, Any]]:
    response = emu.haravan(LOCATIONS, **params)
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()["inventory_locations"]
    return rows


def test_default_limit_250_ascending_and_since_id(emu: EmulatorClient) -> None:
    first = _rows(emu)
    second = _rows(emu, since_id=first[-1]["id"])

    assert len(first) == 250 and set(first[0]) == FIELDS
    ids = [r["id"] for r in first + second]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(r["qty_available"] == r["qty_onhand"] - r["qty_commited"] for r in first)
    assert len(_rows(emu, limit=10)) == 10


def test_location_and_variant_filters(emu: EmulatorClient) -> None:
    everything = emu.admin_get("stock")
    location = everything[0]["loc_id"]
    variants = [everything[0]["variant_id"], everything[3]["variant_id"]]

    by_location = _rows(emu, location_ids=str(location))
    both = _rows(emu, location_ids=str(location), variant_ids=",".join(map(str, variants)))

    assert len(by_location) == 200 and {r["loc_id"] for r in by_location} == {location}
    assert [r["variant_id"] for r in both] == variants


def test_more_than_50_ids_is_422(emu: EmulatorClient) -> None:
    response = emu.haravan(LOCATIONS, variant_ids=",".join(str(i) for i in range(1, 52)))
    assert response.status_code == 422


def test_updated_at_min_finds_rows_changed_by_a_post(emu: EmulatorClient) -> None:
    row = emu.admin_get("stock")[10]
    line = {"product_id": row["product_id"], "product_variant_id": row["variant_id"]}
    body = {"inventory": {"location_id": row["loc_id"], "line_items": [{**line, "quantity": 2}]}}
    assert emu.haravan_post(body).status_code == 200

    changed = _rows(emu, updated_at_min="2026-06-01T00:00:00Z")

    assert [(r["loc_id"], r["variant_id"]) for r in changed] == [(row["loc_id"], row["variant_id"])]
    assert changed[0]["qty_onhand"] == row["qty_onhand"] + 2
    assert emu.haravan(LOCATIONS, updated_at_min="yesterday").status_code == 422

"""POST /com/inventories/adjustorset.json: stock changes, the new record, and 422 bodies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.devtools.emulator.helpers import (
    ADJUSTMENTS,
    COUNT,
    HARAVAN_AUTH,
    LOCATIONS,
    TIMEOUT,
    EmulatorClient,
)


def _rows(emu: EmulatorClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = emu.admin_get("stock")
    return rows


def _line(row: dict[str, Any], quantity: Any) -> dict[str, Any]:
    return {
        "product_id": row["product_id"],
        "product_variant_id": row["variant_id"],
        "quantity": quantity,
    }


def _body(location_id: int, lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"inventory": {"location_id": location_id, "line_items": lines, **fields}}


def test_set_overwrites_stock_and_records_the_change(emu: EmulatorClient) -> None:
    row = _rows(emu)[5]
    before_max = emu.truth()[-1]["id"]
    target = row["qty_onhand"] + 7

    response = emu.haravan_post(
        _body(row["loc_id"], [_line(row, target)], type="set", reason="returned", note="Kiểm kê")
    )

    assert response.status_code == 200
    created = response.json()["adjustment"]
    assert created["id"] > before_max
    assert created["type"] == "set" and created["reason"] == "returned"
    assert created["note"] == "Kiểm kê" and created["tags"] is None
    assert created["created_at"] == created["updated_at"] == created["tran_date"]
    assert created["adjust_number"] == "IA100201"
    [line] = created["line_items"]
    assert line["quantity"] == 7 and line["product_variant_id"] == row["variant_id"]
    assert line["cost_amount"] == 7 * row["unit_cost"]
    assert created["total_quantity"] == 7 and created["total_cost"] == 7 * row["unit_cost"]
    assert emu.stock_row(row["loc_id"], row["variant_id"])["qty_onhand"] == target
    newest = emu.haravan(ADJUSTMENTS, limit=1).json()["adjustments"]
    assert newest == [created]
    assert emu.haravan(ADJUSTMENTS, since_id=before_max).json()["adjustments"] == [created]
    assert emu.haravan(COUNT).json() == {"count": 201}
    shown = emu.haravan(f"/com/inventories/adjustments/{created['id']}.json").json()
    assert shown == {"adjustment": created}


def test_adjust_adds_with_defaults_for_type_and_reason(emu: EmulatorClient) -> None:
    rows = _rows(emu)
    first, second = rows[0], rows[1]

    response = emu.haravan_post(_body(first["loc_id"], [_line(first, -3), _line(second, 4)]))

    created = response.json()["adjustment"]
    assert response.status_code == 200
    assert created["type"] == "adjust" and created["reason"] == "newproduct"
    assert [line["quantity"] for line in created["line_items"]] == [-3, 4]
    assert created["total_quantity"] == 1
    assert emu.stock_row(first["loc_id"], first["variant_id"])["qty_onhand"] == (
        first["qty_onhand"] - 3
    )
    located = emu.haravan(
        LOCATIONS, location_ids=first["loc_id"], variant_ids=second["variant_id"]
    ).json()["inventory_locations"]
    assert located[0]["qty_onhand"] == second["qty_onhand"] + 4


def test_one_hundred_lines_are_accepted(emu: EmulatorClient) -> None:
    everything = _rows(emu)
    rows = [r for r in everything if r["loc_id"] == everything[0]["loc_id"]][:100]
    response = emu.haravan_post(_body(rows[0]["loc_id"], [_line(r, 1) for r in rows]))
    assert response.status_code == 200
    assert len(response.json()["adjustment"]["line_items"]) == 100


def _bad_bodies(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    row, other = rows[0], rows[1]
    location = row["loc_id"]
    many = [_line(r, 1) for r in rows if r["loc_id"] == location][:101]
    mismatched = {**_line(row, 1), "product_id": other["product_id"] + 99_999}
    return {
        "unknown-location": (_body(1, [_line(row, 1)]), {"errors": "Location not found"}),
        "bad-type": (_body(location, [_line(row, 1)], type="replace"), "type"),
        "bad-reason": (_body(location, [_line(row, 1)], reason="stolen"), "reason"),
        "empty-lines": (_body(location, []), "line_items"),
        "missing-lines": ({"inventory": {"location_id": location}}, "line_items"),
        "too-many-lines": (_body(location, many), "at most 100"),
        "string-quantity": (_body(location, [_line(row, "5")]), "quantity"),
        "float-quantity": (_body(location, [_line(row, 1.5)]), "quantity"),
        "negative-set": (_body(location, [_line(row, -1)], type="set"), "negative"),
        "unknown-variant": (
            _body(location, [{"product_id": 1, "product_variant_id": 2, "quantity": 1}]),
            {"errors": "Product variant 2 not found"},
        ),
        "product-mismatch": (_body(location, [mismatched]), "does not match"),
        "no-inventory": ({"location_id": location}, "inventory"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unknown-location",
        "bad-type",
        "bad-reason",
        "empty-lines",
        "missing-lines",
        "too-many-lines",
        "string-quantity",
        "float-quantity",
        "negative-set",
        "unknown-variant",
        "product-mismatch",
        "no-inventory",
    ],
)
def test_invalid_bodies_get_422_and_change_nothing(emu: EmulatorClient, case: str) -> None:
    rows = _rows(emu)
    body, expected = _bad_bodies(rows)[case]

    response = emu.haravan_post(body)

    assert response.status_code == 422
    if isinstance(expected, dict):
        assert response.json() == expected
    else:
        [message] = response.json()["errors"]["base"]
        assert expected in message
    assert _rows(emu) == rows
    assert emu.haravan(COUNT).json() == {"count": 200}


def test_a_bad_line_after_a_good_one_applies_nothing(emu: EmulatorClient) -> None:
    rows = _rows(emu)
    body = _body(rows[0]["loc_id"], [_line(rows[0], 5), _line(rows[1], "x")])
    assert emu.haravan_post(body).status_code == 422
    assert _rows(emu) == rows


def test_non_json_body_is_400(emu: EmulatorClient) -> None:
    response = emu.session.post(
        emu.url + "/com/inventories/adjustorset.json",
        data=b"{not json",
        headers={**HARAVAN_AUTH, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert isinstance(response.json()["errors"], str)

"""Stocky v2: listing filters, show, and performing pending adjustments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from tests.devtools.emulator.helpers import (
    END,
    STOCKY_ADJUSTMENTS,
    STOCKY_ITEMS,
    EmulatorClient,
)

ITEM_FIELDS = {
    "id",
    "quantity",
    "updated_at",
    "status",
    "previous_quantity",
    "new_quantity",
    "stock_adjustment_id",
    "adjusted_at",
    "variant",
}
ADJUSTMENT_FIELDS = {
    "id",
    "sequential_id",
    "adjusted_at",
    "created_at",
    "updated_at",
    "archived",
    "note",
    "stock_adjustment_reason",
    "location",
}


def _items(emu: EmulatorClient, **params: Any) -> list[dict[str, Any]]:
    response = emu.stocky(STOCKY_ITEMS, **params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["stock_adjustment_items"]
    return items


def _adjustments(emu: EmulatorClient, **params: Any) -> list[dict[str, Any]]:
    response = emu.stocky(STOCKY_ADJUSTMENTS, **params)
    assert response.status_code == 200, response.text
    adjustments: list[dict[str, Any]] = response.json()["stock_adjustments"]
    return adjustments


def _all_items(emu: EmulatorClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = emu.admin_get("truth/stocky/stock_adjustment_items")
    return items


def test_lists_ascend_with_default_limit_50_and_a_cap(emu: EmulatorClient) -> None:
    items = _items(emu)
    adjustments = _adjustments(emu)

    assert len(items) == 50 and set(items[0]) == ITEM_FIELDS
    assert len(adjustments) == 50 and set(adjustments[0]) == ADJUSTMENT_FIELDS
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)
    assert len(_items(emu, limit=1000)) == 250
    emu.admin_post("config", {"stocky_max_limit": 20})
    assert len(_items(emu, limit=1000)) == 20


def test_since_id_pages_and_overrides_offset(emu: EmulatorClient) -> None:
    truth = _all_items(emu)
    since = truth[4]["id"]

    assert _items(emu, since_id=since, limit=10) == truth[5:15]
    assert _items(emu, offset=3, limit=10) == truth[3:13]
    assert _items(emu, since_id=since, offset=3, limit=10) == truth[5:15]


def test_updated_since_and_adjusted_since_are_inclusive(emu: EmulatorClient) -> None:
    truth = _all_items(emu)
    adjusted = [i for i in truth if i["adjusted_at"] is not None]
    pivot = sorted(i["adjusted_at"] for i in adjusted)[len(adjusted) // 2]
    updated_pivot = sorted(i["updated_at"] for i in truth)[len(truth) // 2]

    by_adjusted = _items(emu, adjusted_since=pivot, limit=250)
    by_updated = _items(emu, updated_since=updated_pivot, limit=250)

    assert by_adjusted == [i for i in adjusted if i["adjusted_at"] >= pivot]
    assert any(i["adjusted_at"] == pivot for i in by_adjusted)
    assert by_updated == [i for i in truth if i["updated_at"] >= updated_pivot][:250]
    offset = _items(emu, adjusted_since=pivot.replace("Z", "+07:00"), limit=250)
    assert len(offset) > len(by_adjusted)


def test_bad_timestamps_and_integers_are_422(emu: EmulatorClient) -> None:
    for params in ({"adjusted_since": "not-a-date"}, {"updated_since": "2026-13-01"}):
        response = emu.stocky(STOCKY_ITEMS, **params)
        assert response.status_code == 422 and "error" in response.json()
    assert emu.stocky(STOCKY_ADJUSTMENTS, limit="many").status_code == 422


def test_status_filter_and_pending_items(emu: EmulatorClient) -> None:
    truth = _all_items(emu)
    pending = [i for i in truth if i["status"] == "not adjusted"]

    adjusted = _items(emu, status="adjusted", limit=250)

    assert pending and all(
        i["previous_quantity"] is None and i["new_quantity"] is None and i["adjusted_at"] is None
        for i in pending
    )
    assert adjusted == [i for i in truth if i["status"] == "adjusted"][:250]
    assert all(i["new_quantity"] - i["previous_quantity"] == i["quantity"] for i in adjusted)


def test_older_items_mostly_adjusted_recent_ones_pending(emu: EmulatorClient) -> None:
    truth = _all_items(emu)
    old = [i for i in truth if i["updated_at"] < "2026-01-13"]
    recent_pending = [
        i for i in truth if i["status"] == "not adjusted" and i["updated_at"] >= "2026-01-14T12"
    ]
    share_adjusted = sum(i["status"] == "adjusted" for i in old) / len(old)
    assert share_adjusted > 0.8
    assert recent_pending
    assert all(i["updated_at"] <= END.replace("Z", ".000Z") for i in truth)


def test_show_and_404(emu: EmulatorClient) -> None:
    first = _adjustments(emu, limit=1)[0]
    shown = emu.stocky(f"/api/v2/stock_adjustments/{first['id']}.json")
    missing = emu.stocky("/api/v2/stock_adjustments/999999.json")

    assert shown.json() == {"stock_adjustment": first}
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}


def test_perform_adjusts_pending_items_now(emu: EmulatorClient) -> None:
    before = _all_items(emu)
    pending = [i for i in before if i["status"] == "not adjusted"]
    target = pending[0]["stock_adjustment_id"]
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    result = emu.admin_post("stocky/perform", {"ids": [target]})

    target_items = [i for i in pending if i["stock_adjustment_id"] == target]
    assert result["performed"] == len(target_items)
    assert result["adjustment_ids"] == [target]
    changed = _items(emu, updated_since=started, limit=250)
    assert [i["id"] for i in changed] == [i["id"] for i in target_items]
    for item in changed:
        assert item["status"] == "adjusted"
        assert item["adjusted_at"] == item["updated_at"] >= started
        assert item["new_quantity"] - item["previous_quantity"] == item["quantity"]
    adjustment = emu.stocky(f"/api/v2/stock_adjustments/{target}.json").json()
    assert adjustment["stock_adjustment"]["adjusted_at"] >= started
    assert _adjustments(emu, adjusted_since=started) == [adjustment["stock_adjustment"]]

    rest = emu.admin_post("stocky/perform")
    assert rest["performed"] == len(pending) - len(target_items)
    assert _items(emu, status="not adjusted", limit=250) == []


def test_move_puts_an_adjustment_at_another_location_on_the_given_day(
    emu: EmulatorClient,
) -> None:
    adjustment = _adjustments(emu, limit=1)[0]
    locations = emu.admin_get("catalog")["locations"]
    other = next(loc for loc in locations if loc["stocky_id"] != adjustment["location"]["id"])
    changed_at = "2026-01-02T12:00:00"

    moved = emu.admin_post(
        "stocky/move",
        {"id": adjustment["id"], "location_id": other["stocky_id"], "updated_at": changed_at},
    )

    shown = emu.stocky(f"/api/v2/stock_adjustments/{adjustment['id']}.json").json()
    assert shown["stock_adjustment"] == moved
    assert moved["location"] == {"id": other["stocky_id"], "shopify_id": other["shopify_id"]}
    assert moved["updated_at"].startswith(changed_at)
    assert adjustment["id"] in [a["id"] for a in _adjustments(emu, updated_since=changed_at)]
    unknown = requests.post(
        f"{emu.url}/_admin/stocky/move",
        json={"id": 1, "location_id": other["stocky_id"], "updated_at": changed_at},
        timeout=10,
    )
    assert unknown.status_code == 404 and "no Stocky adjustment 1" in unknown.text

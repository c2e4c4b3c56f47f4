"""The journal and the admin endpoints."""

from __future__ import annotations

import json
from typing import Any

import requests

from tests.devtools.emulator.helpers import (
    ADJUSTMENTS,
    COUNT,
    HARAVAN_TOKEN,
    STOCKY_ITEMS,
    STOCKY_KEY,
    TIMEOUT,
    EmulatorClient,
)


def test_journal_records_requests_counts_and_posts(emu: EmulatorClient) -> None:
    emu.admin_post("config", {"bucket_size": 3, "leak_rate": 0.01})
    emu.faults(script=[{"kind": "html502", "path": "stock_adjustment_items"}])
    emu.haravan(ADJUSTMENTS, limit=2, page=1)
    emu.haravan_post({"inventory": {"location_id": 1, "line_items": []}})
    emu.stocky(STOCKY_ITEMS, since_id=5)
    emu.haravan(COUNT)
    emu.haravan(COUNT)

    journal = emu.admin_get("journal")

    requests_ = journal["requests"]
    assert [(r["api"], r["method"], r["path"], r["status"], r["fault"]) for r in requests_] == [
        ("haravan", "GET", ADJUSTMENTS, 200, None),
        ("haravan", "POST", "/com/inventories/adjustorset.json", 422, None),
        ("stocky", "GET", STOCKY_ITEMS, 502, "html502"),
        ("haravan", "GET", COUNT, 200, None),
        ("haravan", "GET", COUNT, 429, None),
    ]
    assert requests_[0]["query"] == {"limit": "2", "page": "1"}
    assert requests_[2]["query"] == {"since_id": "5"}
    assert all(r["ts"].endswith("Z") for r in requests_)
    assert journal["counts"] == {
        "total": 5,
        "by_status": {"200": 2, "422": 1, "502": 1, "429": 1},
        "throttled": 1,
    }
    assert journal["posts"] == [
        {
            "path": "/com/inventories/adjustorset.json",
            "body": {"inventory": {"location_id": 1, "line_items": []}},
            "status": 422,
            "applied": False,
        }
    ]


def test_journal_never_holds_credentials_and_resets(emu: EmulatorClient) -> None:
    emu.haravan(ADJUSTMENTS)
    emu.stocky(STOCKY_ITEMS)
    requests.get(emu.url + ADJUSTMENTS, headers={"Authorization": "Bearer guess"}, timeout=5)

    text = json.dumps(emu.admin_get("journal"))

    assert HARAVAN_TOKEN not in text and STOCKY_KEY not in text and "guess" not in text
    assert emu.admin_post("journal/reset") == {"ok": True}
    assert emu.admin_get("journal")["counts"]["total"] == 0


def test_admin_insert_places_records_after_all_ids(emu: EmulatorClient) -> None:
    last = emu.truth()[-1]["id"]
    result = emu.admin_post(
        "insert", {"api": "haravan", "count": 2, "created_at": "2026-01-11T10:00:00.5Z"}
    )
    stocky = emu.admin_post("insert", {"api": "stocky", "count": 1})

    added = emu.admin_get("truth/haravan/adjustments", since_id=last)
    assert [r["id"] for r in added] == result["ids"] and len(added) == 2
    assert all(r["created_at"] == "2026-01-11T10:00:00.5Z" for r in added)
    assert [r["adjust_number"] for r in added] == ["IA100201", "IA100202"]
    stocky_truth = emu.admin_get("truth/stocky/stock_adjustments")
    assert stocky_truth[-1]["id"] == stocky["ids"][0]
    assert stocky_truth[-1]["created_at"] > "2026-06"


def test_truth_windows_and_info(emu: EmulatorClient) -> None:
    truth = emu.truth()
    window = emu.admin_get("truth/haravan/adjustments", since_id=truth[9]["id"], limit=5)
    info = emu.admin_get("info")

    assert window == truth[10:15]
    assert info["counts"]["haravan_adjustments"] == 200
    assert info["knobs"]["end"] == "2026-01-15T00:00:00Z"
    catalog = emu.admin_get("catalog")
    assert len(catalog["locations"]) == 3 and len(catalog["variants"]) == 200


def test_reset_with_knobs_and_limits(emu: EmulatorClient) -> None:
    emu.admin_post("config", {"bucket_size": 5})
    emu.faults(error_rate=1.0)

    info = emu.admin_post("reset", {"days": 2, "haravan_per_day": 10, "max_limit": 20})

    assert info["counts"]["haravan_adjustments"] == 20
    assert info["limits"]["bucket_size"] == 80 and info["limits"]["max_limit"] == 20
    assert emu.admin_get("faults")["error_rate"] == 0.0
    assert emu.haravan(COUNT).json() == {"count": 20}
    assert emu.admin_post("reset")["counts"]["haravan_adjustments"] == 200


def test_config_changes_are_visible_and_validated(emu: EmulatorClient) -> None:
    changed = emu.admin_post("config", {"leak_rate": 10, "stocky_bucket_size": 4})
    bad = requests.post(emu.url + "/_admin/config", json={"leak_rate": -1}, timeout=TIMEOUT)
    unknown = requests.post(emu.url + "/_admin/config", json={"speed": 1}, timeout=TIMEOUT)

    assert changed["leak_rate"] == 10.0 and changed["stocky_bucket_size"] == 4
    assert emu.admin_get("config") == changed
    assert bad.status_code == 400 and unknown.status_code == 400


def test_bad_admin_requests(emu: EmulatorClient) -> None:
    cases: list[tuple[str, str, Any]] = [
        ("POST", "insert", {"api": "shopify"}),
        ("POST", "reset", {"days": "many"}),
        ("POST", "reset", {"colour": "red"}),
        ("POST", "stocky/perform", {"ids": "all"}),
    ]
    for method, path, body in cases:
        response = requests.request(method, f"{emu.url}/_admin/{path}", json=body, timeout=5)
        assert response.status_code == 400, (path, body)
    missing = requests.get(emu.url + "/_admin/nothing", timeout=TIMEOUT)
    assert missing.status_code == 404

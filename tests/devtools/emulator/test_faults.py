"""Fault injection through /_admin/faults."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.devtools.emulator.helpers import (
    ADJUSTMENTS,
    COUNT,
    HARAVAN_AUTH,
    STOCKY_ADJUSTMENTS,
    STOCKY_ITEMS,
    EmulatorClient,
)

HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _post_body(emu: EmulatorClient) -> dict[str, Any]:
    row = emu.admin_get("stock")[0]
    line = {"product_id": row["product_id"], "product_variant_id": row["variant_id"]}
    return {"inventory": {"location_id": row["loc_id"], "line_items": [{**line, "quantity": 3}]}}


def test_drop_closes_without_response(emu: EmulatorClient) -> None:
    emu.faults(script=[{"kind": "drop", "path": "adjustments"}])
    with pytest.raises(requests.ConnectionError):
        emu.haravan(ADJUSTMENTS)
    assert emu.haravan(ADJUSTMENTS).status_code == 200


def test_truncate_sends_half_the_body(emu: EmulatorClient) -> None:
    emu.faults(script=[{"kind": "truncate", "times": 2}])
    # requests notices the short body itself...
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        emu.haravan(ADJUSTMENTS)
    # ...and what did arrive is not valid JSON.
    parts = urlsplit(emu.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    connection.request("GET", ADJUSTMENTS, headers=HARAVAN_AUTH)
    response = connection.getresponse()
    declared = int(response.headers["Content-Length"])
    with pytest.raises(http.client.IncompleteRead) as incomplete:
        response.read()
    connection.close()
    partial = incomplete.value.partial
    assert response.status == 200 and len(partial) == declared // 2
    with pytest.raises(json.JSONDecodeError):
        json.loads(partial)


def test_html_502(emu: EmulatorClient) -> None:
    emu.faults(script=[{"kind": "html502"}])
    response = emu.haravan(ADJUSTMENTS)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == HTML_502


def test_status_script_is_consumed_in_order(emu: EmulatorClient) -> None:
    emu.faults(
        script=[
            {"kind": "status", "status": 503, "times": 2, "path": "count"},
            {"kind": "status", "status": 500, "method": "GET"},
        ]
    )
    statuses = [emu.haravan(COUNT).status_code for _ in range(3)]
    statuses.append(emu.haravan(COUNT).status_code)
    assert statuses == [503, 503, 500, 200]


def test_retired_api_answers_410_forever(emu: EmulatorClient) -> None:
    emu.faults(script=[{"kind": "status", "status": 410, "path": "^/api/v2/", "times": -1}])
    responses = [emu.stocky(STOCKY_ITEMS) for _ in range(5)]
    assert {r.status_code for r in responses} == {410}
    assert responses[0].json() == {"error": "Gone"}
    assert emu.haravan(COUNT).status_code == 200
    assert emu.admin_get("faults")["script"][0]["times"] == -1


def test_malformed_wrong_type_and_missing_id(emu: EmulatorClient) -> None:
    emu.faults(
        script=[
            {"kind": "malformed", "path": "adjustments.json"},
            {"kind": "malformed", "shape": "missing_id", "path": "stock_adjustments"},
        ]
    )
    wrong = emu.haravan(ADJUSTMENTS)
    missing = emu.stocky(STOCKY_ADJUSTMENTS)

    assert wrong.status_code == 200 and wrong.json() == {"adjustments": {"unexpected": True}}
    records = missing.json()["stock_adjustments"]
    assert missing.status_code == 200 and records and all("id" not in r for r in records)


@pytest.mark.parametrize("kind", ["apply_then_502", "apply_then_drop"])
def test_apply_then_fail_applies_exactly_once(emu: EmulatorClient, kind: str) -> None:
    body = _post_body(emu)
    emu.faults(script=[{"kind": kind, "method": "POST"}])

    if kind == "apply_then_502":
        response = emu.haravan_post(body)
        assert response.status_code == 502 and response.text == HTML_502
    else:
        with pytest.raises(requests.ConnectionError):
            emu.haravan_post(body)

    assert emu.haravan(COUNT).json() == {"count": 201}
    [post] = emu.admin_get("journal")["posts"]
    assert post["applied"] is True and post["body"] == body
    assert post["status"] == (502 if kind == "apply_then_502" else None)
    newest = emu.haravan(ADJUSTMENTS, limit=1).json()["adjustments"][0]
    assert newest["line_items"][0]["quantity"] == 3


def test_latency_script(emu: EmulatorClient) -> None:
    emu.faults(script=[{"kind": "latency", "ms": 300}])
    started = time.monotonic()
    response = emu.haravan(COUNT)
    slow = time.monotonic() - started
    started = time.monotonic()
    emu.haravan(COUNT)
    fast = time.monotonic() - started
    assert response.status_code == 200 and slow >= 0.3 and fast < 0.2


def _statuses(emu: EmulatorClient, config: dict[str, Any], calls: int) -> list[int]:
    emu.faults(**config)
    return [emu.haravan(COUNT).status_code for _ in range(calls)]


def test_random_errors_are_reproducible_per_seed(emu: EmulatorClient) -> None:
    config = {"seed": 7, "error_rate": 0.5, "error_statuses": [500, 503]}
    first = _statuses(emu, config, 30)
    second = _statuses(emu, config, 30)
    other = _statuses(emu, {**config, "seed": 8}, 30)

    assert first == second != other
    assert set(first) == {200, 500, 503}


def test_random_faults_respect_apis_and_never_hit_admin(emu: EmulatorClient) -> None:
    emu.faults(apis=["stocky"], drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        emu.stocky(STOCKY_ITEMS)
    assert emu.haravan(COUNT).status_code == 200
    assert emu.admin_get("health") == {"ok": True}


def test_random_html_and_truncate_rates(emu: EmulatorClient) -> None:
    emu.faults(html_502_rate=1.0)
    assert emu.haravan(COUNT).text == HTML_502
    emu.faults(truncate_rate=1.0)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        emu.haravan(ADJUSTMENTS)


def test_insert_during_paging_adds_records_after_each_nth_page(emu: EmulatorClient) -> None:
    emu.faults(insert_during_paging={"every_pages": 2, "count": 3})
    truth_ids = [r["id"] for r in emu.truth()]

    seen: list[int] = []
    since = 0
    while True:
        page = emu.haravan(ADJUSTMENTS, since_id=since, limit=50).json()["adjustments"]
        if not page:
            break
        seen += [r["id"] for r in page]
        since = page[-1]["id"]

    # Inserts follow pages 2, 4 and 6: page 5 holds both first batches, page 6 is empty.
    assert len(seen) == 206 and seen == sorted(seen)
    assert seen[:200] == truth_ids
    assert emu.haravan(COUNT).json() == {"count": 209}


def test_insert_during_paging_can_backdate_records(emu: EmulatorClient) -> None:
    emu.faults(
        apis=["haravan", "stocky"],
        insert_during_paging={"every_pages": 1, "count": 2, "created_at": "2026-01-12T08:00:00Z"},
    )
    last_id = emu.truth()[-1]["id"]
    last_stocky = emu.admin_get("truth/stocky/stock_adjustments")[-1]["id"]

    emu.haravan(ADJUSTMENTS)
    emu.stocky(STOCKY_ADJUSTMENTS)

    added = emu.haravan(ADJUSTMENTS, since_id=last_id).json()["adjustments"]
    assert len(added) == 2 and all(r["id"] > last_id for r in added)
    assert all(r["created_at"] == "2026-01-12T08:00:00Z" for r in added)
    stocky = emu.stocky(STOCKY_ADJUSTMENTS, since_id=last_stocky).json()["stock_adjustments"]
    assert [a["created_at"] for a in stocky] == ["2026-01-12T08:00:00.000Z"] * 2
    assert all(a["adjusted_at"] is None for a in stocky)


def test_invalid_fault_config_is_400(emu: EmulatorClient) -> None:
    for config in (
        {"drop_rate": 2},
        {"script": [{"kind": "explode"}]},
        {"apis": ["shopify"]},
        {"unknown": 1},
    ):
        response = requests.post(emu.url + "/_admin/faults", json=config, timeout=5)
        assert response.status_code == 400, config
        assert "error" in response.json()


def test_base_latency_and_spikes(emu: EmulatorClient) -> None:
    emu.faults(apis=["haravan"], latency_ms=100, latency_spike_rate=1.0, latency_spike_ms=150)
    started = time.monotonic()
    assert emu.haravan(COUNT).status_code == 200
    elapsed = time.monotonic() - started
    journal = emu.admin_get("journal")
    assert elapsed >= 0.25
    assert journal["requests"][-1]["fault"] == "latency"


def test_scripted_status_carries_the_given_retry_after(emu: EmulatorClient) -> None:
    emu.faults(
        script=[
            {"kind": "status", "status": 429, "retry_after": "86400"},
            {"kind": "status", "status": 503, "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"},
            {"kind": "status", "status": 429},
        ]
    )
    first, second, third = (emu.haravan(COUNT) for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "86400")
    assert (second.status_code, second.headers["Retry-After"]) == (
        503,
        "Wed, 21 Oct 2026 07:28:00 GMT",
    )
    assert (third.status_code, third.headers["Retry-After"]) == (429, "1.0")


def test_a_retry_after_with_a_line_break_is_refused(emu: EmulatorClient) -> None:
    with pytest.raises(requests.HTTPError):
        emu.faults(script=[{"kind": "status", "retry_after": "1\r\nX-Evil: 1"}])

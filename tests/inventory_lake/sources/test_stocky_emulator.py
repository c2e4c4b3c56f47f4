"""StockyClient against the emulator running as a real HTTP server process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from include.inventory_lake.http.errors import ApiAuthError, ApiRetiredError, MalformedPageError
from include.inventory_lake.sources.timestamps import parse_api_timestamp
from tests.inventory_lake.sources.emulator_support import (
    DAY,
    NEXT_DAY,
    flatten,
    in_window,
    journal_requests,
    stocky,
    truth,
)
from tests.servers import Emulator

pytestmark = pytest.mark.usefixtures("fresh_emulator")

ADJUSTMENTS = "stocky/stock_adjustments"
ITEMS = "stocky/stock_adjustment_items"


def test_a_day_equals_the_emulator_truth(fresh_emulator: Emulator) -> None:
    with stocky(fresh_emulator, page_size=6) as client:
        adjustments = flatten(client.iter_stock_adjustments_updated_between(DAY, NEXT_DAY))
        items = flatten(client.iter_stock_adjustment_items_updated_between(DAY, NEXT_DAY))
    assert adjustments == in_window(truth(fresh_emulator, ADJUSTMENTS), "updated_at", DAY, NEXT_DAY)
    assert items == in_window(truth(fresh_emulator, ITEMS), "updated_at", DAY, NEXT_DAY)
    assert adjustments and items
    queries = [entry["query"] for entry in journal_requests(fresh_emulator)]
    assert all("offset" not in q and q["updated_since"] == "2026-01-10T00:00:00Z" for q in queries)


def test_a_performed_item_moves_to_the_window_of_its_new_updated_at(
    fresh_emulator: Emulator,
) -> None:
    pending = [item for item in truth(fresh_emulator, ITEMS) if item["status"] == "not adjusted"]
    assert pending, "the seeded data should hold items not yet performed"
    item = pending[0]
    old_updated_at = parse_api_timestamp(item["updated_at"])
    old_day = old_updated_at.replace(hour=0, minute=0, second=0, microsecond=0)
    fresh_emulator.admin_post("stocky/perform", {"item_ids": [item["id"]]})
    now = datetime.now(UTC)
    with stocky(fresh_emulator) as client:
        recent = flatten(
            client.iter_stock_adjustment_items_updated_between(
                now - timedelta(minutes=5), now + timedelta(minutes=5)
            )
        )
        old = flatten(
            client.iter_stock_adjustment_items_updated_between(old_day, old_day + timedelta(days=1))
        )
    [performed] = [r for r in recent if r["id"] == item["id"]]
    assert performed["status"] == "adjusted"
    assert performed["new_quantity"] == performed["previous_quantity"] + performed["quantity"]
    assert parse_api_timestamp(performed["updated_at"]) > old_updated_at
    assert item["id"] not in {r["id"] for r in old}


def test_a_429_storm_is_ridden_out_honouring_retry_after(fresh_emulator: Emulator) -> None:
    fresh_emulator.admin_post("config", {"stocky_bucket_size": 2, "stocky_leak_rate": 25.0})
    start, end = datetime(2026, 1, 14, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC)
    with stocky(fresh_emulator, page_size=3) as client:
        items = flatten(client.iter_stock_adjustment_items_updated_between(start, end))
        summary = client.summary()
    assert items
    assert items == in_window(truth(fresh_emulator, ITEMS), "updated_at", start, end)
    statuses = [entry["status"] for entry in journal_requests(fresh_emulator)]
    assert statuses.count(429) >= 3
    assert summary["throttled_responses"] == statuses.count(429)
    assert all(not (a == 429 and b == 429) for a, b in pairwise(statuses))


def test_transient_faults_are_retried(fresh_emulator: Emulator) -> None:
    fresh_emulator.set_faults(
        seed=11,
        apis=["stocky"],
        error_rate=0.15,
        script=[{"kind": "drop"}, {"kind": "truncate"}, {"kind": "html502"}],
    )
    with stocky(fresh_emulator, page_size=5) as client:
        items = flatten(client.iter_stock_adjustment_items_updated_between(DAY, NEXT_DAY))
    assert items
    assert items == in_window(truth(fresh_emulator, ITEMS), "updated_at", DAY, NEXT_DAY)


@pytest.mark.parametrize("status", [404, 410])
def test_a_retired_api_is_an_error_not_an_empty_day(fresh_emulator: Emulator, status: int) -> None:
    fresh_emulator.set_faults(script=[{"kind": "status", "status": status, "times": -1}])
    with stocky(fresh_emulator) as client, pytest.raises(ApiRetiredError, match="not an empty"):
        list(client.iter_stock_adjustments_updated_between(DAY, NEXT_DAY))


def test_a_wrong_key_fails_fast(fresh_emulator: Emulator) -> None:
    with (
        stocky(fresh_emulator, api_key="wrong") as client,
        pytest.raises(ApiAuthError, match="credentials of connection 'stocky_default'"),
    ):
        list(client.iter_stock_adjustment_items_updated_between(DAY, NEXT_DAY))
    assert len(journal_requests(fresh_emulator)) == 1


def test_a_malformed_page_is_reported(fresh_emulator: Emulator) -> None:
    fresh_emulator.set_faults(script=[{"kind": "malformed", "times": -1}])
    with (
        stocky(fresh_emulator) as client,
        pytest.raises(MalformedPageError, match=r"stock_adjustments\.json"),
    ):
        list(client.iter_stock_adjustments_updated_between(DAY, NEXT_DAY))

"""HaravanClient against the emulator running as a real HTTP server process."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from include.inventory_lake.http.errors import (
    AmbiguousWriteError,
    ApiAuthError,
    ApiNotFoundError,
    ApiRetiredError,
    ApiUnavailableError,
    ApiValidationError,
    MalformedPageError,
)
from include.inventory_lake.sources.timestamps import parse_api_timestamp
from tests.inventory_lake.sources.emulator_support import (
    DAY,
    NEXT_DAY,
    clear_journal,
    flatten,
    haravan,
    in_window,
    journal_requests,
    truth,
)
from tests.servers import Emulator

pytestmark = pytest.mark.usefixtures("fresh_emulator")


def test_a_day_equals_the_emulator_truth(fresh_emulator: Emulator) -> None:
    with haravan(fresh_emulator, page_size=7) as client:
        pages = list(client.iter_adjustments_created_between(DAY, NEXT_DAY))
    expected = in_window(truth(fresh_emulator, "haravan/adjustments"), "created_at", DAY, NEXT_DAY)
    got = flatten(pages)
    assert len(pages) > 3
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    assert got == expected  # every field, money as exact Decimals
    assert any(isinstance(r["total_cost"], Decimal) for r in got)


def test_inserts_while_paging_a_past_day_change_nothing(fresh_emulator: Emulator) -> None:
    fresh_emulator.set_faults(insert_during_paging={"every_pages": 1, "count": 2})
    with haravan(fresh_emulator, page_size=5) as client:
        got = flatten(client.iter_adjustments_created_between(DAY, NEXT_DAY))
    expected = in_window(truth(fresh_emulator, "haravan/adjustments"), "created_at", DAY, NEXT_DAY)
    assert len(got) > 10
    assert [r["id"] for r in got] == [r["id"] for r in expected]


def test_inserts_while_paging_up_to_now_are_neither_missed_nor_repeated(
    fresh_emulator: Emulator,
) -> None:
    start = datetime(2026, 1, 14, tzinfo=UTC)
    end = datetime.now(UTC) + timedelta(days=1)
    fresh_emulator.set_faults(insert_during_paging={"every_pages": 1, "count": 3})
    with haravan(fresh_emulator, page_size=5) as client:
        ids = [r["id"] for r in flatten(client.iter_adjustments_created_between(start, end))]
    fresh_emulator.set_faults()
    window = in_window(truth(fresh_emulator, "haravan/adjustments"), "created_at", start, end)
    expected = [r["id"] for r in window]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert ids == [i for i in expected if i <= ids[-1]]
    # Only the records inserted after the last page was read can be missing.
    assert len(expected) - len(ids) <= 3
    data_end = datetime(2026, 1, 15, tzinfo=UTC)
    inserted = {r["id"] for r in window if parse_api_timestamp(r["created_at"]) > data_end}
    assert len(inserted & set(ids)) >= 3


def test_first_id_of_a_day_in_a_year_costs_few_requests(fresh_emulator: Emulator) -> None:
    fresh_emulator.reset(days=365)
    records = truth(fresh_emulator, "haravan/adjustments")
    costs = []
    with haravan(fresh_emulator) as client:
        for days_back in (1, 17, 90, 200, 364):
            start = datetime(2026, 1, 15, tzinfo=UTC) - timedelta(days=days_back)
            clear_journal(fresh_emulator)
            since_id = client.first_since_id_for(start)
            costs.append(len(journal_requests(fresh_emulator)))
            first = next(r for r in records if parse_api_timestamp(r["created_at"]) >= start)
            assert since_id == first["id"] - 1
    print(f"\nrequests to find the first id of a day in {len(records)} records (a year): {costs}")
    assert max(costs) <= 12
    assert statistics.mean(costs) < 10


def test_a_hint_from_the_previous_day_answers_in_one_request(fresh_emulator: Emulator) -> None:
    records = truth(fresh_emulator, "haravan/adjustments")
    last_of_previous_day = in_window(records, "created_at", DAY - timedelta(days=1), DAY)[-1]
    clear_journal(fresh_emulator)
    with haravan(fresh_emulator) as client:
        since_id = client.first_since_id_for(DAY, hint_id=last_of_previous_day["id"])
    first = in_window(records, "created_at", DAY, NEXT_DAY)[0]
    assert since_id == first["id"] - 1
    assert len(journal_requests(fresh_emulator)) == 1


def test_429s_from_a_wrongly_configured_leak_rate_are_honoured(fresh_emulator: Emulator) -> None:
    fresh_emulator.admin_post("config", {"bucket_size": 4, "leak_rate": 20.0})
    # The client believes the bucket leaks 50 times faster than it does, so it overruns it.
    with haravan(fresh_emulator, page_size=5, leak_rate=1000.0, bucket_reserve=0) as client:
        got = flatten(client.iter_adjustments_created_between(DAY, NEXT_DAY))
        summary = client.summary()
    expected = in_window(truth(fresh_emulator, "haravan/adjustments"), "created_at", DAY, NEXT_DAY)
    assert len(got) > 10
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    statuses = [entry["status"] for entry in journal_requests(fresh_emulator)]
    throttled = statuses.count(429)
    assert throttled >= 3
    assert summary["throttled_responses"] == throttled
    assert summary["retry_after_wait_s"] > 0  # type: ignore[operator]
    # Waiting Retry-After before trying again means a retry is never refused in turn.
    assert all(not (a == 429 and b == 429) for a, b in pairwise(statuses))


def test_pacing_sustains_the_bucket_rate_without_429(fresh_emulator: Emulator) -> None:
    size, leak = 20, 50.0
    fresh_emulator.admin_post("config", {"bucket_size": size, "leak_rate": leak})
    with haravan(fresh_emulator, page_size=4, bucket_size=size, leak_rate=leak) as client:
        started = time.monotonic()
        got = list(client.recent_adjustments(0))
        elapsed = time.monotonic() - started
        summary = client.summary()
    calls = len(journal_requests(fresh_emulator))
    assert len(got) == len(truth(fresh_emulator, "haravan/adjustments"))
    assert fresh_emulator.journal()["counts"]["throttled"] == 0
    ideal_s = (calls - size) / leak
    print(f"\npacing: {calls} calls in {elapsed:.2f} s, ideal {ideal_s:.2f} s; {summary}")
    # No faster than the bucket allows (or the API would have refused calls) ...
    assert elapsed >= ideal_s * 0.99
    # ... and never waiting longer than it needs: the time the pacer chose to sleep, which a
    # loaded machine can only shorten. How close the wall time comes to the ideal is a figure
    # of `make bench`, not a test, since it depends on the machine's load.
    assert 0 < float(str(summary["pacing_wait_s"])) <= ideal_s


def test_transient_faults_are_retried_and_the_day_is_complete(fresh_emulator: Emulator) -> None:
    fresh_emulator.set_faults(
        seed=5,
        apis=["haravan"],
        error_rate=0.1,
        error_statuses=[500, 502, 503, 504],
        drop_rate=0.05,
        truncate_rate=0.08,
        html_502_rate=0.05,
        # On top of the random faults, one of each kind for sure.
        script=[
            {"kind": "drop"},
            {"kind": "truncate"},
            {"kind": "html502"},
            {"kind": "status", "status": 504},
        ],
    )
    with haravan(fresh_emulator, page_size=4) as client:
        got = flatten(client.iter_adjustments_created_between(DAY, NEXT_DAY))
        retries = client.summary()["retries_by_reason"]
    expected = in_window(truth(fresh_emulator, "haravan/adjustments"), "created_at", DAY, NEXT_DAY)
    assert len(got) > 10
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    faults = {entry["fault"] for entry in journal_requests(fresh_emulator)} - {None}
    assert {"status", "drop", "truncate", "html502"} <= faults
    assert set(retries) >= {"server_error", "connection", "invalid_body"}  # type: ignore[arg-type]


def test_a_persistent_500_fails_clearly_after_bounded_attempts(fresh_emulator: Emulator) -> None:
    fresh_emulator.set_faults(script=[{"kind": "status", "status": 500, "times": -1}])
    with (
        haravan(fresh_emulator) as client,
        pytest.raises(ApiUnavailableError, match=r"after 6 attempts .*HTTP 500") as raised,
    ):
        list(client.iter_adjustments_created_between(DAY, NEXT_DAY))
    assert "/com/inventories/adjustments.json" in str(raised.value)
    assert len(journal_requests(fresh_emulator)) == 6


def test_a_wrong_token_fails_fast_naming_the_connection(fresh_emulator: Emulator) -> None:
    with (
        haravan(fresh_emulator, token="not-the-token") as client,
        pytest.raises(ApiAuthError, match="credentials of connection 'haravan_default'"),
    ):
        list(client.iter_adjustments_created_between(DAY, NEXT_DAY))
    assert len(journal_requests(fresh_emulator)) == 1


@pytest.mark.parametrize("status", [404, 410])
def test_a_retired_api_is_an_error_not_an_empty_day(fresh_emulator: Emulator, status: int) -> None:
    fresh_emulator.set_faults(script=[{"kind": "status", "status": status, "times": -1}])
    with (
        haravan(fresh_emulator) as client,
        pytest.raises(ApiRetiredError, match="may be retired"),
    ):
        list(client.iter_adjustments_created_between(DAY, NEXT_DAY))
    assert len(journal_requests(fresh_emulator)) == 1


@pytest.mark.parametrize("shape", ["wrong_type", "missing_id"])
def test_a_malformed_page_is_retried_then_reported(fresh_emulator: Emulator, shape: str) -> None:
    malformed = {"kind": "malformed", "shape": shape, "path": "adjustments"}
    fresh_emulator.set_faults(script=[{**malformed, "times": 2}])
    with haravan(fresh_emulator) as client:
        assert flatten(client.iter_adjustments_created_between(DAY, NEXT_DAY))
    fresh_emulator.set_faults(script=[{**malformed, "times": -1}])
    clear_journal(fresh_emulator)
    with (
        haravan(fresh_emulator) as client,
        pytest.raises(MalformedPageError, match=r"adjustments\.json \(since_id=0\)"),
    ):
        list(client.iter_adjustments_created_between(DAY, NEXT_DAY))
    assert len(journal_requests(fresh_emulator)) == 3


def _inventory(emulator: Emulator, note: str) -> dict[str, object]:
    catalog = emulator.admin_get("catalog")
    variant = catalog["variants"][0]
    return {
        "location_id": catalog["locations"][0]["haravan_id"],
        "type": "adjust",
        "reason": "returned",
        "note": note,
        "line_items": [
            {
                "product_id": variant["product_id"],
                "product_variant_id": variant["haravan_id"],
                "quantity": 3,
            }
        ],
    }


def test_create_and_find_it_again_by_note(fresh_emulator: Emulator) -> None:
    with haravan(fresh_emulator) as client:
        newest = client.newest_adjustment()
        assert newest is not None
        created = client.create_adjustment(_inventory(fresh_emulator, "chunk 7 of run x"))
        assert created["id"] > newest["id"]
        assert client.get_adjustment(created["id"]) == created
        found = [
            r for r in client.recent_adjustments(newest["id"]) if r["note"] == "chunk 7 of run x"
        ]
        assert [r["id"] for r in found] == [created["id"]]
        assert client.count() == len(truth(fresh_emulator, "haravan/adjustments"))
        with pytest.raises(ApiNotFoundError):
            client.get_adjustment(1)


def test_a_refused_create_carries_the_errors(fresh_emulator: Emulator) -> None:
    inventory = {**_inventory(fresh_emulator, "x"), "location_id": 1}
    with haravan(fresh_emulator) as client, pytest.raises(ApiValidationError) as raised:
        client.create_adjustment(inventory)
    assert raised.value.errors == "Location not found"


@pytest.mark.parametrize("kind", ["apply_then_502", "apply_then_drop"])
def test_an_ambiguous_create_is_not_resent(fresh_emulator: Emulator, kind: str) -> None:
    fresh_emulator.set_faults(script=[{"kind": kind, "method": "POST", "times": 1}])
    before = len(truth(fresh_emulator, "haravan/adjustments"))
    with haravan(fresh_emulator) as client, pytest.raises(AmbiguousWriteError):
        client.create_adjustment(_inventory(fresh_emulator, "ambiguous"))
    posts = fresh_emulator.journal()["posts"]
    assert [post["applied"] for post in posts] == [True]
    assert len(truth(fresh_emulator, "haravan/adjustments")) == before + 1


def test_inventory_locations_are_read_in_chunks_of_50_ids(fresh_emulator: Emulator) -> None:
    catalog = fresh_emulator.admin_get("catalog")
    location_ids = [loc["haravan_id"] for loc in catalog["locations"]]
    variant_ids = [var["haravan_id"] for var in catalog["variants"][:120]]
    with haravan(fresh_emulator) as client:
        rows = client.inventory_locations(location_ids, variant_ids)
    stock = fresh_emulator.admin_get("stock")
    expected = {
        (row["loc_id"], row["variant_id"]): row["qty_onhand"]
        for row in stock
        if row["variant_id"] in set(variant_ids)
    }
    assert {(row["loc_id"], row["variant_id"]): row["qty_onhand"] for row in rows} == expected
    queries = [entry["query"] for entry in journal_requests(fresh_emulator)]
    assert all(len(q["variant_ids"].split(",")) <= 50 for q in queries)

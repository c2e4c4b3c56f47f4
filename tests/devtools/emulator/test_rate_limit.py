"""The Haravan leaky bucket (and the optional Stocky one)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.devtools.emulator.helpers import (
    ADJUSTMENTS,
    COUNT,
    STOCKY_ITEMS,
    TIMEOUT,
    EmulatorClient,
)

HEADER = "X-Haravan-Api-Call-Limit"


def test_80_quick_calls_then_429(emu: EmulatorClient) -> None:
    emu.admin_post("config", {"leak_rate": 0.01})
    used = []
    for _ in range(80):
        response = emu.haravan(COUNT)
        assert response.status_code == 200
        used.append(response.headers[HEADER])

    refused = emu.haravan(COUNT)

    assert used[0] == "1/80" and used[-1] == "80/80"
    assert used == [f"{n}/80" for n in range(1, 81)]
    assert refused.status_code == 429
    assert refused.headers[HEADER] == "80/80"
    assert float(refused.headers["Retry-After"]) > 0
    assert "." in refused.headers["Retry-After"]
    assert refused.json() == {
        "errors": "Exceeded 80 calls per second for api client. "
        "Reduce request rates to resume uninterrupted service."
    }


def test_refused_calls_do_not_fill_the_bucket(emu: EmulatorClient) -> None:
    # A slow leak (one call per 10 s), so that even a loaded machine makes the seven calls
    # long before one call has leaked away.
    emu.admin_post("config", {"bucket_size": 2, "leak_rate": 0.1})
    for _ in range(2):
        assert emu.haravan(COUNT).status_code == 200
    waits = []
    for _ in range(5):
        response = emu.haravan(COUNT)
        assert response.status_code == 429
        waits.append(float(response.headers["Retry-After"]))
    # A refused call adding to the bucket would push the wait up by 10 s each time.
    assert max(waits) <= 10.0
    assert waits == sorted(waits, reverse=True)


def test_bucket_refills_after_retry_after(emu: EmulatorClient) -> None:
    # One call leaks per second: the four calls need to fit in that second, with a margin of
    # about a hundred times what they take.
    emu.admin_post("config", {"bucket_size": 3, "leak_rate": 1.0})
    statuses = [emu.haravan(COUNT).status_code for _ in range(3)]
    refused = emu.haravan(COUNT)
    wait = float(refused.headers["Retry-After"])

    time.sleep(wait + 0.02)  # what a client does with Retry-After: the behaviour under test
    again = emu.haravan(COUNT)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429 and 0 < wait <= 1.0
    assert again.status_code == 200


def test_every_haravan_response_carries_the_header(emu: EmulatorClient) -> None:
    emu.admin_post("config", {"leak_rate": 0.01})  # no call leaks away between two of them
    responses = [
        emu.haravan(ADJUSTMENTS),
        emu.haravan(ADJUSTMENTS, limit="bad"),
        emu.haravan("/com/inventories/adjustments/1.json"),
        emu.haravan("/com/no_such_thing.json"),
        emu.haravan_post({"inventory": {}}),
        requests.get(emu.url + ADJUSTMENTS, timeout=TIMEOUT),
    ]
    assert [r.status_code for r in responses] == [200, 422, 404, 404, 422, 401]
    expected = ["1/80", "2/80", "3/80", "4/80", "5/80", "0/80"]
    assert [r.headers[HEADER] for r in responses] == expected


def test_stocky_is_unlimited_by_default_and_limited_when_configured(
    emu: EmulatorClient,
) -> None:
    assert all(emu.stocky(STOCKY_ITEMS, limit=1).status_code == 200 for _ in range(120))

    emu.admin_post("config", {"stocky_bucket_size": 5, "stocky_leak_rate": 0.5})
    statuses = [emu.stocky(STOCKY_ITEMS, limit=1).status_code for _ in range(6)]
    refused = emu.stocky(STOCKY_ITEMS, limit=1)

    assert statuses == [200] * 5 + [429]
    assert refused.status_code == 429
    assert 0 < float(refused.headers["Retry-After"]) <= 2.0


def test_bucket_is_exact_under_concurrent_calls(emu: EmulatorClient) -> None:
    emu.admin_post("config", {"bucket_size": 40, "leak_rate": 0.01})

    def call(_: int) -> int:
        with requests.Session() as session:
            return session.get(
                emu.url + COUNT,
                headers={"Authorization": "Bearer demo-haravan-token"},
                timeout=TIMEOUT,
            ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(call, range(100)))

    assert statuses.count(200) == 40 and statuses.count(429) == 60
    assert emu.admin_get("journal")["counts"]["throttled"] == 60

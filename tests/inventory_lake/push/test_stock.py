"""Reading current stock before a push: a stock answer of the wrong shape is a named, permanent
MalformedResponseError, never a KeyError or a silently wrong on-hand quantity."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from include.inventory_lake.http.errors import MalformedPageError, MalformedResponseError
from include.inventory_lake.push.stock import read_current_stock
from include.inventory_lake.push.validation import SetLine
from include.inventory_lake.sources.haravan import INVENTORY_LOCATIONS_PATH, HaravanClient
from tests.inventory_lake.push.support import catalog
from tests.inventory_lake.sources.emulator_support import FAST_RETRIES, haravan
from tests.servers import Emulator

TOKEN = "stub-token-not-to-be-echoed"


class StubHaravan:
    """A real HTTP server answering GET /com/inventory_locations.json with the given rows on the
    first page (since_id=0) and an empty page after it."""

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.requests = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests += 1
                url = urlsplit(self.path)
                since_id = int(parse_qs(url.query).get("since_id", ["0"])[0])
                rows = stub.rows if since_id == 0 else []
                body = json.dumps({"inventory_locations": rows}).encode()
                status = 200 if url.path == INVENTORY_LOCATIONS_PATH else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture()
def stub() -> Iterator[StubHaravan]:
    stub = StubHaravan()
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
        thread.join()


def line(row: int, location_id: int, product_id: int, variant_id: int) -> SetLine:
    return SetLine(row, location_id, product_id, variant_id, 5, "newproduct", None, None, None)


LINES = (line(2, 10, 20, 30), line(3, 10, 21, 31))


def stock_row(row_id: int, variant_id: int, product_id: int, qty: object) -> dict[str, Any]:
    return {
        "id": row_id,
        "loc_id": 10,
        "product_id": product_id,
        "variant_id": variant_id,
        "qty_onhand": qty,
        "qty_commited": 0,
        "qty_incoming": 0,
        "qty_available": qty,
    }


def test_well_formed_rows_give_the_on_hand_quantities(stub: StubHaravan) -> None:
    stub.rows = [stock_row(501, 30, 20, 4), stock_row(502, 31, 21, -2)]
    with HaravanClient(stub.url, TOKEN, retry_policy=FAST_RETRIES) as client:
        stock = read_current_stock(client, LINES)
    assert stock.problems == ()
    assert stock.on_hand == {(10, 30): 4, (10, 31): -2}


def _without(row: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != field}


GOOD = stock_row(501, 30, 20, 4)
BAD = stock_row(502, 31, 21, 7)


@pytest.mark.parametrize(
    ("bad_row", "problem"),
    [
        (_without(BAD, "loc_id"), "field 'loc_id' is missing"),
        (_without(BAD, "qty_onhand"), "field 'qty_onhand' is missing"),
        ({**BAD, "qty_onhand": "7"}, "field 'qty_onhand' is not an integer: '7'"),
        ({**BAD, "qty_onhand": 7.5}, "field 'qty_onhand' is not an integer: Decimal('7.5')"),
        ({**BAD, "product_id": "P-21"}, "field 'product_id' is not an integer: 'P-21'"),
        ({**BAD, "variant_id": None}, "field 'variant_id' is not an integer: None"),
        ({**BAD, "variant_id": True}, "field 'variant_id' is not an integer: True"),
        ({**BAD, "loc_id": 0}, "field 'loc_id' is not a positive id: 0"),
    ],
    ids=[
        "no-loc_id",
        "no-qty_onhand",
        "text-qty",
        "fractional-qty",
        "text-product_id",
        "null-variant_id",
        "bool-variant_id",
        "zero-loc_id",
    ],
)
def test_a_malformed_stock_row_is_named_and_fails_the_read(
    stub: StubHaravan, bad_row: dict[str, Any], problem: str
) -> None:
    stub.rows = [GOOD, bad_row]
    with (
        HaravanClient(stub.url, TOKEN, retry_policy=FAST_RETRIES) as client,
        pytest.raises(MalformedPageError) as raised,
    ):
        read_current_stock(client, LINES)
    message = str(raised.value)
    assert isinstance(raised.value, MalformedResponseError)
    assert f"malformed page from {INVENTORY_LOCATIONS_PATH} (since_id=0)" in message
    assert f"item 1 (id 502): {problem}; row {{'id': 502" in message
    assert TOKEN not in message
    # Retried within the small budget for malformed answers, then raised as itself.
    assert stub.requests == FAST_RETRIES.max_malformed_attempts


@pytest.mark.parametrize("shape", ["wrong_type", "missing_id"])
def test_a_stock_page_of_the_wrong_shape_from_the_emulator_is_named(
    fresh_emulator: Emulator, shape: str
) -> None:
    cat = catalog(fresh_emulator)
    variant = cat["variants"][0]
    lines = [
        line(2, cat["locations"][0]["haravan_id"], variant["product_id"], variant["haravan_id"])
    ]
    fresh_emulator.set_faults(
        script=[{"kind": "malformed", "shape": shape, "path": "inventory_locations", "times": -1}]
    )
    with (
        haravan(fresh_emulator) as client,
        pytest.raises(MalformedResponseError, match=r"inventory_locations\.json \(since_id=0\)"),
    ):
        read_current_stock(client, lines)


def test_a_stock_answer_that_is_not_json_is_named_not_retried_as_a_network_failure(
    fresh_emulator: Emulator,
) -> None:
    cat = catalog(fresh_emulator)
    variant = cat["variants"][0]
    lines = [
        line(2, cat["locations"][0]["haravan_id"], variant["product_id"], variant["haravan_id"])
    ]
    fresh_emulator.set_faults(
        script=[{"kind": "html200", "path": "inventory_locations", "times": -1}]
    )
    with (
        haravan(fresh_emulator) as client,
        pytest.raises(MalformedResponseError) as raised,
    ):
        read_current_stock(client, lines)
    message = str(raised.value)
    assert message.startswith("GET /com/inventory_locations.json: body is not JSON")
    assert "Sign in" in message
    calls = [e for e in fresh_emulator.journal()["requests"] if "inventory_locations" in e["path"]]
    assert len(calls) == FAST_RETRIES.max_malformed_attempts

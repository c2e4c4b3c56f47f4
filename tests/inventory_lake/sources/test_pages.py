from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from include.inventory_lake.http.errors import MalformedPageError
from include.inventory_lake.sources.pages import KeysetCursor, iter_keyset_pages, parse_keyset_page
from include.inventory_lake.sources.timestamps import parse_api_timestamp, to_query_timestamp

ENDPOINT = "/com/inventories/adjustments.json"


def parse(payload: Any, since_id: int | None = 10) -> list[dict[str, Any]]:
    return parse_keyset_page(
        payload,
        envelope="adjustments",
        endpoint=ENDPOINT,
        since_id=since_id,
        timestamp_field="created_at",
    )


def adjustment(record_id: Any, created_at: Any = "2021-05-13T07:29:20.1Z") -> dict[str, Any]:
    return {"id": record_id, "created_at": created_at}


def test_sorts_by_id_and_drops_duplicates() -> None:
    page = parse({"adjustments": [adjustment(13), adjustment(11), adjustment(13), adjustment(12)]})
    assert [record["id"] for record in page] == [11, 12, 13]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], "expected a JSON object"),
        ({"orders": []}, "no 'adjustments' key"),
        ({"adjustments": {"unexpected": True}}, "is a dict, not a list"),
        ({"adjustments": ["x"]}, "item 0 is a str"),
        ({"adjustments": [{"created_at": "2021-05-13T07:29:20Z"}]}, "no positive integer id"),
        ({"adjustments": [adjustment("11")]}, "no positive integer id"),
        ({"adjustments": [adjustment(True)]}, "no positive integer id"),
        ({"adjustments": [adjustment(9)]}, "seems to ignore since_id"),
        ({"adjustments": [adjustment(11, "yesterday")]}, "unreadable created_at"),
        ({"adjustments": [adjustment(11, "2021-05-13T07:29:20")]}, "no UTC offset"),
        ({"adjustments": [adjustment(11, None)]}, "unreadable created_at"),
    ],
)
def test_malformed_pages_say_where_and_what(payload: Any, problem: str) -> None:
    with pytest.raises(MalformedPageError) as raised:
        parse(payload)
    message = str(raised.value)
    assert ENDPOINT in message
    assert "since_id=10" in message
    assert problem in message


def test_timestamps_with_up_to_seven_fractional_digits() -> None:
    assert parse_api_timestamp("2021-05-13T07:29:20.1Z") == datetime(
        2021, 5, 13, 7, 29, 20, 100000, tzinfo=UTC
    )
    assert parse_api_timestamp("2021-05-13T07:29:20.0791239Z").microsecond == 79123
    assert parse_api_timestamp("2021-05-13T07:29:20+07:00").utcoffset() is not None
    assert to_query_timestamp(datetime(2026, 1, 14, tzinfo=UTC)) == "2026-01-14T00:00:00Z"


def pages_for(sizes: list[int], limit: int) -> tuple[list[list[dict[str, Any]]], int]:
    """Page through a fake API serving pages of the given sizes; returns pages and requests."""
    served = iter(sizes)
    requests = 0
    next_id = 1

    def fetch(cursor: KeysetCursor) -> list[dict[str, Any]]:
        nonlocal requests, next_id
        requests += 1
        size = next(served, 0)
        page = [{"id": next_id + i} for i in range(size)]
        next_id += size
        return page

    return list(iter_keyset_pages(fetch, KeysetCursor(0, limit))), requests


def test_a_short_page_after_full_pages_ends_paging() -> None:
    pages, requests = pages_for([5, 5, 2, 5], limit=5)
    assert [len(page) for page in pages] == [5, 5, 2]
    assert requests == 3


def test_a_silently_capped_limit_does_not_end_paging_early() -> None:
    pages, requests = pages_for([3, 3, 3, 1], limit=5)
    assert sum(len(page) for page in pages) == 10
    assert requests == 5  # the last one comes back empty


def test_cursor_moves_to_the_highest_id() -> None:
    cursor = KeysetCursor(0, 2)
    cursor.advance([{"id": 7}, {"id": 9}])
    assert cursor.params() == {"since_id": 9, "limit": 2}

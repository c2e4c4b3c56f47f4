"""Keyset paging (``since_id`` + ``limit``) and the checks every list page must pass."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from include.inventory_lake.http.errors import MalformedPageError
from include.inventory_lake.sources.timestamps import parse_api_timestamp

log = logging.getLogger(__name__)

Record = dict[str, Any]


def parse_keyset_page(
    payload: Any,
    *,
    envelope: str,
    endpoint: str,
    since_id: int | None,
    timestamp_field: str | None,
) -> list[Record]:
    """The page's records in ascending id order, duplicates dropped, or MalformedPageError.

    Each record must be an object with an integer id above since_id (an API that ignores
    since_id would otherwise make paging loop or skip) and a readable `timestamp_field`.
    """

    def malformed(problem: str) -> MalformedPageError:
        return MalformedPageError(endpoint=endpoint, since_id=since_id, problem=problem)

    if not isinstance(payload, dict):
        raise malformed(f"expected a JSON object, got {type(payload).__name__}")
    if envelope not in payload:
        raise malformed(f"no {envelope!r} key; keys: {sorted(payload)[:10]}")
    records = payload[envelope]
    if not isinstance(records, list):
        raise malformed(f"{envelope!r} is a {type(records).__name__}, not a list")
    by_id: dict[int, Record] = {}
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise malformed(f"item {position} is a {type(record).__name__}, not an object")
        record_id = record.get("id")
        if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id < 1:
            raise malformed(f"item {position} has no positive integer id: {record_id!r}")
        if since_id is not None and record_id <= since_id:
            raise malformed(
                f"record id {record_id} is not above since_id {since_id}: the API seems to "
                f"ignore since_id, and paging on would loop or skip records"
            )
        if timestamp_field is not None:
            try:
                parse_api_timestamp(record.get(timestamp_field))
            except ValueError as exc:
                raise malformed(f"record {record_id}: unreadable {timestamp_field}: {exc}") from exc
        by_id.setdefault(record_id, record)
    if len(by_id) < len(records):
        log.warning(
            "%s (since_id=%s): dropped %d duplicate records within the page",
            endpoint,
            since_id,
            len(records) - len(by_id),
        )
    return [by_id[record_id] for record_id in sorted(by_id)]


@dataclass
class KeysetCursor:
    """Where paging stands: the params of the next request, and whether there is one.

    A short page ends paging only after a full page has shown that the API honours our limit;
    until then only an empty page does (one extra request), so an API that silently caps the
    limit below ours cannot end paging early.
    """

    since_id: int
    limit: int
    has_next_page: bool = True
    limit_honoured: bool = False

    def params(self) -> dict[str, int]:
        return {"since_id": self.since_id, "limit": self.limit}

    def advance(self, page: Sequence[Record]) -> None:
        if not page:
            self.has_next_page = False
            return
        if len(page) >= self.limit:
            self.limit_honoured = True
        elif self.limit_honoured:
            self.has_next_page = False
        self.since_id = max(int(record["id"]) for record in page)


def iter_keyset_pages(
    fetch_page: Callable[[KeysetCursor], list[Record]], cursor: KeysetCursor
) -> Iterator[list[Record]]:
    """Pages from `fetch_page` until the cursor says there are no more (or the caller stops)."""
    while cursor.has_next_page:
        page = fetch_page(cursor)
        cursor.advance(page)
        if page:
            yield page

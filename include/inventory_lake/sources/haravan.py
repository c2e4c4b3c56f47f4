"""Haravan Omni API client: inventory adjustments (read and create) and stock per location.

Adjustments have no date filter, but ids grow with ``created_at``: a window is read by finding
its first id (see `since_id_search`) and keyset paging (``since_id`` + ``limit``) from there
until a record created at or after the window's end shows up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from include.inventory_lake.http.client import JsonApiClient, Timeouts
from include.inventory_lake.http.closing import Closing
from include.inventory_lake.http.errors import MalformedPageError, MalformedResponseError
from include.inventory_lake.http.pacer import BucketSettings
from include.inventory_lake.http.retry import RetryPolicy
from include.inventory_lake.settings import HARAVAN_CONN_ID
from include.inventory_lake.sources.pages import (
    KeysetCursor,
    Record,
    iter_keyset_pages,
    parse_keyset_page,
)
from include.inventory_lake.sources.since_id_search import (
    Bounds,
    Landmark,
    find_first_since_id,
)
from include.inventory_lake.sources.time_window import records_in_window
from include.inventory_lake.sources.timestamps import parse_api_timestamp, require_aware

log = logging.getLogger(__name__)

ADJUSTMENTS_PATH = "/com/inventories/adjustments.json"
COUNT_PATH = "/com/inventories/adjustments/count.json"
CREATE_PATH = "/com/inventories/adjustorset.json"
INVENTORY_LOCATIONS_PATH = "/com/inventory_locations.json"
MAX_IDS_PER_FILTER = 50
INVENTORY_LOCATIONS_PAGE_SIZE = 250
# The stock row fields the push relies on; qty_onhand may be negative (oversold stock).
STOCK_ROW_IDS = ("loc_id", "product_id", "variant_id")
STOCK_ROW_QUANTITY = "qty_onhand"
MAX_EXCERPT_CHARS = 160
# Calls of the shop's bucket each client leaves to others: a client learns the level from each
# response, so it misses the calls the shop's other clients sent since, and a new task's first
# call goes out before it knows the level. For up to 4 tasks of one shop at once (the
# haravan_api pool, docs/extracts.md) that takes 6 (tests/inventory_lake/http/test_pacer.py
# simulates it; 4 drew 35 refusals there, and 19 in the 2-shop backfill benchmark once tasks
# took 6 s); 8 leaves a margin. It costs its calls once, at the start: the bucket is then used
# at its leak rate.
BUCKET_RESERVE = 8
# Pages the first-id search read, kept for the paging that follows it.
PROBE_PAGES_KEPT = 2


def _chunks(ids: Sequence[int], size: int) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def _landmark(record: Record) -> Landmark:
    return Landmark(int(record["id"]), parse_api_timestamp(record["created_at"]))


def _parse_single(envelope: str, what: str) -> Any:
    def parse(payload: Any) -> Record:
        record = payload.get(envelope) if isinstance(payload, dict) else None
        if not isinstance(record, dict) or not isinstance(record.get("id"), int):
            raise MalformedResponseError(f"{what}: expected {{{envelope!r}: {{id, ...}}}}")
        return record

    return parse


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_EXCERPT_CHARS else text[:MAX_EXCERPT_CHARS] + "..."


def _stock_row_problem(row: Record) -> str | None:
    """Why a stock row cannot be used, or None: its ids and on-hand quantity must be integers."""
    for field in (*STOCK_ROW_IDS, STOCK_ROW_QUANTITY):
        if field not in row:
            return f"field {field!r} is missing"
        value = row[field]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"field {field!r} is not an integer: {_short_repr(value)}"
        if field in STOCK_ROW_IDS and value < 1:
            return f"field {field!r} is not a positive id: {value!r}"
    return None


def parse_inventory_locations_page(payload: Any, since_id: int) -> list[Record]:
    """The page's stock rows, or MalformedPageError naming the row (by position and id), the
    field and the row itself."""
    rows = parse_keyset_page(
        payload,
        envelope="inventory_locations",
        endpoint=INVENTORY_LOCATIONS_PATH,
        since_id=since_id,
        timestamp_field=None,
    )
    # parse_keyset_page has checked that the envelope is a list of objects with integer ids;
    # the payload's own order gives the position a reader of the raw body would count.
    for position, row in enumerate(payload["inventory_locations"]):
        problem = _stock_row_problem(row)
        if problem is not None:
            raise MalformedPageError(
                endpoint=INVENTORY_LOCATIONS_PATH,
                since_id=since_id,
                problem=f"item {position} (id {row['id']}): {problem}; row {_short_repr(row)}",
            )
    return rows


def _parse_count(payload: Any) -> int:
    count = payload.get("count") if isinstance(payload, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise MalformedResponseError(f"{COUNT_PATH}: expected {{'count': <int>}}, got {payload!r}")
    return count


class HaravanClient(Closing):
    """Reads and creates Haravan inventory adjustments; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connection_id: str = HARAVAN_CONN_ID,
        page_size: int = 250,
        bucket_size: int = 80,
        leak_rate: float = 4.0,
        bucket_reserve: int = BUCKET_RESERVE,
        retry_policy: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.page_size = int(page_size)
        self._http = JsonApiClient(
            base_url,
            api_name="Haravan",
            connection_id=connection_id,
            auth_headers={"Authorization": f"Bearer {token}"},
            timeouts=timeouts,
            retry_policy=retry_policy,
            bucket=BucketSettings(int(bucket_size), float(leak_rate), bucket_reserve),
        )
        self._probed: list[tuple[int, list[Record]]] = []

    def close(self) -> None:
        self._http.close()

    def summary(self) -> dict[str, object]:
        return self._http.summary()

    # Reading adjustments

    def adjustments_after(self, since_id: int, limit: int) -> list[Record]:
        """One page: the first `limit` adjustments with id > since_id, ascending ids."""

        def parse(payload: Any) -> list[Record]:
            return parse_keyset_page(
                payload,
                envelope="adjustments",
                endpoint=ADJUSTMENTS_PATH,
                since_id=since_id,
                timestamp_field="created_at",
            )

        return self._http.get(
            ADJUSTMENTS_PATH,
            {"since_id": since_id, "limit": limit},
            parse=parse,
            list_endpoint=True,
        )

    def newest_adjustment(self) -> Record | None:
        """The adjustment with the highest id (the first of ``page=1``, newest first)."""

        def parse(payload: Any) -> list[Record]:
            return parse_keyset_page(
                payload,
                envelope="adjustments",
                endpoint=ADJUSTMENTS_PATH,
                since_id=None,
                timestamp_field="created_at",
            )

        records = self._http.get(
            ADJUSTMENTS_PATH, {"page": 1, "limit": 1}, parse=parse, list_endpoint=True
        )
        return records[-1] if records else None

    def first_since_id_for(
        self, start: datetime, *, hint_id: int | None = None, bounds: Bounds | None = None
    ) -> int:
        """The largest since_id below every adjustment created at or after `start`.

        `hint_id`: an adjustment known to be created before `start` (e.g. the last id of the
        previous day's partition) narrows the search, usually to one request; `bounds` says
        what else is known (e.g. from the lake). The search reads whole pages; the one holding
        the boundary is kept for `iter_adjustments_created_between`.
        """
        require_aware(start, "start")
        self._probed = []

        def probe(since_id: int, limit: int) -> list[Landmark]:
            records = self.adjustments_after(since_id, limit)
            self._probed = [*self._probed[-(PROBE_PAGES_KEPT - 1) :], (limit, records)]
            return [_landmark(record) for record in records]

        def newest() -> Landmark | None:
            record = self.newest_adjustment()
            return _landmark(record) if record else None

        return find_first_since_id(
            start,
            probe=probe,
            newest=newest,
            hint_id=hint_id,
            bounds=bounds,
            limit=self.page_size,
        )

    def _probed_page_from(self, since_id: int) -> tuple[list[Record], list[Record]] | None:
        """A page the search read that holds the records right after `since_id`: (those
        records, the whole page), or None."""
        for _limit, records in reversed(self._probed):
            for position, record in enumerate(records):
                if record["id"] == since_id + 1:
                    return records[position:], records
        return None

    def iter_adjustments_created_between(
        self,
        start: datetime,
        end: datetime,
        *,
        hint_id: int | None = None,
        bounds: Bounds | None = None,
    ) -> Iterator[list[Record]]:
        """Pages of the adjustments with start <= created_at < end, as received, ascending ids.

        Records created while paging get new, higher ids, so keyset paging neither misses
        nor repeats records; ids are deduplicated all the same. The page in which the search
        found the window's first record is the first page (it is not asked for again).
        """
        require_aware(start, "start")
        require_aware(end, "end")
        if end <= start:
            return
        cursor = KeysetCursor(
            self.first_since_id_for(start, hint_id=hint_id, bounds=bounds), self.page_size
        )
        log.info(
            "Haravan adjustments created in [%s, %s): paging from since_id=%d",
            start.isoformat(),
            end.isoformat(),
            cursor.since_id,
        )
        kept_page = self._probed_page_from(cursor.since_id)
        self._probed = []

        def fetched() -> Iterator[list[Record]]:
            if kept_page is not None:
                tail, whole = kept_page
                cursor.advance(whole)
                yield tail
            yield from iter_keyset_pages(
                lambda c: self.adjustments_after(c.since_id, c.limit), cursor
            )

        yield from records_in_window(
            fetched(),
            what="Haravan adjustments",
            timestamp_field="created_at",
            start=start,
            end=end,
            ids_follow_timestamp=True,
        )

    def recent_adjustments(self, since_id: int) -> Iterator[Record]:
        """Every adjustment with id > since_id, ascending (e.g. to find a pushed chunk's note)."""
        cursor = KeysetCursor(since_id, self.page_size)
        for page in iter_keyset_pages(
            lambda c: self.adjustments_after(c.since_id, c.limit), cursor
        ):
            yield from page

    def count(self, *, since_id: int | None = None, location_id: int | None = None) -> int:
        params = {
            key: value
            for key, value in (("since_id", since_id), ("location_id", location_id))
            if value is not None
        }
        return self._http.get(COUNT_PATH, params, parse=_parse_count, list_endpoint=True)

    def get_adjustment(self, adjustment_id: int) -> Record:
        path = f"/com/inventories/adjustments/{int(adjustment_id)}.json"
        parse = _parse_single("adjustment", path)
        record: Record = self._http.get(path, parse=parse)
        return record

    # Writing and stock

    def create_adjustment(self, inventory: Mapping[str, Any]) -> Record:
        """POST one adjustment; returns the created record.

        Raises ApiValidationError (with the body's ``errors``) on 422, and AmbiguousWriteError
        when the call may or may not have been applied: look it up before sending it again.
        """
        parse = _parse_single("adjustment", CREATE_PATH)
        record: Record = self._http.post(CREATE_PATH, {"inventory": dict(inventory)}, parse=parse)
        log.info(
            "Haravan adjustment %s created (%d line items)",
            record["id"],
            len(record.get("line_items") or []),
        )
        return record

    def inventory_locations(
        self, location_ids: Sequence[int], variant_ids: Sequence[int]
    ) -> list[Record]:
        """Stock rows (id, loc_id, product_id, variant_id, qty_onhand, ...) for every pair.

        Every row has integer ids and an integer qty_onhand, or MalformedPageError (a
        MalformedResponseError) names the row and the field that is wrong.

        The API takes at most 50 ids per filter, so the ids are sent in chunks. Empty
        sequences ask for nothing (the API would read a missing filter as "all").
        """
        rows: dict[int, Record] = {}
        for location_chunk in _chunks(location_ids, MAX_IDS_PER_FILTER):
            for variant_chunk in _chunks(variant_ids, MAX_IDS_PER_FILTER):
                for row in self._inventory_location_rows(location_chunk, variant_chunk):
                    rows.setdefault(int(row["id"]), row)
        log.info(
            "Haravan inventory_locations: %d rows for %d locations x %d variants",
            len(rows),
            len(set(location_ids)),
            len(set(variant_ids)),
        )
        return [rows[row_id] for row_id in sorted(rows)]

    def _inventory_location_rows(
        self, location_ids: list[int], variant_ids: list[int]
    ) -> Iterator[Record]:
        filters = {
            "location_ids": ",".join(map(str, location_ids)),
            "variant_ids": ",".join(map(str, variant_ids)),
        }

        def fetch(cursor: KeysetCursor) -> list[Record]:
            def parse(payload: Any) -> list[Record]:
                return parse_inventory_locations_page(payload, cursor.since_id)

            params = {**filters, **cursor.params()}
            return self._http.get(INVENTORY_LOCATIONS_PATH, params, parse=parse, list_endpoint=True)

        cursor = KeysetCursor(0, min(self.page_size, INVENTORY_LOCATIONS_PAGE_SIZE))
        for page in iter_keyset_pages(fetch, cursor):
            yield from page

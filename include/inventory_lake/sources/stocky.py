"""Stocky v2 API client: stock adjustments and their items updated in a time window.

Stocky filters on ``updated_since`` and pages with ``since_id`` + ``limit`` (``offset`` is not
for paging). Ids do not follow ``updated_at`` (an item changes when it is performed), so every
page is read to the end and the window's upper bound is applied here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from include.inventory_lake.http.client import JsonApiClient, Timeouts
from include.inventory_lake.http.closing import Closing
from include.inventory_lake.http.retry import RetryPolicy
from include.inventory_lake.settings import STOCKY_CONN_ID
from include.inventory_lake.sources.pages import (
    KeysetCursor,
    Record,
    iter_keyset_pages,
    parse_keyset_page,
)
from include.inventory_lake.sources.time_window import records_in_window
from include.inventory_lake.sources.timestamps import require_aware, to_query_timestamp

log = logging.getLogger(__name__)

STOCK_ADJUSTMENTS_PATH = "/api/v2/stock_adjustments.json"
STOCK_ADJUSTMENT_ITEMS_PATH = "/api/v2/stock_adjustment_items.json"


class StockyClient(Closing):
    """Reads Stocky stock adjustments and items by ``updated_at`` window."""

    def __init__(
        self,
        base_url: str,
        store_name: str,
        api_key: str,
        *,
        connection_id: str = STOCKY_CONN_ID,
        page_size: int = 250,
        retry_policy: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.page_size = int(page_size)
        self._http = JsonApiClient(
            base_url,
            api_name="Stocky",
            connection_id=connection_id,
            auth_headers={"Store-Name": store_name, "Authorization": f"API KEY={api_key}"},
            timeouts=timeouts,
            retry_policy=retry_policy,
        )

    def close(self) -> None:
        self._http.close()

    def summary(self) -> dict[str, object]:
        return self._http.summary()

    def iter_stock_adjustments_updated_between(
        self, start: datetime, end: datetime
    ) -> Iterator[list[Record]]:
        """Pages of stock adjustments with start <= updated_at < end, ascending ids."""
        return self._iter_updated_between(STOCK_ADJUSTMENTS_PATH, "stock_adjustments", start, end)

    def iter_stock_adjustment_items_updated_between(
        self, start: datetime, end: datetime
    ) -> Iterator[list[Record]]:
        """Pages of stock adjustment items with start <= updated_at < end, ascending ids."""
        return self._iter_updated_between(
            STOCK_ADJUSTMENT_ITEMS_PATH, "stock_adjustment_items", start, end
        )

    def _iter_updated_between(
        self, path: str, envelope: str, start: datetime, end: datetime
    ) -> Iterator[list[Record]]:
        require_aware(start, "start")
        require_aware(end, "end")
        if end <= start:
            return
        updated_since = to_query_timestamp(start)

        def fetch(cursor: KeysetCursor) -> list[Record]:
            def parse(payload: Any) -> list[Record]:
                return parse_keyset_page(
                    payload,
                    envelope=envelope,
                    endpoint=path,
                    since_id=cursor.since_id,
                    timestamp_field="updated_at",
                )

            params = {"updated_since": updated_since, **cursor.params()}
            return self._http.get(path, params, parse=parse, list_endpoint=True)

        tally = yield from records_in_window(
            iter_keyset_pages(fetch, KeysetCursor(0, self.page_size)),
            what=f"Stocky {envelope}",
            timestamp_field="updated_at",
            start=start,
            end=end,
            ids_follow_timestamp=False,
        )
        if tally.before_start:
            log.warning(
                "Stocky %s: %d records updated before %s despite updated_since (dropped)",
                envelope,
                tally.before_start,
                updated_since,
            )

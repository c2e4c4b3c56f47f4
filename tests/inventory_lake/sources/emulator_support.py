"""Clients pointed at the test emulator, and the emulator's truth to compare them with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from include.inventory_lake.http.client import decode_json
from include.inventory_lake.http.retry import RetryPolicy
from include.inventory_lake.sources.haravan import HaravanClient
from include.inventory_lake.sources.stocky import StockyClient
from include.inventory_lake.sources.timestamps import parse_api_timestamp
from tests.servers import Emulator

FAST_RETRIES = RetryPolicy(
    max_attempts=6, backoff_base_s=0.01, backoff_cap_s=0.05, retry_after_jitter_s=0.01
)
# The session emulator's data: 14 days ending here.
DAY = datetime(2026, 1, 10, tzinfo=UTC)
NEXT_DAY = datetime(2026, 1, 11, tzinfo=UTC)


def haravan(emulator: Emulator, **options: Any) -> HaravanClient:
    options.setdefault("retry_policy", FAST_RETRIES)
    options.setdefault("token", emulator.haravan_token)
    return HaravanClient(emulator.url, **options)


def stocky(emulator: Emulator, **options: Any) -> StockyClient:
    options.setdefault("retry_policy", FAST_RETRIES)
    options.setdefault("api_key", emulator.stocky_key)
    return StockyClient(emulator.url, emulator.stocky_store, **options)


def truth(emulator: Emulator, what: str) -> list[dict[str, Any]]:
    """The emulator's records (haravan/adjustments, stocky/stock_adjustment_items, ...)."""
    response = requests.get(f"{emulator.url}/_admin/truth/{what}", timeout=60)
    response.raise_for_status()
    records: list[dict[str, Any]] = decode_json(response.content)
    return records


def in_window(
    records: list[dict[str, Any]], field: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    return [r for r in records if start <= parse_api_timestamp(r[field]) < end]


def flatten(pages: Any) -> list[dict[str, Any]]:
    return [record for page in pages for record in page]


def journal_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [entry for entry in emulator.journal()["requests"] if entry["api"] is not None]


def clear_journal(emulator: Emulator) -> None:
    emulator.admin_post("journal/reset")

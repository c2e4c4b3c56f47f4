"""Retry-After against the emulator over real HTTP: parsed as seconds or an HTTP date, bad
values ignored, and a wait above the cap refused at once instead of slept."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from include.inventory_lake.http.client import JsonApiClient
from include.inventory_lake.http.errors import ApiPermanentError, RetryAfterTooLongError
from include.inventory_lake.http.retry import RetryPolicy
from tests.inventory_lake.http.fakes import FakeClock
from tests.inventory_lake.sources.emulator_support import clear_journal, journal_requests
from tests.servers import Emulator

COUNT = "/com/inventories/adjustments/count.json"
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
BACKOFF_CAP_S = 0.05

pytestmark = pytest.mark.usefixtures("fresh_emulator")


def client_for(emulator: Emulator, clock: FakeClock, **policy: Any) -> JsonApiClient:
    return JsonApiClient(
        emulator.url,
        api_name="Haravan",
        connection_id="haravan_default",
        auth_headers={"Authorization": f"Bearer {emulator.haravan_token}"},
        retry_policy=RetryPolicy(
            backoff_base_s=0.01, backoff_cap_s=BACKOFF_CAP_S, retry_after_jitter_s=0, **policy
        ),
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(5),
        wall_clock=lambda: NOW,
    )


def identity(payload: Any) -> Any:
    return payload


def statuses(emulator: Emulator) -> list[int]:
    return [entry["status"] for entry in journal_requests(emulator)]


def script(emulator: Emulator, status: int, retry_after: str) -> None:
    clear_journal(emulator)
    emulator.set_faults(
        script=[{"kind": "status", "status": status, "retry_after": retry_after, "path": "count"}]
    )


@pytest.mark.parametrize("status", [429, 503])
def test_a_day_long_retry_after_fails_at_once_without_sleeping(
    fresh_emulator: Emulator, status: int
) -> None:
    script(fresh_emulator, status, "86400")
    clock = FakeClock()
    with (
        client_for(fresh_emulator, clock) as client,
        pytest.raises(RetryAfterTooLongError) as raised,
    ):
        client.get(COUNT, parse=identity)
    message = str(raised.value)
    assert "asked to wait 86400 s" in message and "cap of 120 s" in message
    assert isinstance(raised.value, ApiPermanentError)
    assert clock.sleeps == []
    assert statuses(fresh_emulator) == [status]  # one request: not retried


def test_a_retry_after_date_beyond_the_cap_fails_at_once(fresh_emulator: Emulator) -> None:
    script(fresh_emulator, 429, format_datetime(NOW + timedelta(hours=3), usegmt=True))
    clock = FakeClock()
    with client_for(fresh_emulator, clock) as client, pytest.raises(RetryAfterTooLongError) as e:
        client.get(COUNT, parse=identity)
    assert "asked to wait 10800 s" in str(e.value)
    assert clock.sleeps == []
    assert statuses(fresh_emulator) == [429]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-1", "1e400", "soon", ""])
def test_an_unusable_retry_after_falls_back_to_the_normal_backoff(
    fresh_emulator: Emulator, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    script(fresh_emulator, 429, value)
    clock = FakeClock()
    with client_for(fresh_emulator, clock) as client:
        assert "count" in client.get(COUNT, parse=identity)  # no OverflowError
        stats = client.stats
    assert statuses(fresh_emulator) == [429, 200]
    assert stats.retry_after_wait_s == 0
    assert 0 < stats.backoff_wait_s <= BACKOFF_CAP_S
    # The 429's "80/80" bucket header makes the pacer wait too; nothing else was slept.
    assert sum(clock.sleeps) == pytest.approx(stats.backoff_wait_s + stats.pacing_wait_s)
    assert f"ignoring Retry-After {value!r}" in caplog.text


def test_an_http_date_two_seconds_ahead_waits_two_seconds(fresh_emulator: Emulator) -> None:
    script(fresh_emulator, 429, format_datetime(NOW + timedelta(seconds=2), usegmt=True))
    clock = FakeClock()
    with client_for(fresh_emulator, clock) as client:
        assert "count" in client.get(COUNT, parse=identity)
        assert client.stats.summary()["retry_after_wait_s"] == 2.0
    assert clock.sleeps == [2.0]
    assert statuses(fresh_emulator) == [429, 200]


def test_an_http_date_in_the_past_retries_at_once(fresh_emulator: Emulator) -> None:
    script(fresh_emulator, 503, "Sun, 06 Nov 1994 08:49:37 GMT")
    clock = FakeClock()
    with client_for(fresh_emulator, clock) as client:
        assert "count" in client.get(COUNT, parse=identity)
    assert clock.sleeps == [0.0]
    assert statuses(fresh_emulator) == [503, 200]


@pytest.mark.parametrize(("status", "value"), [(429, "120"), (429, "2.0"), (503, "30")])
def test_a_retry_after_within_the_cap_is_waited_and_retried(
    fresh_emulator: Emulator, status: int, value: str
) -> None:
    script(fresh_emulator, status, value)
    clock = FakeClock()
    with client_for(fresh_emulator, clock) as client:
        assert "count" in client.get(COUNT, parse=identity)
    assert clock.sleeps == [float(value)]
    assert statuses(fresh_emulator) == [status, 200]


def test_the_cap_is_configurable(fresh_emulator: Emulator) -> None:
    script(fresh_emulator, 429, "30")
    clock = FakeClock()
    with (
        client_for(fresh_emulator, clock, max_retry_after_s=10) as client,
        pytest.raises(RetryAfterTooLongError, match=r"asked to wait 30 s.*cap of 10 s"),
    ):
        client.get(COUNT, parse=identity)
    assert clock.sleeps == []

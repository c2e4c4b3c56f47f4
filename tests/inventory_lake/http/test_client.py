from __future__ import annotations

import logging
import random
from decimal import Decimal
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from include.inventory_lake.http.client import JsonApiClient, decode_json
from include.inventory_lake.http.errors import (
    AmbiguousWriteError,
    ApiAuthError,
    ApiNotFoundError,
    ApiRetiredError,
    ApiValidationError,
)
from include.inventory_lake.http.retry import RetryPolicy
from tests.inventory_lake.http.fakes import FakeClock

Scripted = tuple[int, dict[str, str], bytes] | type[Exception]
TOKEN = "secret-token-123"


class ScriptedAdapter(BaseAdapter):
    """Answers each request with the next scripted response or exception."""

    def __init__(self, script: list[Scripted]) -> None:
        super().__init__()
        self.script = list(script)
        self.requests: list[tuple[requests.PreparedRequest, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append((request, kwargs.get("timeout")))
        step = self.script.pop(0)
        if isinstance(step, type):
            raise step("scripted failure")
        status, headers, body = step
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response._content = body
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def make_client(script: list[Scripted]) -> tuple[JsonApiClient, ScriptedAdapter]:
    adapter = ScriptedAdapter(script)
    session = requests.Session()
    session.mount("http://", adapter)
    clock = FakeClock()
    client = JsonApiClient(
        "http://api.test/",
        api_name="Haravan",
        connection_id="haravan_default",
        auth_headers={"Authorization": f"Bearer {TOKEN}"},
        retry_policy=RetryPolicy(backoff_base_s=0.01, backoff_cap_s=0.02),
        session=session,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(3),
    )
    return client, adapter


def ok(body: bytes, **headers: str) -> Scripted:
    return (200, headers, body)


def identity(payload: Any) -> Any:
    return payload


def test_money_stays_exact() -> None:
    assert decode_json(b'{"total_cost": 150000000000.00}') == {
        "total_cost": Decimal("150000000000.00")
    }


def test_sends_identity_auth_and_timeouts_and_never_logs_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client, adapter = make_client([ok(b'{"count": 3}', **{"X-Haravan-Api-Call-Limit": "1/80"})])
    assert client.get("/count.json", {"a": 1}, parse=identity) == {"count": 3}
    request, timeout = adapter.requests[0]
    assert request.headers["User-Agent"].startswith("inventory-lake/")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert timeout == (10.0, 60.0)
    assert TOKEN not in caplog.text
    assert "/count.json" in caplog.text


@pytest.mark.parametrize(
    "failure",
    [
        ok(b'{"adjustments": [{"id": 1'),
        ok(b"<html>502 Bad Gateway</html>"),
        (502, {}, b"<html>bad gateway</html>"),
        requests.exceptions.ChunkedEncodingError,
        requests.ConnectionError,
        requests.ReadTimeout,
    ],
)
def test_get_retries_transient_failures(failure: Scripted) -> None:
    client, adapter = make_client([failure, failure, ok(b'{"count": 1}')])
    assert client.get("/count.json", parse=identity) == {"count": 1}
    assert len(adapter.requests) == 3
    assert sum(client.stats.retries_by_reason.values()) == 2


@pytest.mark.parametrize(
    "failure",
    [
        (502, {}, b"bad gateway"),
        (500, {}, b"{}"),
        requests.ReadTimeout,
        requests.ConnectionError,
        ok(b'{"inventory": {"id'),
    ],
)
def test_post_is_never_resent_after_an_ambiguous_failure(failure: Scripted) -> None:
    client, adapter = make_client([failure, ok(b"{}")])
    with pytest.raises(AmbiguousWriteError, match=r"POST /adjustorset\.json may or may not"):
        client.post("/adjustorset.json", {"inventory": {}}, parse=identity)
    assert len(adapter.requests) == 1


def test_post_is_resent_after_429() -> None:
    client, adapter = make_client([(429, {"Retry-After": "0.5"}, b"{}"), ok(b'{"id": 9}')])
    assert client.post("/adjustorset.json", {"inventory": {}}, parse=identity) == {"id": 9}
    assert len(adapter.requests) == 2
    assert client.stats.throttled_responses == 1


def test_refused_credentials_fail_at_once_naming_the_connection() -> None:
    client, adapter = make_client([(401, {}, b"{}")] * 3)
    with pytest.raises(ApiAuthError, match="credentials of connection 'haravan_default'"):
        client.get("/x.json", parse=identity)
    assert len(adapter.requests) == 1


def test_not_found_on_a_list_endpoint_means_retired() -> None:
    client, _ = make_client([(404, {}, b"{}"), (404, {}, b"{}"), (410, {}, b"")])
    with pytest.raises(ApiRetiredError, match="may be retired"):
        client.get("/list.json", parse=identity, list_endpoint=True)
    with pytest.raises(ApiNotFoundError) as raised:
        client.get("/one/5.json", parse=identity)
    assert not isinstance(raised.value, ApiRetiredError)
    with pytest.raises(ApiRetiredError):
        client.get("/one/5.json", parse=identity)


def test_validation_errors_carry_the_body_errors() -> None:
    body = b'{"errors": {"base": ["location_id is required"]}}'
    client, adapter = make_client([(422, {}, body)])
    with pytest.raises(ApiValidationError) as raised:
        client.post("/adjustorset.json", {"inventory": {}}, parse=identity)
    assert raised.value.errors == {"base": ["location_id is required"]}
    assert len(adapter.requests) == 1

"""Secrets read from Airflow connections: a pasted trailing line break is stripped, anything a
header cannot carry is a configuration error that names the connection and field, never the
secret; and no requests error that quotes a header reaches a message or a log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from include.inventory_lake.hooks import haravan_client, stocky_client
from include.inventory_lake.http.client import JsonApiClient
from include.inventory_lake.http.errors import (
    ApiPermanentError,
    ConnectionConfigError,
    RequestNotSentError,
    RetryAfterTooLongError,
)
from include.inventory_lake.http.retry import RetryPolicy
from tests.inventory_lake.sources.emulator_support import (
    DAY,
    NEXT_DAY,
    clear_journal,
    journal_requests,
)
from tests.servers import Emulator

COUNT = "/com/inventories/adjustments/count.json"
SECRET = "s3cr3t-T0KEN-never-printed"


@pytest.fixture()
def connection(monkeypatch: pytest.MonkeyPatch, fresh_emulator: Emulator) -> Iterator[Any]:
    """Sets AIRFLOW_CONN_<ID> for a connection to the emulator; yields the setter."""

    def set_connection(conn_id: str, **fields: Any) -> None:
        body = {"conn_type": "http", "host": fresh_emulator.url, **fields}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(body))

    yield set_connection


def assert_nowhere(
    secret: str, texts: list[str], caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    captured = capsys.readouterr()
    for place, text in {
        "messages": "\n".join(texts),
        "logs": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
    }.items():
        assert secret not in text, f"the secret is in the {place}"
        assert secret.strip() not in text, f"the secret is in the {place}"


@pytest.mark.parametrize("pasted", ["\n", "\r\n", " \t\n", "\n\n"])
def test_a_haravan_token_pasted_with_a_trailing_line_break_works(
    connection: Any, fresh_emulator: Emulator, pasted: str
) -> None:
    connection("haravan_pasted", password=fresh_emulator.haravan_token + pasted)
    clear_journal(fresh_emulator)
    with haravan_client("haravan_pasted") as client:
        assert client.count() >= 0
    assert [entry["status"] for entry in journal_requests(fresh_emulator)] == [200]


def test_a_stocky_key_and_store_pasted_with_surrounding_whitespace_work(
    connection: Any, fresh_emulator: Emulator
) -> None:
    connection(
        "stocky_pasted",
        login=f" {fresh_emulator.stocky_store}\n",
        password=f"{fresh_emulator.stocky_key}\r\n",
    )
    clear_journal(fresh_emulator)
    with stocky_client("stocky_pasted") as client:
        pages = client.iter_stock_adjustments_updated_between(DAY, NEXT_DAY)
        next(iter(pages), None)
    assert {entry["status"] for entry in journal_requests(fresh_emulator)} == {200}


def test_user_info_in_the_host_is_dropped_with_a_warning_and_the_token_still_works(
    monkeypatch: pytest.MonkeyPatch,
    fresh_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    capsys: Any,
) -> None:
    """Requests would turn `user:secret@` into a Basic authorization replacing the bearer
    token, and the URL would reach lineage and error messages."""
    host = fresh_emulator.url.replace("://", f"://inventory:{SECRET}@", 1)
    body = {"conn_type": "haravan", "host": host, "password": fresh_emulator.haravan_token}
    monkeypatch.setenv("AIRFLOW_CONN_HARAVAN_USERINFO", json.dumps(body))
    clear_journal(fresh_emulator)
    with caplog.at_level(logging.WARNING), haravan_client("haravan_userinfo") as client:
        assert client.count() >= 0
    assert [entry["status"] for entry in journal_requests(fresh_emulator)] == [200]
    assert "connection 'haravan_userinfo': the user info in its host is ignored" in caplog.text
    assert_nowhere(SECRET, [], caplog, capsys)


@pytest.mark.parametrize(
    ("inner", "what"),
    [
        ("\n", "a line break"),
        ("\r", "a line break"),
        ("\x00", "a control character"),
        ("\x7f", "a control character"),
        ("\u2028", "a line break"),
        ("é", "a non-ASCII character"),
    ],
)
def test_an_inner_bad_character_is_a_configuration_error_that_hides_the_token(
    connection: Any,
    fresh_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    inner: str,
    what: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = SECRET[:8] + inner + SECRET[8:] + "\n"
    connection("haravan_broken", password=secret)
    clear_journal(fresh_emulator)
    with pytest.raises(ConnectionConfigError) as raised:
        haravan_client("haravan_broken")
    message = str(raised.value)
    assert "connection 'haravan_broken'" in message
    assert "password (the Haravan access token)" in message
    assert what in message
    assert isinstance(raised.value, ApiPermanentError) and isinstance(raised.value, ValueError)
    assert journal_requests(fresh_emulator) == []  # nothing was sent
    for part in (SECRET[:8], SECRET[8:]):
        assert_nowhere(part, [message, repr(raised.value)], caplog, capsys)


def test_an_inner_line_break_in_the_stocky_key_names_its_field(connection: Any) -> None:
    connection("stocky_broken", login="shop.myshopify.com", password="abc\ndef-key")
    with pytest.raises(ConnectionConfigError, match=r"'stocky_broken': password \(the Stocky"):
        stocky_client("stocky_broken")


def test_an_empty_token_is_a_configuration_error(connection: Any) -> None:
    connection("haravan_empty", password=" \n")
    with pytest.raises(ConnectionConfigError, match=r"'haravan_empty': password .* is empty"):
        haravan_client("haravan_empty")


@pytest.mark.parametrize("value", ["-1", "inf", '"120"', "true"])
def test_a_bad_retry_after_cap_in_the_extra_is_a_configuration_error(
    connection: Any, fresh_emulator: Emulator, value: str
) -> None:
    extra = json.loads(f'{{"max_retry_after_s": {value}}}'.replace("inf", "1e400"))
    connection("haravan_cap", password=fresh_emulator.haravan_token, extra=extra)
    with pytest.raises(ConnectionConfigError, match="'haravan_cap': extra max_retry_after_s"):
        haravan_client("haravan_cap")


def test_the_retry_after_cap_comes_from_the_extra(
    connection: Any, fresh_emulator: Emulator
) -> None:
    connection("haravan_cap", password=fresh_emulator.haravan_token, extra={"max_retry_after_s": 5})
    fresh_emulator.set_faults(script=[{"kind": "status", "status": 429, "retry_after": "6"}])
    with (
        haravan_client("haravan_cap") as client,
        pytest.raises(RetryAfterTooLongError, match=r"asked to wait 6 s.*cap of 5 s"),
    ):
        client.count()


def test_a_header_requests_refuses_never_reaches_a_message_or_log(
    fresh_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A header slipped past the checks (here on the session itself): requests raises
    InvalidHeader quoting it; the client keeps the type and the URL only."""
    caplog.set_level(logging.DEBUG)
    session = requests.Session()
    session.headers["X-Debug"] = f"Bearer {SECRET}\n"
    clear_journal(fresh_emulator)
    client = JsonApiClient(
        fresh_emulator.url + "/",
        api_name="Haravan",
        connection_id="haravan_default",
        auth_headers={"Authorization": f"Bearer {fresh_emulator.haravan_token}"},
        retry_policy=RetryPolicy(backoff_base_s=0, backoff_cap_s=0),
        session=session,
    )
    with client, pytest.raises(RequestNotSentError) as raised:
        client.get(COUNT, {"since_id": 7}, parse=lambda payload: payload)
    error = raised.value
    message = str(error)
    assert "InvalidHeader" in message and "haravan_default" in message
    assert f"GET {fresh_emulator.url}{COUNT} " in message  # the URL, without its query
    assert error.__cause__ is None and error.__suppress_context__
    assert journal_requests(fresh_emulator) == []
    logging.getLogger("test").exception("the task failed", exc_info=error)  # as a task logs it
    assert_nowhere(SECRET, [message, repr(error)], caplog, capsys)


def test_an_auth_header_that_cannot_be_sent_is_refused_before_any_request() -> None:
    with pytest.raises(ConnectionConfigError) as raised:
        JsonApiClient(
            "http://api.test",
            api_name="Haravan",
            connection_id="haravan_default",
            auth_headers={"Authorization": f"Bearer {SECRET}\n"},
        )
    assert "'haravan_default': header Authorization contains a line break (U+000A LINE FEED)" in (
        str(raised.value)
    )
    assert SECRET not in str(raised.value)

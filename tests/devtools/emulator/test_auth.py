"""Credentials on both APIs."""

from __future__ import annotations

import pytest
import requests

from tests.devtools.emulator.helpers import (
    ADJUSTMENTS,
    STOCKY_ADJUSTMENTS,
    STOCKY_KEY,
    STOCKY_STORE,
    TIMEOUT,
    EmulatorClient,
)

HARAVAN_401 = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "demo-haravan-token"}],
    ids=["missing", "wrong-token", "no-bearer"],
)
def test_haravan_rejects_bad_tokens(emu: EmulatorClient, headers: dict[str, str]) -> None:
    response = requests.get(emu.url + ADJUSTMENTS, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == HARAVAN_401


def test_haravan_accepts_the_configured_token(emu: EmulatorClient) -> None:
    assert emu.haravan(ADJUSTMENTS).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"API KEY={STOCKY_KEY}"},
        {"Store-Name": STOCKY_STORE},
        {"Store-Name": "other.myshopify.com", "Authorization": f"API KEY={STOCKY_KEY}"},
        {"Store-Name": STOCKY_STORE, "Authorization": "API KEY=wrong"},
        {"Store-Name": STOCKY_STORE, "Authorization": f"Bearer {STOCKY_KEY}"},
    ],
)
def test_stocky_rejects_bad_credentials(emu: EmulatorClient, headers: dict[str, str]) -> None:
    response = requests.get(emu.url + STOCKY_ADJUSTMENTS, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_stocky_accepts_the_configured_credentials(emu: EmulatorClient) -> None:
    response = emu.stocky(STOCKY_ADJUSTMENTS)
    assert response.status_code == 200
    assert len(response.json()["stock_adjustments"]) == 50

"""When the lake cannot be read, the page says so with a 503 and names only the error's type:
the endpoint and keys of the connection stay in the API server's log."""

from __future__ import annotations

import json

import pytest


def test_an_unreachable_lake_gives_a_503_page_without_connection_details(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from include.inventory_lake.ui.app import render_lake_page

    endpoint, secret = "http://127.0.0.1:9", "secret-key-that-must-not-show"
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "access-key-that-must-not-show",
                "password": secret,
                "extra": {
                    "endpoint_url": endpoint,
                    "region_name": "us-east-1",
                    "config_kwargs": {"retries": {"max_attempts": 1}},
                },
            }
        ),
    )
    monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_LAKE_URI", "s3://inventory-lake")

    html, status = render_lake_page(None, 3)

    assert status == 503
    assert "The lake could not be read (<code>EndpointConnectionError</code>)" in html
    for detail in (endpoint, "127.0.0.1", secret, "access-key-that-must-not-show"):
        assert detail not in html

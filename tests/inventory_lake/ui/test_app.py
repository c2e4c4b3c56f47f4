"""When the lake cannot be read, the page says so with a 503 and names only the error's type:
the endpoint and keys of the connection stay in the API server's log. When it can, the page
shows the shops of the `inventory_lake_shops` Variable and those only the lake has."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.settings import HARAVAN_ADJUSTMENTS_PATH
from tests.inventory_lake.ui.lake_content import write_partition
from tests.servers import S3Server

DAY = date(2026, 1, 10)


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


def test_the_page_shows_the_shops_of_the_variable_and_those_only_the_lake_has(
    monkeypatch: pytest.MonkeyPatch, s3_server: S3Server, root: LakeRoot
) -> None:
    from include.inventory_lake.ui.app import render_lake_page

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": s3_server.access_key,
                "password": s3_server.secret_key,
                "extra": {"endpoint_url": s3_server.url, "region_name": s3_server.region},
            }
        ),
    )
    monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_LAKE_URI", root.uri())
    monkeypatch.setenv(
        "AIRFLOW_VAR_INVENTORY_LAKE_SHOPS",
        json.dumps(
            [
                {"id": "hanoi", "haravan_conn_id": "haravan_hanoi"},
                {"id": "saigon", "haravan_conn_id": "haravan_saigon"},
            ]
        ),
    )
    s3 = s3_server.client()
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 4, "run-hanoi", "hanoi")
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 2, "run-old", "default")

    html, status = render_lake_page(DAY, 1, "saigon")

    assert status == 200
    sections = re.findall(r'<section class="shop" id="shop-([^"]+)"', html)
    assert sections == ["hanoi", "saigon", "default"]
    assert 'class="badge not-configured">not configured' in html
    assert "Adjustment lines per source and location · shop <code>saigon</code>" in html

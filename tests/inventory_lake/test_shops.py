"""The shops configuration: the `inventory_lake_shops` Variable's text, read as a deployment
would write it, and the shops a run selects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from include.inventory_lake.shop_stores import refuse_shops_sharing_a_store
from include.inventory_lake.shops import (
    DEFAULT_SHOP,
    Shop,
    ShopConfigError,
    parse_shops,
    select_shops,
)

TWO = json.dumps(
    [
        {"id": "hanoi", "haravan_conn_id": "haravan_hanoi", "stocky_conn_id": "stocky_hanoi"},
        {"id": "saigon", "haravan_conn_id": " haravan_saigon "},
    ]
)


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_without_the_variable_there_is_one_default_shop_on_the_default_connections(
    text: str | None,
) -> None:
    assert parse_shops(text) == [Shop("default", "haravan_default", "stocky_default")]
    assert parse_shops(text) == [DEFAULT_SHOP]


def test_each_entry_becomes_a_shop_in_order_with_its_connections() -> None:
    assert parse_shops(TWO) == [
        Shop("hanoi", "haravan_hanoi", "stocky_hanoi"),
        Shop("saigon", "haravan_saigon", None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{'id': 'x'}]", "is not JSON"),
        ('{"id": "x"}', "non-empty JSON list of shops, got dict"),
        ("[]", "non-empty JSON list"),
        ('["hanoi"]', "entry 1: expected an object"),
        ('[{"id": "Ha Noi", "haravan_conn_id": "h"}]', "shop id 'Ha Noi' must be"),
        ('[{"id": "../x", "haravan_conn_id": "h"}]', "shop id '../x' must be"),
        ('[{"id": "a|b", "haravan_conn_id": "h"}]', "shop id 'a|b' must be"),
        ('[{"id": "hanoi"}]', "entry 1 (id 'hanoi'): haravan_conn_id must be a connection id"),
        (
            '[{"id": "a", "haravan_conn_id": "h"}, {"id": "b", "haravan_conn_id": "g", "x": 1}]',
            "entry 2 (id 'b'): unknown field(s) ['x']",
        ),
        ('[{"id": "hanoi", "haravan_conn_id": "h", "stocky_conn_id": " "}]', "stocky_conn_id"),
        ('[{"id": "hanoi", "haravan_conn_id": "h", "token": "t"}]', "unknown field(s) ['token']"),
        (
            '[{"id": "a", "haravan_conn_id": "h"}, {"id": "a", "haravan_conn_id": "g"}]',
            "entry 2 (id 'a'): shop id 'a' appears twice (also entry 1)",
        ),
    ],
)
def test_a_configuration_that_cannot_be_used_is_refused_saying_where(
    text: str, message: str
) -> None:
    with pytest.raises(ShopConfigError) as error:
        parse_shops(text)
    assert message in str(error.value)
    assert "inventory_lake_shops" in str(error.value)


def test_a_run_covers_the_shops_it_names_or_all_and_never_an_unknown_one() -> None:
    shops = parse_shops(TWO)
    assert select_shops(shops, None) == shops
    assert select_shops(shops, []) == shops
    assert select_shops(shops, ["saigon", "saigon"]) == [shops[1]]
    with pytest.raises(ShopConfigError, match=r"\['danang'\] are not configured"):
        select_shops(shops, ["hanoi", "danang"])


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [
                {"id": "hanoi", "haravan_conn_id": "haravan_hanoi"},
                {"id": "saigon", "haravan_conn_id": "haravan_saigon"},
                {"id": "danang", "haravan_conn_id": " haravan_hanoi"},
            ],
            "entry 3 (id 'danang'): haravan_conn_id 'haravan_hanoi' is also the connection of "
            "entry 1 (id 'hanoi'): both shops would read and write the same Haravan store",
        ),
        (
            [
                {"id": "hanoi", "haravan_conn_id": "h1", "stocky_conn_id": "stocky_hanoi"},
                {"id": "saigon", "haravan_conn_id": "h2", "stocky_conn_id": "stocky_hanoi"},
            ],
            "entry 2 (id 'saigon'): stocky_conn_id 'stocky_hanoi' is also the connection of "
            "entry 1 (id 'hanoi')",
        ),
    ],
)
def test_two_shops_on_one_connection_are_refused_naming_both_entries(
    entries: list[dict[str, str]], message: str
) -> None:
    """Both would extract the same store: its facts twice, under two `shop=` folders."""
    with pytest.raises(ShopConfigError) as error:
        parse_shops(json.dumps(entries))
    assert message in str(error.value)


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_two_connections_to_one_store_are_refused_and_none_of_its_secrets_is_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same store through two connections: the same base URL (written another way) and
    token for Haravan, the same base URL and store name for Stocky. Read from the connections
    where a task resolves the shops."""
    haravan = {"conn_type": "haravan", "password": "shared-token-5e1d"}
    set_connection(monkeypatch, "h_hanoi", host="https://api.example.com/", **haravan)
    set_connection(monkeypatch, "h_copy", host="API.example.com", **haravan)
    set_connection(monkeypatch, "h_other", host="api.example.com", password="other-token")
    stocky = {"conn_type": "stocky", "host": "https://stocky.example.com", "password": "k-1"}
    set_connection(monkeypatch, "s_hanoi", login="hanoi.myshopify.com", **stocky)
    set_connection(monkeypatch, "s_saigon", login="saigon.myshopify.com", **stocky)
    set_connection(monkeypatch, "s_copy", login=" hanoi.myshopify.com", **stocky)
    distinct = [
        {"id": "hanoi", "haravan_conn_id": "h_hanoi", "stocky_conn_id": "s_hanoi"},
        {"id": "saigon", "haravan_conn_id": "h_other", "stocky_conn_id": "s_saigon"},
        # A connection that cannot be read is left to the shop's own task to report.
        {"id": "danang", "haravan_conn_id": "h_not_created", "stocky_conn_id": "s_not_created"},
    ]
    refuse_shops_sharing_a_store(parse_shops(json.dumps(distinct)))

    copies = [
        ({"haravan_conn_id": "h_copy"}, "haravan_conn_id 'h_copy' reaches the same Haravan", "h"),
        (
            {"haravan_conn_id": "h_x", "stocky_conn_id": "s_copy"},
            "stocky_conn_id 's_copy' reaches the same Stocky",
            "s",
        ),
    ]
    for fields, said, api in copies:
        shops = parse_shops(json.dumps([*distinct, {"id": "hue", **fields}]))
        with pytest.raises(ShopConfigError) as error:
            refuse_shops_sharing_a_store(shops)
        message = str(error.value)
        assert (
            f"entry 4 (id 'hue'): {said} store (same host and credentials) as '{api}_hanoi', "
            "the connection of entry 1 (id 'hanoi'): both shops"
        ) in message
        assert "shared-token" not in message and "k-1" not in message


def test_an_extract_refuses_to_start_on_two_shops_sharing_a_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The extracts' `shops` task fails at once (not retried), whichever shops the run asks
    for: nothing is extracted twice."""
    from airflow.sdk.exceptions import AirflowFailException

    from include.inventory_lake.extract.tasks import shops_to_extract

    for conn_id in ("h_hanoi", "h_copy"):
        set_connection(
            monkeypatch, conn_id, conn_type="haravan", host="api.example.com", password="t"
        )
    shops = [
        {"id": "hanoi", "haravan_conn_id": "h_hanoi"},
        {"id": "saigon", "haravan_conn_id": "h_copy"},
    ]
    monkeypatch.setenv("AIRFLOW_VAR_INVENTORY_LAKE_SHOPS", json.dumps(shops))

    with pytest.raises(AirflowFailException, match=r"entry 2 \(id 'saigon'\): haravan_conn_id"):
        shops_to_extract({"params": {"shops": ["hanoi"]}}, stocky=False)

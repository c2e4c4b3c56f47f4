"""The shops configuration: the `inventory_lake_shops` Variable's text, read as a deployment
would write it, and the shops a run selects."""

from __future__ import annotations

import json

import pytest

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
        ('["hanoi"]', "entry 0: expected an object"),
        ('[{"id": "Ha Noi", "haravan_conn_id": "h"}]', "shop id 'Ha Noi' must be"),
        ('[{"id": "../x", "haravan_conn_id": "h"}]', "shop id '../x' must be"),
        ('[{"id": "a|b", "haravan_conn_id": "h"}]', "shop id 'a|b' must be"),
        ('[{"id": "hanoi"}]', "haravan_conn_id must be a connection id"),
        ('[{"id": "hanoi", "haravan_conn_id": "h", "stocky_conn_id": " "}]', "stocky_conn_id"),
        ('[{"id": "hanoi", "haravan_conn_id": "h", "token": "t"}]', "unknown field(s) ['token']"),
        (
            '[{"id": "a", "haravan_conn_id": "h"}, {"id": "a", "haravan_conn_id": "g"}]',
            "entry 1: shop id 'a' appears twice",
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

"""The configured shops checked against their connections: two shops must not reach one store
(the same host and token for Haravan, the same store name for Stocky), or its data would land
twice in the lake and a set-adjustment file would be sent to it twice. Looks connections up:
call inside tasks only. (The Variable's own rules, which need no lookup, are in `shops.py`.)"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import partial

from include.inventory_lake.hooks import HaravanHook, StockyHook
from include.inventory_lake.shops import SHOP_APIS, Shop, refuse_shared_stores


def refuse_shops_sharing_a_store(shops: Sequence[Shop]) -> None:
    """`shops` (the whole configuration, in its order), checked against their connections: no
    two connections with the same host and token (Haravan) or store name (Stocky). Looks the
    connections up: call inside tasks only. A connection that cannot be read is left out here:
    the shop's own task instance fails on it, alone."""
    hooks: dict[str, type[HaravanHook | StockyHook]] = {
        "Haravan": HaravanHook,
        "Stocky": StockyHook,
    }
    for api, field in SHOP_APIS:
        refuse_shared_stores(shops, api, field, partial(_store_or_none, hooks[api]))


def _store_or_none(hook: type[HaravanHook | StockyHook], conn_id: str) -> Hashable | None:
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return hook(conn_id).store()
    except (AirflowNotFoundException, ValueError):  # ValueError: ConnectionConfigError too
        return None

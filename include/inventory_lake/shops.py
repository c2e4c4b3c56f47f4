"""The shops one deployment serves: configuration only, in one place.

A shop is an entry of the Airflow Variable `inventory_lake_shops` (a JSON list), plus the
Airflow connections it names:

    [
      {"id": "hanoi", "haravan_conn_id": "haravan_hanoi", "stocky_conn_id": "stocky_hanoi"},
      {"id": "saigon", "haravan_conn_id": "haravan_saigon"}
    ]

- `id`: the shop's name in the lake (`…/shop=<id>/dt=…/`), in the facts' `shop` column and in
  partition keys; lowercase letters, digits, `-` and `_`, at most 40 characters. Never rename a
  shop that has data: its partitions stay under the old id.
- `haravan_conn_id`: its Haravan connection (each connection has its own rate-limit bucket).
- `stocky_conn_id` (optional): its Stocky connection; a shop without one has no Stocky data
  and its facts hold Haravan lines only.

Without the Variable the deployment has one shop, `default`, on `haravan_default` and
`stocky_default`: a single-shop deployment needs nothing new. The Variable is read inside
tasks only, so adding a shop takes effect at the next run, with no code change and no new DAG.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from include.inventory_lake.settings import HARAVAN_CONN_ID, SHOPS_VARIABLE, STOCKY_CONN_ID

DEFAULT_SHOP_ID = "default"
SHOP_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_FIELDS = {"id", "haravan_conn_id", "stocky_conn_id"}


class ShopConfigError(ValueError):
    """The shops configuration cannot be used; the message says which entry and why."""


@dataclass(frozen=True)
class Shop:
    id: str
    haravan_conn_id: str
    stocky_conn_id: str | None = None

    def as_xcom(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "haravan_conn_id": self.haravan_conn_id,
            "stocky_conn_id": self.stocky_conn_id,
        }

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> Shop:
        return cls(value["id"], value["haravan_conn_id"], value.get("stocky_conn_id"))


DEFAULT_SHOP = Shop(DEFAULT_SHOP_ID, HARAVAN_CONN_ID, STOCKY_CONN_ID)


def check_shop_id(value: object, where: str) -> str:
    if not isinstance(value, str) or not SHOP_ID_PATTERN.fullmatch(value):
        raise ShopConfigError(
            f"{where}: shop id {value!r} must be 1-40 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return value


def _conn_id(entry: dict[str, Any], field: str, where: str, *, required: bool) -> str | None:
    value = entry.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        need = "a connection id" if required else "a connection id or absent"
        raise ShopConfigError(f"{where}: {field} must be {need}, got {value!r}")
    return value.strip()


def parse_shops(text: str | None) -> list[Shop]:
    """The shops from the Variable's text; None or blank means the single default shop."""
    if text is None or not text.strip():
        return [DEFAULT_SHOP]
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise ShopConfigError(f"Variable {SHOPS_VARIABLE!r} is not JSON: {error}") from None
    if not isinstance(entries, list) or not entries:
        raise ShopConfigError(
            f"Variable {SHOPS_VARIABLE!r} must be a non-empty JSON list of shops, got "
            f"{type(entries).__name__}"
        )
    shops: list[Shop] = []
    for position, entry in enumerate(entries):
        where = f"Variable {SHOPS_VARIABLE!r}, {_entry(position, entry)}"
        if not isinstance(entry, dict):
            raise ShopConfigError(f"{where}: expected an object, got {entry!r}")
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            raise ShopConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(_FIELDS)}")
        shop = Shop(
            check_shop_id(entry.get("id"), where),
            _conn_id(entry, "haravan_conn_id", where, required=True) or "",
            _conn_id(entry, "stocky_conn_id", where, required=False),
        )
        for earlier, known in enumerate(shops):
            if known.id == shop.id:
                raise ShopConfigError(
                    f"{where}: shop id {shop.id!r} appears twice (also {_entry(earlier)})"
                )
        shops.append(shop)
    for api, field in SHOP_APIS:
        refuse_shared_stores(shops, api, field)
    return shops


def _entry(position: int, entry: object = None) -> str:
    """An entry of the Variable as a person counts them (1-based), with its id if it has one."""
    shop_id = entry.get("id") if isinstance(entry, dict) else getattr(entry, "id", None)
    named = f" (id {shop_id!r})" if isinstance(shop_id, str) and shop_id else ""
    return f"entry {position + 1}{named}"


# Each API a shop reads, with the field naming its connection.
SHOP_APIS = (("Haravan", "haravan_conn_id"), ("Stocky", "stocky_conn_id"))


def refuse_shared_stores(
    shops: Sequence[Shop],
    api: str,
    field: str,
    store_of: Callable[[str], Hashable | None] | None = None,
) -> None:
    """Two shops on one store of `api` would both extract it: its facts doubled under two
    `shop=` folders, a file for it sent twice. `store_of` names the store a connection reaches
    (None: unknown, not compared); without it, one connection id is one store."""
    seen: dict[Hashable, int] = {}
    for position, shop in enumerate(shops):
        conn_id: str | None = getattr(shop, field)
        if conn_id is None:
            continue
        store = conn_id if store_of is None else store_of(conn_id)
        if store is None:
            continue
        if store in seen:
            earlier = shops[seen[store]]
            other: str = getattr(earlier, field)
            of_earlier = f"the connection of {_entry(seen[store], earlier)}"
            same = (
                f"is also {of_earlier}"
                if other == conn_id
                else f"reaches the same {api} store (same host and credentials) as {other!r}, "
                f"{of_earlier}"
            )
            raise ShopConfigError(
                f"Variable {SHOPS_VARIABLE!r}, {_entry(position, shop)}: {field} {conn_id!r} "
                f"{same}: both shops would read and write the same {api} store, its data "
                "twice in the lake. Give each shop its own store's connection, or remove one "
                "of the entries"
            )
        seen[store] = position


def configured_shops() -> list[Shop]:
    """The deployment's shops (reads the Variable: call inside tasks only)."""
    from airflow.sdk import Variable

    return parse_shops(Variable.get(SHOPS_VARIABLE, default=None))


def select_shops(shops: Sequence[Shop], wanted: Iterable[str] | None) -> list[Shop]:
    """The shops a run was asked for (its `shops` param); none named means all of them. A name
    that is not configured is an error, not an empty run."""
    names = [name for name in (wanted or []) if name]
    if not names:
        return list(shops)
    known = {shop.id: shop for shop in shops}
    missing = sorted(set(names) - set(known))
    if missing:
        raise ShopConfigError(
            f"shop(s) {missing} are not configured; configured: {sorted(known)} "
            f"(Variable {SHOPS_VARIABLE!r})"
        )
    return [known[name] for name in dict.fromkeys(names)]


def by_id(shops: Sequence[Shop], shop_id: str) -> Shop | None:
    return next((shop for shop in shops if shop.id == shop_id), None)

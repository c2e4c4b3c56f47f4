"""Find the files waiting in `approved/`, and the shop each one is for.

A file's shop is given by its folder: `approved/shop=<id>/<name>` is for shop `<id>`. A file
directly in `approved/` is for the only shop when exactly one is configured (a single-shop
deployment puts its files there, as before shops); with several shops it is refused, and so is
a file in the folder of a shop that is not configured: such a file is staged with why it cannot
be sent (`misplaced`), and `prepare` rejects it with a report. Nothing in any other sub-folder
of `approved/` (nor deeper in a shop's folder) is ever looked at beyond a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from include.inventory_lake.lake.location import shop_folder, shop_of_folder
from include.inventory_lake.lake.store import StoredObject
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.settings import SHOPS_VARIABLE
from include.inventory_lake.shops import DEFAULT_SHOP, SHOP_ID_PATTERN, Shop, by_id

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedFile:
    """One approved file as listed, small enough to travel as an XCom: the shop it is for, or
    (`shop` None) why it cannot be sent where it is; `folder` is its sub-folder of approved/
    ("" or `shop=<id>`)."""

    key: str
    name: str
    etag: str
    size: int
    shop: Shop | None = DEFAULT_SHOP
    misplaced: str | None = None
    folder: str = ""

    def as_xcom(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "etag": self.etag,
            "size": self.size,
            "shop": None if self.shop is None else self.shop.as_xcom(),
            "misplaced": self.misplaced,
            "folder": self.folder,
        }

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> StagedFile:
        # A value listed before shops existed has no `shop`: the default shop's.
        shop = value.get("shop", DEFAULT_SHOP.as_xcom())
        return cls(
            key=str(value["key"]),
            name=str(value["name"]),
            etag=str(value["etag"]),
            size=int(value["size"]),
            shop=None if shop is None else Shop.from_xcom(shop),
            misplaced=value.get("misplaced"),
            folder=str(value.get("folder", "")),
        )


def _is_candidate(name: str) -> bool:
    # "" is a folder marker (the console's "create folder"); dotfiles are editor or sync debris.
    return bool(name) and not name.startswith(".")


def _configured(shops: Sequence[Shop]) -> str:
    return ", ".join(shop.id for shop in shops)


def misplaced_at_top(shops: Sequence[Shop]) -> str:
    return (
        f"{len(shops)} shops are configured, so a file directly in approved/ has no shop: put "
        f"it under approved/shop=<id>/ for the shop it is for (configured: {_configured(shops)})"
    )


def unknown_shop(shop_id: str, shops: Sequence[Shop]) -> str:
    if not SHOP_ID_PATTERN.fullmatch(shop_id):
        what = f"{shop_id!r} is not a valid shop id"
    else:
        what = f"shop {shop_id!r} is not configured"
    return (
        f"the file is in approved/{shop_folder(shop_id)}/ but {what} (Variable "
        f"{SHOPS_VARIABLE!r}; configured: {_configured(shops)}): move it under "
        "approved/shop=<id>/ for one of those"
    )


def shop_of_place(folder_shop: str | None, shops: Sequence[Shop]) -> tuple[Shop | None, str | None]:
    """The shop a file directly in approved/ (`folder_shop` None) or in approved/shop=<id>/
    is for, or (None, why) when it cannot be sent from there."""
    if folder_shop is None:
        return (shops[0], None) if len(shops) == 1 else (None, misplaced_at_top(shops))
    shop = by_id(shops, folder_shop)
    return (shop, None) if shop else (None, unknown_shop(folder_shop, shops))


def discover_approved(lake: PushLake, shops: Sequence[Shop] = (DEFAULT_SHOP,)) -> list[StagedFile]:
    """Every file directly in approved/ or in one of its `shop=<id>/` folders, oldest first
    (as ops placed them), each with its shop or why it has none."""
    prefix = lake.layout.approved_prefix
    top_objects, sub_folders = lake.list_folder(prefix)
    listed: list[tuple[StoredObject, str, Shop | None, str | None]] = []
    top_shop, top_problem = shop_of_place(None, shops)
    listed += [(obj, "", top_shop, top_problem) for obj in top_objects]
    for sub in sub_folders:
        folder = sub[len(prefix) :].rstrip("/")
        shop_id = shop_of_folder(folder)
        if shop_id is None:
            log.warning("ignoring %s: only files in approved/ or approved/shop=<id>/ are sent", sub)
            continue
        shop, problem = shop_of_place(shop_id, shops)
        objects, deeper = lake.list_folder(sub)
        listed += [(obj, folder, shop, problem) for obj in objects]
        for ignored in deeper:
            log.warning("ignoring %s: only files directly in %s are sent", ignored, sub)
    found: list[tuple[datetime, StagedFile]] = []
    for obj, folder, shop, problem in listed:
        name = obj.key.rsplit("/", 1)[-1]
        if not _is_candidate(name):
            continue
        staged = StagedFile(
            key=obj.key, name=name, etag=obj.etag, size=obj.size,
            shop=shop, misplaced=problem, folder=folder,
        )  # fmt: skip
        found.append((obj.modified, staged))
    found.sort(key=lambda item: (item[0], item[1].key))
    files = [staged for _, staged in found]
    log.info("%d file(s) waiting in %s", len(files), lake.uri(prefix))
    return files

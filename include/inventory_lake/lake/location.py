"""Lake root and partition addresses:
`s3://bucket[/prefix]/<dataset>/shop=<shop>/dt=YYYY-MM-DD/`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from include.inventory_lake.http.urls import has_user_info, without_user_info

DATA_FILE = "part-00000.parquet"
MARKER_FILE = "_SUCCESS"


@dataclass(frozen=True)
class LakeRoot:
    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, uri: str) -> LakeRoot:
        parts = urlsplit(uri)
        if has_user_info(uri):  # quoted without it: the error is logged
            raise ValueError(
                f"lake URI {without_user_info(uri)!r} must not hold credentials (user info "
                "before the bucket): the lake is reached with the aws_default connection's"
            )
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"lake URI must look like s3://bucket[/prefix], got {uri!r}")
        return cls(bucket=parts.netloc, prefix=parts.path.strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"


SHOP_FOLDER_PREFIX = "shop="
DAY_FOLDER_PREFIX = "dt="
# Exactly what `day_folder` writes: `date.fromisoformat` alone (Python 3.11+) also reads
# `20260112` and `2026-W02-6`, which would make a foreign folder a second copy of a day.
_DAY_FOLDER = re.compile(r"dt=([0-9]{4}-[0-9]{2}-[0-9]{2})")


def shop_folder(shop: str) -> str:
    return f"{SHOP_FOLDER_PREFIX}{shop}"


def day_folder(dt: date) -> str:
    return f"{DAY_FOLDER_PREFIX}{dt.isoformat()}"


def shop_of_folder(name: str) -> str | None:
    """The shop id a `shop=<id>` folder name holds (not checked; may be empty), or None for
    any other name."""
    return name.removeprefix(SHOP_FOLDER_PREFIX) if name.startswith(SHOP_FOLDER_PREFIX) else None


def day_of_folder(name: str) -> date | None:
    """The day a `dt=YYYY-MM-DD` folder name holds, or None for any other name (also for
    other spellings of a date, such as `dt=20260112`: not a folder the project writes)."""
    match = _DAY_FOLDER.fullmatch(name)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def dataset_key(key: str) -> str:
    """The lineage dataset a key belongs to, as a key (no trailing `/`): a file directly in a
    partition folder (`.../shop=<id>/dt=YYYY-MM-DD/<file>`: its data file and its `_SUCCESS`
    marker) belongs to that folder, the partition; any other key is a dataset of its own."""
    folders = key.split("/")[:-1]
    if (
        len(folders) >= 2
        and shop_of_folder(folders[-2]) is not None
        and day_of_folder(folders[-1]) is not None
    ):
        return "/".join(folders)
    return key


def shop_prefix(root: LakeRoot, dataset: str, shop: str) -> str:
    """The key prefix holding one shop's partitions of a dataset (ends with `/`)."""
    return root.key(dataset, shop_folder(shop)) + "/"


@dataclass(frozen=True)
class Partition:
    root: LakeRoot
    dataset: str
    shop: str
    dt: date

    @property
    def prefix(self) -> str:
        return self.root.key(self.dataset, shop_folder(self.shop), day_folder(self.dt)) + "/"

    @property
    def data_key(self) -> str:
        return self.prefix + DATA_FILE

    @property
    def marker_key(self) -> str:
        return self.prefix + MARKER_FILE

    @property
    def uri(self) -> str:
        return f"s3://{self.root.bucket}/{self.prefix}"


@dataclass(frozen=True)
class ShopLake:
    """One shop's part of the lake: every dataset's `shop=<shop>/` folder."""

    root: LakeRoot
    shop: str

    def partition(self, dataset: str, dt: date) -> Partition:
        return Partition(self.root, dataset, self.shop, dt)

    def dataset_prefix(self, dataset: str) -> str:
        """The key prefix of this shop's partitions of `dataset` (ends with `/`)."""
        return shop_prefix(self.root, dataset, self.shop)

    def key(self, dataset: str, *parts: str) -> str:
        """A key inside this shop's folder of `dataset`."""
        return self.root.key(dataset, shop_folder(self.shop), *parts)


@dataclass(frozen=True, order=True)
class ShopDay:
    """One shop's day: the unit the facts and the warehouse load process, written as the
    partition key `<shop>|<YYYY-MM-DD>` (the form Airflow's partitioned asset events use)."""

    shop: str
    dt: date

    @property
    def key(self) -> str:
        return f"{self.shop}{KEY_SEPARATOR}{self.dt.isoformat()}"

    @classmethod
    def parse(cls, key: str) -> ShopDay:
        shop, separator, day = key.partition(KEY_SEPARATOR)
        if not separator or not shop:
            raise ValueError(f"partition key {key!r} is not <shop>{KEY_SEPARATOR}<YYYY-MM-DD>")
        try:
            return cls(shop, date.fromisoformat(day))
        except ValueError:
            raise ValueError(f"partition key {key!r}: {day!r} is not a date YYYY-MM-DD") from None


KEY_SEPARATOR = "|"

"""Find the files waiting in `approved/`: only its direct children, never anything elsewhere."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from include.inventory_lake.push.layout import PushLayout

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedFile:
    """One approved file as listed, small enough to travel as an XCom."""

    key: str
    name: str
    etag: str
    size: int

    def as_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> StagedFile:
        return cls(
            key=str(value["key"]),
            name=str(value["name"]),
            etag=str(value["etag"]),
            size=int(value["size"]),
        )


def _is_candidate(name: str) -> bool:
    # "" is a folder marker (the console's "create folder"); dotfiles are editor or sync debris.
    return bool(name) and not name.startswith(".")


def discover_approved(s3: S3Client, layout: PushLayout) -> list[StagedFile]:
    """Every object directly under approved/, oldest first (as ops placed them)."""
    prefix = layout.approved_prefix
    found: list[tuple[Any, StagedFile]] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=layout.root.bucket, Prefix=prefix, Delimiter="/"):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix) :]
            if not _is_candidate(name):
                continue
            staged = StagedFile(
                key=obj["Key"], name=name, etag=obj["ETag"].strip('"'), size=int(obj["Size"])
            )
            found.append((obj["LastModified"], staged))
        for sub in page.get("CommonPrefixes", []):
            log.warning("ignoring %s: only files directly in approved/ are sent", sub["Prefix"])
    found.sort(key=lambda item: (item[0], item[1].key))
    files = [staged for _, staged in found]
    log.info("%d file(s) waiting in s3://%s/%s", len(files), layout.root.bucket, prefix)
    return files

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from include.inventory_lake.lake.location import LakeRoot
from tests.servers import S3Server


@pytest.fixture()
def root(s3_server: S3Server) -> Iterator[LakeRoot]:
    """A lake of its own under a fresh prefix of the S3 server's bucket (removed afterwards)."""
    lake = LakeRoot(s3_server.bucket, f"ui-tests/{uuid.uuid4().hex[:8]}/lake")
    yield lake
    client = s3_server.client()
    for key in s3_server.keys(lake.prefix + "/"):
        client.delete_object(Bucket=s3_server.bucket, Key=key)


@pytest.fixture()
def s3(s3_server: S3Server) -> Any:
    return s3_server.client()

"""What push checks before a request: the file is still the one planned, and its shop is still
configured with the connection it was planned through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.lifecycle import SourceFile
from include.inventory_lake.push.preflight import file_withdrawn, shop_changed
from include.inventory_lake.shops import Shop
from tests.inventory_lake.push.support import APPROVED, put
from tests.servers import S3Server

HANOI = Shop("hanoi", "haravan_hanoi")
SAIGON = Shop("saigon", "haravan_saigon")


@pytest.fixture()
def planned_file(s3_server: S3Server) -> Iterator[SourceFile]:
    s3_server.empty_bucket()
    put(s3_server, APPROVED + "shop=hanoi/count.csv", "location_id\r\n1\r\n")
    head = s3_server.client().head_object(
        Bucket=s3_server.bucket, Key=APPROVED + "shop=hanoi/count.csv"
    )
    yield SourceFile(
        APPROVED + "shop=hanoi/count.csv", "count.csv", head["ETag"].strip('"'), "a" * 64
    )
    s3_server.empty_bucket()


def test_the_planned_file_still_there_is_not_withdrawn(
    s3_server: S3Server, planned_file: SourceFile
) -> None:
    assert file_withdrawn(s3_server.lake(), planned_file) is None


def test_a_file_deleted_or_moved_after_planning_is_withdrawn(
    s3_server: S3Server, planned_file: SourceFile
) -> None:
    s3 = s3_server.client()
    s3.copy_object(
        Bucket=s3_server.bucket,
        Key=APPROVED + "shop=saigon/count.csv",
        CopySource={"Bucket": s3_server.bucket, "Key": planned_file.key},
    )
    s3.delete_object(Bucket=s3_server.bucket, Key=planned_file.key)
    why = file_withdrawn(Lake(s3, LakeRoot(s3_server.bucket)), planned_file)
    assert why == (
        f"{planned_file.key} was removed from approved/ (deleted, or moved to another folder) "
        "after it was planned"
    )


def test_a_file_replaced_after_planning_is_withdrawn(
    s3_server: S3Server, planned_file: SourceFile
) -> None:
    put(s3_server, planned_file.key, "location_id\r\n2\r\n")
    why = file_withdrawn(s3_server.lake(), planned_file)
    assert why is not None and why.startswith(
        f"{planned_file.key} was replaced after it was planned"
    )
    assert planned_file.etag in why


def test_a_shop_configured_as_planned_may_be_sent_to() -> None:
    assert shop_changed(HANOI, [SAIGON, Shop("hanoi", "haravan_hanoi", "stocky_hanoi")]) is None


def test_a_shop_removed_from_the_variable_is_not_sent_to() -> None:
    why = shop_changed(HANOI, [SAIGON])
    assert why is not None
    assert why.startswith(
        "shop hanoi is no longer configured (Variable 'inventory_lake_shops' lists saigon)"
    )


def test_a_shop_whose_connection_changed_is_not_sent_to() -> None:
    why = shop_changed(HANOI, [Shop("hanoi", "haravan_hanoi_v2"), SAIGON])
    assert why is not None
    assert why.startswith(
        "shop hanoi's Haravan connection changed from haravan_hanoi to haravan_hanoi_v2"
    )

"""Building a facts partition on the S3 server from hand-made raw partitions: duplicates,
empty days, missing markers, failed checks and raw files that do not match their marker."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.facts.build import build_facts_partition, raw_partitions
from include.inventory_lake.facts.quality import DataQualityError
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, Partition, ShopLake
from include.inventory_lake.lake.partition_reader import (
    PartitionChanged,
    PartitionNotReady,
    PartitionSchemaMismatch,
)
from include.inventory_lake.lake.partition_writer import PartitionWriter
from include.inventory_lake.lake.stocky_index import update_index
from include.inventory_lake.schemas import facts, haravan, stocky
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from tests.inventory_lake.facts.raw_builders import (
    at,
    haravan_adjustment,
    haravan_line,
    stocky_adjustment,
    stocky_item,
    write_raw_day,
)
from tests.servers import S3Server

DAY = date(2026, 1, 10)


@pytest.fixture()
def lake(s3_server: S3Server) -> Iterator[tuple[S3Server, ShopLake]]:
    s3_server.empty_bucket()
    yield s3_server, ShopLake(LakeRoot(s3_server.bucket, "lake"), "default")


def facts_object(s3: S3Server, shop_lake: ShopLake, name: str) -> bytes:
    key = shop_lake.partition(FACTS_LINES_PATH, DAY).prefix + name
    body: bytes = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return body


def read_facts(s3: S3Server, shop_lake: ShopLake) -> pa.Table:
    return pq.read_table(io.BytesIO(facts_object(s3, shop_lake, "part-00000.parquet")))


def a_good_day(s3: S3Server, shop_lake: ShopLake) -> None:
    write_raw_day(
        s3.client(),
        shop_lake,
        DAY,
        [haravan_adjustment(1, at(DAY, 8), [haravan_line(11, -2, "-20.00")])],
        [stocky_adjustment(101, at(DAY, 9))],
        [stocky_item(1001, 101, 5, at(DAY, 9))],
    )


def test_duplicated_line_keys_keep_the_newest_version_and_are_counted(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    write_raw_day(
        s3.client(),
        shop_lake,
        DAY,
        [
            haravan_adjustment(1, at(DAY, 8), [haravan_line(11, -2, "-20.00")]),
            haravan_adjustment(
                2,
                at(DAY, 8),
                [haravan_line(11, -3, "-30.00"), haravan_line(12, 1, "9.99")],
                updated_at=at(DAY, 10),
            ),
        ],
        [stocky_adjustment(101, at(DAY, 9))],
        [
            stocky_item(1001, 101, 5, at(DAY, 12), status="adjusted"),
            stocky_item(1001, 101, 5, at(DAY, 9), status="not adjusted"),
            stocky_item(1002, 101, -1, at(DAY, 9)),
        ],
    )
    committed, report = build_facts_partition(
        Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-1"
    )

    table = read_facts(s3, shop_lake)
    rows = {row["line_key"]: row for row in table.to_pylist()}
    assert sorted(rows) == ["haravan:11", "haravan:12", "stocky:1001", "stocky:1002"]
    assert table.num_rows == committed.rows == 4
    assert rows["haravan:11"]["adjustment_id"] == 2 and rows["haravan:11"]["quantity"] == -3
    assert rows["stocky:1001"]["status"] == "adjusted"
    assert report.sources["haravan"]["superseded_duplicates"] == 1
    assert report.sources["stocky"]["superseded_duplicates"] == 1
    assert report.sources["stocky"]["adjustment_missing"] == 0
    assert committed.marker["sources"]["haravan"]["lines"] == 3
    assert committed.marker["checks_passed"]
    assert table.schema.equals(facts.LINES, check_metadata=False)
    assert table.schema.field("line_key").metadata[b"description"].startswith(b"Unique")


def test_a_shop_without_stocky_gets_facts_of_its_haravan_lines_alone(
    lake: tuple[S3Server, ShopLake],
) -> None:
    """No Stocky connection, so no Stocky partitions: the build needs only Haravan's."""
    s3, shop_lake = lake
    write_raw_day(
        s3.client(),
        shop_lake,
        DAY,
        [haravan_adjustment(1, at(DAY, 8), [haravan_line(11, -2, "-20.00")])],
    )
    for partition in raw_partitions(shop_lake, DAY)[1:]:  # write_raw_day wrote empty ones
        for key in s3.keys(partition.prefix):
            s3.client().delete_object(Bucket=s3.bucket, Key=key)

    committed, report = build_facts_partition(
        Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-1", with_stocky=False
    )

    rows = read_facts(s3, shop_lake).to_pylist()
    assert [(row["shop"], row["line_key"]) for row in rows] == [("default", "haravan:11")]
    assert committed.rows == 1 and report.rows(facts.STOCKY) == 0
    assert report.sources[facts.STOCKY]["raw"] == []


def test_an_empty_day_gets_an_empty_partition_with_its_marker(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    write_raw_day(s3.client(), shop_lake, DAY)
    committed, report = build_facts_partition(
        Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-1"
    )
    assert committed.rows == 0
    assert read_facts(s3, shop_lake).schema.equals(facts.LINES, check_metadata=False)
    assert facts_object(s3, shop_lake, "_SUCCESS")
    assert report.rows("haravan") == report.rows("stocky") == 0


def test_a_raw_partition_without_marker_fails_naming_it_and_keeps_the_old_facts(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    a_good_day(s3, shop_lake)
    build_facts_partition(Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-1")
    before = (
        facts_object(s3, shop_lake, "part-00000.parquet"),
        facts_object(s3, shop_lake, "_SUCCESS"),
    )
    client = s3.client()
    for partition in raw_partitions(shop_lake, DAY)[1:]:
        client.delete_object(Bucket=s3.bucket, Key=partition.marker_key)

    with pytest.raises(PartitionNotReady) as raised:
        build_facts_partition(Lake(client, shop_lake.root), shop_lake, DAY, "run-2")

    message = str(raised.value)
    assert "2 partition(s) have no _SUCCESS marker" in message
    for dataset in ("raw/stocky/stock_adjustments", "raw/stocky/stock_adjustment_items"):
        assert f"s3://{s3.bucket}/lake/{dataset}/shop=default/dt=2026-01-10/" in message
    assert HARAVAN_ADJUSTMENTS_PATH not in message
    after = (
        facts_object(s3, shop_lake, "part-00000.parquet"),
        facts_object(s3, shop_lake, "_SUCCESS"),
    )
    assert after == before


def test_a_failed_check_publishes_nothing_and_names_the_check(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    a_good_day(s3, shop_lake)
    build_facts_partition(Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-1")
    before = facts_object(s3, shop_lake, "part-00000.parquet")
    write_raw_day(
        s3.client(),
        shop_lake,
        DAY,
        [haravan_adjustment(7, at(DAY, 8), [haravan_line(None, 1, "1.00")])],
        only=[HARAVAN_ADJUSTMENTS_PATH],
    )
    with pytest.raises(DataQualityError) as raised:
        build_facts_partition(Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-2")
    assert "line_key_not_null: 1 row(s)" in str(raised.value)
    assert "haravan adjustment 7" in str(raised.value)
    assert facts_object(s3, shop_lake, "part-00000.parquet") == before


def test_a_raw_file_with_other_types_is_refused_naming_the_column(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    a_good_day(s3, shop_lake)
    changed = haravan.ADJUSTMENTS.set(
        haravan.ADJUSTMENTS.get_field_index("location_id"), pa.field("location_id", pa.string())
    )
    partition = raw_partitions(shop_lake, DAY)[0]
    with PartitionWriter(
        Lake(s3.client(), partition.root), partition, changed, "old-version"
    ) as writer:
        writer.write(pa.RecordBatch.from_pylist([], schema=changed))
        writer.commit()
    with pytest.raises(PartitionSchemaMismatch, match="location_id: string instead of int64"):
        build_facts_partition(Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-1")


def test_a_raw_file_replaced_under_its_marker_is_detected(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    a_good_day(s3, shop_lake)
    items = shop_lake.partition(STOCKY_ITEMS_PATH, DAY)
    client = s3.client()
    other = pa.Table.from_pylist(
        [stocky_item(1, 1, 1, at(DAY, 1))] * 2, schema=stocky.STOCK_ADJUSTMENT_ITEMS
    )
    sink = io.BytesIO()
    pq.write_table(other, sink)
    client.put_object(Bucket=s3.bucket, Key=items.data_key, Body=sink.getvalue())
    with pytest.raises(PartitionChanged, match="sha256"):
        build_facts_partition(Lake(client, shop_lake.root), shop_lake, DAY, "run-1")


def test_an_item_takes_its_adjustment_from_the_index_when_it_landed_the_next_day(
    lake: tuple[S3Server, ShopLake],
) -> None:
    """Fails with the same-day-only lookup: 101 is in the next day's raw partition only."""
    s3, shop_lake = lake
    next_day = date(2026, 1, 11)
    write_raw_day(
        s3.client(),
        shop_lake,
        DAY,
        [],
        [],
        [stocky_item(1001, 101, 5, at(DAY, 23)), stocky_item(1002, 404, 1, at(DAY, 23))],
    )
    late = stocky_adjustment(101, at(next_day, 0, 5), reason="Theft")
    write_raw_day(s3.client(), shop_lake, next_day, [], [late], [])
    for day in (DAY, next_day):
        raw_adjustments = read_partition_table(
            s3, shop_lake.partition(STOCKY_ADJUSTMENTS_PATH, day)
        )
        raw_items = read_partition_table(s3, shop_lake.partition(STOCKY_ITEMS_PATH, day))
        update_index(
            Lake(s3.client(), shop_lake.root),
            shop_lake,
            day,
            raw_adjustments,
            raw_items.column("stock_adjustment_id"),
        )

    committed, report = build_facts_partition(
        Lake(s3.client(), shop_lake.root), shop_lake, DAY, "run-1"
    )
    rows = {row["line_key"]: row for row in read_facts(s3, shop_lake).to_pylist()}
    found = rows["stocky:1001"]
    assert found["adjustment_missing"] is False
    assert (found["location_id"], found["location_shopify_id"]) == (11, 61234567890)
    assert (found["reason"], found["adjustment_number"]) == ("Theft", "1")
    assert rows["stocky:1002"]["adjustment_missing"] is True, "404 is nowhere in the lake"
    assert rows["stocky:1002"]["location_id"] is None
    stocky_source = committed.marker["sources"]["stocky"]
    assert stocky_source["adjustment_missing"] == 1
    assert stocky_source["adjustment_from_index"] == 1
    assert stocky_source["adjustment_index"]["known"] == 1
    assert report.sources["stocky"]["adjustment_missing"] == 1


def read_partition_table(s3: S3Server, partition: Partition) -> pa.Table:
    body = s3.client().get_object(Bucket=s3.bucket, Key=partition.data_key)["Body"].read()
    return pq.read_table(io.BytesIO(body))

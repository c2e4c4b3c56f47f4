"""The Stocky adjustment index on the S3 server: a late adjustment releases the days that
awaited it, newest version wins, concurrent merges keep each other's entries, and a lake from
before the index gets one built from its raw days."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import LakeRoot, ShopLake
from include.inventory_lake.lake.stocky_index import (
    EARLIER_SCHEMA,
    clear_rebuilt,
    index_key,
    read_index,
    update_index,
)
from include.inventory_lake.schemas import stocky
from tests.inventory_lake.facts.raw_builders import (
    at,
    stocky_adjustment,
    stocky_item,
    write_raw_day,
)
from tests.servers import S3Server

DAY = date(2026, 1, 10)
NEXT = DAY + timedelta(days=1)


@pytest.fixture()
def lake(s3_server: S3Server) -> Iterator[tuple[S3Server, ShopLake]]:
    s3_server.empty_bucket()
    yield s3_server, ShopLake(LakeRoot(s3_server.bucket, "lake"), "default")
    s3_server.empty_bucket()


def adjustments(*rows: dict[str, object]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=stocky.STOCK_ADJUSTMENTS)


def ids(*values: int | None) -> pa.Array:
    return pa.array(list(values), pa.int64())


def indexed(s3: S3Server, shop_lake: ShopLake) -> dict[int, dict[str, object]]:
    index = read_index(Lake(s3.client(), shop_lake.root), shop_lake)
    return {row["id"]: row for row in index.table.to_pylist()}


def test_the_index_path_is_under_the_lake_root(lake: tuple[S3Server, ShopLake]) -> None:
    _, shop_lake = lake
    assert index_key(shop_lake) == "lake/index/stocky_adjustments/shop=default/current.parquet"


def test_a_late_adjustment_releases_the_day_that_awaited_it(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    first = update_index(
        Lake(s3.client(), shop_lake.root),
        shop_lake,
        DAY,
        adjustments(stocky_adjustment(101, at(DAY, 9))),
        ids(101, 102),
    )
    assert (first.known, first.awaited, first.rebuild) == (1, 1, [])
    assert indexed(s3, shop_lake)[102]["item_dts"] == [DAY]

    later = adjustments(stocky_adjustment(102, at(NEXT, 1), reason="Theft"))
    second = update_index(Lake(s3.client(), shop_lake.root), shop_lake, NEXT, later, ids(None))
    assert (second.known, second.awaited, second.rebuild) == (2, 0, [DAY])
    entry = indexed(s3, shop_lake)[102]
    assert (entry["reason"], entry["location_id"], entry["raw_dt"]) == ("Theft", 11, NEXT)
    assert (entry["item_dts"], entry["rebuild_dts"]) == ([DAY], [DAY])

    again = update_index(Lake(s3.client(), shop_lake.root), shop_lake, NEXT, later, ids(None))
    assert again.rebuild == [DAY], "asked again until DAY's facts are rebuilt (a lost event)"
    rebuilt = read_index(Lake(s3.client(), shop_lake.root), shop_lake)
    assert clear_rebuilt(Lake(s3.client(), shop_lake.root), shop_lake, DAY, rebuilt) == [102]
    assert (
        update_index(Lake(s3.client(), shop_lake.root), shop_lake, NEXT, later, ids(None)).rebuild
        == []
    )
    assert indexed(s3, shop_lake)[102]["rebuild_dts"] == []


def test_an_adjustment_that_moves_asks_to_rebuild_every_day_that_used_it(
    lake: tuple[S3Server, ShopLake],
) -> None:
    """Fails with an index that only knows awaited days: d1's facts keep the old location."""
    s3, shop_lake = lake
    d0, d1, d2, d3 = (DAY + timedelta(days=offset) for offset in range(4))
    update_index(
        Lake(s3.client(), shop_lake.root),
        shop_lake,
        d0,
        adjustments(stocky_adjustment(101, at(d0, 9))),
        ids(),
    )
    assert (
        update_index(
            Lake(s3.client(), shop_lake.root), shop_lake, d1, adjustments(), ids(101)
        ).rebuild
        == []
    )
    created = at(d0, 9)
    touched = adjustments(stocky_adjustment(101, at(d2, 9), created_at=created))
    assert (
        update_index(Lake(s3.client(), shop_lake.root), shop_lake, d2, touched, ids()).rebuild == []
    ), "a change of updated_at alone leaves the facts as they are"
    moved = stocky_adjustment(
        101, at(d3, 9), created_at=created, location={"id": 22, "shopify_id": 62}
    )
    update = update_index(
        Lake(s3.client(), shop_lake.root), shop_lake, d3, adjustments(moved), ids(101)
    )
    assert update.rebuild == [d1], "d3's own event builds d3"
    entry = indexed(s3, shop_lake)[101]
    assert (entry["location_id"], entry["raw_dt"], entry["item_dts"]) == (22, d3, [d1, d3])

    stale = read_index(Lake(s3.client(), shop_lake.root), shop_lake)
    reasoned = stocky_adjustment(
        101, at(d3, 10), created_at=created, location={"id": 22, "shopify_id": 62}, reason="Theft"
    )
    update_index(Lake(s3.client(), shop_lake.root), shop_lake, d3, adjustments(reasoned), ids(101))
    assert clear_rebuilt(Lake(s3.client(), shop_lake.root), shop_lake, d1, stale) == [], (
        "a build made before the reason changed does not answer the request it made"
    )
    assert indexed(s3, shop_lake)[101]["rebuild_dts"] == [d1]


def test_the_newest_version_of_an_adjustment_wins_whatever_the_order_of_the_days(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    newer = adjustments(stocky_adjustment(101, at(NEXT, 9), reason="Recount"))
    older = adjustments(stocky_adjustment(101, at(DAY, 9), reason="Damaged"))
    update_index(Lake(s3.client(), shop_lake.root), shop_lake, NEXT, newer, ids())
    update_index(Lake(s3.client(), shop_lake.root), shop_lake, DAY, older, ids())
    entry = indexed(s3, shop_lake)[101]
    assert (entry["reason"], entry["raw_dt"]) == ("Recount", NEXT)


def test_two_concurrent_merges_keep_both_entries(lake: tuple[S3Server, ShopLake]) -> None:
    s3, shop_lake = lake
    update_index(
        Lake(s3.client(), shop_lake.root), shop_lake, DAY - timedelta(days=1), adjustments(), ids()
    )
    both_read = threading.Barrier(2, timeout=60)
    waited: set[int] = set()

    def after_first_read() -> None:
        """Both writers read the same version before either writes: one of them must lose."""
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            both_read.wait()

    def merge(day: date, adjustment_id: int) -> int:
        rows = adjustments(stocky_adjustment(adjustment_id, at(day, 9)))
        update = update_index(
            Lake(s3.client(), shop_lake.root),
            shop_lake,
            day,
            rows,
            ids(adjustment_id),
            after_read=after_first_read,
        )
        return update.attempts

    with ThreadPoolExecutor(2) as pool:
        attempts = list(pool.map(merge, (DAY, NEXT), (101, 102)))
    assert sorted(attempts) == [1, 2], "the loser merged again over the winner's write"
    entries = indexed(s3, shop_lake)
    assert sorted(entries) == [101, 102]
    assert {entries[101]["raw_dt"], entries[102]["raw_dt"]} == {DAY, NEXT}


def test_a_lake_without_an_index_gets_one_from_its_raw_days_and_names_their_days(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    before = DAY - timedelta(days=1)
    # Facts of these days were built by the same-day rule: `before` lacked 102 (landed DAY).
    write_raw_day(
        s3.client(), shop_lake, before, (), [], [stocky_item(1001, 102, 1, at(before, 9))]
    )
    write_raw_day(
        s3.client(),
        shop_lake,
        DAY,
        (),
        [stocky_adjustment(102, at(DAY, 9))],
        [stocky_item(1002, 102, 1, at(DAY, 9)), stocky_item(1003, 999, 1, at(DAY, 9))],
    )
    update = update_index(
        Lake(s3.client(), shop_lake.root),
        shop_lake,
        NEXT,
        adjustments(stocky_adjustment(103, at(NEXT, 9))),
        ids(103),
    )
    assert update.rebuild == [before]
    entries = indexed(s3, shop_lake)
    assert sorted(entries) == [102, 103, 999]
    assert entries[102]["raw_dt"] == DAY
    assert entries[999]["raw_dt"] is None and entries[999]["item_dts"] == [DAY]


def test_an_index_an_earlier_version_wrote_is_rebuilt_from_the_raw_days(
    lake: tuple[S3Server, ShopLake],
) -> None:
    s3, shop_lake = lake
    write_raw_day(s3.client(), shop_lake, DAY, (), [stocky_adjustment(102, at(DAY, 9))], [])
    earlier = pa.Table.from_pylist(
        [{"id": 102, "raw_dt": DAY, "awaited_by": None}], schema=EARLIER_SCHEMA
    )
    sink = io.BytesIO()
    pq.write_table(earlier, sink)
    s3.client().put_object(Bucket=s3.bucket, Key=index_key(shop_lake), Body=sink.getvalue())
    assert read_index(s3.lake(), shop_lake).known().column("id").to_pylist() == [102]

    items = ids(102)
    update = update_index(Lake(s3.client(), shop_lake.root), shop_lake, NEXT, adjustments(), items)
    assert update.rebuild == [], "NEXT's own event builds NEXT"
    entry = indexed(s3, shop_lake)[102]
    assert (entry["reason"], entry["item_dts"]) == ("Damaged", [NEXT])

"""The extract tasks' bodies: which shops a run extracts, then, for one shop, its interval from
the context, its clients and the lake from Airflow, pages streamed into atomically committed
partitions of that shop, described on the Assets."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from include.inventory_lake import assets
from include.inventory_lake.extract.backfill_gaps import (
    is_backfill,
    reprocess_requested,
    shops_missing_the_day,
)
from include.inventory_lake.extract.interval import DailyInterval
from include.inventory_lake.extract.lake_bounds import bounds_for_day, committed_days
from include.inventory_lake.extract.stream import stream_pages
from include.inventory_lake.failures import fail_fast_on
from include.inventory_lake.hooks import haravan_client, stocky_client
from include.inventory_lake.http.errors import ApiPermanentError
from include.inventory_lake.lake.connection import connect_lake
from include.inventory_lake.lake.lake import Lake
from include.inventory_lake.lake.location import Partition, shop_prefix
from include.inventory_lake.lake.partition_writer import CommittedPartition, PartitionWriter
from include.inventory_lake.lake.stocky_index import IndexUpdate, update_index
from include.inventory_lake.schemas import haravan as haravan_schema
from include.inventory_lake.schemas import stocky as stocky_schema
from include.inventory_lake.settings import (
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from include.inventory_lake.shop_stores import refuse_shops_sharing_a_store
from include.inventory_lake.shops import (
    Shop,
    ShopConfigError,
    configured_shops,
    select_shops,
)
from include.inventory_lake.sources.since_id_search import Bounds
from include.inventory_lake.task_phases import phase

log = logging.getLogger(__name__)
DAY = timedelta(days=1)
# What one run writes per shop: a shop's day is committed once all of its datasets are.
HARAVAN_DATASETS = (HARAVAN_ADJUSTMENTS_PATH,)
STOCKY_DATASETS = (STOCKY_ADJUSTMENTS_PATH, STOCKY_ITEMS_PATH)


def _interval(context: Mapping[str, Any]) -> DailyInterval:
    return DailyInterval.of(context["data_interval_start"], context["data_interval_end"])


def _interval_details(interval: DailyInterval) -> dict[str, str]:
    return {"interval_start": interval.start.isoformat(), "interval_end": interval.end.isoformat()}


def _event_extra(
    shop: Shop, interval: DailyInterval, committed: CommittedPartition
) -> dict[str, Any]:
    return {
        "shop": shop.id,
        "dt": interval.dt.isoformat(),
        "uri": committed.uri,
        "rows": committed.rows,
    }


# Refused credentials or a retired API will not heal within the retries: fail now.
# refused credentials, retired API, a bad connection, a Retry-After beyond the cap
PERMANENT_FAILURES = (ApiPermanentError,)


def shops_to_extract(context: Mapping[str, Any], *, stocky: bool) -> list[dict[str, Any]]:
    """The shops this run extracts (its `shops` param; empty: every configured shop), as
    mapping arguments. For Stocky, only the shops with a Stocky connection. In a backfill,
    only the shops whose day is not committed yet, unless the run asks to reprocess
    (`backfill_gaps`). A shops setting that cannot be read, or a named shop that is not
    configured, fails the run at once."""
    with fail_fast_on(ShopConfigError), phase("shops variable"):
        configured = configured_shops()
        refuse_shops_sharing_a_store(configured)
        shops = select_shops(configured, (context.get("params") or {}).get("shops"))
    if stocky:
        skipped = [shop.id for shop in shops if shop.stocky_conn_id is None]
        if skipped:
            log.info("shops without a Stocky connection, not extracted: %s", skipped)
        shops = [shop for shop in shops if shop.stocky_conn_id is not None]
    if is_backfill(context):
        if reprocess_requested(context):
            log.info("reprocess=true: committed days are extracted again")
        else:
            datasets = STOCKY_DATASETS if stocky else HARAVAN_DATASETS
            dt = _interval(context).dt
            lake = connect_lake()
            with phase("lake markers"):
                shops = shops_missing_the_day(shops, datasets, dt, lake)
    log.info("extracting shop(s): %s", [shop.id for shop in shops])
    return [shop.as_xcom() for shop in shops]


def extract_haravan(shop: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    with fail_fast_on(*PERMANENT_FAILURES):
        return _extract_haravan(Shop.from_xcom(dict(shop)), context)


def extract_stocky(shop: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    with fail_fast_on(*PERMANENT_FAILURES, ShopConfigError):
        return _extract_stocky(Shop.from_xcom(dict(shop)), context)


def _lake_bounds(lake: Lake, partition: Partition) -> Bounds | None:
    """What the shop's committed partitions say about where the day starts in the id space
    (`lake_bounds`): one listing of the shop's dataset prefix, then a few markers."""
    prefix = shop_prefix(partition.root, partition.dataset, partition.shop)
    committed = committed_days(lake.list_keys(prefix))

    def read_marker(day: date) -> dict[str, Any] | None:
        return lake.read_marker(Partition(partition.root, partition.dataset, partition.shop, day))

    bounds = bounds_for_day(partition.dt, committed, read_marker)
    if bounds is not None:
        log.info(
            "starting the id search from the lake: after id %s%s, before id %s "
            "(%d committed days of shop %s)",
            bounds.lower.id if bounds.lower else None,
            " (the last before the day)" if bounds.adjacent else "",
            bounds.upper.id if bounds.upper else None,
            len(committed),
            partition.shop,
        )
    return bounds


def _extract_haravan(shop: Shop, context: Mapping[str, Any]) -> dict[str, Any]:
    interval = _interval(context)
    lake = connect_lake()
    partition = lake.partition(HARAVAN_ADJUSTMENTS_PATH, shop.id, interval.dt)
    with phase("lake listing and markers"):
        bounds = _lake_bounds(lake, partition)
    log.info(
        "extracting shop %s's Haravan adjustments created in [%s, %s) through %s",
        shop.id,
        interval.start,
        interval.end,
        shop.haravan_conn_id,
    )
    with (
        haravan_client(shop.haravan_conn_id) as client,
        PartitionWriter(lake, partition, haravan_schema.ADJUSTMENTS, context["run_id"]) as writer,
    ):
        pages = client.iter_adjustments_created_between(interval.start, interval.end, bounds=bounds)
        with phase("api pages into parquet"):
            stats = stream_pages(pages, writer, haravan_schema.ADJUSTMENTS, "adjustments")
        with phase("parquet upload and commit"):
            committed = writer.commit(
                {**_interval_details(interval), **stats.as_marker(), "api": client.summary()}
            )
    context["outlet_events"][assets.HARAVAN_ADJUSTMENTS_RAW].extra = _event_extra(
        shop, interval, committed
    )
    summary = {
        "shop": shop.id,
        "dt": interval.dt.isoformat(),
        "rows": committed.rows,
        **client.summary(),
    }
    log.info("Haravan extract done: %s", summary)
    return summary


def _index_summary(index: IndexUpdate) -> dict[str, Any]:
    return {
        "uri": index.uri,
        "known": index.known,
        "awaited": index.awaited,
        "facts_rebuild_dts": [day.isoformat() for day in index.rebuild],
        "attempts": index.attempts,
    }


def _extract_stocky(shop: Shop, context: Mapping[str, Any]) -> dict[str, Any]:
    """Both datasets are fetched before either is committed: a failure writes nothing."""
    if shop.stocky_conn_id is None:
        raise ShopConfigError(f"shop {shop.id!r} has no Stocky connection (stocky_conn_id)")
    interval = _interval(context)
    lake = connect_lake()
    shop_lake = lake.shop(shop.id)
    run_id = context["run_id"]
    adjustments = shop_lake.partition(STOCKY_ADJUSTMENTS_PATH, interval.dt)
    items = shop_lake.partition(STOCKY_ITEMS_PATH, interval.dt)
    log.info(
        "extracting shop %s's Stocky records updated in [%s, %s) through %s",
        shop.id,
        interval.start,
        interval.end,
        shop.stocky_conn_id,
    )
    with (
        stocky_client(shop.stocky_conn_id) as client,
        PartitionWriter(lake, adjustments, stocky_schema.STOCK_ADJUSTMENTS, run_id) as adj_writer,
        PartitionWriter(lake, items, stocky_schema.STOCK_ADJUSTMENT_ITEMS, run_id) as item_writer,
    ):
        adj_stats = stream_pages(
            client.iter_stock_adjustments_updated_between(interval.start, interval.end),
            adj_writer,
            stocky_schema.STOCK_ADJUSTMENTS,
            "stock_adjustments",
        )
        item_stats = stream_pages(
            client.iter_stock_adjustment_items_updated_between(interval.start, interval.end),
            item_writer,
            stocky_schema.STOCK_ADJUSTMENT_ITEMS,
            "stock_adjustment_items",
        )
        details = {**_interval_details(interval), "api": client.summary()}
        committed_adjustments = adj_writer.commit({**details, **adj_stats.as_marker()})
        committed_items = item_writer.commit({**details, **item_stats.as_marker()})
        index = update_index(
            lake,
            shop_lake,
            interval.dt,
            adj_writer.read_committed(),
            item_writer.read_committed(["stock_adjustment_id"]).column(0).combine_chunks(),
        )
    # Days whose facts lack an adjustment this run brought into the lake: rebuilt too.
    rebuild = {assets.FACTS_REBUILD_DTS: [day.isoformat() for day in index.rebuild]}
    outlet_events = context["outlet_events"]
    outlet_events[assets.STOCKY_ADJUSTMENTS_RAW].extra = {
        **_event_extra(shop, interval, committed_adjustments),
        **rebuild,
    }
    outlet_events[assets.STOCKY_ITEMS_RAW].extra = {
        **_event_extra(shop, interval, committed_items),
        **rebuild,
    }
    summary = {
        "shop": shop.id,
        "dt": interval.dt.isoformat(),
        "stock_adjustments": committed_adjustments.rows,
        "stock_adjustment_items": committed_items.rows,
        "adjustment_index": _index_summary(index),
        **client.summary(),
    }
    log.info("Stocky extract done: %s", summary)
    return summary

"""Which partitions (shop and day) a run processes, in this order of precedence:

1. the run's params `dt_start` / `dt_end` (inclusive; a manual run for any range), for each of
   the run's shops (param `shops`; empty: every configured shop);
2. the `shop` and `dt` in the extra of every asset event that triggered the run (an
   asset-triggered run may consume several events, e.g. after an extract backfill: it
   processes each shop's day once), plus the days listed in an extra's `facts_rebuild_dts`
   (the Stocky extract names there the other days of its shop whose facts lack an adjustment
   that has landed since, or carry an older version of one: `lake.stocky_index`);
3. the UTC days of the run's data interval (backfills and manual runs without params), for
   each of the run's shops.

An asset event without a valid `dt` fails the run rather than being skipped: a silently ignored
event would leave a day stale. An event without `shop` was written before shops existed (a
single-shop lake): it names the default shop.

Why not Airflow's partitioned asset events (AIP-76, `PartitionedAssetTimetable`) for this: on
3.3.2 a DAG scheduled by partitions gets runs only from those events. The UI's Trigger →
Backfill over a date range (how history is loaded here) and `dag.test()` both need the
DAG's own time-based runs, which a partitioned DAG does not have; and an event that carries a
partition key no longer queues a non-partitioned DAG at all. So the events say which shop and
day they are about in their extra, and this module reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from include.inventory_lake.assets import FACTS_REBUILD_DTS
from include.inventory_lake.lake.location import ShopDay
from include.inventory_lake.shops import DEFAULT_SHOP_ID, ShopConfigError, check_shop_id

MAX_DAYS = 366


class RunDatesError(ValueError):
    """The run does not say which days to process, or says it inconsistently."""


def _parse_day(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RunDatesError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


def _days(first: date, last: date, where: str) -> list[date]:
    if last < first:
        raise RunDatesError(f"{where}: end {last} is before start {first}")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise RunDatesError(f"{where}: {count} days is more than {MAX_DAYS}; split the range")
    return [first + timedelta(days=offset) for offset in range(count)]


def days_from_params(params: Mapping[str, Any]) -> list[date]:
    start, end = params.get("dt_start"), params.get("dt_end")
    if not start:
        if end:
            raise RunDatesError("params: dt_end is set without dt_start")
        return []
    first = _parse_day(start, "params.dt_start")
    last = _parse_day(end, "params.dt_end") if end else first
    return _days(first, last, "params")


def partitions_from_events(events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[ShopDay]:
    """`events` are (asset name, event extra) pairs."""
    partitions: set[ShopDay] = set()
    for asset_name, extra in events:
        shop = _event_shop(asset_name, extra)
        if "dt" not in extra:
            raise RunDatesError(
                f"an event on asset {asset_name!r} has no 'dt' in its extra ({dict(extra)!r}); "
                "trigger the DAG with params dt_start/dt_end instead"
            )
        partitions.add(ShopDay(shop, _parse_day(extra["dt"], f"event on asset {asset_name!r}")))
        rebuild = extra.get(FACTS_REBUILD_DTS) or []
        if not isinstance(rebuild, list):
            raise RunDatesError(
                f"an event on asset {asset_name!r} has {FACTS_REBUILD_DTS}={rebuild!r}, "
                "expected a list of dates YYYY-MM-DD"
            )
        where = f"{FACTS_REBUILD_DTS} of an event on asset {asset_name!r}"
        partitions.update(ShopDay(shop, _parse_day(day, where)) for day in rebuild)
    return sorted(partitions)


def _event_shop(asset_name: str, extra: Mapping[str, Any]) -> str:
    if "shop" not in extra:
        return DEFAULT_SHOP_ID
    try:
        return check_shop_id(extra["shop"], f"an event on asset {asset_name!r}")
    except ShopConfigError as error:
        raise RunDatesError(str(error)) from None


def days_from_interval(start: datetime | None, end: datetime | None) -> list[date]:
    if start is None or end is None or end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start.time() != time.min or end.time() != time.min:
        raise RunDatesError(
            f"data interval {start.isoformat()} → {end.isoformat()} is not whole UTC days"
        )
    return _days(start.date(), end.date() - timedelta(days=1), "data interval")


def run_partitions(
    params: Mapping[str, Any],
    events: Iterable[tuple[str, Mapping[str, Any]]],
    interval_start: datetime | None,
    interval_end: datetime | None,
    shops: Iterable[str],
) -> list[ShopDay]:
    """The run's partitions; `shops` are the run's shops (used unless events name them)."""
    days = days_from_params(params)
    partitions = (
        [ShopDay(shop, day) for shop in shops for day in days]
        if days
        else partitions_from_events(events)
        or [
            ShopDay(shop, day)
            for shop in shops
            for day in days_from_interval(interval_start, interval_end)
        ]
    )
    if not partitions:
        raise RunDatesError(
            "this run has no days to process: no params dt_start/dt_end, no triggering asset "
            "events and no data interval (or no shops); trigger it with params dt_start "
            "(and dt_end)"
        )
    return sorted(partitions)


def context_run_partitions(context: Mapping[str, Any]) -> list[ShopDay]:
    """`run_partitions` from an Airflow task context, for the configured shops the run's
    `shops` param selects (the Variable is read only when the run needs it)."""
    from include.inventory_lake.shops import configured_shops, select_shops

    params = context.get("params") or {}
    triggering = context.get("triggering_asset_events") or {}
    events = [
        (getattr(asset, "name", str(asset)), event.extra or {})
        for asset, asset_events in triggering.items()
        for event in asset_events
    ]
    if events and not days_from_params(params):
        return run_partitions(params, events, None, None, [])
    try:
        shops = [shop.id for shop in select_shops(configured_shops(), params.get("shops"))]
    except ShopConfigError as error:
        raise RunDatesError(str(error)) from None
    return run_partitions(
        params,
        events,
        context.get("data_interval_start"),
        context.get("data_interval_end"),
        shops,
    )

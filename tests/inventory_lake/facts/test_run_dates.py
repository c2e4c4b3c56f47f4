"""Which shops' days a run builds: params, else asset events, else the data interval."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from include.inventory_lake.facts.run_dates import (
    MAX_DAYS,
    RunDatesError,
    context_run_partitions,
    run_partitions,
)
from include.inventory_lake.lake.location import ShopDay

JAN_10 = datetime(2026, 1, 10, tzinfo=UTC)
JAN_11 = datetime(2026, 1, 11, tzinfo=UTC)


SHOPS = ["hanoi", "saigon"]


def event(asset: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return asset, extra


def run_dates(
    params: dict[str, Any],
    events: list[tuple[str, dict[str, Any]]],
    start: datetime | None,
    end: datetime | None,
) -> list[date]:
    """The days of a single-shop run (the shop is `default`)."""
    partitions = run_partitions(params, events, start, end, ["default"])
    assert {p.shop for p in partitions} == {"default"}
    return [p.dt for p in partitions]


def test_params_and_interval_cover_every_shop_of_the_run() -> None:
    jan = [date(2026, 1, 1), date(2026, 1, 2)]
    params = {"dt_start": "2026-01-01", "dt_end": "2026-01-02"}
    assert run_partitions(params, [], None, None, SHOPS) == [
        ShopDay(shop, day) for shop in SHOPS for day in jan
    ]
    assert run_partitions({}, [], JAN_10, JAN_11, SHOPS) == [
        ShopDay("hanoi", date(2026, 1, 10)),
        ShopDay("saigon", date(2026, 1, 10)),
    ]


def test_events_name_their_shop_and_rebuilds_stay_in_that_shop() -> None:
    events = [
        event("raw_haravan", shop="hanoi", dt="2026-01-10"),
        event("raw_stocky", shop="saigon", dt="2026-01-10", facts_rebuild_dts=["2026-01-08"]),
        # Written before shops existed: the default shop's.
        event("raw_haravan", dt="2026-01-09"),
    ]
    assert run_partitions({}, events, None, None, SHOPS) == [
        ShopDay("default", date(2026, 1, 9)),
        ShopDay("hanoi", date(2026, 1, 10)),
        ShopDay("saigon", date(2026, 1, 8)),
        ShopDay("saigon", date(2026, 1, 10)),
    ]
    with pytest.raises(RunDatesError, match=r"shop id '\.\./etc'"):
        run_partitions({}, [event("raw_haravan", shop="../etc", dt="2026-01-10")], None, None, [])


def test_a_partition_key_reads_back_and_refuses_what_is_not_one() -> None:
    partition = ShopDay("hanoi", date(2026, 1, 10))
    assert partition.key == "hanoi|2026-01-10"
    assert ShopDay.parse(partition.key) == partition
    for bad in ("2026-01-10", "hanoi|", "|2026-01-10", "hanoi|10/01/2026"):
        with pytest.raises(ValueError, match="partition key"):
            ShopDay.parse(bad)


def test_params_win_and_cover_the_range_inclusive() -> None:
    days = run_dates(
        {"dt_start": "2026-01-01", "dt_end": "2026-01-03"},
        [event("raw", dt="2026-01-09")],
        JAN_10,
        JAN_11,
    )
    assert days == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert run_dates({"dt_start": "2026-01-05", "dt_end": None}, [], None, None) == [
        date(2026, 1, 5)
    ]


def test_events_give_each_named_day_once_in_order() -> None:
    events = [
        event("raw_haravan", dt="2026-01-10", rows=46),
        event("raw_stocky", dt="2026-01-08", rows=3),
        event("raw_stocky_items", dt="2026-01-10", rows=58),
    ]
    assert run_dates({"dt_start": None}, events, None, None) == [
        date(2026, 1, 8),
        date(2026, 1, 10),
    ]


def test_without_params_or_events_the_data_interval_decides() -> None:
    assert run_dates({}, [], JAN_10, JAN_11) == [date(2026, 1, 10)]
    week = datetime(2026, 1, 17, tzinfo=UTC)
    assert len(run_dates({}, [], JAN_10, week)) == 7


@pytest.mark.parametrize(
    ("params", "events", "interval", "message"),
    [
        ({"dt_start": "10/01/2026"}, [], (None, None), "expected a date YYYY-MM-DD"),
        ({"dt_end": "2026-01-10"}, [], (None, None), "dt_end is set without dt_start"),
        ({"dt_start": "2026-01-10", "dt_end": "2026-01-09"}, [], (None, None), "before start"),
        ({"dt_start": "2024-01-01", "dt_end": "2026-01-01"}, [], (None, None), f"{MAX_DAYS}"),
        ({}, [event("raw_haravan", rows=3)], (None, None), "has no 'dt' in its extra"),
        ({}, [event("raw_haravan", dt="yesterday")], (None, None), "'yesterday'"),
        ({}, [], (JAN_10.replace(hour=6), JAN_11), "not whole UTC days"),
        ({}, [], (JAN_10, JAN_10), "no days to process"),
        ({}, [], (None, None), "trigger it with params dt_start"),
    ],
)
def test_unclear_requests_fail_with_a_reason(
    params: dict[str, Any],
    events: list[tuple[str, dict[str, Any]]],
    interval: tuple[datetime | None, datetime | None],
    message: str,
) -> None:
    with pytest.raises(RunDatesError, match=message):
        run_dates(params, events, *interval)


def test_the_task_context_of_an_asset_triggered_run_is_read() -> None:
    """The accessor and event types are the Task SDK's own, as a worker receives them."""
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    def reference(name: str, dt: str) -> AssetEventDagRunReferenceResult:
        return AssetEventDagRunReferenceResult(
            asset={"name": name, "uri": name, "extra": {}},
            extra={"dt": dt, "uri": f"s3://lake/{name}/dt={dt}/", "rows": 1},
            source_task_id="extract",
            source_dag_id="haravan_adjustments_extract",
            source_run_id="manual__1",
            source_map_index=-1,
            source_aliases=[],
            timestamp=JAN_11,
        )

    accessor = TriggeringAssetEventsAccessor.build(
        [
            reference("raw_haravan_inventory_adjustments", "2026-01-09"),
            reference("raw_haravan_inventory_adjustments", "2026-01-10"),
            reference("raw_stocky_stock_adjustments", "2026-01-10"),
        ]
    )
    context = {
        "params": {"dt_start": None, "dt_end": None},
        "triggering_asset_events": accessor,
        "data_interval_start": None,
        "data_interval_end": None,
    }
    # Events from before shops existed carry no shop: the default shop's days.
    assert context_run_partitions(context) == [
        ShopDay("default", date(2026, 1, 9)),
        ShopDay("default", date(2026, 1, 10)),
    ]

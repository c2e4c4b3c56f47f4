"""Partition status per shop, dataset and day on the S3 server: rows and runs from the markers,
gaps, partitions without a marker, empty days, one shop's gap that is not another's, shops
found in the lake but not configured, and the push audit's files per batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.push.layout import PushLake
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    SET_ADJUSTMENTS_AUDIT_PATH,
    STOCKY_ADJUSTMENTS_PATH,
)
from include.inventory_lake.shops import DEFAULT_SHOP, DEFAULT_SHOP_ID, Shop
from include.inventory_lake.ui.lake_status import (
    DATASETS,
    LakeShop,
    audit_status,
    daily_specs,
    dataset_status,
    lake_shops,
    lake_status,
    newest_partition_day,
    shops_in_lake,
)
from include.inventory_lake.ui.window import DayWindow, default_end
from tests.inventory_lake.ui.lake_content import push_batch, set_line, write_partition

DAY = date(2026, 1, 10)
HARAVAN = next(spec for spec in DATASETS if spec.path == HARAVAN_ADJUSTMENTS_PATH)
AUDIT = next(spec for spec in DATASETS if spec.path == SET_ADJUSTMENTS_AUDIT_PATH)
DAILY = daily_specs()
SAIGON = Shop("saigon", "haravan_saigon", "stocky_saigon")


def test_complete_partitions_gaps_missing_markers_and_empty_days(s3: Any, root: LakeRoot) -> None:
    window = DayWindow(DAY, 5)  # 01-06 .. 01-10
    for day, rows in ((date(2026, 1, 5), 9), (date(2026, 1, 6), 3), (date(2026, 1, 8), 0)):
        write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, day, rows, f"run-{day}")
    committed = write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 7, "run-last")
    # 01-09: the data file is there but the marker is not (a write that died half-way).
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, date(2026, 1, 9), 4, "run-dead")
    s3.delete_object(
        Bucket=root.bucket,
        Key=Partition(root, HARAVAN_ADJUSTMENTS_PATH, DEFAULT_SHOP_ID, date(2026, 1, 9)).marker_key,
    )
    # Another dataset, another shop and a later day must not leak into this one's window.
    write_partition(s3, root, STOCKY_ADJUSTMENTS_PATH, date(2026, 1, 7), 2, "run-stocky")
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, date(2026, 1, 7), 2, "run-saigon", "saigon")
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, date(2026, 1, 11), 5, "run-later")

    status = dataset_status(PushLake(s3, root), HARAVAN, window, DEFAULT_SHOP_ID)

    by_day = {p.dt: p for p in status.partitions}
    assert list(by_day) == window.days
    assert [(p.state, p.rows) for p in status.partitions] == [
        ("complete", 3),
        ("missing", None),
        ("complete", 0),
        ("incomplete", None),
        ("complete", 7),
    ]
    assert status.gaps == [date(2026, 1, 7)]
    assert status.incomplete == [date(2026, 1, 9)]
    assert status.rows == 10
    last = by_day[DAY]
    assert last.run_ids == ("run-last",)
    assert last.bytes == committed.bytes and last.committed_at == committed.marker["committed_at"]
    assert last.problem is None
    assert by_day[date(2026, 1, 9)].bytes and "no _SUCCESS marker" in str(
        by_day[date(2026, 1, 9)].problem
    )
    assert status.uri == (
        f"s3://{root.bucket}/{root.prefix}/{HARAVAN_ADJUSTMENTS_PATH}/shop={DEFAULT_SHOP_ID}/"
    )
    assert status.shop == DEFAULT_SHOP_ID


def test_a_marker_that_does_not_match_its_file_is_flagged(s3: Any, root: LakeRoot) -> None:
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 3, "run-1")
    partition = Partition(root, HARAVAN_ADJUSTMENTS_PATH, DEFAULT_SHOP_ID, DAY)
    s3.put_object(Bucket=root.bucket, Key=partition.data_key, Body=b"not the committed file")

    (status,) = dataset_status(
        PushLake(s3, root), HARAVAN, DayWindow(DAY, 1), DEFAULT_SHOP_ID
    ).partitions

    assert status.state == "complete"
    assert "22 bytes, its marker says" in str(status.problem)


def test_the_audit_shows_batches_lines_and_outcomes_per_day(s3: Any, root: LakeRoot) -> None:
    lines = [set_line(2, 1, 11, 5, "A"), set_line(3, 1, 12, 8, "B"), set_line(4, 2, 21, 0, "C")]
    on_hand = {(1, 11): 4, (1, 12): 8, (2, 21): 3}
    push_batch(s3, root, "batchdone", lines, on_hand, run_id="run-a")
    push_batch(
        s3, root, "batchrefused", lines, on_hand, refused={2: "422: bad variant"}, status="failed"
    )
    today = datetime.now(UTC).date()  # the audit's day is the day the batch was claimed

    status = dataset_status(PushLake(s3, root), AUDIT, DayWindow(today, 2))

    before, claimed = status.partitions
    assert before.state == "no_push" and status.gaps == [] and status.shop is None
    assert claimed.state == "complete"
    assert claimed.batches == ("batchdone", "batchrefused")
    assert claimed.rows == 6 and claimed.files == 2
    assert claimed.run_ids == ("manual__push", "run-a")
    assert dict(claimed.line_statuses) == {"applied": 5, "refused": 1}


def test_newest_partition_day_and_the_default_window(s3: Any, root: LakeRoot) -> None:
    shops = [DEFAULT_SHOP_ID, "saigon"]
    assert newest_partition_day(PushLake(s3, root), DAILY, shops) is None
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 1, "r")
    write_partition(s3, root, FACTS_LINES_PATH, DAY + timedelta(days=2), 1, "r")
    assert newest_partition_day(PushLake(s3, root), DAILY, shops) == DAY + timedelta(days=2)
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY + timedelta(days=4), 1, "r", "saigon")
    assert newest_partition_day(PushLake(s3, root), DAILY, shops) == DAY + timedelta(days=4)
    assert newest_partition_day(PushLake(s3, root), DAILY, [DEFAULT_SHOP_ID]) == DAY + timedelta(
        days=2
    )

    today = date(2026, 1, 20)
    assert default_end(today, None) == date(2026, 1, 19)
    assert default_end(today, date(2026, 1, 12)) == date(2026, 1, 19)
    assert default_end(today, date(2026, 2, 1)) == date(2026, 2, 1)


def test_folders_named_like_a_day_in_another_spelling_are_not_days(s3: Any, root: LakeRoot) -> None:
    """`dt=20260110` and `dt=2026-W02-6` (ISO week 2, day 6: 2026-01-10) are no folders the
    project writes; Python reads both as dates, and the page took them for 01-10 or a newer
    day: the day's files mixed with theirs, and the window ended on a day that has no data."""
    committed = write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 7, "run-last")
    shop_folder = root.key(HARAVAN_ADJUSTMENTS_PATH, f"shop={DEFAULT_SHOP_ID}")
    for foreign in ("dt=20260110", "dt=2026-W02-6", "dt=20260112"):
        for name in ("part-00000.parquet", "_SUCCESS"):
            s3.put_object(Bucket=root.bucket, Key=f"{shop_folder}/{foreign}/{name}", Body=b"{}")

    assert newest_partition_day(PushLake(s3, root), DAILY, [DEFAULT_SHOP_ID]) == DAY
    (status,) = dataset_status(
        PushLake(s3, root), HARAVAN, DayWindow(DAY, 1), DEFAULT_SHOP_ID
    ).partitions
    assert (status.state, status.rows, status.run_ids) == ("complete", 7, ("run-last",))
    assert status.bytes == committed.bytes and status.problem is None


def test_every_dataset_gets_a_row_even_in_an_empty_lake(s3: Any, root: LakeRoot) -> None:
    window = DayWindow(DAY, 3)
    shops = lake_shops([DEFAULT_SHOP], shops_in_lake(PushLake(s3, root)))
    assert shops == [LakeShop(DEFAULT_SHOP_ID, "configured", in_lake=False)]

    (default,) = lake_status(PushLake(s3, root), window, shops)

    assert [s.spec.path for s in default.datasets] == [spec.path for spec in DAILY]
    for status in default.datasets:
        assert [p.state for p in status.partitions] == ["missing"] * 3
    assert [d.state for d in default.days] == ["missing"] * 3
    (audit,) = audit_status(PushLake(s3, root), window)
    assert audit.spec == AUDIT and [p.state for p in audit.partitions] == ["no_push"] * 3


def write_complete_days(s3: Any, root: LakeRoot, shop: str, days: list[date]) -> None:
    for day in days:
        for spec in DAILY:
            write_partition(s3, root, spec.path, day, 2, f"run-{shop}-{day}", shop)


def test_a_day_missing_for_one_shop_is_a_gap_of_that_shop_only(s3: Any, root: LakeRoot) -> None:
    window = DayWindow(DAY, 3)  # 01-08 .. 01-10
    write_complete_days(s3, root, DEFAULT_SHOP_ID, window.days)
    write_complete_days(s3, root, "saigon", window.days)
    # saigon's Haravan extract of 01-09 never landed.
    saigon_gap = Partition(root, HARAVAN_ADJUSTMENTS_PATH, "saigon", date(2026, 1, 9))
    for key in (saigon_gap.data_key, saigon_gap.marker_key):
        s3.delete_object(Bucket=root.bucket, Key=key)
    shops = lake_shops([DEFAULT_SHOP, SAIGON], shops_in_lake(PushLake(s3, root)))
    assert [(shop.id, shop.config, shop.in_lake) for shop in shops] == [
        (DEFAULT_SHOP_ID, "configured", True),
        ("saigon", "configured", True),
    ]

    default, saigon = lake_status(PushLake(s3, root), window, shops)

    assert default.gaps == 0 and [d.state for d in default.days] == ["complete"] * 3
    assert all(p.rows == 2 for ds in default.datasets for p in ds.partitions)
    assert saigon.gaps == 1
    assert [d.state for d in saigon.days] == ["complete", "missing", "complete"]
    assert saigon.days[1].missing == ("Haravan adjustments (raw)",)
    by_path = {ds.spec.path: ds for ds in saigon.datasets}
    assert by_path[HARAVAN_ADJUSTMENTS_PATH].gaps == [date(2026, 1, 9)]
    assert by_path[FACTS_LINES_PATH].gaps == []
    assert by_path[HARAVAN_ADJUSTMENTS_PATH].partitions[0].run_ids == ("run-saigon-2026-01-08",)


def test_shops_only_the_lake_has_are_shown_as_not_configured(s3: Any, root: LakeRoot) -> None:
    window = DayWindow(DAY, 2)  # 01-09 .. 01-10
    write_complete_days(s3, root, DEFAULT_SHOP_ID, window.days)
    # A removed shop: its last partitions are still in the lake.
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, date(2026, 1, 9), 4, "run-old", "hue")
    s3.put_object(Bucket=root.bucket, Key=root.key(FACTS_LINES_PATH, "not-a-shop", "x"), Body=b"")

    assert shops_in_lake(PushLake(s3, root)) == [DEFAULT_SHOP_ID, "hue"]
    shops = lake_shops([DEFAULT_SHOP], shops_in_lake(PushLake(s3, root)))
    assert [(shop.id, shop.config) for shop in shops] == [
        (DEFAULT_SHOP_ID, "configured"),
        ("hue", "not_configured"),
    ]
    assert "not configured" in shops[1].note

    _, hue = lake_status(PushLake(s3, root), window, shops)

    haravan = hue.datasets[0]
    assert [(p.state, p.rows) for p in haravan.partitions] == [
        ("complete", 4),
        ("not_expected", None),
    ]
    assert hue.gaps == 0 and [d.state for d in hue.days] == ["complete", "not_expected"]


def test_a_shop_without_stocky_has_no_stocky_gaps(s3: Any, root: LakeRoot) -> None:
    window = DayWindow(DAY, 1)
    haravan_only = Shop("danang", "haravan_danang")
    (shop,) = lake_shops([haravan_only], [])

    (status,) = lake_status(PushLake(s3, root), window, [shop])

    states = {ds.spec.path: ds.partitions[0].state for ds in status.datasets}
    assert states == {
        HARAVAN_ADJUSTMENTS_PATH: "missing",
        STOCKY_ADJUSTMENTS_PATH: "not_expected",
        "raw/stocky/stock_adjustment_items": "not_expected",
        FACTS_LINES_PATH: "missing",
    }
    assert shop.note == "configured, nothing in the lake yet"


def test_without_a_usable_configuration_every_shop_in_the_lake_is_shown(
    s3: Any, root: LakeRoot
) -> None:
    write_partition(s3, root, FACTS_LINES_PATH, DAY, 1, "r", "saigon")
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 1, "r")

    shops = lake_shops(None, shops_in_lake(PushLake(s3, root)))

    assert [(shop.id, shop.config) for shop in shops] == [
        (DEFAULT_SHOP_ID, "unknown"),
        ("saigon", "unknown"),
    ]
    default, saigon = lake_status(PushLake(s3, root), DayWindow(DAY, 1), shops)
    assert default.gaps == 3 and saigon.gaps == 3, "every daily dataset is expected"


def test_listing_costs_one_call_per_dataset_and_shop(s3: Any, root: LakeRoot) -> None:
    window = DayWindow(DAY, 14)
    for shop in (DEFAULT_SHOP_ID, "saigon", "hue"):
        write_complete_days(s3, root, shop, window.days[-2:])
    calls: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["Prefix"])

    s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", count)
    try:
        configured = [DEFAULT_SHOP, SAIGON, Shop("never", "haravan_never")]
        shops = lake_shops(configured, shops_in_lake(PushLake(s3, root)))
        assert calls and len(calls) == len(DAILY)
        newest_partition_day(PushLake(s3, root), DAILY, [shop.id for shop in shops if shop.in_lake])
        assert len(calls) == len(DAILY) + 3 * len(DAILY)
        statuses = lake_status(PushLake(s3, root), window, shops)
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", count)

    # The window's listing: one per dataset of each shop in the lake, none for "never".
    assert len(calls) == len(DAILY) + 2 * 3 * len(DAILY)
    assert not any("shop=never" in prefix for prefix in calls)
    assert [s.shop.id for s in statuses] == [DEFAULT_SHOP_ID, "saigon", "never", "hue"]


def test_a_window_is_one_to_92_days() -> None:
    assert DayWindow(DAY, 3).days == [date(2026, 1, 8), date(2026, 1, 9), DAY]
    for length in (0, 93):
        with pytest.raises(ValueError, match="1 to 92 days"):
            DayWindow(DAY, length)

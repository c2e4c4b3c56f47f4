"""Partition status per dataset and day on the S3 server: rows and runs from the markers,
gaps, partitions without a marker, empty days, and the push audit's files per batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from include.inventory_lake.lake.location import LakeRoot, Partition
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    SET_ADJUSTMENTS_AUDIT_PATH,
    STOCKY_ADJUSTMENTS_PATH,
)
from include.inventory_lake.ui.lake_status import (
    DATASETS,
    dataset_status,
    lake_status,
    newest_partition_day,
)
from include.inventory_lake.ui.window import DayWindow, default_end
from tests.inventory_lake.ui.lake_content import push_batch, set_line, write_partition

DAY = date(2026, 1, 10)
HARAVAN = next(spec for spec in DATASETS if spec.path == HARAVAN_ADJUSTMENTS_PATH)
AUDIT = next(spec for spec in DATASETS if spec.path == SET_ADJUSTMENTS_AUDIT_PATH)


def test_complete_partitions_gaps_missing_markers_and_empty_days(s3: Any, root: LakeRoot) -> None:
    window = DayWindow(DAY, 5)  # 01-06 .. 01-10
    for day, rows in ((date(2026, 1, 5), 9), (date(2026, 1, 6), 3), (date(2026, 1, 8), 0)):
        write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, day, rows, f"run-{day}")
    committed = write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 7, "run-last")
    # 01-09: the data file is there but the marker is not (a write that died half-way).
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, date(2026, 1, 9), 4, "run-dead")
    s3.delete_object(
        Bucket=root.bucket,
        Key=Partition(root, HARAVAN_ADJUSTMENTS_PATH, date(2026, 1, 9)).marker_key,
    )
    # Another dataset and a later day must not leak into this one's window.
    write_partition(s3, root, STOCKY_ADJUSTMENTS_PATH, date(2026, 1, 7), 2, "run-stocky")
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, date(2026, 1, 11), 5, "run-later")

    status = dataset_status(s3, root, HARAVAN, window)

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
    assert status.uri == f"s3://{root.bucket}/{root.prefix}/{HARAVAN_ADJUSTMENTS_PATH}/"


def test_a_marker_that_does_not_match_its_file_is_flagged(s3: Any, root: LakeRoot) -> None:
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 3, "run-1")
    partition = Partition(root, HARAVAN_ADJUSTMENTS_PATH, DAY)
    s3.put_object(Bucket=root.bucket, Key=partition.data_key, Body=b"not the committed file")

    (status,) = dataset_status(s3, root, HARAVAN, DayWindow(DAY, 1)).partitions

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

    status = dataset_status(s3, root, AUDIT, DayWindow(today, 2))

    before, claimed = status.partitions
    assert before.state == "no_push" and status.gaps == []
    assert claimed.state == "complete"
    assert claimed.batches == ("batchdone", "batchrefused")
    assert claimed.rows == 6 and claimed.files == 2
    assert claimed.run_ids == ("manual__push", "run-a")
    assert dict(claimed.line_statuses) == {"applied": 5, "refused": 1}


def test_newest_partition_day_and_the_default_window(s3: Any, root: LakeRoot) -> None:
    daily = [spec for spec in DATASETS if spec.kind == "daily"]
    assert newest_partition_day(s3, root, daily) is None
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, DAY, 1, "r")
    write_partition(s3, root, FACTS_LINES_PATH, DAY + timedelta(days=2), 1, "r")
    assert newest_partition_day(s3, root, daily) == DAY + timedelta(days=2)

    today = date(2026, 1, 20)
    assert default_end(today, None) == date(2026, 1, 19)
    assert default_end(today, date(2026, 1, 12)) == date(2026, 1, 19)
    assert default_end(today, date(2026, 2, 1)) == date(2026, 2, 1)


def test_every_dataset_gets_a_row_even_in_an_empty_lake(s3: Any, root: LakeRoot) -> None:
    statuses = lake_status(s3, root, DayWindow(DAY, 3))
    assert [s.spec.path for s in statuses] == [spec.path for spec in DATASETS]
    for status in statuses:
        expected = "no_push" if status.spec.kind == "audit" else "missing"
        assert [p.state for p in status.partitions] == [expected] * 3


def test_a_window_is_one_to_92_days() -> None:
    assert DayWindow(DAY, 3).days == [date(2026, 1, 8), date(2026, 1, 9), DAY]
    for length in (0, 93):
        with pytest.raises(ValueError, match="1 to 92 days"):
            DayWindow(DAY, length)

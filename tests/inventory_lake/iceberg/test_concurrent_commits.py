"""Commits of the facts table at the same time, as a backfill's parallel facts tasks make them:
each with its own catalog (as each task process opens one), none lost, none duplicated."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.group_commit import commit_partition_file
from include.inventory_lake.iceberg.replace import ReplacedPartition, replace_partition
from tests.inventory_lake.iceberg.test_facts_table import lines, rows_of
from tests.servers import S3Server

T = TypeVar("T")
FIRST_DAY = date(2026, 1, 1)


@pytest.fixture()
def empty_catalog(airflow_connections: Any, s3_server: S3Server) -> Iterator[None]:
    s3_server.empty_bucket()
    yield
    s3_server.empty_bucket()


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(released, calls))


def test_tasks_creating_the_table_at_once_get_the_same_table(empty_catalog: None) -> None:
    catalogs = [open_catalog() for _ in range(3)]
    tables = at_once([lambda c=catalog: facts_table.ensure_table(c) for catalog in catalogs])
    assert len({table.metadata.table_uuid for table in tables}) == 1
    assert open_catalog().list_tables(facts_table.NAMESPACE) == [facts_table.IDENTIFIER]


@pytest.mark.parametrize("committed_as", ["rows", "the build's own file"])
def test_parallel_commits_of_a_backfill_lose_nothing_and_duplicate_nothing(
    empty_catalog: None,
    s3_server: S3Server,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    committed_as: str,
) -> None:
    """Each shop|day committed as rows (`replace_partition`, each its own commit) or, as the
    facts task does, as the file its build wrote (`commit_partition_file`: commits shared with
    the builds committing at the same time; no `dt` in the file, so the commit must still
    tell one day's file from another's)."""
    facts_table.ensure_table(open_catalog())
    partitions = [
        (shop, FIRST_DAY + timedelta(days=day), 10 + 3 * day + len(shop))
        for shop in ("hanoi", "saigon")
        for day in range(3)
    ]

    def commit(shop: str, day: date, count: int) -> ReplacedPartition:
        table = facts_table.ensure_table(open_catalog())
        rows = lines(shop, range(count))
        if committed_as == "rows":
            return replace_partition(table, shop, day, rows)
        path = tmp_path / f"{shop}-{day}-{threading.get_ident()}.parquet"
        pq.write_table(rows, path, compression="zstd")
        return commit_partition_file(s3_server.lake(), table, shop, day, path)

    with caplog.at_level(logging.WARNING):
        results = at_once([lambda p=p: commit(*p) for p in partitions])
        # A re-commit of one shop|day (a task's retry) replaces it: its count is unchanged.
        commit(*partitions[0])

    table = facts_table.ensure_table(open_catalog())
    for shop, day, count in partitions:
        rows = rows_of(table, shop, day)
        assert rows.num_rows == count, (shop, day)
        assert pc.count_distinct(rows.column("line_key")).as_py() == count, (shop, day)
    assert table.scan().to_arrow().num_rows == sum(count for _, _, count in partitions)
    assert [result.rows for result in results] == [count for _, _, count in partitions]
    # Other days' commits are no conflict: pyiceberg retries its catalog commit on the fresh
    # table, and no replace starts over (a replace does only when its own shop|day changed).
    assert [result.attempts for result in results] == [1] * len(partitions)
    print(f"{len(partitions)} parallel commits, {conflicts_retried(caplog)} conflict(s) retried")


def conflicts_retried(caplog: pytest.LogCaptureFixture) -> int:
    """pyiceberg's retries of a commit that lost the race, as it logs them."""
    return sum("Commit failed due to a concurrent update" in r.message for r in caplog.records)


def test_a_commit_on_stale_metadata_is_retried_on_the_fresh_table(
    empty_catalog: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Task A loaded the table, task B committed another partition since: A's commit fails its
    catalog check once, then lands on top of B's."""
    stale = facts_table.ensure_table(open_catalog())
    replace_partition(
        facts_table.ensure_table(open_catalog()), "saigon", FIRST_DAY, lines("saigon", range(4))
    )

    with caplog.at_level(logging.WARNING):
        replace_partition(stale, "hanoi", FIRST_DAY, lines("hanoi", range(6)))

    assert conflicts_retried(caplog) == 1
    table = facts_table.ensure_table(open_catalog())
    assert rows_of(table, "saigon", FIRST_DAY).num_rows == 4
    assert rows_of(table, "hanoi", FIRST_DAY).num_rows == 6
    assert len(table.history()) == 2, "B's commit, then A's"


def test_two_commits_of_the_same_partition_leave_one_writers_rows(empty_catalog: None) -> None:
    """Task A loaded the table, task B replaced the same shop|day since: A's replace does not
    add its rows beside B's; it runs again on the fresh table and replaces B's."""
    stale = facts_table.ensure_table(open_catalog())
    replace_partition(
        facts_table.ensure_table(open_catalog()), "hanoi", FIRST_DAY, lines("hanoi", range(4))
    )

    replaced = replace_partition(stale, "hanoi", FIRST_DAY, lines("hanoi", range(50, 56)))

    rows = rows_of(facts_table.ensure_table(open_catalog()), "hanoi", FIRST_DAY)
    assert sorted(rows.column("line_id").to_pylist()) == list(range(50, 56))
    assert replaced.attempts == 2

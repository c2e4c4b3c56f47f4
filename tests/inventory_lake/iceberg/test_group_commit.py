"""Facts builds committing at the same time share their commits (`group_commit`), on the real
moto_server and the PostgreSQL catalog: every shop|day lands once, with its own rows, whatever
dies in between."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from devtools.airflow_rest import wait_until
from include.inventory_lake.iceberg import facts_table, group_commit
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.group_commit import (
    CommitQueue,
    CommitRequestLost,
    commit_partition_file,
    settled,
)
from include.inventory_lake.iceberg.replace import ReplacedPartition, stage_partition_file
from include.inventory_lake.iceberg.snapshot_summary import replaced_partitions
from include.inventory_lake.settings import ICEBERG_COMMIT_REQUESTS_PATH
from tests.inventory_lake.iceberg.test_facts_table import lines, rows_of
from tests.servers import S3Server

FIRST_DAY = date(2026, 2, 1)
TABLE = f"{facts_table.NAMESPACE}.{facts_table.TABLE_NAME}"


@pytest.fixture()
def table(airflow_connections: Any, s3_server: S3Server) -> Iterator[Any]:
    s3_server.empty_bucket()
    yield facts_table.ensure_table(open_catalog())
    s3_server.empty_bucket()


def partition_file(tmp_path: Path, shop: str, ids: range, name: str = "") -> Path:
    path = tmp_path / f"{shop}-{ids.start}-{ids.stop}{name}.parquet"
    pq.write_table(lines(shop, ids), path)
    return path


def summaries(table: Any) -> list[dict[str, Any]]:
    """Each snapshot's shop|days, oldest first."""
    table.refresh()
    ordered = sorted(table.metadata.snapshots, key=lambda s: s.sequence_number)
    return [replaced_partitions(dict(s.summary.additional_properties)) for s in ordered]


def queued(s3_server: S3Server) -> list[str]:
    return s3_server.keys(f"{ICEBERG_COMMIT_REQUESTS_PATH}/{TABLE}/requests/")


def hold_lock(s3_server: S3Server, expires_in_s: float) -> str:
    """Another build's lease on the commit lock; its key."""
    key = f"{ICEBERG_COMMIT_REQUESTS_PATH}/{TABLE}/lock.json"
    lease = {"owner": "another-build", "expires_at": time.time() + expires_in_s}
    s3_server.client().put_object(Bucket=s3_server.bucket, Key=key, Body=json.dumps(lease))
    return key


def test_builds_waiting_together_are_committed_in_one_snapshot(
    table: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    """Six builds finish while another build holds the lock: once it lets go, one of them
    commits all six in one snapshot, each shop|day with its own rows and run."""
    lock = hold_lock(s3_server, expires_in_s=600)
    partitions = [
        (shop, FIRST_DAY + timedelta(days=day), 5 + day + len(shop))
        for shop in ("hanoi", "saigon")
        for day in range(3)
    ]

    def build(shop: str, day: date, count: int) -> ReplacedPartition:
        own_table = facts_table.ensure_table(open_catalog())  # each task opens its own
        path = partition_file(tmp_path, shop, range(count), str(day))
        run_id = f"backfill__{day}"
        return commit_partition_file(s3_server.lake(), own_table, shop, day, path, run_id=run_id)

    with ThreadPoolExecutor(len(partitions)) as pool:
        futures = [pool.submit(build, *partition) for partition in partitions]
        wait_until("six requests waiting", lambda: len(queued(s3_server)) == 6, 60, 0.05)
        assert not any(future.done() for future in futures)
        s3_server.client().delete_object(Bucket=s3_server.bucket, Key=lock)
        results = [future.result(timeout=120) for future in futures]

    assert len({result.snapshot_id for result in results}) == 1
    [named] = summaries(table)
    assert {key: (p.rows, p.run_id) for key, p in named.items()} == {
        f"{shop}|{day}": (count, f"backfill__{day}") for shop, day, count in partitions
    }
    for shop, day, count in partitions:
        rows = rows_of(table, shop, day)
        assert pc.count_distinct(rows.column("line_key")).as_py() == rows.num_rows == count
    assert queued(s3_server) == []
    assert [result.attempts for result in results] == [1] * 6


def test_a_request_already_committed_is_not_committed_again(
    table: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    """A holder died after its commit, before deleting the request: the next holder finds the
    request named by a snapshot and drops it, so the newer rows of that shop|day stay."""
    day = FIRST_DAY
    lake = s3_server.lake()
    first = commit_partition_file(
        lake, table, "hanoi", day, partition_file(tmp_path, "hanoi", range(3))
    )
    assert queued(s3_server) == []
    # The request as it was before its commit, back in the queue (the holder's deletes lost).
    queue = CommitQueue(lake, TABLE)
    request_id = summaries(table)[-1]["hanoi|2026-02-01"].request
    staged = stage_partition_file(
        table, "hanoi", day, partition_file(tmp_path, "hanoi", range(3), "b")
    )
    lake.put_state(
        f"{ICEBERG_COMMIT_REQUESTS_PATH}/{TABLE}/requests/00000000000000000001-{request_id}.json",
        {"request": request_id, "run_id": None, "file": staged.to_json()},
    )
    newer = commit_partition_file(
        lake, table, "hanoi", day, partition_file(tmp_path, "hanoi", range(10, 17))
    )

    assert sorted(rows_of(table, "hanoi", day).column("line_id").to_pylist()) == list(range(10, 17))
    assert newer.snapshot_id != first.snapshot_id
    assert [set(named) for named in summaries(table)] == [{"hanoi|2026-02-01"}] * 2
    assert queue.waiting() == []


def test_a_request_left_by_a_build_that_died_is_committed_by_the_next(
    table: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    lake = s3_server.lake()
    orphan = stage_partition_file(
        table, "saigon", FIRST_DAY, partition_file(tmp_path, "saigon", range(4))
    )
    CommitQueue(lake, TABLE).submit(orphan, "run-that-died")  # then the task was killed

    commit_partition_file(
        lake, table, "hanoi", FIRST_DAY, partition_file(tmp_path, "hanoi", range(2)), run_id="r2"
    )

    assert rows_of(table, "saigon", FIRST_DAY).num_rows == 4
    assert rows_of(table, "hanoi", FIRST_DAY).num_rows == 2
    [named] = summaries(table)
    assert {key: p.run_id for key, p in named.items()} == {
        "saigon|2026-02-01": "run-that-died",
        "hanoi|2026-02-01": "r2",
    }


def test_two_builds_of_one_shop_day_waiting_together_leave_the_newer(
    table: Any, s3_server: S3Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A task and its retry both waiting: the newer request is committed, the older is named
    superseded in the same snapshot, its file deleted, and its build told so."""
    lake = s3_server.lake()
    queue = CommitQueue(lake, TABLE)
    older_file = stage_partition_file(
        table, "hanoi", FIRST_DAY, partition_file(tmp_path, "hanoi", range(5))
    )
    older = queue.submit(older_file, "try-1")
    with caplog.at_level(logging.WARNING, logger=group_commit.__name__):
        newer = commit_partition_file(
            lake, table, "hanoi", FIRST_DAY, partition_file(tmp_path, "hanoi", range(20, 23)),
            run_id="try-2",
        )  # fmt: skip
        told = settled(table, older)

    assert sorted(rows_of(table, "hanoi", FIRST_DAY).column("line_id").to_pylist()) == [20, 21, 22]
    [named] = summaries(table)
    assert named["hanoi|2026-02-01"].superseded == (older.request_id,)
    assert told.snapshot_id == newer.snapshot_id and told.rows == 3
    assert "superseded by a newer build of the same shop|day (run try-2)" in caplog.text
    assert older_file.path is not None and not table.io.new_input(older_file.path).exists()


def test_a_lock_whose_holder_died_is_taken_over_once_its_lease_ran_out(
    table: Any, s3_server: S3Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hold_lock(s3_server, expires_in_s=-1)
    with caplog.at_level(logging.WARNING, logger=group_commit.__name__):
        replaced = commit_partition_file(
            s3_server.lake(), table, "hanoi", FIRST_DAY, partition_file(tmp_path, "hanoi", range(3))
        )
    assert replaced.rows == 3 == rows_of(table, "hanoi", FIRST_DAY).num_rows
    assert "expired (holder {'owner': 'another-build'" in caplog.text
    assert s3_server.keys(f"{ICEBERG_COMMIT_REQUESTS_PATH}/") == []


def test_an_unreadable_lock_is_taken_over(table: Any, s3_server: S3Server, tmp_path: Path) -> None:
    key = hold_lock(s3_server, expires_in_s=600)
    s3_server.client().put_object(Bucket=s3_server.bucket, Key=key, Body=b"\x00 not a lease")
    replaced = commit_partition_file(
        s3_server.lake(), table, "hanoi", FIRST_DAY, partition_file(tmp_path, "hanoi", range(3))
    )
    assert replaced.rows == 3 == rows_of(table, "hanoi", FIRST_DAY).num_rows
    assert s3_server.keys(f"{ICEBERG_COMMIT_REQUESTS_PATH}/") == []


def test_an_unreadable_request_is_dropped_and_its_build_told_the_table_is_unchanged(
    table: Any, s3_server: S3Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = s3_server.lake()
    staged = stage_partition_file(
        table, "saigon", FIRST_DAY, partition_file(tmp_path, "saigon", range(4))
    )
    broken = CommitQueue(lake, TABLE).submit(staged, "r1")
    s3_server.client().put_object(Bucket=s3_server.bucket, Key=broken.key, Body=b"{not json")

    with caplog.at_level(logging.ERROR, logger=group_commit.__name__):
        commit_partition_file(
            lake, table, "hanoi", FIRST_DAY, partition_file(tmp_path, "hanoi", range(2))
        )
        with pytest.raises(CommitRequestLost, match="the table is unchanged for this build"):
            settled(table, broken)

    assert f"commit request {broken.key} cannot be read" in caplog.text
    assert rows_of(table, "saigon", FIRST_DAY).num_rows == 0
    assert rows_of(table, "hanoi", FIRST_DAY).num_rows == 2
    assert queued(s3_server) == []


def test_a_build_waiting_on_a_held_lock_gives_up_with_its_request_kept(
    table: Any, s3_server: S3Server, tmp_path: Path
) -> None:
    """A lock that is never let go (a stuck holder within its lease): the build fails after
    its wait limit, saying what it waited for; its request stays for the next holder."""
    hold_lock(s3_server, expires_in_s=600)
    with pytest.raises(
        TimeoutError, match=r"waited 0\.5 s for the table's commit lock; its request"
    ):
        commit_partition_file(
            s3_server.lake(), table, "hanoi", FIRST_DAY,
            partition_file(tmp_path, "hanoi", range(2)), wait_limit_s=0.5,
        )  # fmt: skip
    assert len(queued(s3_server)) == 1
    assert rows_of(table, "hanoi", FIRST_DAY).num_rows == 0


def lake_copy_of(s3_server: S3Server, path: Path, key: str) -> str:
    """`path` as the lake's 2.0 partition file, as the facts build uploads it; its URI."""
    s3_server.client().upload_file(str(path), s3_server.bucket, key)
    return f"s3://{s3_server.bucket}/{key}"


def test_the_lakes_copy_of_the_file_is_copied_inside_the_store(
    table: Any, s3_server: S3Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = partition_file(tmp_path, "hanoi", range(6))
    source = lake_copy_of(s3_server, path, "facts/x/shop=hanoi/dt=2026-02-01/part-00000.parquet")
    with caplog.at_level(logging.INFO, logger="include.inventory_lake.iceberg.replace"):
        staged = stage_partition_file(table, "hanoi", FIRST_DAY, path, source_uri=source)
    assert staged.path is not None
    with table.io.new_input(staged.path).open() as copied:
        assert copied.read() == path.read_bytes()
    assert "uploading" not in caplog.text


@pytest.mark.parametrize("source_is", ["replaced by a newer build", "out of the table's reach"])
def test_a_lake_copy_that_is_not_this_builds_file_is_not_used(
    table: Any,
    s3_server: S3Server,
    tmp_path: Path,
    source_is: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The copy inside the store is checked against the build's own file: a source another
    build replaced meanwhile (or one the table's storage cannot read) gives way to an upload
    of the build's own bytes."""
    path = partition_file(tmp_path, "hanoi", range(6))
    key = "facts/x/shop=hanoi/dt=2026-02-01/part-00000.parquet"
    if source_is == "replaced by a newer build":
        source = lake_copy_of(s3_server, partition_file(tmp_path, "hanoi", range(50, 59)), key)
        said = "changed since this build wrote it: uploading the build's own"
    else:
        source, said = f"s3://{s3_server.bucket}/no/such/file.parquet", "uploading it"

    with caplog.at_level(logging.INFO, logger="include.inventory_lake.iceberg.replace"):
        replaced = commit_partition_file(
            s3_server.lake(), table, "hanoi", FIRST_DAY, path, source_uri=source
        )

    assert replaced.rows == 6
    assert sorted(rows_of(table, "hanoi", FIRST_DAY).column("line_id").to_pylist()) == list(
        range(6)
    )
    assert said in caplog.text
    data_files = [k for k in s3_server.keys("iceberg/") if k.endswith(".parquet")]
    assert len(data_files) == 1, "the rejected copy is deleted"

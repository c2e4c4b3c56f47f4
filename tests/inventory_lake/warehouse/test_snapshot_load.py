"""The warehouse load from the facts table (warehouse/load.py `load_table`), on the session's
SQL catalog and S3 server: the first load reads everything, a rerun reads nothing, a replace
of one partition reads exactly that partition's rows, a line gone from the table disappears
from the warehouse (or takes its version from another day), an expired snapshot falls back to
a full reload, and the warehouse always equals the table's current-state query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.inventory_lake.iceberg import facts_table
from include.inventory_lake.iceberg.catalog import open_catalog
from include.inventory_lake.iceberg.group_commit import CommitQueue, hold_and_commit
from include.inventory_lake.iceberg.replace import replace_partition, stage_partition_file
from include.inventory_lake.lake.location import ShopDay
from include.inventory_lake.schemas import facts
from include.inventory_lake.warehouse.duckdb_merge import (
    LOADS_TABLE,
    SNAPSHOT_LOADS_TABLE,
    TABLE,
    connect,
)
from include.inventory_lake.warehouse.load import FactsTableMissing, load_table
from include.inventory_lake.warehouse.load import facts_table as load_facts_table
from tests.servers import S3Server

DAY = date(2026, 1, 10)
DAYS = [DAY + timedelta(days=n) for n in range(3)]
SHOPS = ["hanoi", "saigon"]


def lines(shop: str, day: date, items: dict[int, tuple[int, int]]) -> pa.Table:
    """Stocky facts rows: item -> (hour updated on `day`, quantity)."""
    return pa.Table.from_pylist(
        [
            {
                "shop": shop,
                "source": "stocky",
                "line_key": f"stocky:{item}",
                "line_id": item,
                "quantity": quantity,
                "cost_amount": Decimal("2.50"),
                "updated_at": datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
                "adjustment_missing": False,
            }
            for item, (hour, quantity) in items.items()
        ],
        schema=facts.LINES,
    )


def day_items(day: date) -> dict[int, tuple[int, int]]:
    """Three lines of their own per day."""
    base = DAYS.index(day) * 10
    return {base + i: (8, i + 1) for i in range(3)}


@pytest.fixture()
def table(airflow_connections: Any, s3_server: S3Server) -> Iterator[Any]:
    s3_server.empty_bucket()
    table = facts_table.ensure_table(open_catalog())
    for shop in SHOPS:
        for day in DAYS:
            replace_partition(table, shop, day, lines(shop, day, day_items(day)))
    yield table
    s3_server.empty_bucket()


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(tmp_path / "warehouse.duckdb") as connection:
        yield connection


def warehouse(db: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = db.execute(
        f"SELECT shop, line_key, dt, updated_at, quantity FROM {TABLE} ORDER BY ALL"
    ).fetchall()
    return {(shop, key): (dt, updated, quantity) for shop, key, dt, updated, quantity in rows}


def current_state(table: Any) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The contract's current-state query, run on the whole table."""
    table.refresh()
    connection = table.scan().to_duckdb("lines")
    rows = connection.execute(
        """
        SELECT shop, line_key, dt, updated_at, quantity FROM lines
        QUALIFY row_number() OVER (
            PARTITION BY shop, line_key ORDER BY updated_at DESC, dt DESC) = 1
        """
    ).fetchall()
    return {(shop, key): (dt, updated, quantity) for shop, key, dt, updated, quantity in rows}


def test_first_load_reads_everything_and_a_rerun_reads_no_data_file(
    table: Any, db: duckdb.DuckDBPyConnection
) -> None:
    first = load_table(db, table)
    assert first.mode == "full" and first.reason == "no snapshot loaded yet"
    assert (first.rows_read, first.data_files_read, first.inserted) == (18, 6, 18)
    assert first.snapshot_id == table.current_snapshot().snapshot_id
    assert warehouse(db) == current_state(table)

    again = load_table(db, table)
    assert again.mode == "unchanged"
    assert (again.rows_read, again.data_files_read, again.partitions) == (0, 0, [])
    assert warehouse(db) == current_state(table)
    recorded = db.execute(
        f"SELECT mode, snapshot_id, data_files_read FROM {SNAPSHOT_LOADS_TABLE} ORDER BY rowid"
    ).fetchall()
    assert recorded == [("full", first.snapshot_id, 6), ("unchanged", first.snapshot_id, 0)]


def test_a_replaced_partition_is_the_only_one_read_and_its_removed_line_disappears(
    table: Any, db: duckdb.DuckDBPyConnection
) -> None:
    load_table(db, table)
    # hanoi's second day: line 10 updated, line 11 gone, line 12 as it was, line 13 new.
    replaced = {10: (20, -7), 12: (8, 3), 13: (9, 5)}
    replace_partition(table, "hanoi", DAYS[1], lines("hanoi", DAYS[1], replaced), run_id="r2")

    load = load_table(db, table)

    assert load.mode == "incremental"
    assert [(p.shop, p.dt) for p in load.partitions] == [("hanoi", DAYS[1])]
    assert (load.rows_read, load.data_files_read) == (3, 1)
    assert load.rows_read / sum(p.rows for p in load.partitions) == 1.0
    [partition] = load.partitions
    assert (partition.inserted, partition.updated, partition.deleted) == (1, 2, 1)
    rows = warehouse(db)
    assert ("hanoi", "stocky:11") not in rows
    assert ("saigon", "stocky:11") in rows, "the other shop's line of the same key stays"
    assert rows["hanoi", "stocky:10"][2] == -7
    assert rows == current_state(table)
    # The lookup of the removed line found no version anywhere: one shop's files, no more.
    assert load.deleted == 1 and load.restored == 0
    assert load.lookup_data_files_read <= len(DAYS)
    loads = db.execute(
        f"SELECT shop, dt, rows, inserted, updated, deleted, facts_run_id FROM {LOADS_TABLE} "
        "WHERE snapshot_id = $snapshot",
        {"snapshot": load.snapshot_id},
    ).fetchall()
    assert loads == [("hanoi", DAYS[1], 3, 1, 2, 1, "r2")]

    rerun = load_table(db, table)
    assert (rerun.mode, rerun.rows_read, rerun.data_files_read) == ("unchanged", 0, 0)


def test_a_shared_commit_loads_each_partition_with_its_own_run(
    table: Any, db: duckdb.DuckDBPyConnection, s3_server: S3Server, tmp_path: Path
) -> None:
    """Two facts builds of two runs committed in one snapshot (`group_commit`): the load reads
    both partitions, and records each one's own facts run."""
    load_table(db, table)
    lake = s3_server.lake()
    queue = CommitQueue(lake, ".".join(table.name()))
    for shop, run in (("hanoi", "run-hanoi"), ("saigon", "run-saigon")):
        path = tmp_path / f"{shop}.parquet"
        pq.write_table(lines(shop, DAYS[2], {40: (9, 4)}), path)
        queue.submit(stage_partition_file(table, shop, DAYS[2], path), run)
    hold_and_commit(queue, table, "test")

    load = load_table(db, table)

    assert sorted((p.shop, p.dt) for p in load.partitions) == [
        ("hanoi", DAYS[2]),
        ("saigon", DAYS[2]),
    ]
    assert (load.rows_read, load.data_files_read) == (2, 2)
    loads = db.execute(
        f"SELECT shop, facts_run_id FROM {LOADS_TABLE} WHERE snapshot_id = $snapshot ORDER BY 1",
        {"snapshot": load.snapshot_id},
    ).fetchall()
    assert loads == [("hanoi", "run-hanoi"), ("saigon", "run-saigon")]
    assert warehouse(db) == current_state(table)


def test_a_line_gone_from_its_newest_day_takes_its_version_from_another_day(
    table: Any, db: duckdb.DuckDBPyConnection
) -> None:
    # Line 1 pending on the first day, performed on the second (a newer version there).
    replace_partition(table, "hanoi", DAYS[1], lines("hanoi", DAYS[1], {1: (3, 9), 10: (8, 1)}))
    load_table(db, table)
    assert warehouse(db)["hanoi", "stocky:1"] == (
        DAYS[1],
        datetime(2026, 1, 11, 3, tzinfo=UTC),
        9,
    )

    # The second day re-extracted without line 1: its newest version is the first day's.
    replace_partition(table, "hanoi", DAYS[1], lines("hanoi", DAYS[1], {10: (8, 1)}))
    load = load_table(db, table)

    assert warehouse(db)["hanoi", "stocky:1"][0] == DAYS[0]
    assert warehouse(db) == current_state(table)
    assert (load.restored, load.deleted) == (1, 0)
    assert load.rows_read == 1 and load.lookup_rows_read >= 1


def test_an_emptied_partition_deletes_its_lines(table: Any, db: duckdb.DuckDBPyConnection) -> None:
    load_table(db, table)
    replace_partition(table, "saigon", DAYS[2], lines("saigon", DAYS[2], {}))
    load = load_table(db, table)
    assert [(p.shop, p.dt, p.rows, p.deleted) for p in load.partitions] == [
        ("saigon", DAYS[2], 0, 3)
    ]
    assert (load.rows_read, load.data_files_read) == (0, 0)
    assert warehouse(db) == current_state(table)


def test_a_snapshot_expired_since_the_last_load_falls_back_to_a_full_reload(
    table: Any, db: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    first = load_table(db, table)
    replace_partition(table, "hanoi", DAYS[0], lines("hanoi", DAYS[0], {1: (9, 4)}))
    table.maintenance.expire_snapshots().by_ids([first.snapshot_id]).commit()
    # And a line the warehouse holds that the table no longer has anywhere.
    db.execute(
        f"INSERT INTO {TABLE} BY NAME SELECT 'hanoi' AS shop, 'stocky' AS source, "
        "'stocky:99' AS line_key, 99 AS line_id, TIMESTAMPTZ '2026-01-01 00:00:00+00' AS "
        "updated_at, false AS adjustment_missing, DATE '2026-01-01' AS dt, now() AS loaded_at"
    )

    with caplog.at_level("WARNING"):
        load = load_table(db, table)

    assert load.mode == "full" and f"snapshot {first.snapshot_id}" in load.reason
    assert "no longer in the history" in caplog.text and "reading the whole table" in caplog.text
    assert load.rows_read == 16
    assert warehouse(db) == current_state(table)
    assert ("hanoi", "stocky:99") not in warehouse(db)


def test_a_manual_reload_reads_the_partitions_it_names(
    table: Any, db: duckdb.DuckDBPyConnection
) -> None:
    load_table(db, table)
    db.execute(f"DELETE FROM {TABLE} WHERE shop = 'saigon' AND dt = $dt", {"dt": DAYS[0]})
    load = load_table(db, table, [ShopDay("saigon", DAYS[0])])
    assert (load.rows_read, load.data_files_read, load.inserted) == (3, 1, 3)
    assert warehouse(db) == current_state(table)


def test_no_table_yet_is_a_clear_error(airflow_connections: Any, s3_server: S3Server) -> None:
    s3_server.empty_bucket()
    with pytest.raises(FactsTableMissing, match=r"inventory_lake\.inventory_adjustment_lines"):
        load_facts_table(open_catalog())

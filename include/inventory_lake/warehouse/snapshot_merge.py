"""MERGE the changed partitions of the facts table into the DuckDB warehouse, so that the
warehouse holds, per (`shop`, `line_key`), the newest version of the line in the table's
snapshot (the contract's current-state rule: newest `updated_at`, then newest `dt`), and
nothing else.

The rows of the changed partitions are MERGEd with the contract's rule (a known key is
replaced only by a version at least as new). That alone is exact for every line whose
current version came from a partition that did not change. A line whose current version
came from a changed partition, and which that partition no longer holds at that version
(the line left the partition, or the rebuilt partition holds an older version), is *stale*:
its newest version now lives elsewhere or nowhere. Its versions anywhere in the table are
read (`lookup`; in a full load the rows at hand are the whole table), and the line takes the
newest, or is deleted when the table holds none. Stale lines are rare (a re-extracted day
that lost a line), so in the usual load nothing but the changed partitions is read.

One transaction: the MERGE, the stale lines, a row per partition in the loads table and the
snapshot reached in the snapshot loads table; a failure leaves the warehouse as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from include.inventory_lake.lake.location import ShopDay
from include.inventory_lake.warehouse.duckdb_merge import (
    LOADS_TABLE,
    SNAPSHOT_LOADS_TABLE,
    TABLE,
    merge_sql,
)

# Every version of the lines asked for (shop -> line keys), in any partition, with the data
# files read to find them.
Lookup = Callable[[dict[str, list[str]]], tuple[pa.Table, int]]

_NEWEST_PER_KEY = """
SELECT * FROM {source}
QUALIFY row_number() OVER (PARTITION BY shop, line_key ORDER BY updated_at DESC, dt DESC) = 1
"""


@dataclass(frozen=True)
class PartitionLoad:
    shop: str
    dt: date
    rows: int
    inserted: int
    updated: int
    deleted: int


@dataclass(frozen=True)
class SnapshotLoad:
    """What one load from the table did and read."""

    snapshot_id: int | None
    since_snapshot_id: int | None
    mode: str  # "full", "incremental", "unchanged"
    reason: str
    partitions: list[PartitionLoad]
    rows_read: int
    data_files_read: int
    lookup_rows_read: int = 0
    lookup_data_files_read: int = 0
    restored: int = 0
    deleted: int = 0

    @property
    def inserted(self) -> int:
        return sum(p.inserted for p in self.partitions)

    @property
    def updated(self) -> int:
        return sum(p.updated for p in self.partitions)


def last_loaded_snapshot(connection: duckdb.DuckDBPyConnection) -> int | None:
    """The snapshot of the facts table the warehouse last reached; None: never loaded from
    the table."""
    row = connection.execute(
        f"SELECT snapshot_id FROM {SNAPSHOT_LOADS_TABLE} "
        "ORDER BY loaded_at DESC, rowid DESC LIMIT 1"
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def merge_snapshot(
    connection: duckdb.DuckDBPyConnection,
    staged: pa.Table,
    partitions: Iterable[ShopDay] | None,
    lookup: Lookup,
    *,
    snapshot_id: int | None,
    since_snapshot_id: int | None,
    mode: str,
    reason: str = "",
    data_files_read: int = 0,
    source_uri: str = "",
    run_ids: Mapping[ShopDay, str] | None = None,
) -> SnapshotLoad:
    """Make the warehouse the table's current state for `partitions` (None: for the whole
    table, `staged` being all of it), from `staged`, their rows at `snapshot_id`."""
    changed = None if partitions is None else sorted(set(partitions))
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.register("staged_rows", staged)
        connection.register("changed_partitions", changed_table(changed or []))
        merged = merge_counts(connection)
        stale = stale_keys(connection, changed is None)
        restored, deleted_per_partition, lookup_rows, lookup_files = resolve_stale(
            connection, stale, lookup if changed is not None else None
        )
        loads = partition_loads(connection, changed, merged, deleted_per_partition)
        for load in loads:
            record_partition(connection, load, source_uri, snapshot_id, run_ids or {})
        result = SnapshotLoad(
            snapshot_id=snapshot_id,
            since_snapshot_id=since_snapshot_id,
            mode=mode,
            reason=reason,
            partitions=loads,
            rows_read=staged.num_rows,
            data_files_read=data_files_read,
            lookup_rows_read=lookup_rows,
            lookup_data_files_read=lookup_files,
            restored=restored,
            deleted=sum(deleted_per_partition.values()),
        )
        record_snapshot(connection, result)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    finally:
        connection.unregister("staged_rows")
        connection.unregister("changed_partitions")
    return result


def changed_table(partitions: list[ShopDay]) -> pa.Table:
    return pa.table(
        {
            "shop": pa.array([p.shop for p in partitions], pa.string()),
            "dt": pa.array([p.dt for p in partitions], pa.date32()),
        }
    )


def merge_counts(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, date, str], int]:
    """MERGE the newest staged row per key; (shop, dt, action) -> rows."""
    counts: dict[tuple[str, date, str], int] = {}
    sql = merge_sql(_NEWEST_PER_KEY.format(source="staged_rows"))
    for action, shop, dt in connection.execute(sql).fetchall():
        counts[shop, dt, action] = counts.get((shop, dt, action), 0) + 1
    return counts


def stale_keys(connection: duckdb.DuckDBPyConnection, whole_table: bool) -> pa.Table:
    """Warehouse lines from a changed partition (any, in a full load) whose version the
    staged rows of that partition no longer hold: (shop, line_key, dt)."""
    scope = (
        ""
        if whole_table
        else "AND (current.shop, current.dt) IN (SELECT shop, dt FROM changed_partitions)"
    )
    return connection.sql(
        f"""
        SELECT current.shop, current.line_key, current.dt FROM {TABLE} AS current
        WHERE TRUE {scope}
        AND NOT EXISTS (
            SELECT 1 FROM staged_rows AS s
            WHERE s.shop = current.shop AND s.line_key = current.line_key
            AND s.dt = current.dt AND s.updated_at = current.updated_at
        )
        """
    ).to_arrow_table()


def resolve_stale(
    connection: duckdb.DuckDBPyConnection, stale: pa.Table, lookup: Lookup | None
) -> tuple[int, dict[tuple[str, date], int], int, int]:
    """Give each stale line its newest version in the table, or delete it. Returns the lines
    restored, the lines deleted per partition they were in, and the rows and data files the
    lookup read."""
    if not stale.num_rows:
        return 0, {}, 0, 0
    lookup_rows, lookup_files = 0, 0
    if lookup is None:
        source = "staged_rows"
    else:
        keys: dict[str, list[str]] = {}
        for shop, line_key in zip(
            stale.column("shop").to_pylist(), stale.column("line_key").to_pylist(), strict=True
        ):
            keys.setdefault(shop, []).append(line_key)
        versions, lookup_files = lookup(keys)
        lookup_rows = versions.num_rows
        connection.register("line_versions", versions)
        source = "line_versions"
    connection.register("stale_lines", stale)
    try:
        connection.execute(
            f"DELETE FROM {TABLE} AS current USING stale_lines AS stale "
            "WHERE current.shop = stale.shop AND current.line_key = stale.line_key"
        )
        restored = connection.execute(
            f"""
            INSERT INTO {TABLE} BY NAME
            SELECT newest.* EXCLUDE (n), now() AS loaded_at FROM (
                SELECT v.*, row_number() OVER (
                    PARTITION BY v.shop, v.line_key ORDER BY v.updated_at DESC, v.dt DESC
                ) AS n
                FROM {source} AS v
                SEMI JOIN stale_lines AS stale
                    ON v.shop = stale.shop AND v.line_key = stale.line_key
            ) AS newest
            WHERE n = 1
            """
        ).fetchone()
        gone = connection.execute(
            f"""
            SELECT stale.shop, stale.dt, count(*) FROM stale_lines AS stale
            ANTI JOIN {TABLE} AS current
                ON current.shop = stale.shop AND current.line_key = stale.line_key
            GROUP BY ALL
            """
        ).fetchall()
    finally:
        connection.unregister("stale_lines")
        if lookup is not None:
            connection.unregister("line_versions")
    return (
        int(restored[0]) if restored else 0,
        {(shop, dt): int(count) for shop, dt, count in gone},
        lookup_rows,
        lookup_files,
    )


def partition_loads(
    connection: duckdb.DuckDBPyConnection,
    changed: list[ShopDay] | None,
    merged: dict[tuple[str, date, str], int],
    deleted: dict[tuple[str, date], int],
) -> list[PartitionLoad]:
    """One entry per partition loaded: the changed ones, or in a full load every partition
    with rows or deletions."""
    rows = dict(
        ((shop, dt), int(count))
        for shop, dt, count in connection.execute(
            "SELECT shop, dt, count(*) FROM staged_rows GROUP BY ALL"
        ).fetchall()
    )
    if changed is None:
        keys = sorted(set(rows) | set(deleted) | {(s, d) for s, d, _ in merged})
    else:
        keys = [(p.shop, p.dt) for p in changed]
    return [
        PartitionLoad(
            shop=shop,
            dt=dt,
            rows=rows.get((shop, dt), 0),
            inserted=merged.get((shop, dt, "INSERT"), 0),
            updated=merged.get((shop, dt, "UPDATE"), 0),
            deleted=deleted.get((shop, dt), 0),
        )
        for shop, dt in keys
    ]


def record_partition(
    connection: duckdb.DuckDBPyConnection,
    load: PartitionLoad,
    source_uri: str,
    snapshot_id: int | None,
    run_ids: Mapping[ShopDay, str],
) -> None:
    partition = ShopDay(load.shop, load.dt)
    connection.execute(
        f"INSERT INTO {LOADS_TABLE} BY NAME SELECT $shop AS shop, $dt AS dt, $uri AS uri, "
        "$rows AS rows, $ins AS inserted, $upd AS updated, $del AS deleted, "
        "$run AS facts_run_id, $snapshot AS snapshot_id, now() AS loaded_at",
        {
            "shop": load.shop,
            "dt": load.dt,
            "uri": f"{source_uri}#{partition.key}",
            "rows": load.rows,
            "ins": load.inserted,
            "upd": load.updated,
            "del": load.deleted,
            "run": run_ids.get(partition),
            "snapshot": snapshot_id,
        },
    )


def record_snapshot(connection: duckdb.DuckDBPyConnection, load: SnapshotLoad) -> None:
    connection.execute(
        f"INSERT INTO {SNAPSHOT_LOADS_TABLE} BY NAME SELECT $snapshot AS snapshot_id, "
        "$since AS since_snapshot_id, $mode AS mode, $reason AS reason, "
        "$partitions AS partitions, $rows AS rows_read, $files AS data_files_read, "
        "$lookup_rows AS lookup_rows_read, $lookup_files AS lookup_data_files_read, "
        "$ins AS inserted, $upd AS updated, $del AS deleted, now() AS loaded_at",
        {
            "snapshot": load.snapshot_id,
            "since": load.since_snapshot_id,
            "mode": load.mode,
            "reason": load.reason or None,
            "partitions": len(load.partitions),
            "rows": load.rows_read,
            "files": load.data_files_read,
            "lookup_rows": load.lookup_rows_read,
            "lookup_files": load.lookup_data_files_read,
            "ins": load.inserted,
            "upd": load.updated,
            "del": load.deleted,
        },
    )

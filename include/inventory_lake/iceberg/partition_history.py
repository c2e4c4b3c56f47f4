"""Which snapshot last replaced each shop|day of the facts table, from the snapshot summaries
its replaces write (`snapshot_summary`: one snapshot may name several shop|days).

Only the snapshots the table still keeps are known: once the maintenance has expired the one
that replaced a shop|day, `live_partition_rows` still says how many rows it has, and
`oldest_snapshot_ms` bounds when they were committed (before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from include.inventory_lake.iceberg.facts_table import DT_COLUMN, SHOP_COLUMN
from include.inventory_lake.iceberg.snapshot_summary import (
    partition_key,
    partition_view,
    replaced_partitions,
    summary_of,
)

if TYPE_CHECKING:
    from pyiceberg.table import Table


@dataclass(frozen=True)
class PartitionReplace:
    """One snapshot that replaced a shop|day: its id, when, and its summary properties as
    that shop|day sees them (`snapshot_summary.partition_view`)."""

    snapshot_id: int
    timestamp_ms: int
    properties: dict[str, str]


def _ancestors(table: Table) -> list[tuple[int, int, dict[str, str]]]:
    """The current snapshot and its ancestors, newest first: id, when, summary properties."""
    from pyiceberg.table.snapshots import ancestors_of

    return [
        (snapshot.snapshot_id, snapshot.timestamp_ms, summary_of(snapshot))
        for snapshot in ancestors_of(table.current_snapshot(), table.metadata)
    ]


def latest_replaces(table: Table) -> dict[str, PartitionReplace]:
    """The newest replace of each shop|day (by partition key) among the kept snapshots."""
    latest: dict[str, PartitionReplace] = {}
    for snapshot_id, timestamp_ms, properties in _ancestors(table):
        for key in replaced_partitions(properties):
            if key not in latest:
                view = partition_view(properties, key)
                latest[key] = PartitionReplace(snapshot_id, timestamp_ms, view)
    return latest


def latest_replace(table: Table, shop: str, dt: date) -> PartitionReplace | None:
    """The newest kept snapshot that replaced `shop`|`dt`, or None."""
    key = partition_key(shop, dt)
    for snapshot_id, timestamp_ms, properties in _ancestors(table):
        if key in replaced_partitions(properties):
            return PartitionReplace(snapshot_id, timestamp_ms, partition_view(properties, key))
    return None


def oldest_snapshot_ms(table: Table) -> int | None:
    """When the oldest kept snapshot of the current history was committed (None: no snapshot)."""
    ancestors = _ancestors(table)
    return ancestors[-1][1] if ancestors else None


def live_partition_rows(table: Table) -> dict[str, int]:
    """The rows of every shop|day that has rows in the current snapshot, by partition key
    (read from the manifests: one pass over them)."""
    if table.current_snapshot() is None:
        return {}
    partitions = table.inspect.partitions()
    return {
        partition_key(str(value[SHOP_COLUMN]), value[DT_COLUMN]): int(rows)
        for value, rows in zip(
            partitions.column("partition").to_pylist(),
            partitions.column("record_count").to_pylist(),
            strict=True,
        )
        if rows
    }

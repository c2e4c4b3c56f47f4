"""Which partitions of the facts table changed since a snapshot, from the table's metadata only
(no data file is read).

The snapshots after `since` are the ancestors of the current snapshot back to it. Each one's
own manifests (those it added: `added_snapshot_id` is the snapshot) list the data files it
added and deleted, each with its partition (`shop`, `dt`): those are the partitions it
changed. This holds for any writer, not only this project's replaces (whose summaries name
their shop|days too, `snapshot_summary`, but a hand-made delete or another engine's commit
need not). A `replace` snapshot (a compaction:
the same rows in other files) changes no row and is skipped without reading its manifests.

`since` no longer in the current snapshot's ancestry (expired by the table's maintenance, or
the table rolled back past it) means the changes since then are unknown: the answer is a full
read (`Changes.full`), with the reason, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from include.inventory_lake.iceberg.facts_table import DT_COLUMN, SHOP_COLUMN
from include.inventory_lake.iceberg.snapshot_summary import (
    RUN_ID_PROPERTY,
    partition_key,
    replaced_partitions,
    summary_of,
)
from include.inventory_lake.lake.location import ShopDay

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Changes:
    """What a reader at snapshot `since` must read to reach `snapshot_id`.

    `full`: everything (no `since`, or it is no longer in the table's history: `reason`);
    else exactly `partitions`. `snapshot_id` None: the table has no snapshot yet."""

    snapshot_id: int | None
    since: int | None
    full: bool
    partitions: frozenset[ShopDay] = frozenset()
    snapshots: int = 0
    manifests_read: int = 0
    reason: str = ""
    # The Airflow run of each partition's newest change, where the writer recorded one (in
    # the snapshot summary, `snapshot_summary`).
    run_ids: dict[ShopDay, str] = field(default_factory=dict)

    @property
    def nothing_new(self) -> bool:
        return not self.full and not self.partitions


def changes_since(table: Table, since: int | None) -> Changes:
    """The partitions changed between snapshot `since` and the table's current snapshot."""
    current = table.current_snapshot()
    if current is None:
        return Changes(snapshot_id=None, since=since, full=False, reason="the table is empty")
    if since is None:
        return Changes(current.snapshot_id, since, full=True, reason="no snapshot loaded yet")
    if since == current.snapshot_id:
        return Changes(current.snapshot_id, since, full=False)
    newer = snapshots_after(table, current, since)
    if newer is None:
        return Changes(
            current.snapshot_id,
            since,
            full=True,
            reason=(
                f"snapshot {since} is no longer in the history of snapshot "
                f"{current.snapshot_id} (expired by the table's maintenance, or rolled back)"
            ),
        )
    partitions: set[ShopDay] = set()
    run_ids: dict[ShopDay, str] = {}
    manifests_read = 0
    # Oldest first, so the newest change of a partition names its run.
    for snapshot in reversed(newer):
        if rewrites_only(snapshot):
            continue
        changed, read = snapshot_partitions(table, snapshot)
        manifests_read += read
        partitions |= changed
        properties = summary_of(snapshot)
        named = replaced_partitions(properties)
        for partition in changed:
            summary = named.get(partition_key(partition.shop, partition.dt))
            run_id = summary.run_id if summary is not None else properties.get(RUN_ID_PROPERTY)
            if run_id:
                run_ids[partition] = run_id
            else:
                run_ids.pop(partition, None)
    return Changes(
        current.snapshot_id,
        since,
        full=False,
        partitions=frozenset(partitions),
        snapshots=len(newer),
        manifests_read=manifests_read,
        run_ids=run_ids,
    )


def rewrites_only(snapshot: Snapshot) -> bool:
    """A `replace` snapshot (compaction): the same rows in other files."""
    from pyiceberg.table.snapshots import Operation

    return snapshot.summary is not None and snapshot.summary.operation == Operation.REPLACE


def snapshots_after(table: Table, current: Snapshot, since: int) -> list[Snapshot] | None:
    """The snapshots from `current` back to `since` (excluded), newest first; None when the
    chain of parents ends (an expired snapshot) before reaching `since`."""
    from pyiceberg.table.snapshots import ancestors_of

    newer: list[Snapshot] = []
    for snapshot in ancestors_of(current, table.metadata):
        if snapshot.snapshot_id == since:
            return newer
        newer.append(snapshot)
    return None


def snapshot_partitions(table: Table, snapshot: Snapshot) -> tuple[set[ShopDay], int]:
    """The partitions of the data files `snapshot` added or deleted, and the manifests read."""
    from pyiceberg.manifest import ManifestEntryStatus

    spec_fields = {
        spec_id: [partition_field.name for partition_field in spec.fields]
        for spec_id, spec in table.specs().items()
    }
    changed: set[ShopDay] = set()
    read = 0
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        read += 1
        names = spec_fields[manifest.partition_spec_id]
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
            if entry.status == ManifestEntryStatus.EXISTING:
                continue
            partition = entry.data_file.partition
            values = {name: partition[index] for index, name in enumerate(names)}
            changed.add(ShopDay(str(values[SHOP_COLUMN]), partition_day(values[DT_COLUMN])))
    return changed, read


def partition_day(value: object) -> date:
    """A `dt` partition value: Iceberg stores a date as days since 1970-01-01."""
    if isinstance(value, date):
        return value
    if isinstance(value, int):
        return _EPOCH + timedelta(days=value)
    raise TypeError(f"not a dt partition value: {value!r}")

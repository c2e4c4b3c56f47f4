"""The facts table's latest commits as the page shows them: when, which shop|day, rows added
and removed, which run.

Read from the table's metadata through the `iceberg_default` catalog (one catalog call, one
metadata file read; no manifest or data file). A replace (`iceberg/replace.py`) is one commit
of two snapshots, a delete of the partitions' old files and an append of the new rows, both
naming the same shop|days and runs in their summaries (`snapshot_summary`): the page shows
them as one commit. One commit may replace several shop|days (facts builds running at once
share a commit, `iceberg/group_commit.py`). Any other snapshot (the first append of a
partition, a commit by another writer) is shown on its own, its partitions from the summary's
`changed-partition-count` when it names none.

A catalog that cannot be reached, or a table that does not exist yet, is said in the
section; the rest of the page is still shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from include.inventory_lake.iceberg.facts_table import IDENTIFIER, QUALIFIED_NAME
from include.inventory_lake.iceberg.snapshot_summary import (
    RUN_ID_PROPERTY,
    PartitionSummary,
    replaced_partitions,
    summary_of,
)
from include.inventory_lake.settings import ICEBERG_CONN_ID

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

log = logging.getLogger(__name__)

SHOWN_COMMITS = 10
SHOWN_PARTITIONS = 4
NO_VALUE = "\N{EN DASH}"
TableState = Literal["ok", "no_table", "unreachable"]


@dataclass(frozen=True)
class TableCommit:
    committed_at: datetime
    operations: tuple[str, ...]
    # The shop|day replaced, or what the summary says of the partitions changed.
    partitions: str
    added_rows: int
    deleted_rows: int
    run_id: str | None
    snapshot_id: int


@dataclass(frozen=True)
class TableSnapshots:
    state: TableState
    table: str = QUALIFIED_NAME
    location: str | None = None
    commits: tuple[TableCommit, ...] = ()
    snapshots: int = 0
    problem: str | None = None


def _count(snapshot: Snapshot, key: str) -> int:
    value = snapshot.summary[key] if snapshot.summary else None
    return int(value) if value not in (None, "") else 0


def _property(snapshot: Snapshot, key: str) -> str | None:
    return summary_of(snapshot).get(key)


def _replaced(snapshot: Snapshot) -> dict[str, PartitionSummary]:
    return replaced_partitions(summary_of(snapshot))


def _partitions(snapshot: Snapshot) -> str:
    named = sorted(_replaced(snapshot))
    if named:
        shown = ", ".join(named[:SHOWN_PARTITIONS])
        more = len(named) - SHOWN_PARTITIONS
        return f"{shown} and {more} more" if more > 0 else shown
    changed = _property(snapshot, "changed-partition-count")
    return f"{changed} partition(s)" if changed else NO_VALUE


def _operation(snapshot: Snapshot) -> str:
    return snapshot.summary.operation.value if snapshot.summary else "unknown"


def _one_replace(first: Snapshot, second: Snapshot) -> bool:
    """The delete and the append of one replace: the append's parent, naming the same shop|days
    with the same runs."""
    return (
        second.parent_snapshot_id == first.snapshot_id
        and _operation(first) in ("delete", "overwrite")
        and _operation(second) == "append"
        and bool(_replaced(first))
        and _replaced(first) == _replaced(second)
    )


def _run_ids(snapshot: Snapshot) -> str | None:
    runs = sorted({p.run_id for p in _replaced(snapshot).values() if p.run_id})
    return ", ".join(runs) if runs else _property(snapshot, RUN_ID_PROPERTY)


def _commit(snapshots: list[Snapshot]) -> TableCommit:
    last = snapshots[-1]
    return TableCommit(
        committed_at=datetime.fromtimestamp(last.timestamp_ms / 1000, UTC),
        operations=tuple(_operation(s) for s in snapshots),
        partitions=_partitions(last),
        added_rows=sum(_count(s, "added-records") for s in snapshots),
        deleted_rows=sum(_count(s, "deleted-records") for s in snapshots),
        run_id=_run_ids(last),
        snapshot_id=last.snapshot_id,
    )


def latest_commits(table: Table, limit: int = SHOWN_COMMITS) -> list[TableCommit]:
    """The table's newest commits, newest first (see the module doc)."""
    ordered = sorted(table.metadata.snapshots, key=lambda s: (s.timestamp_ms, s.sequence_number))
    groups: list[list[Snapshot]] = []
    for snapshot in ordered:
        if groups and len(groups[-1]) == 1 and _one_replace(groups[-1][0], snapshot):
            groups[-1].append(snapshot)
        else:
            groups.append([snapshot])
    return [_commit(group) for group in reversed(groups[-limit:])]


def read_table_snapshots(conn_id: str = ICEBERG_CONN_ID) -> TableSnapshots:
    """The table's latest commits, or why they cannot be shown (never raises)."""
    try:
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        from include.inventory_lake.iceberg.catalog import open_catalog

        catalog = open_catalog(conn_id)
    except Exception as error:
        # The error text may hold the catalog's address or credentials: log it, show its type.
        log.exception("the Inventory lake page could not open the Iceberg catalog %r", conn_id)
        return TableSnapshots(
            "unreachable",
            problem=(
                f"the Iceberg catalog could not be reached ({type(error).__name__}); check the "
                f"{conn_id} connection, the API server log has the details"
            ),
        )
    try:
        table = catalog.load_table(IDENTIFIER)
    except (NoSuchTableError, NoSuchNamespaceError):
        return TableSnapshots(
            "no_table",
            problem=(
                f"the table {QUALIFIED_NAME} does not exist yet: the facts DAG creates it with "
                "its first build"
            ),
        )
    except Exception as error:
        log.exception("the Inventory lake page could not load %s", QUALIFIED_NAME)
        return TableSnapshots(
            "unreachable",
            problem=(
                f"the table {QUALIFIED_NAME} could not be read ({type(error).__name__}); the "
                "API server log has the details"
            ),
        )
    return TableSnapshots(
        "ok",
        location=table.location(),
        commits=tuple(latest_commits(table)),
        snapshots=len(table.metadata.snapshots),
    )
